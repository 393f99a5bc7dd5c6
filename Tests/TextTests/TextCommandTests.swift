import Cortex
import CortexTestSupport
import Data
import Foundation
import Models
import XCTest

/// `cortex train text` and `cortex generate` end to end on a small corpus: the JSON line, run
/// folder, checkpoints with the vocabulary, resume, reproducible sampling, and the errors.
final class TextCommandTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("cortex-text-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let verse = "Shall I compare thee to a summer's day?\nThou art more lovely and more temperate:\n"
        try String(repeating: verse, count: 40).write(toFile: folder + "/corpus.txt", atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    /// The built `cortex` beside the test bundle (`swift build --build-tests` builds it).
    private func executable() throws -> String {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
            "cortex"
        ).path
        let candidates =
            [beside]
            + Bundle.allBundles.map {
                $0.bundleURL.deletingLastPathComponent().appendingPathComponent("cortex").path
            }
        guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw missingPrerequisite(
                "the cortex executable is not built next to the tests (run swift build --build-tests)")
        }
        return path
    }

    private func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try executable())
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile(),
            stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (
            process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self)
        )
    }

    private func lastJSON(_ stdout: String) throws -> [String: Any] {
        let line = try XCTUnwrap(stdout.split(separator: "\n").last)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    private func train(_ model: String, out: String, iterations: Int, extra: [String] = []) throws -> [String: Any] {
        let sizes =
            model == "gpt"
            ? ["--layers", "1", "--embed", "16", "--heads", "2"] : ["--layers", "1", "--embed", "8", "--hidden", "16"]
        let result = try run(
            [
                "train", "text", "--model", model, "--data", folder + "/corpus.txt", "--iters", "\(iterations)",
                "--batch", "4", "--block", "16", "--eval-every", "6", "--eval-batches", "2", "--threads", "1",
                "--out", out, "--json"
            ] + sizes + extra)
        XCTAssertEqual(result.status, 0, result.stderr)
        return try lastJSON(result.stdout)
    }

    func testTrainResumeAndGenerate() throws {
        let out = folder + "/gpt"
        let first = try train("gpt", out: out, iterations: 12)
        XCTAssertEqual(first["iters"] as? Int, 12)
        for key in ["train_loss", "val_loss", "ms_per_iter"] { XCTAssertNotNil(first[key] as? Double, key) }
        XCTAssertEqual(first["checkpoint"] as? String, out + "/last.safetensors")
        let files = try FileManager.default.contentsOfDirectory(atPath: out)
        for name in ["last.safetensors", "best.safetensors", "metrics.csv", "config.json"] {
            XCTAssertTrue(files.contains(name), name)
        }
        XCTAssertTrue(files.contains { $0.hasPrefix("events.out.tfevents.") })

        // The vocabulary travels in the checkpoint's metadata.
        let checkpoint = try SafeTensors.read(from: out + "/last.safetensors")
        let corpus = try CharCorpus(path: folder + "/corpus.txt")
        XCTAssertEqual(checkpoint.metadata["text.vocabulary"], corpus.tokenizer.serialized())
        XCTAssertEqual(checkpoint.metadata[LanguageModel.kindKey], "gpt")

        let resumed = try train("gpt", out: out, iterations: 18, extra: ["--resume"])
        XCTAssertEqual(resumed["iters"] as? Int, 18)

        // Same seed, same text, streamed after the prompt.
        let arguments = [
            "generate", "--checkpoint", out + "/last.safetensors", "--prompt", "Thou", "--length", "40",
            "--seed", "7", "--threads", "1"
        ]
        let a = try run(arguments), b = try run(arguments)
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(a.stdout, b.stdout)
        XCTAssertTrue(a.stdout.hasPrefix("Thou"))
        XCTAssertEqual(a.stdout.unicodeScalars.count, 4 + 40 + 1)

        let unknown = try run(["generate", "--checkpoint", out + "/last.safetensors", "--prompt", "Thou€"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("'€'"), unknown.stderr)
        XCTAssertEqual(unknown.stderr.split(separator: "\n").count, 1, unknown.stderr)
    }

    func testRecurrentModelsTrainAndGenerate() throws {
        for model in ["lstm", "gru", "rnn"] {
            let out = folder + "/" + model
            let summary = try train(model, out: out, iterations: 6)
            XCTAssertEqual(summary["iters"] as? Int, 6, model)
            let generated = try run([
                "generate", "--checkpoint", out + "/best.safetensors", "--length", "20", "--json", "--threads", "1"
            ])
            XCTAssertEqual(generated.status, 0, generated.stderr)
            XCTAssertEqual(try lastJSON(generated.stdout)["chars"] as? Int, 20)
        }
    }

    func testUserErrorsAreOneLine() throws {
        let missing = try run(["train", "text", "--data", folder + "/nothing.txt", "--iters", "1"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1, missing.stderr)
        try Data("junk".utf8).write(to: URL(fileURLWithPath: folder + "/junk.safetensors"))
        let junk = try run(["generate", "--checkpoint", folder + "/junk.safetensors"])
        XCTAssertNotEqual(junk.status, 0)
        XCTAssertEqual(junk.stderr.split(separator: "\n").count, 1, junk.stderr)
        let badModel = try run(["train", "text", "--model", "transformer"])
        XCTAssertNotEqual(badModel.status, 0)
    }
}
