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
        let result = try runProgram(cortex, ["watch", "go", "--size", "5", "--episodes", "2", "--fps", "10", "--seed", "3",
                                             "--record", path, "--json"], environment: environmentWithoutDisplay())
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
        XCTAssertTrue(sameRegion(gif.frames[0], board, x: 0..<board.width, y: 0..<board.height),
                      "the first recorded picture shows the empty board")
    }

    func testOneLineErrors() throws {
        let cortex = try cortexExecutable()
        for arguments in [["watch", "go", "--checkpoint", "missing.safetensors", "--record", "x.gif"],
                          ["watch", "go", "--opponent", "self", "--record", "x.gif"],
                          ["play", "go"], ["eval", "go", "--checkpoint", "missing.safetensors"]] {
            let failed = try runProgram(cortex, arguments, environment: environmentWithoutDisplay())
            XCTAssertEqual(failed.status, 1, "\(arguments)")
            XCTAssertEqual(failed.stderr.split(separator: "\n").count, 1, "\(arguments): \(failed.stderr)")
        }
    }
}
