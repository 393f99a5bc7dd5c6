import Agents
import Cortex
import CortexTestSupport
import Data
import Foundation
import Models
import Recipes
import XCTest

/// Exported weights load into the equivalent PyTorch module with `load_state_dict(strict=True)`
/// (`scripts/reference/modules.py`, on Debian's python3-torch), and that module computes what
/// Cortex computes on the same input: the names, the layouts and the arithmetic agree.
final class PyTorchLoadTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("cortex-torch-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    /// The input both sides use (`probe` in modules.py): x_i = ((37 i) mod 101) / 101 − 0.5.
    private func probe(_ shape: [Int]) -> Tensor {
        let count = shape.reduce(1, *)
        return Tensor(shape: shape, data: (0..<count).map { Float((37 * $0) % 101) / 101 - 0.5 })
    }

    private func export(_ checkpoint: String, format: String = "cortex") throws -> String {
        let out = folder + "/\(UUID().uuidString).safetensors"
        let result = try runCortex(["export", "--checkpoint", checkpoint, "--out", out, "--format", format])
        XCTAssertEqual(result.status, 0, result.stderr)
        return out
    }

    /// PyTorch's kind, keys and output for `file`.
    private func reference(_ file: String) throws -> (kind: String, keys: [String], output: [Float]) {
        let output = try pytorchReference(["check", file])
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        return (
            try XCTUnwrap(json["kind"] as? String), try XCTUnwrap(json["keys"] as? [String]),
            try XCTUnwrap(json["output"] as? [Double]).map(Float.init)
        )
    }

    private func assertClose(_ a: [Float], _ b: [Float], tolerance: Float, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for (x, y) in zip(a, b) {
            XCTAssertEqual(x, y, accuracy: tolerance * max(1, abs(y)), file: file, line: line)
        }
    }

    func testPQNAgentLoadsIntoPyTorch() throws {
        let file = try export("breakout")
        let torch = try reference(file)
        XCTAssertEqual(torch.kind, "pqn")
        XCTAssertEqual(torch.keys.count, 10)
        let (_, network) = try PQNCheckpoint.loadNetwork(file)
        assertClose(withNoGrad { network(probe([1] + network.inputShape)) }.scalars, torch.output, tolerance: 1e-4)
    }

    func testDQNAgentLoadsIntoPyTorch() throws {
        let result = try runCortex([
            "train", "breakout", "--algo", "dqn", "--frames", "400", "--learning-starts", "100", "--replay", "300",
            "--batch", "8", "--eval-every", "0", "--threads", "1", "--out", folder + "/dqn"
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let file = try export(folder + "/dqn/last.safetensors")
        let torch = try reference(file)
        XCTAssertEqual(torch.kind, "dqn")
        let (_, network) = try DQNCheckpoint.loadNetwork(file)
        let shape = try SafeTensors.read(from: file).dictionary["conv.weight"]!.shape
        assertClose(withNoGrad { network(probe([1, shape[1], 10, 10])) }.scalars, torch.output, tolerance: 1e-4)
    }

    func testLeNetLoadsIntoPyTorch() throws {
        let file = try export("lenet")
        let torch = try reference(file)
        XCTAssertEqual(torch.kind, "lenet")
        let classifier = try ImageClassifier.load(path: file).classifier
        let logits = withNoGrad { classifier.network(probe([2, 1, 28, 28])) }.scalars
        assertClose(logits, torch.output, tolerance: 1e-4)
    }

    func testDetectorLoadsIntoPyTorch() throws {
        var config = DetectorNetworkConfig()
        config.imageSize = 32
        config.widths = [4, 6, 8]
        config.convolutions = [1, 2, 1]
        var random = RandomGenerator(seed: 4)
        let detector = SceneDetector(network: Detector(config, generator: &random), classNames: FashionMNIST.classNames)
        // One training-mode pass so BatchNorm's running statistics are not the initial ones.
        _ = withNoGrad { detector.network(Tensor.uniform([4, 1, 32, 32], low: 0, high: 1, using: &random)) }
        detector.network.eval()
        let file = folder + "/detector.safetensors"
        try Checkpoint.save(detector.network, metadata: detector.metadata(), to: file)
        let torch = try reference(file)
        XCTAssertEqual(torch.kind, "detector")
        XCTAssertTrue(torch.keys.contains("backbone.0.weight") && torch.keys.contains("head.bias"), "\(torch.keys)")
        let output = withNoGrad { detector.network(probe([2, 1, 32, 32])) }.scalars
        assertClose(output, torch.output, tolerance: 1e-4)
    }

    func testViTLoadsIntoPyTorchUnderTimmsNames() throws {
        guard FashionMNIST.isInstalled else {
            throw missingPrerequisite("Fashion-MNIST is not installed (scripts/setup installs dataset-fashion-mnist)")
        }
        let result = try runCortex([
            "train", "vit", "--epochs", "1", "--limit", "128", "--batch", "64", "--out", folder + "/vit"
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let file = try export(folder + "/vit/last.safetensors")
        let torch = try reference(file)
        XCTAssertEqual(torch.kind, "vit")
        XCTAssertTrue(torch.keys.contains("blocks.0.attn.qkv.weight") && torch.keys.contains("pos_embed"))
        let classifier = try ImageClassifier.load(path: file).classifier
        classifier.network.eval()
        let logits = withNoGrad { classifier.network(probe([2, 1, 28, 28])) }.scalars
        assertClose(logits, torch.output, tolerance: 1e-4)
    }

    func testGPTLoadsIntoNanoGPTAndGivesTheSameLoss() throws {
        let file = try export("shakespeare-gpt", format: "nanogpt")
        let torch = try reference(file)
        XCTAssertEqual(torch.kind, "gpt")
        XCTAssertTrue(torch.keys.contains("transformer.h.3.attn.c_attn.weight"))
        let model = try LanguageModel.load(from: packageRoot.appendingPathComponent("models/shakespeare-gpt.safetensors").path).model
        guard case .gpt(let gpt) = model else { return XCTFail("shakespeare-gpt is not a GPT") }
        let V = gpt.config.vocabularySize, T = gpt.config.blockSize
        let idx = (0..<T).map { (7 * $0 + 3) % V }
        let loss = withNoGrad { model.loss(inputs: Array(idx.dropLast()), targets: Array(idx.dropFirst()), batchSize: 1) }
        XCTAssertEqual(loss.item, torch.output[0], accuracy: 1e-4)
    }

    func testAWrongShapeIsRefusedByPyTorch() throws {
        // The check can fail: a LeNet whose fc3 lost a class does not load strictly.
        let file = try export("lenet")
        var tensors = try SafeTensors.read(from: file)
        tensors = SafeTensors(
            tensors: tensors.tensors.map { name, t in
                name == "fc3.bias" ? (name, Tensor(shape: [9], data: Array(t.scalars.prefix(9)))) : (name, t)
            }, metadata: tensors.metadata)
        let broken = folder + "/broken.safetensors"
        try tensors.write(to: broken)
        XCTAssertThrowsError(try reference(broken)) { error in
            XCTAssertTrue("\(error)".contains("fc3.bias"), "\(error)")
        }
    }
}
