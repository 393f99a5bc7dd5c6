import Envs
import Foundation
import Render
import XCTest

/// `cortex watch` end to end, in a child process with no display.
final class WatchCommandTests: XCTestCase {
    /// Two episodes recorded: one picture after each reset, one per step, and 12 GAME OVER
    /// pictures (one second at 12 frames/s) per episode; the game part of the first picture is
    /// Breakout's first frame zoomed 3 times (the default zoom).
    func testRecordWithoutDisplayWritesEveryFrame() throws {
        let cortex = try cortexExecutable()
        let dir = try temporaryDirectory("watch-record")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("watch.gif").path
        let result = try runProgram(
            cortex,
            [
                "watch", "breakout", "--episodes", "2", "--seed", "5", "--fps", "12",
                "--record", path, "--json"
            ], environment: environmentWithoutDisplay())
        XCTAssertEqual(result.status, 0, result.stderr)
        let summary = try lastJSONLine(result.stdout)
        let lengths = try XCTUnwrap(summary["lengths"] as? [Int])
        XCTAssertEqual(lengths.count, 2)
        let expectedFrames = lengths.reduce(0, +) + 2 * (1 + 12)
        XCTAssertEqual(summary["frames"] as? Int, expectedFrames)

        let gif = try DecodedGIF(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        XCTAssertEqual(gif.frames.count, expectedFrames)
        XCTAssertEqual(gif.loopCount, 0)
        XCTAssertEqual(gif.delays.reduce(0, +), Int((Double(expectedFrames) * 100 / 12).rounded()))
        let view = GameView(gameWidth: Screen.width, gameHeight: Screen.height, zoom: 3)
        XCTAssertEqual(gif.width, view.width)
        XCTAssertEqual(gif.height, view.height)
        let game = Breakout(observation: .grid, seed: 5).render().zoomed(by: 3)
        XCTAssertTrue(
            sameRegion(gif.frames[0], game, x: 0..<game.width, y: 0..<game.height),
            "the first recorded picture shows Breakout's first frame")
    }

    func testFrameLimitAndOneLineErrors() throws {
        let cortex = try cortexExecutable()
        let dir = try temporaryDirectory("watch-limit")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("short.gif").path
        let limited = try runProgram(
            cortex,
            [
                "watch", "breakout", "--episodes", "5", "--max-frames", "10",
                "--record", path
            ], environment: environmentWithoutDisplay())
        XCTAssertEqual(limited.status, 0, limited.stderr)
        XCTAssertEqual(try DecodedGIF(Array(try Data(contentsOf: URL(fileURLWithPath: path)))).frames.count, 10)

        for arguments in [
            ["watch", "breakout"], ["play", "breakout"], ["watch", "pong", "--record", path],
            ["watch", "breakout", "--checkpoint", "missing.safetensors"]
        ] {
            let failed = try runProgram(cortex, arguments, environment: environmentWithoutDisplay())
            XCTAssertEqual(failed.status, 1, "\(arguments)")
            let lines = failed.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(arguments): \(failed.stderr)")
        }
        let noDisplay = try runProgram(cortex, ["watch", "breakout"], environment: environmentWithoutDisplay())
        XCTAssertTrue(noDisplay.stderr.contains("--record"), noDisplay.stderr)
    }
}
