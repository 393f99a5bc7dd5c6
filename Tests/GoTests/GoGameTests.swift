import Envs
import XCTest

final class GoGameTests: XCTestCase {
    func testUndoRestoresEveryEarlierState() {
        let game = GoGame(size: 7, komi: 7.5)
        var random = GoRandom(seed: 8)
        var states: [([String], UInt64, GoColor, GoPoint?, Int)] = []
        for _ in 0..<120 where !game.isOver {
            states.append(
                (
                    diagram(game.board), game.board.hash, game.board.toPlay, game.board.koPoint,
                    game.board.capturedBy.black + game.board.capturedBy.white
                ))
            XCTAssertTrue(
                game.play(
                    game.board.randomMove(for: game.board.toPlay, using: &random, includePass: true, protectEyes: false)
                ))
        }
        XCTAssertGreaterThan(states.last!.4, 3, "the walk should capture")
        while let state = states.popLast() {
            XCTAssertTrue(game.undo())
            XCTAssertEqual(diagram(game.board), state.0)
            XCTAssertEqual(game.board.hash, state.1)
            XCTAssertEqual(game.board.toPlay, state.2)
            XCTAssertEqual(game.board.koPoint, state.3)
            XCTAssertEqual(game.board.capturedBy.black + game.board.capturedBy.white, state.4)
            XCTAssertEqual(game.board.invariantViolations(), [])
        }
        XCTAssertFalse(game.undo())
    }

    func testUndoForgetsTheUndonePositions() {
        // Black takes the ko; undone, the same capture is legal again (its position is forgotten).
        let game = GoGame(size: 5)
        for (color, point) in [
            (GoColor.black, pt(0, 1)), (.white, pt(0, 2)), (.black, pt(1, 0)), (.white, pt(1, 3)),
            (.black, pt(2, 1)), (.white, pt(2, 2)), (.black, pt(4, 4)), (.white, pt(1, 1))
        ] {
            XCTAssertTrue(game.play(.play(point), color: color), "\(color) \(point)")
        }
        XCTAssertTrue(game.play(.play(pt(1, 2)), color: .black))
        XCTAssertEqual(game.board.koPoint, pt(1, 1))
        XCTAssertTrue(game.undo())
        XCTAssertEqual(game.board[pt(1, 1)], .white)
        XCTAssertTrue(game.play(.play(pt(1, 2)), color: .black))
        XCTAssertEqual(game.board.capturedBy.black, 1)
    }

    func testResignationAndResults() {
        let game = GoGame(size: 9)
        XCTAssertTrue(game.play(.play(pt(4, 4))))
        XCTAssertTrue(game.play(.resign))
        XCTAssertTrue(game.isOver)
        XCTAssertEqual(game.result, .resignation(winner: .black))
        XCTAssertFalse(game.play(.play(pt(0, 0))), "no moves after a resignation")
        XCTAssertEqual(game.record.result, "B+R")
        XCTAssertEqual(game.record.moves.count, 1)
        XCTAssertTrue(game.undo())
        XCTAssertFalse(game.isOver)
        // Two passes end a game and count it: one black stone owns all 81 points.
        game.play(.pass)
        game.play(.pass)
        XCTAssertTrue(game.isOver)
        XCTAssertEqual(game.result, .score(margin: 81 - 7.5))
    }
}
