import CortexTestSupport
import Envs
import Foundation
import Render
import XCTest

/// `cortex watch go` and `cortex play go` end to end, in a child process with no display.
final class WatchGoCommandTests: XCTestCase {
    /// Two random-vs-random 5×5 games recorded: one picture before the first move and one per
    /// move, then two seconds (20 pictures at 10 frames/s) of the result; the first picture's
    /// board is the empty board's picture.
    func testRecordWithoutDisplayWritesEveryMove() throws {
        let cortex = try cortexExecutable()
        let dir = try temporaryDirectory("watch-go")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("go.gif").path
        let result = try runProgram(
            cortex,
            [
                "watch", "go", "--size", "5", "--episodes", "2", "--fps", "10", "--seed", "3",
                "--record", path, "--json"
            ], environment: environmentWithoutDisplay())
        XCTAssertEqual(result.status, 0, result.stderr)
        let summary = try lastJSONLine(result.stdout)
        let lengths = try XCTUnwrap(summary["lengths"] as? [Int])
        XCTAssertEqual(lengths.count, 2)
        let expectedFrames = lengths.reduce(0, +) + 2 * (1 + 20)
        XCTAssertEqual(summary["frames"] as? Int, expectedFrames)
        let gif = try DecodedGIF(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        XCTAssertEqual(gif.frames.count, expectedFrames)
        let board = GoBoardPicture(size: 5, pixels: 168 * 3).draw(GoBoard(size: 5))
        XCTAssertEqual(gif.width, board.width + 256)
        XCTAssertTrue(
            sameRegion(gif.frames[0], board, x: 0..<board.width, y: 0..<board.height),
            "the first recorded picture shows the empty board")
    }

    func testOneLineErrors() throws {
        let cortex = try cortexExecutable()
        for arguments in [
            ["watch", "go", "--checkpoint", "missing.safetensors", "--record", "x.gif"],
            ["watch", "go", "--opponent", "self", "--record", "x.gif"],
            ["play", "go"], ["eval", "go", "--checkpoint", "missing.safetensors"]
        ] {
            let failed = try runProgram(cortex, arguments, environment: environmentWithoutDisplay())
            XCTAssertEqual(failed.status, 1, "\(arguments)")
            XCTAssertEqual(failed.stderr.split(separator: "\n").count, 1, "\(arguments): \(failed.stderr)")
        }
    }
}

/// `cortex play go` in a real SDL window on Xvfb: a click puts the person's stone on the point
/// under the pointer, the agent answers, Esc quits and the GIF holds what was played.
final class PlayGoWindowTests: XCTestCase {
    func testClickPlaysThePointUnderThePointer() throws {
        let cortex = try cortexExecutable()
        guard let xdotool = which("xdotool") else {
            throw missingPrerequisite("xdotool is not installed (apt-get install xdotool)")
        }
        let dir = try temporaryDirectory("play-go")
        defer { try? FileManager.default.removeItem(at: dir) }
        let screen = try VirtualScreen(directory: dir)
        defer { screen.stop() }

        let gif = dir.appendingPathComponent("play.gif").path
        let errorFile = dir.appendingPathComponent("play.err"), outputFile = dir.appendingPathComponent("play.out")
        let play = try launch(
            cortex, ["play", "go", "--size", "5", "--fps", "10", "--seed", "0", "--record", gif, "--json"],
            environment: screen.environment, errorFile: errorFile, outputFile: outputFile)
        defer {
            if play.isRunning { play.terminate() }
            play.waitUntilExit()
        }
        let picture = GoBoardPicture(size: 5, pixels: 168 * 3)
        let view = GameView(gameWidth: picture.width, gameHeight: picture.height, zoom: 1)
        let shown = try screen.waitForWindow(
            view, while: { play.isRunning },
            keepingScreenshotAt: dir.appendingPathComponent("board.png").path)
        let errors = String(decoding: (try? Data(contentsOf: errorFile)) ?? Data(), as: UTF8.self)
        if shown == nil && errors.contains("built without SDL") {
            throw missingPrerequisite("cortex was built without the SDL trait: no window to test")
        }
        XCTAssertNotNil(shown, "cortex play go ended early: \(errors)")

        // C3 is the centre point of 5×5: column 2, row 2, a few pixels off the intersection.
        let (x, y) = (picture.margin + 2 * picture.cell + 5, picture.margin + 2 * picture.cell - 4)
        func run(_ arguments: [String]) throws {
            let result = try runProgram(xdotool, arguments, environment: screen.environment, timeout: 10)
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        try run(["search", "--name", "Cortex", "mousemove", "--window", "%1", "\(x)", "\(y)", "click", "1"])
        let (cx, cy) = (picture.margin + 2 * picture.cell, picture.margin + 2 * picture.cell)
        let (sx, sy) = (cx + picture.cell / 4, cy + picture.cell / 4)  // inside a stone, off the grid lines
        let answered = try screen.waitForWindow(
            view, while: { play.isRunning },
            keepingScreenshotAt: dir.appendingPathComponent("answer.png").path
        ) { shot in
            // Black's stone on C3 (its centre dot is red: the last move, until the agent answers).
            shot[sx, sy] == GoBoardPicture.blackStone && shot[cx, cy] != GoBoardPicture.lastMove
        }
        XCTAssertNotNil(answered, "no stone on C3 followed by the agent's answer")
        try run(["key", "Escape"])
        try waitFor("cortex play go to quit") { !play.isRunning }
        XCTAssertEqual(play.terminationStatus, 0, errors)

        let recording = try DecodedGIF(Array(try Data(contentsOf: URL(fileURLWithPath: gif))))
        XCTAssertGreaterThanOrEqual(recording.frames.count, 3, "the empty board, the click, the answer")
        XCTAssertEqual(recording.frames[0][sx, sy], GoBoardPicture.wood)
        XCTAssertEqual(recording.frames[1][sx, sy], GoBoardPicture.blackStone)
        XCTAssertEqual(recording.frames[1][cx, cy], GoBoardPicture.lastMove)
    }
}
