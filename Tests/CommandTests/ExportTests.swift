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
        folder =
            FileManager.default.temporaryDirectory.appendingPathComponent("cortex-export-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    private func run(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try runCortex(arguments)
        XCTAssertEqual(
            result.status, 0, "cortex \(arguments.joined(separator: " ")):\n\(result.stderr)", file: file, line: line)
        return result.stdout
    }

    func testDQNWeightsOnlyKeepTheOnlineNetworkAndStillEvaluate() throws {
        try run([
            "train", "breakout", "--algo", "dqn", "--frames", "400", "--learning-starts", "100", "--replay", "300",
            "--batch", "8",
            "--eval-every", "0", "--threads", "1", "--out", folder + "/dqn"
        ])
        let out = folder + "/dqn.safetensors"
        try run(["export", "--checkpoint", folder + "/dqn/last.safetensors", "--out", out])
        let exported = try SafeTensors.read(from: out)
        let names = Set(exported.tensors.map(\.name))
        XCTAssertEqual(
            names, ["conv.weight", "conv.bias", "fc_hidden.weight", "fc_hidden.bias", "output.weight", "output.bias"])
        XCTAssertNil(exported.metadata["dqn.state"])
        XCTAssertTrue(exported.metadata.keys.allSatisfy { !$0.hasPrefix("optimizer.") })
        let original = try SafeTensors.read(from: folder + "/dqn/last.safetensors").dictionary
        for (name, tensor) in exported.tensors { XCTAssertEqual(tensor.scalars, original[name]?.scalars, name) }
        let evaluation = try run([
            "eval", "breakout", "--checkpoint", out, "--episodes", "1", "--max-steps", "100", "--json"
        ])
        XCTAssertTrue(evaluation.contains("\"mean\""), evaluation)
    }

    func testGPTExportsToNanoGPTKeys() throws {
        let corpus = folder + "/corpus.txt"
        try String(repeating: "All the world's a stage. ", count: 80).write(
            toFile: corpus, atomically: true, encoding: .utf8)
        try run([
            "train", "text", "--data", corpus, "--iters", "2", "--batch", "2", "--block", "8", "--layers", "1",
            "--embed", "8", "--heads", "2", "--eval-every", "2", "--eval-batches", "1", "--out", folder + "/gpt"
        ])
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
            "transformer.ln_f.weight", "transformer.ln_f.bias"
        ]
        XCTAssertEqual(Set(nano.tensors.map(\.name)), expected)
        let tensors = nano.dictionary
        XCTAssertEqual(tensors["transformer.h.0.attn.c_attn.weight"]?.shape, [24, 8], "nn.Linear(8, 24): [out, in]")
        XCTAssertEqual(tensors["transformer.h.0.mlp.c_fc.weight"]?.shape, [32, 8])
        XCTAssertEqual(tensors["lm_head.weight"]?.scalars, tensors["transformer.wte.weight"]?.scalars)
        // Only a GPT exports as nanoGPT.
        let result = try runCortex([
            "export", "--checkpoint", folder + "/nano.safetensors", "--out", folder + "/x.safetensors",
            "--format", "nanogpt"
        ])
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
        XCTAssertTrue(
            try run(["eval", "lenet", "--checkpoint", folder + "/lenet.safetensors", "--json"]).contains("accuracy"))
    }
}

/// `cortex classify` on a folder with a JPEG among PNGs, with a CSV of the results.
final class ClassifyFolderTests: XCTestCase {
    func testFolderAndCSV() throws {
        guard FashionMNIST.isInstalled else {
            throw missingPrerequisite("Fashion-MNIST is not installed (scripts/setup installs dataset-fashion-mnist)")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cortex-classify-\(UUID().uuidString)"
        ).path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder + "/pictures", withIntermediateDirectories: true)
        let trained = try runCortex([
            "train", "lenet", "--epochs", "1", "--limit", "128", "--batch", "64", "--out", folder + "/run"
        ])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let test = try ImageDataset.load(directory: FashionMNIST.defaultDirectory, split: .test)
        for i in 0..<3 { try test.image(at: i).write(to: folder + "/pictures/item\(i).png") }
        try "not a picture".write(toFile: folder + "/pictures/notes.txt", atomically: true, encoding: .utf8)
        let convert = Process()
        convert.executableURL = URL(fileURLWithPath: "/usr/bin/convert")
        convert.arguments = [folder + "/pictures/item0.png", folder + "/pictures/item3.jpg"]
        guard (try? convert.run()) != nil else { throw missingPrerequisite("ImageMagick's convert is not installed") }
        convert.waitUntilExit()
        let result = try runCortex([
            "classify", "--checkpoint", folder + "/run/last.safetensors", "--top", "2",
            folder + "/pictures", "--csv", folder + "/out.csv"
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let rows = try String(contentsOfFile: folder + "/out.csv", encoding: .utf8).split(separator: "\n").map(
            String.init)
        XCTAssertEqual(rows.first, "image,class_1,probability_1,class_2,probability_2")
        XCTAssertEqual(rows.count, 5, "four pictures (the text file is not one): \(rows)")
        XCTAssertTrue(rows[1].hasPrefix(folder + "/pictures/item0.png,"))
        XCTAssertTrue(rows[4].hasPrefix(folder + "/pictures/item3.jpg,"))
        for row in rows.dropFirst() {
            let fields = row.split(separator: ",")
            XCTAssertEqual(fields.count, 5, row)
            let p1 = Double(fields[2]) ?? -1, p2 = Double(fields[4]) ?? -1
            XCTAssertTrue(p1 >= p2 && p2 >= 0 && p1 <= 1, row)
        }
        // The JPEG of item 0 is classified like item 0 itself.
        XCTAssertEqual(rows[4].split(separator: ",")[1], rows[1].split(separator: ",")[1])

        // The run's TensorBoard log holds the config, weight histograms, the prediction grid and hparams.
        let summaries = try JSONSerialization.jsonObject(
            with: Data(try pythonInterop(["read-summaries", folder + "/run"]).utf8))
        let json = try XCTUnwrap(summaries as? [String: [String: Any]])
        XCTAssertNotNil(json["text"]?["hyperparameters"])
        XCTAssertTrue(
            json["histograms"]?.keys.contains { $0.hasPrefix("weights/") } ?? false,
            "\(json["histograms"]?.keys.sorted() ?? [])")
        XCTAssertTrue(json["histograms"]?.keys.contains { $0.hasPrefix("gradients/") } ?? false)
        let grid = try XCTUnwrap((json["images"]?["test/predictions"] as? [[Any]])?.first)
        XCTAssertEqual([grid[1] as? Int, grid[2] as? Int], [4 * 32, 4 * 32])
        XCTAssertNotNil(json["hparams"]?["_hparams_/session_start_info"])
    }
}
