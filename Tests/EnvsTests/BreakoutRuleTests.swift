import Envs
import XCTest

/// Breakout's rules on hand-built states; expected cells worked out by hand from MinAtar's
/// `breakout.py` (directions: 0 up-left, 1 up-right, 2 down-right, 3 down-left).
final class BreakoutRuleTests: XCTestCase {
    func game(ball: (Int, Int), _ direction: Breakout.Direction, paddle: Int = 4, bricks: UInt128 = 0) -> Breakout {
        var game = Breakout()
        game.ballX = ball.0
        game.ballY = ball.1
        game.lastX = ball.0
        game.lastY = ball.1
        game.ballDirection = direction
        game.paddle = paddle
        game.bricks = bricks
        return game
    }

    func testSideWallFlipsTheHorizontalDirection() {
        var g = game(ball: (0, 5), .upLeft)
        _ = g.step(0)
        XCTAssertEqual([g.ballX, g.ballY], [0, 4])
        XCTAssertEqual(g.ballDirection, .upRight)
        var h = game(ball: (9, 6), .downRight)
        _ = h.step(0)
        XCTAssertEqual([h.ballX, h.ballY], [9, 7])
        XCTAssertEqual(h.ballDirection, .downLeft)
    }

    func testTopWallFlipsTheVerticalDirection() {
        var g = game(ball: (5, 0), .upRight)
        _ = g.step(0)
        XCTAssertEqual([g.ballX, g.ballY], [6, 0])
        XCTAssertEqual(g.ballDirection, .downRight)
        XCTAssertEqual([g.lastX, g.lastY], [5, 0], "the trail is the previous cell")
    }

    func testBrickGivesOneAndDisappearsAndTheBallKeepsItsRow() {
        var g = game(ball: (4, 4), .upRight, bricks: Breakout.fullWall)
        let result = g.step(0)
        XCTAssertEqual(result.reward, 1)
        XCTAssertFalse(g.isBrick(row: 3, column: 5))
        XCTAssertEqual(g.bricks.nonzeroBitCount, 29)
        XCTAssertEqual([g.ballX, g.ballY], [5, 4], "a bounce freezes the ball's row")
        XCTAssertEqual(g.ballDirection, .downRight)
        XCTAssertTrue(g.strike)
    }

    func testRightAfterAStrikeTheBallPassesThroughABrick() {
        var g = game(ball: (4, 4), .upRight, bricks: Breakout.fullWall)
        g.strike = true
        let result = g.step(0)
        XCTAssertEqual(result.reward, 0)
        XCTAssertTrue(g.isBrick(row: 3, column: 5), "the brick stays")
        XCTAssertEqual([g.ballX, g.ballY], [5, 3])
        XCTAssertEqual(g.ballDirection, .upRight)
        XCTAssertTrue(g.strike, "still inside a brick: the strike flag stays")
        // Next step the ball enters (2, 6), another brick, still without breaking it.
        XCTAssertEqual(g.step(0).reward, 0)
        XCTAssertEqual([g.ballX, g.ballY], [6, 2])
        XCTAssertEqual(g.bricks, Breakout.fullWall)
    }

    func testBallAbovePaddleBouncesStraightBack() {
        var g = game(ball: (4, 8), .downRight, paddle: 4)
        _ = g.step(0)
        XCTAssertEqual([g.ballX, g.ballY], [5, 8])
        XCTAssertEqual(g.ballDirection, .upRight)
        XCTAssertFalse(g.terminated)
    }

    func testBallArrivingOnThePaddleReversesItsHorizontalTravel() {
        // The paddle moves first: from 5 to 4, under the ball's landing cell.
        var g = game(ball: (3, 8), .downRight, paddle: 5)
        _ = g.step(1)
        XCTAssertEqual(g.paddle, 4)
        XCTAssertEqual([g.ballX, g.ballY], [4, 8])
        XCTAssertEqual(g.ballDirection, .upLeft)
        XCTAssertFalse(g.terminated)
    }

    func testMissingTheBallTerminates() {
        var g = game(ball: (3, 8), .downLeft, paddle: 7)
        let result = g.step(2)
        XCTAssertTrue(result.terminated)
        XCTAssertTrue(g.isDone)
        XCTAssertEqual([g.ballX, g.ballY], [2, 9])
    }

    func testClearingAllBricksBringsANewWallWhenTheBallReachesThePaddleRow() {
        var g = game(ball: (4, 4), .upRight, bricks: cellBit(3, 5))
        XCTAssertEqual(g.step(0).reward, 1)
        XCTAssertEqual(g.bricks, 0)
        // Down-right from (5, 4): (6, 5), (7, 6), (8, 7), (9, 8) — no wall yet.
        g.paddle = 9
        for _ in 0..<4 { _ = g.step(0) }
        XCTAssertEqual([g.ballX, g.ballY], [9, 8])
        XCTAssertEqual(g.bricks, 0)
        // Next: clamped at the side wall to x = 9 (now down-left) and entering row 9 right above
        // the paddle at 9: the wall refills and the ball bounces straight back, up-left.
        _ = g.step(0)
        XCTAssertEqual(g.bricks, Breakout.fullWall)
        XCTAssertFalse(g.terminated)
        XCTAssertEqual([g.ballX, g.ballY], [9, 8])
        XCTAssertEqual(g.ballDirection, .upLeft)
    }

    func testResetDrawsTheStartSideLikeMinAtar() {
        // np.random.RandomState(7).randint(2) draws 1, 0, 1, 0, 1 (see MersenneTwisterTests).
        var g = Breakout(seed: 7)
        XCTAssertEqual([g.ballX, g.ballY, g.ballDirection.rawValue, g.paddle], [9, 3, 3, 4])
        g.reset(seed: nil)
        XCTAssertEqual([g.ballX, g.ballDirection.rawValue], [0, 2])
        XCTAssertEqual(g.bricks, Breakout.fullWall)
        XCTAssertEqual(Breakout.fullWall.nonzeroBitCount, 30)
    }

    func testGridPlanes() {
        let g = game(ball: (2, 5), .downLeft, paddle: 6, bricks: Breakout.fullWall)
        let planes = g.observation()
        XCTAssertEqual(planes.count, 400)
        XCTAssertEqual(planes[0 * 100 + 9 * 10 + 6], 1, "paddle")
        XCTAssertEqual(planes[1 * 100 + 5 * 10 + 2], 1, "ball")
        XCTAssertEqual(planes[2 * 100 + 5 * 10 + 2], 1, "trail = ball before any step")
        XCTAssertEqual(planes[300..<400].reduce(0, +), 30)
        XCTAssertEqual(planes[3 * 100 + 1 * 10 + 0], 1, "brick at row 1")
        XCTAssertEqual(planes.reduce(0, +), 33)
    }

    func testPictureShowsBricksPaddleAndBall() {
        let g = game(ball: (2, 5), .downLeft, paddle: 6, bricks: Breakout.fullWall)
        let frame = g.render()
        let brick = frame[Screen.x(3) + 5, Screen.y(2) + 5]
        XCTAssertNotEqual(brick, .black)
        XCTAssertNotEqual(frame[Screen.x(3) + 5, Screen.y(1) + 5], brick, "rows have different colours")
        XCTAssertEqual(frame[Screen.x(3) + 5, Screen.y(5) + 5], .black, "empty cell")
        XCTAssertNotEqual(frame[Screen.x(6) + 7, Screen.y(9) + 5], .black, "paddle")
        XCTAssertNotEqual(frame[Screen.x(2) + 7, Screen.y(5) + 7], .black, "ball")
        XCTAssertNotEqual(frame[2, Screen.y(4)], .black, "left wall")
    }
}

/// Bit of cell (row, column) in a 10 × 10 map stored as `UInt128` (bricks, aliens, bullets).
func cellBit(_ row: Int, _ column: Int) -> UInt128 { UInt128(1) << (row * 10 + column) }
