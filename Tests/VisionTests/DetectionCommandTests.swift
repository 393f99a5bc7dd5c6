import Cortex
import CortexTestSupport
import Data
import Foundation
import Models
import Recipes
import XCTest

/// `cortex detect` and `cortex train detector` end to end: output lines, pictures, bad input,
/// `--resume`.
final class DetectionCommandTests: XCTestCase {
    /// A small untrained detector's checkpoint, as `train detector` writes it.
    func tinyCheckpoint(in folder: String) throws -> String {
        var config = DetectorNetworkConfig()
        config.widths = [4, 4, 4, 4]
        config.convolutions = [1, 1, 1, 1]
        var random = RandomGenerator(seed: 2)
        let detector = SceneDetector(network: Detector(config, generator: &random), classNames: FashionMNIST.classNames)
        let path = folder + "/tiny.safetensors"
        try Checkpoint.save(detector.network, metadata: detector.metadata().merging(["seed": "0"]) { $1 }, to: path)
        return path
    }

    func testDetectPrintsBoxesAndDrawsThem() throws {
        let folder = try makeTemporaryDirectory(self)
        let checkpoint = try tinyCheckpoint(in: folder)
        var pixels = [UInt8](repeating: 0, count: 64 * 64)
        for y in 10..<40 { for x in 20..<35 { pixels[y * 64 + x] = 200 } }
        try PixelImage(width: 64, height: 64, channels: 1, pixels: pixels).write(to: folder + "/scene.png")
        let run = try runCortex([
            "detect", "--checkpoint", checkpoint, folder + "/scene.png", "--out", folder + "/boxes.png",
            "--min-score", "0", "--threads", "1", "--json"
        ])
        XCTAssertEqual(run.status, 0, run.stderr)
        let lines = run.stdout.split(separator: "\n").dropLast()
        let summary = try lastJSONLine(run.stdout)
        let detections = try XCTUnwrap(summary["detections"] as? [[String: Any]])
        XCTAssertEqual(lines.count, detections.count)
        XCTAssertGreaterThan(detections.count, 0, "score 0 keeps everything NMS leaves")
        XCTAssertLessThanOrEqual(detections.count, 100)
        // "class score x y width height", the class name possibly with a slash or space.
        for line in lines {
            let fields = line.split(separator: " ")
            XCTAssertGreaterThanOrEqual(fields.count, 6, String(line))
            XCTAssertTrue(fields.suffix(5).allSatisfy { Double($0) != nil }, String(line))
            XCTAssertTrue(FashionMNIST.classNames.contains(fields.dropLast(5).joined(separator: " ")), String(line))
        }
        let picture = try PixelImage.read(path: folder + "/boxes.png")
        XCTAssertEqual(picture.channels, 3)
        XCTAssertEqual(picture.width, 64 * 4 + 16)
        // Coloured pixels: the boxes (the scene itself is grey).
        var coloured = 0
        for y in 0..<picture.height {
            for x in 0..<picture.width where picture[x, y, 0] != picture[x, y, 1] || picture[x, y, 1] != picture[x, y, 2] {
                coloured += 1
            }
        }
        XCTAssertGreaterThan(coloured, 100)
    }

    func testDetectBadInputIsOneLine() throws {
        let folder = try makeTemporaryDirectory(self)
        let checkpoint = try tinyCheckpoint(in: folder)
        try PixelImage(width: 32, height: 32, fill: [0]).write(to: folder + "/small.png")
        try Data("not a checkpoint".utf8).write(to: URL(fileURLWithPath: folder + "/bad.safetensors"))
        let cases: [([String], String)] = [
            (["detect", "--checkpoint", folder + "/missing.safetensors", folder + "/small.png"], "no checkpoint"),
            (["detect", "--checkpoint", checkpoint, folder + "/small.png"], "32x32"),
            (["detect", "--checkpoint", checkpoint, folder + "/missing.png"], "missing.png"),
            (["detect", "--checkpoint", folder + "/bad.safetensors", folder + "/small.png"], "bad.safetensors")
        ]
        for (arguments, expected) in cases {
            let run = try runCortex(arguments)
            XCTAssertNotEqual(run.status, 0, arguments.joined(separator: " "))
            let lines = run.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, run.stderr)
            XCTAssertTrue(run.stderr.hasPrefix("cortex detect: "), run.stderr)
            XCTAssertTrue(run.stderr.contains(expected), run.stderr)
        }
    }

    func testDetectEvaluatesTestScenes() throws {
        _ = try fashionMNISTSample(1)
        let folder = try makeTemporaryDirectory(self)
        let checkpoint = try tinyCheckpoint(in: folder)
        let run = try runCortex(["detect", "--checkpoint", checkpoint, "--test-scenes", "5", "--threads", "1", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let figures = try lastJSONLine(run.stdout)
        let map50 = try XCTUnwrap(figures["map50"] as? Double)
        XCTAssertTrue((0...1).contains(map50))
        XCTAssertTrue(run.stderr.contains("on 5 test scenes (seed 1000003)"), run.stderr)
        let setAccuracy = try XCTUnwrap(figures["object_set_accuracy"] as? Double)
        XCTAssertEqual(setAccuracy * 5, (setAccuracy * 5).rounded(), accuracy: 1e-9)  // a share of 5 scenes
        let both = try runCortex(["detect", "--checkpoint", checkpoint, "--test-scenes", "5", folder + "/x.png"])
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.stderr.contains("either a scene picture or --test-scenes"), both.stderr)
    }

    func testTrainDetectorResumes() throws {
        _ = try fashionMNISTSample(1)
        let folder = try makeTemporaryDirectory(self)
        let run = folder + "/run"
        let common = [
            "train", "detector", "--batch", "4", "--eval-every", "2", "--eval-scenes", "8", "--widths", "4,4,4,4",
            "--convolutions", "1,1,1,1", "--warmup-steps", "1", "--out", run, "--threads", "1", "--json"
        ]
        let first = try runCortex(common + ["--steps", "2"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let summary = try lastJSONLine(first.stdout)
        for key in ["map50", "map", "s_per_1000_steps", "ms_per_image", "checkpoint", "best_checkpoint"] {
            XCTAssertNotNil(summary[key], key)
        }
        for file in ["last.safetensors", "best.safetensors", "metrics.csv", "config.json", "test-scenes.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(run)/\(file)"), file)
        }
        let second = try runCortex(common + ["--steps", "4", "--resume"])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stderr.contains("resuming after step 2"), second.stderr)
        XCTAssertEqual(try lastJSONLine(second.stdout)["steps"] as? Int, 4)
        let csv = try String(contentsOfFile: "\(run)/metrics.csv", encoding: .utf8)
        XCTAssertTrue(csv.contains("test/map50"), csv)

        let missing = try runCortex(["train", "detector", "--out", folder + "/none", "--resume", "--steps", "2"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("no checkpoint to resume from"), missing.stderr)
    }
}
