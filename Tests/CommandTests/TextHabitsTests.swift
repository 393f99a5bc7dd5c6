import CortexTestSupport
import Foundation
import XCTest

/// nanoGPT's habits: `eval text` gives the loss a training run printed, prompts come from a
/// file or standard input, several samples from one prompt.
final class TextHabitsTests: XCTestCase {
    private var folder = ""
    private var corpus = ""
    private var checkpoint = ""
    private var trainedLoss = 0.0

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("cortex-text-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        corpus = folder + "/corpus.txt"
        try String(repeating: "Now is the winter of our discontent made glorious summer. ", count: 40)
            .write(toFile: corpus, atomically: true, encoding: .utf8)
        let result = try runCortex([
            "train", "text", "--data", corpus, "--iters", "6", "--batch", "2", "--block", "16",
            "--layers", "1", "--embed", "16", "--heads", "2", "--eval-every", "3",
            "--eval-batches", "5", "--out", folder + "/run", "--json"
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try JSONSerialization.jsonObject(with: Data((result.stdout.split(separator: "\n").last ?? "").utf8))
        trainedLoss = try XCTUnwrap((json as? [String: Any])?["val_loss"] as? Double)
        checkpoint = folder + "/run/last.safetensors"
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    func testEvalTextGivesTheLossTheRunPrinted() throws {
        let result = try runCortex([
            "eval", "text", "--checkpoint", checkpoint, "--data", corpus, "--eval-batches", "5",
            "--batch", "2", "--block", "16", "--json"
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try JSONSerialization.jsonObject(with: Data((result.stdout.split(separator: "\n").last ?? "").utf8))
        let loss = try XCTUnwrap((json as? [String: Any])?["val_loss"] as? Double)
        XCTAssertEqual(loss, trainedLoss, accuracy: 1e-6, "the same fixed validation batches as the trainer's estimate")
        // A text with characters the model never saw is one line, status 1.
        try "Zebra quartz!".write(toFile: folder + "/other.txt", atomically: true, encoding: .utf8)
        let bad = try runCortex(["eval", "text", "--checkpoint", checkpoint, "--data", folder + "/other.txt"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1, bad.stderr)
    }

    func testPromptsFromAFileOrStandardInputAndSeveralSamples() throws {
        try "Now is".write(toFile: folder + "/prompt.txt", atomically: true, encoding: .utf8)
        let common = ["generate", "--checkpoint", checkpoint, "--length", "12", "--seed", "5", "--json"]
        let fromFile = try runCortex(common + ["--prompt-file", folder + "/prompt.txt"])
        let fromFlag = try runCortex(common + ["--prompt", "Now is"])
        let fromStdin = try runCortex(common + ["--prompt-file", "-"], standardInput: "Now is")
        for result in [fromFile, fromFlag, fromStdin] { XCTAssertEqual(result.status, 0, result.stderr) }
        // The text (the JSON line after it carries timings).
        let text = { (stdout: String) in stdout.components(separatedBy: "\n").first ?? "" }
        XCTAssertEqual(text(fromFile.stdout), text(fromFlag.stdout))
        XCTAssertEqual(text(fromStdin.stdout), text(fromFlag.stdout))
        XCTAssertTrue(fromFlag.stdout.hasPrefix("Now is"))

        let three = try runCortex(common + ["--prompt", "Now is", "--num-samples", "3"])
        XCTAssertEqual(three.status, 0, three.stderr)
        let json = try JSONSerialization.jsonObject(with: Data((three.stdout.split(separator: "\n").last ?? "").utf8))
        let samples = try XCTUnwrap((json as? [String: Any])?["samples"] as? [String])
        XCTAssertEqual(samples.count, 3)
        XCTAssertTrue(samples.allSatisfy { $0.hasPrefix("Now is") && $0.unicodeScalars.count == 6 + 12 }, "\(samples)")
        XCTAssertEqual(three.stdout.components(separatedBy: "---------------\n").count, 3)
        XCTAssertEqual(samples[0], text(fromFlag.stdout), "the first sample is the single sample of the same seed")
        XCTAssertNotEqual(Set(samples).count, 1, "samples are drawn independently")
    }
}
