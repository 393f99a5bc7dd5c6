import CortexTestSupport
import Data
import Foundation
import XCTest

/// `--config runs/X/config.json` reruns a logged run: the new run logs the same config, and a
/// flag given with it changes only its own field.
final class ConfigReplayTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder =
            FileManager.default.temporaryDirectory.appendingPathComponent("cortex-replay-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    private func logged(_ run: String) throws -> [String: NSObject] {
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + run + "/config.json"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: NSObject])
    }

    /// Trains `arguments` into run "a", replays its config into "b" and, with `flag`, into "c".
    private func checkReplay(
        _ arguments: [String], flag: [String], changes field: String,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let command = Array(arguments.prefix(2)), replay = ["--config", folder + "/a/config.json"]
        for (run, full) in [("a", arguments), ("b", command + replay), ("c", command + replay + flag)] {
            let result = try runCortex(full + ["--out", folder + "/" + run])
            XCTAssertEqual(result.status, 0, "\(run): \(result.stderr)", file: file, line: line)
        }
        let a = try logged("a"), b = try logged("b"), c = try logged("c")
        XCTAssertEqual(a, b, "the replayed run logs the same config", file: file, line: line)
        XCTAssertEqual(Set(a.keys).union(c.keys).filter { a[$0] != c[$0] }, [field], file: file, line: line)
    }

    func testTextGoAndLeNetReplayTheirConfigs() throws {
        let corpus = folder + "/corpus.txt"
        try String(repeating: "Once more unto the breach, dear friends. ", count: 50).write(
            toFile: corpus, atomically: true,
            encoding: .utf8)
        try checkReplay(
            [
                "train", "text", "--model", "lstm", "--data", corpus, "--iters", "2", "--batch", "2",
                "--block", "8", "--hidden", "8", "--embed", "8", "--layers", "1", "--eval-every", "2",
                "--eval-batches", "1"
            ], flag: ["--lr", "0.01"], changes: "learningRate")
        try checkReplay(
            [
                "train", "go", "--size", "5", "--moves", "200", "--channels", "4", "--layers", "1", "--batch", "8",
                "--replay", "100", "--learning-starts", "50", "--eval-every", "0"
            ],
            flag: ["--gamma", "0.9"], changes: "gamma")
        guard FashionMNIST.isInstalled else {
            throw missingPrerequisite("Fashion-MNIST is not installed (scripts/setup installs dataset-fashion-mnist)")
        }
        try checkReplay(
            ["train", "lenet", "--epochs", "1", "--limit", "64", "--batch", "32"],
            flag: ["--weight-decay", "0.1"], changes: "weightDecay")
        try checkReplay(
            [
                "train", "detector", "--steps", "2", "--batch", "2", "--eval-scenes", "2", "--widths", "4,4,4,4",
                "--convolutions", "1,1,1,1"
            ],
            flag: ["--lr", "0.01"], changes: "learningRate")
    }
}
