import Cortex
import CortexTestSupport
import Data
import Foundation
import Models
import XCTest

/// The inputs issue 20 lists as once crashing, each through the command a user would run: every
/// one must end with status 1 and exactly one line on stderr.
final class ReportedInputTests: TemporaryFolderTestCase {
    private func expectOneLine(
        _ arguments: [String], input: String? = nil, says: String = "", file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        let result = try runCortex(arguments, standardInput: input)
        let name = "cortex " + arguments.joined(separator: " ")
        XCTAssertEqual(result.status, 1, "\(name):\n\(result.stderr.suffix(600))", file: file, line: line)
        let lines = result.stderr.split(separator: "\n").filter { !$0.hasPrefix("\r") }
        XCTAssertEqual(lines.count, 1, "\(name):\n\(result.stderr.suffix(600))", file: file, line: line)
        XCTAssertTrue(
            says.isEmpty || result.stderr.contains(says), "\(name): '\(says)' not in \(result.stderr)", file: file,
            line: line)
    }

    /// A copy of `checkpoint` with `key` in its metadata set to `value` (nil removes it).
    private func edited(
        _ checkpoint: String, _ key: String, _ edit: (String) -> String, as name: String
    ) throws
        -> String
    {
        var file = try SafeTensors.read(from: checkpoint)
        file.metadata[key] = edit(try XCTUnwrap(file.metadata[key], "no \(key) in \(checkpoint)"))
        let path = folder + "/" + name + ".safetensors"
        try file.write(to: path)
        return path
    }

    private func train(_ arguments: [String], out: String) throws -> String {
        let result = try runCortex(arguments + ["--out", folder + "/" + out])
        XCTAssertEqual(result.status, 0, result.stderr)
        return folder + "/" + out + "/last.safetensors"
    }

    func testDQNObservationShapes() throws {
        let dqn = try train(
            [
                "train", "breakout", "--algo", "dqn", "--frames", "60", "--learning-starts", "20", "--replay", "40",
                "--batch", "8", "--eval-every", "0"
            ], out: "dqn")
        for (index, shape) in ["0", "100000,100000,100000", "pixels", "0,10,10"].enumerated() {
            let path = try edited(dqn, "dqn.observation_shape", { _ in shape }, as: "shape-\(index)")
            try expectOneLine(["eval", "breakout", "--checkpoint", path, "--episodes", "1", "--max-steps", "5"])
            try expectOneLine([
                "watch", "breakout", "--checkpoint", path, "--record", folder + "/out.gif", "--episodes", "1"
            ])
        }
    }

    func testGoCheckpointSizes() throws {
        let go = try train(
            [
                "train", "go", "--size", "5", "--moves", "30", "--channels", "2", "--layers", "1", "--batch", "8",
                "--replay", "9", "--learning-starts", "10", "--eval-every", "0"
            ], out: "go")
        let edits = [
            "size-0": ("\"size\":5", "\"size\":0"), "size-1000": ("\"size\":5", "\"size\":1000"),
            "channels-0": ("\"channels\":2", "\"channels\":0"),
            "history": ("\"historyLength\":3", "\"historyLength\":-1")
        ]
        for (name, (from, to)) in edits.sorted(by: { $0.key < $1.key }) {
            let path = try edited(go, "go.config", { $0.replacingOccurrences(of: from, with: to) }, as: name)
            XCTAssertNotEqual(
                try SafeTensors.read(from: path).metadata["go.config"],
                try SafeTensors.read(from: go).metadata["go.config"], name)
            try expectOneLine(["gtp", "--checkpoint", path], input: "genmove b\nquit\n")
            try expectOneLine(["eval", "go", "--checkpoint", path, "--episodes", "1"])
        }
    }

    func testGPTHeads() throws {
        let corpus = folder + "/corpus.txt"
        try String(repeating: "Speak the speech, I pray you. ", count: 60).write(
            toFile: corpus, atomically: true, encoding: .utf8)
        let gpt = try train(
            [
                "train", "text", "--data", corpus, "--iters", "1", "--batch", "2", "--block", "8", "--layers", "1",
                "--embed", "16", "--heads", "2", "--eval-every", "1", "--eval-batches", "1"
            ], out: "gpt")
        for heads in ["0", "3"] {
            let path = try edited(
                gpt, LanguageModel.configKey,
                { $0.replacingOccurrences(of: "\"heads\":2", with: "\"heads\":\(heads)") },
                as: "heads-\(heads)")
            try expectOneLine(["generate", "--checkpoint", path, "--length", "5"])
        }
    }

    func testImageCheckpointSizesAndIDXSets() throws {
        guard FashionMNIST.isInstalled else {
            throw missingPrerequisite("Fashion-MNIST is not installed (scripts/setup installs dataset-fashion-mnist)")
        }
        let lenet = try train(["train", "lenet", "--epochs", "1", "--limit", "8", "--batch", "8"], out: "lenet")
        try PixelImage(width: 28, height: 28, fill: [128]).write(to: folder + "/grey.png")
        let huge = try edited(
            lenet, "config", { $0.replacingOccurrences(of: "\"imageSize\":28", with: "\"imageSize\":100000") },
            as: "huge")
        let flat = try edited(lenet, "std", { _ in "[0]" }, as: "flat")
        for path in [huge, flat] {
            try expectOneLine(["classify", "--checkpoint", path, folder + "/grey.png"])
            try expectOneLine(["eval", "lenet", "--checkpoint", path])
        }
        // IDX sets: a header claiming 2⁴⁰ bytes, no images, a wrong magic number.
        func header(_ magic: UInt32, _ extents: [UInt32]) -> Data {
            Data(([magic] + extents).flatMap { v in withUnsafeBytes(of: v.bigEndian) { Array($0) } })
        }
        let sets: [(name: String, images: Data, labels: Data, says: String)] = [
            ("huge", header(0x803, [1 << 20, 1 << 10, 1 << 10]) + Data(count: 100), header(0x801, [1 << 20]), "images"),
            ("empty", header(0x803, [0, 28, 28]), header(0x801, [0]), "no images"),
            ("magic", header(0x703, [1, 28, 28]) + Data(count: 784), header(0x801, [1]) + Data(count: 1), "magic")
        ]
        for set in sets {
            let directory = folder + "/" + set.name
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for split in ["train", "t10k"] {
                try set.images.write(to: URL(fileURLWithPath: "\(directory)/\(split)-images-idx3-ubyte"))
                try set.labels.write(to: URL(fileURLWithPath: "\(directory)/\(split)-labels-idx1-ubyte"))
            }
            try expectOneLine(
                ["train", "lenet", "--data", directory, "--epochs", "1", "--out", folder + "/idx-" + set.name],
                says: set.says)
        }
    }

    /// GTP ids are ASCII digits: `٣ version` is an unknown command, never answered as `=٣`.
    func testNonASCIIDigitIsNotAnID() throws {
        let result = try runCortex(["gtp", "--size", "9"], standardInput: "٣ version\n1 name\nquit\n")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertFalse(result.stdout.contains("٣"), result.stdout)
        XCTAssertTrue(result.stdout.hasPrefix("? "), result.stdout)
        XCTAssertTrue(result.stdout.contains("=1 "), result.stdout)
    }
}
