import Cortex
import CortexTestSupport
import Foundation
import XCTest

/// End-to-end checks of the layers, losses, optimizers and checkpoints together.
final class TrainingTests: XCTestCase {
    /// Two interleaved spirals (Lang & Witbrock 1988), `perClass` points each, 1.5 turns,
    /// radius 0.1…1, with a little Gaussian jitter: not linearly separable.
    private func spirals(perClass: Int, generator: inout RandomGenerator) -> (x: Tensor, labels: [Int]) {
        var points: [Float] = [], labels: [Int] = []
        for label in 0..<2 {
            for i in 0..<perClass {
                let t = Float(i) / Float(perClass)
                let radius = 0.1 + 0.9 * t
                let angle = 3 * Float.pi * t + Float(label) * Float.pi
                points += [radius * cos(angle) + 0.01 * generator.nextNormal(),
                           radius * sin(angle) + 0.01 * generator.nextNormal()]
                labels.append(label)
            }
        }
        return (Tensor(shape: [2 * perClass, 2], data: points), labels)
    }

    private func accuracy(_ logits: Tensor, _ labels: [Int]) -> Float {
        let predicted = logits.argmaxIndices(axis: 1)
        return Float(zip(predicted, labels).filter { $0 == $1 }.count) / Float(labels.count)
    }

    func testSeededMLPLearnsTwoSpiralsPerfectly() {
        var generator = RandomGenerator(seed: 42)
        let (x, labels) = spirals(perClass: 100, generator: &generator)
        let model = Sequential(Linear(inputFeatures: 2, outputFeatures: 64, generator: &generator), Tanh(),
                               Linear(inputFeatures: 64, outputFeatures: 64, generator: &generator), Tanh(),
                               Linear(inputFeatures: 64, outputFeatures: 2, generator: &generator))
        let optimizer = Adam(model.parameterGroups(), learningRate: 0.01)
        var steps = 0, trainAccuracy: Float = 0, loss: Float = .infinity
        while steps < 3000 {
            let logits = model(x)
            trainAccuracy = accuracy(logits, labels)
            if trainAccuracy == 1 { break }
            let objective = crossEntropy(logits: logits, targets: labels)
            loss = objective.item
            optimizer.zeroGrad()
            objective.backward()
            optimizer.step()
            steps += 1
        }
        print("two spirals: 100% train accuracy after \(steps) Adam steps (last loss \(loss))")
        XCTAssertEqual(trainAccuracy, 1, "accuracy \(trainAccuracy) after \(steps) steps, loss \(loss)")
    }

    func testSaveLoadGivesIdenticalOutputs() throws {
        var generator = RandomGenerator(seed: 7)
        func makeModel(_ generator: inout RandomGenerator) -> Sequential {
            Sequential(Linear(inputFeatures: 3, outputFeatures: 8, generator: &generator), BatchNorm1d(8), ReLU(),
                       Dropout(probability: 0.2, generator: &generator), Linear(inputFeatures: 8, outputFeatures: 2, generator: &generator))
        }
        let model = makeModel(&generator)
        let optimizer = SGD(model.parameterGroups(), learningRate: 0.1, momentum: 0.9)
        let x = Tensor.randn([16, 3], using: &generator)
        let target = Tensor.randn([16, 2], using: &generator)
        for _ in 0..<5 {   // moves the weights and the running statistics away from their start
            optimizer.zeroGrad()
            mseLoss(model(x), target).backward()
            optimizer.step()
        }
        model.eval()
        let expected = model(x).scalars.map(\.bitPattern)

        let folder = NSTemporaryDirectory() + "cortex-training-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Checkpoint.save(model, metadata: ["architecture": "3-8-2 mlp"], to: folder + "/mlp.safetensors")
        var other = RandomGenerator(seed: 1234)
        let restored = makeModel(&other)
        restored.eval()
        XCTAssertNotEqual(restored(x).scalars.map(\.bitPattern), expected)
        let metadata = try Checkpoint.load(into: restored, from: folder + "/mlp.safetensors")
        XCTAssertEqual(metadata["architecture"], "3-8-2 mlp")
        XCTAssertEqual(restored(x).scalars.map(\.bitPattern), expected)
        XCTAssertEqual(try SafeTensors.read(from: folder + "/mlp.safetensors").tensors.map(\.name), [
            "0.bias", "0.weight", "1.bias", "1.num_batches_tracked", "1.running_mean", "1.running_var", "1.weight",
            "4.bias", "4.weight",
        ])
    }
}
