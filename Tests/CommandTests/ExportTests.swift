import Cortex
import CortexTestSupport
import Data
import Foundation
import XCTest

/// `cortex export`: weights only, still accepted by the commands that read the model; nanoGPT's
/// keys for a char-GPT.
final class ExportTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("cortex-export-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    private func run(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try runCortex(arguments)
        XCTAssertEqual(result.status, 0, "cortex \(arguments.joined(separator: " ")):\n\(result.stderr)", file: file, line: line)
        return result.stdout
    }

    func testDQNWeightsOnlyKeepTheOnlineNetworkAndStillEvaluate() throws {
        try run(["train", "breakout", "--frames", "400", "--learning-starts", "100", "--replay", "300", "--batch", "8",
                 "--eval-every", "0", "--threads", "1", "--out", folder + "/dqn"])
        let out = folder + "/dqn.safetensors"
        try run(["export", "--checkpoint", folder + "/dqn/last.safetensors", "--out", out])
        let exported = try SafeTensors.read(from: out)
        let names = Set(exported.tensors.map(\.name))
        XCTAssertEqual(names, ["conv.weight", "conv.bias", "fc_hidden.weight", "fc_hidden.bias", "output.weight", "output.bias"])
        XCTAssertNil(exported.metadata["dqn.state"])
        XCTAssertTrue(exported.metadata.keys.allSatisfy { !$0.hasPrefix("optimizer.") })
        let original = try SafeTensors.read(from: folder + "/dqn/last.safetensors").dictionary
        for (name, tensor) in exported.tensors { XCTAssertEqual(tensor.scalars, original[name]?.scalars, name) }
        let evaluation = try run(["eval", "breakout", "--checkpoint", out, "--episodes", "1", "--max-steps", "100", "--json"])
        XCTAssertTrue(evaluation.contains("\"mean\""), evaluation)
    }

    func testGPTExportsToNanoGPTKeys() throws {
        let corpus = folder + "/corpus.txt"
        try String(repeating: "All the world's a stage. ", count: 80).write(toFile: corpus, atomically: true, encoding: .utf8)
        try run(["train", "text", "--data", corpus, "--iters", "2", "--batch", "2", "--block", "8", "--layers", "1",
                 "--embed", "8", "--heads", "2", "--eval-every", "2", "--eval-batches", "1", "--out", folder + "/gpt"])
        let checkpoint = folder + "/gpt/last.safetensors"
        // Weights only: generation still works from it.
        try run(["export", "--checkpoint", checkpoint, "--out", folder + "/gpt.safetensors"])
        XCTAssertFalse(try run(["generate", "--checkpoint", folder + "/gpt.safetensors", "--length", "10"]).isEmpty)
        // nanoGPT's model.py, 1 layer with biases: these keys and no others (lm_head tied to wte).
        try run(["export", "--checkpoint", checkpoint, "--out", folder + "/nano.safetensors", "--format", "nanogpt"])
        let nano = try SafeTensors.read(from: folder + "/nano.safetensors")
        let expected: Set<String> = [
            "transformer.wte.weight", "transformer.wpe.weight", "lm_head.weight",
            "transformer.h.0.ln_1.weight", "transformer.h.0.ln_1.bias",
            "transformer.h.0.attn.c_attn.weight", "transformer.h.0.attn.c_attn.bias",
            "transformer.h.0.attn.c_proj.weight", "transformer.h.0.attn.c_proj.bias",
            "transformer.h.0.ln_2.weight", "transformer.h.0.ln_2.bias",
            "transformer.h.0.mlp.c_fc.weight", "transformer.h.0.mlp.c_fc.bias",
            "transformer.h.0.mlp.c_proj.weight", "transformer.h.0.mlp.c_proj.bias",
            "transformer.ln_f.weight", "transformer.ln_f.bias",
        ]
        XCTAssertEqual(Set(nano.tensors.map(\.name)), expected)
        let tensors = nano.dictionary
        XCTAssertEqual(tensors["transformer.h.0.attn.c_attn.weight"]?.shape, [24, 8], "nn.Linear(8, 24): [out, in]")
        XCTAssertEqual(tensors["transformer.h.0.mlp.c_fc.weight"]?.shape, [32, 8])
        XCTAssertEqual(tensors["lm_head.weight"]?.scalars, tensors["transformer.wte.weight"]?.scalars)
        // Only a GPT exports as nanoGPT.
        let result = try runCortex(["export", "--checkpoint", folder + "/nano.safetensors", "--out", folder + "/x.safetensors",
                                    "--format", "nanogpt"])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
    }

    func testClassifierWeightsOnlyStillEvaluate() throws {
        guard FashionMNIST.isInstalled else {
            throw missingPrerequisite("Fashion-MNIST is not installed (scripts/setup installs dataset-fashion-mnist)")
        }
        try run(["train", "lenet", "--epochs", "1", "--limit", "128", "--batch", "64", "--out", folder + "/lenet"])
        try run(["export", "--checkpoint", folder + "/lenet/last.safetensors", "--out", folder + "/lenet.safetensors"])
        let exported = try SafeTensors.read(from: folder + "/lenet.safetensors")
        XCTAssertTrue(exported.tensors.allSatisfy { !$0.name.hasPrefix("optimizer.") })
        XCTAssertTrue(try run(["eval", "lenet", "--checkpoint", folder + "/lenet.safetensors", "--json"]).contains("accuracy"))
    }
}
