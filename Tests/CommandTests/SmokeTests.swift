import Agents
import CortexTestSupport
import Data
import Foundation
import XCTest

/// Every subcommand's short path, end to end through the built binary: `--help`, `train` of
/// each game, Go, text and vision with tiny budgets, `eval` of what they wrote, and `bench`
/// with tiny sizes. Each run must exit 0 and end its stdout with one JSON object.
final class SmokeTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("cortex-smoke-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    /// Runs cortex with `arguments`; fails the test unless it exits 0. Returns stdout and stderr.
    @discardableResult
    private func cortex(
        _ arguments: [String], file: StaticString = #filePath, line: UInt = #line
    ) throws
        -> (stdout: String, stderr: String)
    {
        let result = try runCortex(arguments)
        XCTAssertEqual(
            result.status, 0, "cortex \(arguments.joined(separator: " ")):\n\(result.stderr)", file: file, line: line)
        return (result.stdout, result.stderr)
    }

    /// The JSON object on the last stdout line.
    private func lastJSON(_ stdout: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any]
    {
        let last = stdout.split(separator: "\n").last.map(String.init) ?? ""
        let object = try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any]
        return try XCTUnwrap(object, "last stdout line is not a JSON object: '\(last)'", file: file, line: line)
    }

    func testEverySubcommandHasHelp() throws {
        let commands = [
            [], ["train"], ["train", "breakout"], ["train", "space_invaders"], ["train", "freeway"],
            ["train", "asterix"], ["train", "seaquest"], ["train", "go"], ["train", "text"], ["train", "vit"],
            ["train", "lenet"], ["eval"], ["classify"], ["bench"], ["bench", "core"], ["bench", "envs"],
            ["bench", "go"], ["bench", "dqn"], ["bench", "text"], ["bench", "vision"], ["bench", "pytorch"], ["play"], ["watch"],
            ["gtp"], ["match"], ["generate"]
        ]
        for command in commands {
            let output = try cortex(command + ["--help"]).stdout
            XCTAssertTrue(output.contains("USAGE:"), "cortex \(command.joined(separator: " ")) --help:\n\(output)")
        }
    }

    func testEveryGameTrainsAndEvaluates() throws {
        for game in ["breakout", "space_invaders", "freeway", "asterix", "seaquest"] {
            let out = folder + "/" + game
            let trained = try lastJSON(
                try cortex([
                    "train", game, "--algo", "dqn", "--frames", "600", "--learning-starts", "200", "--replay", "400",
                    "--batch", "8", "--eval-every", "300", "--eval-episodes", "1",
                    "--out", out, "--threads", "1", "--json"
                ]).stdout)
            XCTAssertEqual(trained["frames"] as? Int, 600, game)
            let evaluated = try lastJSON(
                try cortex([
                    "eval", game, "--checkpoint", out + "/last.safetensors",
                    "--episodes", "1", "--max-steps", "300", "--json"
                ]).stdout)
            XCTAssertNotNil(evaluated["mean"] as? Double, "\(game): \(evaluated)")
        }
    }

    func testPQNTrainsEvaluatesAndResumes() throws {
        let out = folder + "/pqn"
        let tiny = [
            "train", "breakout", "--envs", "8", "--rollout-steps", "8", "--minibatches", "2", "--eval-every", "256",
            "--eval-episodes", "2", "--out", out, "--threads", "1", "--json"
        ]
        let trained = try lastJSON(try cortex(tiny + ["--frames", "256"]).stdout)
        XCTAssertEqual(trained["frames"] as? Int, 256, "four rollouts of 8 × 8 frames")
        XCTAssertEqual(trained["algo"] as? String, "pqn")
        let resumed = try lastJSON(try cortex(tiny + ["--frames", "512", "--resume"]).stdout)
        XCTAssertEqual(resumed["frames"] as? Int, 512)
        let evaluated = try lastJSON(
            try cortex([
                "eval", "breakout", "--checkpoint", out + "/last.safetensors",
                "--episodes", "2", "--max-steps", "200", "--json"
            ]).stdout)
        XCTAssertNotNil(evaluated["mean"] as? Double, "\(evaluated)")
    }

    func testGoTrainsAndEvaluates() throws {
        let out = folder + "/go"
        let trained = try lastJSON(
            try cortex([
                "train", "go", "--size", "5", "--moves", "400", "--channels", "8", "--layers", "2",
                "--batch", "8", "--replay", "300", "--learning-starts", "100",
                "--eval-every", "200", "--eval-games", "2", "--out", out, "--json"
            ]).stdout)
        XCTAssertEqual(trained["moves"] as? Int, 400)
        let evaluated = try lastJSON(
            try cortex([
                "eval", "go", "--checkpoint", out + "/last.safetensors", "--episodes", "2",
                "--json"
            ]).stdout)
        XCTAssertFalse(evaluated.isEmpty)
    }

    func testTextTrainsAndGenerates() throws {
        let corpus = folder + "/corpus.txt"
        try String(repeating: "To be, or not to be, that is the question. ", count: 60).write(
            toFile: corpus, atomically: true, encoding: .utf8)
        for model in ["gpt", "lstm"] {
            let out = folder + "/text-" + model
            let trained = try lastJSON(
                try cortex([
                    "train", "text", "--model", model, "--data", corpus, "--iters", "4",
                    "--batch", "2", "--block", "16", "--layers", "1", "--embed", "16",
                    "--heads", "2", "--hidden", "16", "--eval-every", "2",
                    "--eval-batches", "1", "--out", out, "--json"
                ]).stdout)
            XCTAssertEqual(trained["iters"] as? Int, 4, model)
            let text = try cortex(["generate", "--checkpoint", out + "/last.safetensors", "--length", "20"]).stdout
            XCTAssertFalse(text.isEmpty, model)
        }
    }

    func testVisionTrainsAndEvaluates() throws {
        guard FileManager.default.fileExists(atPath: FashionMNIST.defaultDirectory) else {
            throw missingPrerequisite("Fashion-MNIST is not installed (scripts/setup installs dataset-fashion-mnist)")
        }
        for (model, sizes) in [("lenet", []), ("vit", ["--dim", "16", "--depth", "1", "--heads", "2", "--mlp", "16"])] {
            let out = folder + "/" + model
            let trained = try lastJSON(
                try cortex(
                    [
                        "train", model, "--epochs", "1", "--limit", "256", "--batch", "64",
                        "--out", out, "--json"
                    ] + sizes
                ).stdout)
            XCTAssertEqual(trained["epochs"] as? Int, 1, model)
            let evaluated = try lastJSON(
                try cortex(["eval", model, "--checkpoint", out + "/last.safetensors", "--json"]).stdout)
            XCTAssertNotNil(evaluated["test_accuracy"] ?? evaluated["accuracy"], "\(model): \(evaluated)")
        }
    }

    func testBenchmarksRunWithTinySizes() throws {
        let runs: [[String]] = [
            ["bench", "envs", "--grid-steps", "2000", "--pixel-steps", "200", "--repetitions", "1"],
            ["bench", "go", "--size", "9", "--games", "4"],
            ["bench", "dqn", "--updates", "5", "--frames", "600"],
            ["bench", "text", "--iterations", "3", "--characters", "50"],
            ["bench", "vision", "--batches", "2", "--batch", "16"],
            ["bench", "core", "--repetitions", "1"]
        ]
        for arguments in runs {
            let json = try lastJSON(try cortex(arguments + ["--json"]).stdout)
            XCTAssertFalse(json.isEmpty, arguments.joined(separator: " "))
        }
    }
}

/// Runs the built cortex with `arguments` (stdout and stderr through files, so neither pipe
/// can fill up and block it).
func runCortex(
    _ arguments: [String], standardInput: String? = nil
) throws -> (status: Int32, stdout: String, stderr: String) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cortex-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let outURL = directory.appendingPathComponent("out"), errURL = directory.appendingPathComponent("err")
    FileManager.default.createFile(atPath: outURL.path, contents: nil)
    FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try cortexExecutable())
    process.arguments = arguments
    process.standardOutput = try FileHandle(forWritingTo: outURL)
    process.standardError = try FileHandle(forWritingTo: errURL)
    if let standardInput {
        let inURL = directory.appendingPathComponent("in")
        try standardInput.write(to: inURL, atomically: true, encoding: .utf8)
        process.standardInput = try FileHandle(forReadingFrom: inURL)
    } else {
        process.standardInput = FileHandle.nullDevice
    }
    try process.run()
    process.waitUntilExit()
    return (
        process.terminationStatus, try String(contentsOf: outURL, encoding: .utf8),
        try String(contentsOf: errURL, encoding: .utf8)
    )
}
