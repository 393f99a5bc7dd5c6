import Cortex
import CortexTestSupport
import Data
import Foundation
import Models
import Recipes
import XCTest

/// `cortex caption` and `cortex train captioner` end to end: output, attention pictures, bad
/// input, `--resume`.
final class CaptionCommandTests: XCTestCase {
    /// A small untrained captioner's checkpoint, as `train captioner` writes it.
    func tinyCheckpoint(in folder: String) throws -> String {
        var config = CaptionerNetworkConfig()
        config.widths = [4, 4, 4, 8]
        config.convolutions = [1, 1, 1, 1]
        config.hiddenSize = 16
        config.embeddingSize = 8
        config.attentionSize = 8
        config.vocabularySize = CaptionVocabulary.grammar.count
        var random = RandomGenerator(seed: 2)
        let captioner = SceneCaptioner(network: Captioner(config, generator: &random), maxLength: 8)
        let path = folder + "/tiny.safetensors"
        try Checkpoint.save(captioner.network, metadata: captioner.metadata(), to: path)
        return path
    }

    func testCaptionPrintsTheCaptionAndDrawsOneMapPerWord() throws {
        let folder = try makeTemporaryDirectory(self)
        let checkpoint = try tinyCheckpoint(in: folder)
        var pixels = [UInt8](repeating: 0, count: 64 * 64)
        for y in 10..<40 { for x in 20..<35 { pixels[y * 64 + x] = 200 } }
        try PixelImage(width: 64, height: 64, channels: 1, pixels: pixels).write(to: folder + "/scene.png")
        for width in ["1", "3"] {
            let run = try runCortex([
                "caption", "--checkpoint", checkpoint, folder + "/scene.png", "--attention", folder + "/maps.png",
                "--beam-width", width, "--threads", "1", "--json"
            ])
            XCTAssertEqual(run.status, 0, run.stderr)
            let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            XCTAssertEqual(lines.count, 2, run.stdout)
            let summary = try lastJSONLine(run.stdout)
            XCTAssertEqual(summary["caption"] as? String, String(lines[0]))
            XCTAssertEqual(summary["beam_width"] as? Int, Int(width))
            let words = try XCTUnwrap(summary["words"] as? [String])
            XCTAssertLessThanOrEqual(words.count, 8)
            let picture = try PixelImage.read(path: folder + "/maps.png")
            XCTAssertEqual(picture.channels, 3)
            // 6 cells a row of 256 pixels and 6 of padding.
            let cells = max(1, words.count)
            XCTAssertEqual(picture.width, 6 + min(cells, 6) * (256 + 6))
            XCTAssertEqual(picture.height, 6 + ((cells + 5) / 6) * (256 + BitmapFontHeight.value + 6 + 6))
        }
    }

    func testCaptionBadInputIsOneLine() throws {
        let folder = try makeTemporaryDirectory(self)
        let checkpoint = try tinyCheckpoint(in: folder)
        try PixelImage(width: 32, height: 32, fill: [0]).write(to: folder + "/small.png")
        try Data("not a checkpoint".utf8).write(to: URL(fileURLWithPath: folder + "/bad.safetensors"))
        let cases: [([String], String)] = [
            (["caption", "--checkpoint", folder + "/missing.safetensors", folder + "/small.png"], "no checkpoint"),
            (["caption", "--checkpoint", checkpoint, folder + "/small.png"], "32x32"),
            (["caption", "--checkpoint", checkpoint, folder + "/missing.png"], "missing.png"),
            (["caption", "--checkpoint", folder + "/bad.safetensors", folder + "/small.png"], "bad.safetensors"),
            (["caption", "--checkpoint", checkpoint, folder + "/small.png", "--beam-width", "0"], "--beam-width"),
            (["caption", "--checkpoint", checkpoint, folder + "/small.png", "--beam-widht", "2"], "beam-widht")
        ]
        for (arguments, expected) in cases {
            let run = try runCortex(arguments)
            XCTAssertNotEqual(run.status, 0, arguments.joined(separator: " "))
            let lines = run.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, run.stderr)
            XCTAssertTrue(run.stderr.contains(expected), run.stderr)
        }
    }

    func testTrainCaptionerResumesAndReportsItsFigures() throws {
        _ = try fashionMNISTSample(1)
        let folder = try makeTemporaryDirectory(self)
        let run = folder + "/run"
        let common = [
            "train", "captioner", "--batch-size", "4", "--eval-every", "2", "--eval-scenes", "6", "--widths", "4,4,4,8",
            "--convolutions", "1,1,1,1", "--hidden-size", "16", "--warmup-steps", "1", "--neighbour-scenes", "10",
            "--beam-width", "2", "--out", run, "--threads", "1", "--json"
        ]
        let first = try runCortex(common + ["--steps", "2"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let summary = try lastJSONLine(first.stdout)
        for key in [
            "bleu1", "bleu2", "bleu3", "bleu4", "bleu4_beam", "object_set_accuracy", "nn_bleu4",
            "nn_object_set_accuracy", "seconds", "s_per_1000_steps", "checkpoint", "best_checkpoint"
        ] {
            XCTAssertNotNil(summary[key], key)
        }
        for file in ["last.safetensors", "best.safetensors", "metrics.csv", "config.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(run)/\(file)"), file)
        }
        let second = try runCortex(common + ["--steps", "4", "--resume"])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stderr.contains("resuming after step 2"), second.stderr)
        XCTAssertEqual(try lastJSONLine(second.stdout)["steps"] as? Int, 4)
        let csv = try String(contentsOfFile: "\(run)/metrics.csv", encoding: .utf8)
        XCTAssertTrue(csv.contains("test/object_set_accuracy"), csv)
        let caption = try runCortex(["caption", "--checkpoint", "\(run)/best.safetensors", folder + "/none.png"])
        XCTAssertNotEqual(caption.status, 0)
        XCTAssertTrue(caption.stderr.contains("none.png"), caption.stderr)

        let missing = try runCortex(["train", "captioner", "--out", folder + "/none", "--resume", "--steps", "2"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("no checkpoint to resume from"), missing.stderr)
        let bad = try runCortex(["train", "captioner", "--beam-width", "0"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1, bad.stderr)
    }
}

/// The bitmap font's glyph height (the caption strip is that plus 6 pixels).
enum BitmapFontHeight {
    static let value = 7
}
