import Agents
import Cortex
import CortexTestSupport
import Models
import XCTest

/// Every tensor a module stores is one of its registered parameters or buffers, and every
/// module it stores is one of its registered children: what is not registered is neither
/// trained, nor saved, nor loaded. Found by reflection over the stored properties (the
/// library itself lists its parameters explicitly, without reflection).
final class ModuleRegistrationTests: XCTestCase {
    /// Unregistered stored tensors or modules of `module` and everything below it.
    private func unregistered(in module: any Module, path: String) -> [String] {
        let registeredTensors = Set((module.localParameters + module.localBuffers).map { ObjectIdentifier($0.tensor) })
        let registeredChildren = Set(module.children.map { ObjectIdentifier($0.module) })
        var problems: [String] = []
        func visit(_ value: Any, name: String) {
            if let tensor = value as? Tensor {
                if !registeredTensors.contains(ObjectIdentifier(tensor)) { problems.append("\(path).\(name) (tensor)") }
            } else if let child = value as? any Module {
                // A stored module that is no child is fine when its owner registers its tensors
                // under names of its own (a recurrent network's cells: PyTorch's `weight_ih_l0`).
                let adopted = (child.parameters() + child.namedBuffers().map(\.tensor)).allSatisfy {
                    registeredTensors.contains(ObjectIdentifier($0))
                }
                if !registeredChildren.contains(ObjectIdentifier(child)) && !adopted {
                    problems.append("\(path).\(name) (module)")
                }
            } else if let optional = value as? OptionalProtocol, let wrapped = optional.wrapped {
                visit(wrapped, name: name)
            } else if let array = value as? [Any] {
                for (i, element) in array.enumerated() { visit(element, name: "\(name)[\(i)]") }
            }
        }
        var mirror: Mirror? = Mirror(reflecting: module)
        while let current = mirror {
            for child in current.children { visit(child.value, name: child.label ?? "?") }
            mirror = current.superclassMirror
        }
        for (name, child) in module.children {
            problems += unregistered(in: child, path: path + "." + name)
        }
        return problems
    }

    func testEveryStoredTensorAndModuleIsRegistered() {
        var g = RandomGenerator(seed: 0)
        let modules: [(String, any Module)] = [
            ("Linear", Linear(inputFeatures: 3, outputFeatures: 2, generator: &g)),
            ("Conv2d", Conv2d(inputChannels: 2, outputChannels: 3, kernelSize: 3, generator: &g)),
            ("BasicBlock", BasicBlock(inputChannels: 2, outputChannels: 4, stride: 2, generator: &g)),
            ("LayerNorm", LayerNorm(4)),
            ("BatchNorm2d", BatchNorm2d(4)),
            ("Embedding", Embedding(count: 5, dimension: 3, generator: &g)),
            ("LSTM", RecurrentNetwork<LSTMCell>(inputSize: 3, hiddenSize: 4, layers: 2, generator: &g)),
            ("GRU", RecurrentNetwork<GRUCell>(inputSize: 3, hiddenSize: 4, generator: &g)),
            ("TransformerBlock", TransformerBlock(embedDimension: 8, heads: 2, generator: &g)),
            (
                "GPT",
                GPT(
                    config: GPTConfig(vocabularySize: 7, blockSize: 8, layers: 2, heads: 2, embedDimension: 8),
                    generator: &g)
            ),
            (
                "CharRNN",
                CharRNN(
                    config: CharRNNConfig(cell: .gru, vocabularySize: 7, embedDimension: 4, hiddenSize: 5),
                    generator: &g)
            ),
            (
                "ViT",
                VisionTransformer(
                    ViTConfig(
                        imageSize: 8, patchSize: 4, dimension: 8, depth: 1, heads: 2,
                        mlpDimension: 8), generator: &g)
            ),
            ("LeNet5", LeNet5(generator: &g)),
            ("Detector", Detector(generator: &g)),
            (
                "QNetwork",
                QNetwork(
                    architecture: .minAtar, inputShape: [4, 10, 10], actionCount: 3, dueling: true,
                    generator: &g)
            ),
            ("GoQNetwork", GoQNetwork(inputChannels: 5, channels: 8, layers: 2, generator: &g)),
            ("UNet", UNet(UNetConfig(widths: [2, 3]), generator: &g)),
            ("UNetNearest", UNet(UNetConfig(widths: [2], upsampling: .nearest), generator: &g))
        ]
        for (name, module) in modules {
            XCTAssertEqual(unregistered(in: module, path: name), [], name)
        }
    }

    /// The check itself finds a tensor that is stored but not registered.
    func testTheCheckFindsAnUnregisteredTensor() {
        final class Leaky: Module {
            var isTraining = true
            let registered = Tensor(shape: [2], data: [1, 2])
            let forgotten = Tensor(shape: [2], data: [3, 4])
            var localParameters: [NamedTensor] { [("registered", registered)] }
        }
        XCTAssertEqual(unregistered(in: Leaky(), path: "leaky"), ["leaky.forgotten (tensor)"])
    }
}

/// Lets the reflection above look inside optionals of any type.
private protocol OptionalProtocol { var wrapped: Any? { get } }
extension Optional: OptionalProtocol {
    var wrapped: Any? { self.map { $0 as Any } }
}
