import Cortex
import CortexTestSupport
import Data
import Foundation
import XCTest

/// Bad checkpoints never crash a command: seeded mutations of a checkpoint of every model kind
/// (each metadata field set to 0, −1, 1, a huge number or nonsense; truncations; flipped header
/// bytes) go through the real command that reads that kind. Every run must end by `exit` (no
/// signal, so no crash trace) with status 0 (a harmless mutation) or 1 and one line on stderr.
final class FuzzTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("cortex-fuzz-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    private func train(_ arguments: [String], out: String) throws -> String {
        let result = try runCortex(arguments + ["--out", folder + "/" + out])
        XCTAssertEqual(result.status, 0, result.stderr)
        return folder + "/" + out + "/last.safetensors"
    }

    /// Metadata mutations: every number inside every value (JSON or plain) replaced in turn.
    private func metadataMutations(_ file: SafeTensors) -> [SafeTensors] {
        var result: [SafeTensors] = []
        let replacements = ["0", "-1", "3", "100000", "\"x\""]
        for key in file.metadata.keys.sorted() {
            let value = file.metadata[key]!
            guard let numbers = try? NSRegularExpression(pattern: "-?[0-9]+(\\.[0-9]+)?(e-?[0-9]+)?") else { continue }
            let matches = numbers.matches(in: value, range: NSRange(value.startIndex..., in: value)).prefix(8)
            for match in matches {
                for replacement in replacements {
                    let range = Range(match.range, in: value)!
                    var copy = file
                    copy.metadata[key] = value.replacingCharacters(in: range, with: replacement)
                    result.append(copy)
                }
            }
            for replacement in ["", "{", "pixels"] {
                var copy = file
                copy.metadata[key] = replacement
                result.append(copy)
            }
            var removed = file
            removed.metadata[key] = nil
            result.append(removed)
        }
        return result
    }

    private func fuzz(_ checkpoint: String, command: (String) -> [String], name: String) throws -> Int {
        let original = try SafeTensors.read(from: checkpoint)
        var cases: [[UInt8]] = []
        for mutated in metadataMutations(original) {
            let path = folder + "/case.safetensors"
            try mutated.write(to: path)
            cases.append(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))))
        }
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: checkpoint)))
        // Six model kinds share the time budget of a longer run (`scripts/fuzz`).
        let budget = FuzzBudget(defaultSeed: 42, share: 1.0 / 6)
        var generator = RandomGenerator(seed: budget.seed)
        let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16
        func truncated() -> [UInt8] { Array(bytes.prefix(generator.nextInt(below: bytes.count))) }
        func flipped() -> [UInt8] {
            var flipped = bytes
            flipped[generator.nextInt(below: min(bytes.count, headerLength + 8))] ^= UInt8(
                1 + generator.nextInt(below: 255))
            return flipped
        }
        // CI's corpus: the metadata mutations, 12 truncations, 12 flipped header bytes; then
        // truncations and flips in turn while the budget lasts.
        for _ in 0..<12 { cases.append(truncated()) }
        for _ in 0..<12 { cases.append(flipped()) }
        var index = 0
        while budget.runs(index, minimum: cases.count) {
            if index >= cases.count { cases.append(index % 2 == 0 ? truncated() : flipped()) }
            let data = cases[index]
            defer { index += 1 }
            let path = "\(folder)/\(name)-\(index).safetensors"
            try Data(data).write(to: URL(fileURLWithPath: path))
            let result = try runCortexReporting(command(path))
            let label = "\(name) \(budget.label(index))"
            XCTAssertFalse(result.signalled, "\(label) crashed:\n\(result.stderr.prefix(600))")
            XCTAssertTrue(
                [0, 1].contains(result.status), "\(label): status \(result.status)\n\(result.stderr.prefix(300))")
            if result.status == 1 {
                let lines = result.stderr.split(separator: "\n").filter { !$0.hasPrefix("\r") }
                XCTAssertEqual(lines.count, 1, "\(label): \(result.stderr.prefix(300))")
            }
            try? FileManager.default.removeItem(atPath: path)
        }
        budget.report("\(name) checkpoints", cases: index)
        return index
    }

    func testBadCheckpointsOfEveryKindGiveOneLine() throws {
        var counts: [String: Int] = [:]
        let pqn = try train(
            [
                "train", "breakout", "--envs", "8", "--rollout-steps", "8", "--minibatches", "2", "--frames", "128",
                "--eval-every", "0", "--threads", "1"
            ], out: "pqn")
        counts["pqn"] = try fuzz(
            pqn, command: { ["eval", "breakout", "--checkpoint", $0, "--episodes", "1", "--max-steps", "20"] },
            name: "pqn")
        let dqn = try train(
            [
                "train", "breakout", "--algo", "dqn", "--frames", "300", "--learning-starts", "100", "--replay", "200",
                "--batch", "8",
                "--eval-every", "0", "--threads", "1"
            ], out: "dqn")
        counts["dqn"] = try fuzz(
            dqn, command: { ["eval", "breakout", "--checkpoint", $0, "--episodes", "1", "--max-steps", "20"] },
            name: "dqn")
        let go = try train(
            [
                "train", "go", "--size", "5", "--moves", "200", "--channels", "4", "--layers", "1", "--batch", "8",
                "--replay", "100", "--learning-starts", "50", "--eval-every", "0"
            ], out: "go")
        counts["go"] = try fuzz(go, command: { ["eval", "go", "--checkpoint", $0, "--episodes", "1"] }, name: "go")
        let corpus = folder + "/corpus.txt"
        try String(repeating: "Speak the speech, I pray you. ", count: 60).write(
            toFile: corpus, atomically: true, encoding: .utf8)
        for model in ["gpt", "lstm"] {
            let text = try train(
                [
                    "train", "text", "--model", model, "--data", corpus, "--iters", "2", "--batch", "2", "--block", "8",
                    "--layers", "1", "--embed", "8", "--heads", "2", "--hidden", "8", "--eval-every", "2",
                    "--eval-batches", "1"
                ], out: model)
            counts[model] = try fuzz(text, command: { ["generate", "--checkpoint", $0, "--length", "5"] }, name: model)
        }
        if FashionMNIST.isInstalled {
            try PixelImage(width: 28, height: 28, fill: [128]).write(to: folder + "/grey.png")
            for (model, sizes) in [
                ("lenet", [String]()), ("vit", ["--dim", "8", "--depth", "1", "--heads", "2", "--mlp", "8"])
            ] {
                let classifier = try train(
                    ["train", model, "--epochs", "1", "--limit", "64", "--batch", "64"] + sizes, out: model)
                counts[model] = try fuzz(
                    classifier, command: { ["classify", "--checkpoint", $0, self.folder + "/grey.png"] },
                    name: model)
            }
        } else {
            throw missingPrerequisite("Fashion-MNIST is not installed (scripts/setup installs dataset-fashion-mnist)")
        }
        print(
            "fuzzed checkpoints: \(counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))"
        )
    }
}

/// Runs cortex and says whether it ended by a signal (a crash) rather than by exiting.
func runCortexReporting(_ arguments: [String]) throws -> (status: Int32, signalled: Bool, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try cortexExecutable())
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    let errors = Pipe()
    process.standardError = errors
    var environment = ProcessInfo.processInfo.environment
    environment["SWIFT_BACKTRACE"] = "enable=no"
    process.environment = environment
    try process.run()
    let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, process.terminationReason == .uncaughtSignal, stderr)
}
