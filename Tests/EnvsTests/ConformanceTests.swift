import Envs
import XCTest

/// The contract every game keeps, in both observation modes (Gymnasium's env checker in spirit).
///
/// Stepping an episode that is over (`isDone`) without a reset is a precondition failure in every
/// game and in `TimeLimit`; that is misuse in code, so it is documented here and not tested by
/// crashing the test process.
final class ConformanceTests: XCTestCase {
    struct Check: GameVisitor {
        let test: (any MinAtarGame) throws -> Void
        func visit<G: MinAtarGame>(_ game: G) -> Error? {
            do {
                try test(game)
                return nil
            } catch { return error }
        }
    }

    /// Runs `body` on a fresh game of every name in every mode.
    func forEveryGame(
        seed: UInt64 = 3, _ body: @escaping (any MinAtarGame, String, ObservationMode) throws -> Void
    ) throws {
        for name in Games.names {
            for mode in ObservationMode.allCases {
                let error = try Games.visit(name, observation: mode, seed: seed, Check { try body($0, name, mode) })
                if let error { throw error }
            }
        }
    }

    /// A fixed sequence of actions for `game`, valid for its action count.
    func actions(_ count: Int, _ actionCount: Int, seed: UInt64) -> [Int] {
        var random = MersenneTwister(seed: seed)
        return (0..<count).map { _ in random.nextInt(below: actionCount) }
    }

    /// Plays `actions`, resetting at episode ends; returns every result and observation.
    func play<E: Environment>(_ env: inout E, _ actions: [Int]) -> (results: [StepResult], observations: [[UInt8]]) {
        var results: [StepResult] = [], observations: [[UInt8]] = []
        for action in actions {
            if env.isDone { env.reset(seed: nil) }
            results.append(env.step(action))
            observations.append(env.observationBytes())
        }
        return (results, observations)
    }

    func testDeclaredSpaces() throws {
        try forEveryGame { game, name, mode in
            XCTAssertEqual(type(of: game).name, name)
            XCTAssertEqual(game.actionNames.count, game.actionCount, name)
            XCTAssertEqual(game.actionNames, type(of: game).actions.map(\.name), name)
            XCTAssertEqual(game.actionNames.first, "noop", name)
            switch mode {
            case .grid:
                XCTAssertEqual(
                    game.observationShape,
                    ObservationShape(channels: type(of: game).channelNames.count, height: 10, width: 10))
                XCTAssertEqual(game.observationScale, 1)
            case .pixels:
                XCTAssertEqual(game.observationShape, ObservationShape(channels: 1, height: 84, width: 84))
                XCTAssertEqual(game.observationScale, 1 / 255)
            }
            let frame = game.render()
            XCTAssertEqual([frame.width, frame.height], [Screen.width, Screen.height])
        }
        // MinAtar's channel counts and minimal action sets.
        XCTAssertEqual(
            [
                Breakout.channelNames.count, SpaceInvaders.channelNames.count, Freeway.channelNames.count,
                Asterix.channelNames.count, Seaquest.channelNames.count
            ], [4, 6, 7, 4, 10])
        XCTAssertEqual(
            [
                Breakout.actions.count, SpaceInvaders.actions.count, Freeway.actions.count,
                Asterix.actions.count, Seaquest.actions.count
            ], [3, 4, 3, 5, 6])
    }

    func testDeterministicUnderASeed() throws {
        try forEveryGame { game, name, mode in
            let steps = mode == .grid ? 3000 : 300
            var first = AnyEnvironment(game), second = AnyEnvironment(game)
            first.reset(seed: 11)
            second.reset(seed: 11)
            let plan = self.actions(steps, game.actionCount, seed: 5)
            let a = self.play(&first, plan), b = self.play(&second, plan)
            XCTAssertEqual(a.results, b.results, "\(name) \(mode)")
            XCTAssertEqual(a.observations, b.observations, "\(name) \(mode)")
        }
    }

    func testObservationsWithinSpec() throws {
        try forEveryGame { game, name, mode in
            var env = AnyEnvironment(game)
            let n = env.observationShape.count
            var floats = [Float](repeating: -1, count: n)
            for action in self.actions(mode == .grid ? 2000 : 200, env.actionCount, seed: 8) {
                if env.isDone { env.reset() }
                let result = env.step(action)
                XCTAssertFalse(result.truncated, "\(name): games never truncate by themselves")
                XCTAssertEqual(result.terminated, env.isDone)
                XCTAssertTrue(
                    result.reward >= 0 && result.reward == result.reward.rounded(), "\(name) reward \(result.reward)")
                let bytes = env.observationBytes()
                floats.withUnsafeMutableBufferPointer { env.writeObservation(into: $0) }
                XCTAssertEqual(bytes.count, n)
                for i in 0..<n where floats[i] != Float(bytes[i]) * env.observationScale {
                    XCTFail("\(name) \(mode): float \(floats[i]) ≠ byte \(bytes[i]) × scale at \(i)")
                    return
                }
                if mode == .grid {
                    XCTAssertTrue(bytes.allSatisfy { $0 <= 1 }, "\(name): grid values must be 0 or 1")
                }
            }
        }
    }

    /// The pixel observation is the rendered colour frame after luminance and area resize.
    func testPixelObservationIsThePreprocessedPicture() throws {
        try forEveryGame { game, name, mode in
            guard mode == .pixels else { return }
            var env = AnyEnvironment(game)
            for (t, action) in self.actions(60, env.actionCount, seed: 9).enumerated() {
                if env.isDone { env.reset() }
                _ = env.step(action)
                if t % 10 == 0 {
                    XCTAssertEqual(
                        env.observationBytes(), PixelPreprocessing.observation(of: env.render()), "\(name) step \(t)")
                }
            }
        }
    }

    /// `draw` paints every pixel, so the pixel observation may start from uninitialised memory.
    func testPicturesPaintEveryPixel() throws {
        try forEveryGame { game, name, mode in
            guard mode == .pixels else { return }
            var env = AnyEnvironment(game)
            for action in self.actions(40, env.actionCount, seed: 4) {
                if env.isDone { env.reset() }
                _ = env.step(action)
            }
            let drawn = try XCTUnwrap(env.base as? any MinAtarGame)
            var dark = GrayFrame(width: Screen.width, height: Screen.height, fill: 77)
            var light = GrayFrame(width: Screen.width, height: Screen.height, fill: 201)
            drawn.draw(on: &dark)
            drawn.draw(on: &light)
            XCTAssertEqual(dark, light, name)
            XCTAssertEqual(dark, drawn.grayPicture(), name)
        }
    }

    func testResetAfterTheEndStartsAFreshEpisode() throws {
        try forEveryGame { game, name, mode in
            guard mode == .grid else { return }
            var env = AnyEnvironment(game)
            env.reset(seed: 21)
            let fresh = env.observationBytes()
            var steps = 0
            var random = MersenneTwister(seed: UInt64(1))
            while !env.isDone && steps < 5000 {
                _ = env.step(random.nextInt(below: env.actionCount))
                steps += 1
            }
            XCTAssertTrue(env.isDone, "\(name): a random policy should end an episode within 5,000 steps")
            env.reset(seed: 21)
            XCTAssertFalse(env.isDone)
            XCTAssertEqual(env.observationBytes(), fresh, "\(name): reset with the same seed gives the same start")
            _ = env.step(0)
        }
    }

    func testTerminatedVersusTruncated() throws {
        // Freeway always lasts 2,500 steps: a limit of 100 truncates it without terminating.
        var limited = TimeLimit(Freeway(seed: 1), maxEpisodeSteps: 100)
        for t in 1...100 {
            let result = limited.step(0)
            XCTAssertFalse(result.terminated)
            XCTAssertEqual(result.truncated, t == 100)
        }
        XCTAssertTrue(limited.isDone)
        XCTAssertFalse(limited.base.isDone)
        // Freeway's own end at 2,501 steps is a termination.
        var freeway = Freeway(seed: 1)
        var last = StepResult(reward: 0, terminated: false)
        var steps = 0
        while !last.terminated {
            last = freeway.step(0)
            steps += 1
        }
        XCTAssertEqual(steps, 2501)
        XCTAssertFalse(last.truncated)
    }

    func testRegistry() throws {
        XCTAssertEqual(Games.names, ["breakout", "space_invaders", "freeway", "asterix", "seaquest"])
        XCTAssertEqual(try Games.make("Space-Invaders").actionCount, 4)
        XCTAssertEqual(try Games.make("seaquest", observation: .pixels).observationShape.count, 84 * 84)
        XCTAssertThrowsError(try Games.make("pong")) { error in
            XCTAssertEqual(error as? GameError, .unknownGame("pong"))
            XCTAssertEqual(
                "\(error)", "unknown game 'pong'; the games are breakout, space_invaders, freeway, asterix, seaquest")
        }
        let env = try Games.makeMinAtar("breakout", seed: 3, maxEpisodeSteps: 10)
        XCTAssertEqual(env.actionNames, ["noop", "left", "right"])
    }
}

/// A uniformly random policy (minimal action set, sticky actions 0.1) scores like it does in the
/// real MinAtar. Reference: `scripts/minatar_reference.py --episodes 1000 --seed 0` with MinAtar
/// 1.0.15 printed mean return ± standard error (mean length):
/// breakout 0.363 ± 0.020 (9.7), space_invaders 4.015 ± 0.102 (58.1), freeway 0.374 ± 0.019
/// (2501.0), asterix 0.486 ± 0.028 (67.3), seaquest 0.115 ± 0.013 (31.1).
/// The two implementations draw different random numbers, so means may differ by noise: the test
/// allows 4 combined standard errors (seeded, so it cannot flake).
final class RandomPolicyTests: XCTestCase {
    func testRandomPolicyMatchesMinAtar() throws {
        let minatar: [String: (mean: Double, standardError: Double, length: Double)] = [
            "breakout": (0.363, 0.020, 9.676), "space_invaders": (4.015, 0.102, 58.103),
            "freeway": (0.374, 0.019, 2501.0), "asterix": (0.486, 0.028, 67.33), "seaquest": (0.115, 0.013, 31.128)
        ]
        for name in Games.names {
            let reference = try XCTUnwrap(minatar[name])
            let records = try Games.randomEpisodes(name, count: 1000, seed: 0, stickyActionProbability: 0.1)
            let returns = records.map { Double($0.totalReward) }
            let mean = returns.reduce(0, +) / 1000
            let variance = returns.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 999
            let standardError = (variance / 1000).squareRoot()
            let tolerance =
                4 * (standardError * standardError + reference.standardError * reference.standardError).squareRoot()
            XCTAssertEqual(mean, reference.mean, accuracy: tolerance, name)
            let meanLength = Double(records.map(\.length).reduce(0, +)) / 1000
            XCTAssertEqual(meanLength, reference.length, accuracy: max(1, 0.1 * reference.length), name)
        }
    }
}
