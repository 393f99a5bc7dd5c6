import Envs
import XCTest

/// Replays the 25 MinAtar 1.0.15 Breakout episodes of `minatar-breakout-trajectories.jsonl`
/// (recorded by running MinAtar with sticky actions off; format in the shared fixtures README)
/// and compares the full state after every step.
final class BreakoutReplayTests: XCTestCase {
    /// `[action, reward, ball_x, ball_y, ball_dir, paddle, strike, terminal, row1, row2, row3]`
    private func state(_ game: Breakout, action: Int, reward: Float) -> [Int] {
        [
            action, Int(reward), game.ballX, game.ballY, game.ballDirection.rawValue, game.paddle,
            game.strike ? 1 : 0, game.terminated ? 1 : 0, game.brickRow(1), game.brickRow(2), game.brickRow(3)
        ]
    }

    func testReplaysMinAtarEpisodesStepForStep() throws {
        let episodes = try Fixtures.jsonLines("minatar-breakout-trajectories.jsonl")
        XCTAssertEqual(episodes.count, 25)
        var totalSteps = 0
        for episode in episodes {
            let id = try XCTUnwrap(episode["episode"] as? Int)
            let start = try Fixtures.ints(episode["start"])
            let steps = try XCTUnwrap(episode["steps"] as? [Any])

            var game = Breakout()
            game.ballX = start[2]
            game.ballY = start[3]
            game.ballDirection = try XCTUnwrap(Breakout.Direction(rawValue: start[4]))
            game.paddle = start[5]
            game.strike = start[6] == 1
            game.terminated = start[7] == 1
            game.bricks = 0
            for row in 1...3 {
                for column in 0..<10 where start[7 + row] >> column & 1 == 1 { game.setBrick(row: row, column: column) }
            }
            game.lastX = game.ballX
            game.lastY = game.ballY
            XCTAssertEqual(state(game, action: -1, reward: 0), start, "episode \(id) start")

            for (t, entry) in steps.enumerated() {
                let expected = try Fixtures.ints(entry)
                let (previousX, previousY) = (game.ballX, game.ballY)
                let action = try XCTUnwrap(MinAtarAction(rawValue: expected[0]))
                let result = game.act(action)
                let got = state(game, action: expected[0], reward: result.reward)
                if got != expected {
                    XCTFail("episode \(id) step \(t): expected \(expected), got \(got)")
                    break
                }
                XCTAssertEqual([game.lastX, game.lastY], [previousX, previousY], "episode \(id) step \(t): trail")
                XCTAssertEqual(result.terminated, expected[7] == 1)
                XCTAssertFalse(result.truncated)
                totalSteps += 1
            }
        }
        XCTAssertEqual(totalSteps, 10_544)
    }
}
