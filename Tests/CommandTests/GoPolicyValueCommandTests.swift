import CortexTestSupport
import Foundation
import XCTest

/// The policy/value stages end to end through the binary on 5×5: a data set from a match with
/// random openings, imitation with `--resume`, self-play from its checkpoint, the result playing
/// a match and answering GTP with time control, and one clear line for bad input.
final class GoPolicyValueCommandTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("cortex-pv-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    private func json(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let result = try runCortex(arguments)
        XCTAssertEqual(result.status, 0, "cortex \(arguments.joined(separator: " ")):\n\(result.stderr)", file: file, line: line)
        let last = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        return try XCTUnwrap(
            try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any], "not JSON: \(last)", file: file,
            line: line)
    }

    func testStagesEndToEnd() throws {
        let data = folder + "/games"
        _ = try json([
            "match", "--black", "random", "--white", "random", "--games", "8", "--size", "5", "--random-opening", "3",
            "--sgf-dir", data, "--seed", "1", "--json"
        ])
        let games = try FileManager.default.contentsOfDirectory(atPath: data).filter { $0.hasSuffix(".sgf") }.sorted()
        XCTAssertEqual(games.count, 8)
        // Random openings: the games' first three moves are not all the same.
        let openings = try Set(
            games.map { name -> String in
                let text = try String(contentsOfFile: data + "/" + name, encoding: .utf8)
                return text.components(separatedBy: ";").dropFirst(2).prefix(3).joined()
            })
        XCTAssertGreaterThan(openings.count, 4)

        let imitation = folder + "/imitation"
        let network = ["--size", "5", "--blocks", "1", "--channels", "8", "--history", "1"]
        let first = try json(
            ["train", "go-imitation"] + network + [
                "--data", data, "--epochs", "2", "--batch", "16", "--held-out", "0.3", "--skip-moves", "3", "--out",
                imitation, "--json"
            ])
        XCTAssertEqual(first["epochs"] as? Int, 2)
        XCTAssertGreaterThan(first["train_positions"] as? Int ?? 0, 16)
        XCTAssertGreaterThan(first["heldout_games"] as? Int ?? 0, 0)
        let accuracy = try XCTUnwrap(first["heldout_accuracy"] as? Double)
        XCTAssertTrue((0...1).contains(accuracy))
        let resumed = try json(
            ["train", "go-imitation"] + network + [
                "--data", data, "--epochs", "3", "--batch", "16", "--held-out", "0.3", "--skip-moves", "3", "--out",
                imitation, "--resume", "--json"
            ])
        XCTAssertEqual(resumed["epochs"] as? Int, 3)
        XCTAssertEqual(resumed["steps"] as? Int, 3 * (first["steps"] as? Int ?? 0) / 2)

        let selfPlay = folder + "/selfplay"
        let loop = try json([
            "train", "go-selfplay", "--size", "5", "--init-from", imitation + "/best.safetensors", "--generations", "1",
            "--games", "2", "--playouts", "8", "--steps", "2", "--batch", "16", "--gate-games", "2", "--out", selfPlay,
            "--json"
        ])
        XCTAssertEqual(loop["generations"] as? Int, 1)
        XCTAssertEqual(loop["games"] as? Int, 2)

        let match = try json([
            "match", "--black", "cortex:\(selfPlay)/best.safetensors,playouts=16,mix=0.5", "--white", "random", "--games",
            "2", "--size", "5", "--json"
        ])
        XCTAssertEqual(match["counted_games"] as? Int, 2)
        XCTAssertEqual(match["illegal_moves"] as? Int, 0)

        // GTP with time control: every command answered with '=' (success).
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try cortexExecutable())
        process.arguments = ["gtp", "--checkpoint", selfPlay + "/best.safetensors", "--size", "5", "--playouts", "16"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let commands = [
            "boardsize 5", "clear_board", "time_settings 60 5 1", "time_left b 30 0", "kgs-time_settings byoyomi 10 2 3",
            "genmove b", "final_score", "quit"
        ]
        input.fileHandleForWriting.write(Data((commands.joined(separator: "\n") + "\n").utf8))
        try input.fileHandleForWriting.close()
        let answer = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let responses = answer.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        XCTAssertEqual(responses.count, commands.count, answer)
        XCTAssertTrue(responses.allSatisfy { $0.hasPrefix("=") }, answer)
    }

    func testBadInputIsOneLine() throws {
        let missing = try runCortex(["train", "go-imitation", "--data", folder + "/nowhere", "--out", folder + "/r"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("no data folder"), missing.stderr)
        XCTAssertFalse(missing.stderr.contains("Backtrace"))
        let noStart = try runCortex(["train", "go-selfplay", "--out", folder + "/s"])
        XCTAssertEqual(noStart.status, 64)
        XCTAssertTrue(noStart.stderr.contains("--init-from"), noStart.stderr)
        let badMix = try runCortex(["match", "--black", "cortex:nowhere.safetensors,mix=2", "--white", "random", "--size", "5"])
        XCTAssertNotEqual(badMix.status, 0)
        XCTAssertEqual(badMix.stderr.split(separator: "\n").count, 1, badMix.stderr)
    }
}
