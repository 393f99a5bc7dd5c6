import Envs
import XCTest

/// A transparent test environment: its observation is one byte, the number of steps taken in
/// the episode; it terminates after `episodeLength` steps and logs every action it executes.
struct Counter: Environment {
    var episodeLength: Int
    var t = 0
    var executed: [Int] = []
    var resets = 0
    var actionNames: [String] { ["a", "b", "c"] }
    var observationShape: ObservationShape { ObservationShape(channels: 1, height: 1, width: 1) }
    var observationScale: Float { 0.5 }
    var isDone: Bool { t >= episodeLength }
    mutating func reset(seed: UInt64?) {
        t = 0
        resets += 1
    }
    mutating func step(_ action: Int) -> StepResult {
        precondition(!isDone, "Counter.step after the end")
        executed.append(action)
        t += 1
        return StepResult(reward: Float(action), terminated: t >= episodeLength)
    }
    func writeObservation(into buffer: UnsafeMutableBufferPointer<Float>) { buffer[0] = Float(t) * 0.5 }
    func writeObservation(into buffer: UnsafeMutableBufferPointer<UInt8>) { buffer[0] = UInt8(t) }
    func render() -> Frame { Frame(width: 1, height: 1) }
}

final class WrapperTests: XCTestCase {
    func testStickyActionsRepeatThePreviouslyExecutedAction() {
        var always = StickyActions(Counter(episodeLength: 1000), probability: 1, seed: 1)
        for a in [2, 1, 2] { _ = always.step(a) }
        XCTAssertEqual(always.base.executed, [0, 0, 0], "p = 1 repeats the initial no-op forever")

        var never = StickyActions(Counter(episodeLength: 1000), probability: 0, seed: 1)
        for a in [2, 1, 2] { _ = never.step(a) }
        XCTAssertEqual(never.base.executed, [2, 1, 2])

        // p = 0.5 with episodes of 2 steps: every executed action is the requested one or the
        // previously executed one, also on the first step after a reset.
        var half = StickyActions(Counter(episodeLength: 2), probability: 0.5, seed: 4)
        var random = MersenneTwister(seed: UInt64(2))
        var requested: [Int] = [], acrossReset = 0, repeats = 0
        for _ in 0..<2000 {
            if half.isDone { half.reset(seed: nil) }
            let a = random.nextInt(below: 3)
            requested.append(a)
            _ = half.step(a)
        }
        let executed = half.base.executed
        for i in 0..<executed.count where executed[i] != requested[i] {
            let previous = i == 0 ? 0 : executed[i - 1]
            XCTAssertEqual(executed[i], previous, "step \(i)")
            repeats += 1
            if i % 2 == 0 { acrossReset += 1 }
        }
        XCTAssertGreaterThan(acrossReset, 50, "repeats carried across resets")
        // Repeats that change the action happen with probability p · P(a ≠ previous) = 0.5 · 2/3.
        XCTAssertEqual(Double(repeats) / 2000, 1.0 / 3.0, accuracy: 0.05)
    }

    func testStickyActionsAreSeeded() {
        func run(_ seed: UInt64) -> [Int] {
            var env = StickyActions(Counter(episodeLength: 1000), probability: 0.5, seed: 0)
            env.reset(seed: seed)
            for i in 0..<100 { _ = env.step(i % 3) }
            return env.base.executed
        }
        XCTAssertEqual(run(3), run(3))
        XCTAssertNotEqual(run(3), run(4))
    }

    func testTimeLimitTruncates() {
        var env = TimeLimit(Counter(episodeLength: 1000), maxEpisodeSteps: 3)
        XCTAssertEqual((0..<3).map { _ in env.step(1).truncated }, [false, false, true])
        XCTAssertTrue(env.isDone)
        env.reset()
        XCTAssertFalse(env.isDone)
        XCTAssertEqual(env.elapsedSteps, 0)
        // A game that ends before the limit is terminated, not truncated.
        var short = TimeLimit(Counter(episodeLength: 2), maxEpisodeSteps: 5)
        _ = short.step(0)
        let end = short.step(0)
        XCTAssertTrue(end.terminated)
        XCTAssertFalse(end.truncated)
        XCTAssertTrue(short.isDone)
    }

    func testFrameStackOrderIsOldestFirst() {
        var env = FrameStack(Counter(episodeLength: 1000), count: 4)
        XCTAssertEqual(env.observationShape, ObservationShape(channels: 4, height: 1, width: 1))
        XCTAssertEqual(env.observationBytes(), [0, 0, 0, 0], "after a reset every slot holds the first observation")
        _ = env.step(0)
        XCTAssertEqual(env.observationBytes(), [0, 0, 0, 1])
        for _ in 0..<4 { _ = env.step(0) }
        XCTAssertEqual(env.observationBytes(), [2, 3, 4, 5])
        XCTAssertEqual(env.observation(), [1, 1.5, 2, 2.5], "floats are bytes × the base's scale")
        env.reset()
        XCTAssertEqual(env.observationBytes(), [0, 0, 0, 0])
    }

    func testFrameStackOnAGame() {
        var env = FrameStack(Breakout(seed: 2), count: 2)
        XCTAssertEqual(env.observationShape, ObservationShape(channels: 8, height: 10, width: 10))
        let before = env.base.observationBytes()
        _ = env.step(1)
        XCTAssertEqual(env.observationBytes(), before + env.base.observationBytes())
    }

    func testAutoResetStartsTheNextEpisodeInTheSameStep() {
        var env = AutoReset(Counter(episodeLength: 2))
        XCTAssertFalse(env.step(1).isDone)
        XCTAssertFalse(env.didReset)
        let end = env.step(2)
        XCTAssertTrue(end.terminated)
        XCTAssertEqual(end.reward, 2)
        XCTAssertTrue(env.didReset)
        XCTAssertFalse(env.isDone)
        XCTAssertEqual(env.observationBytes(), [0], "the new episode's first observation")
        var final: [UInt8] = [9]
        final.withUnsafeMutableBufferPointer { env.writeFinalObservation(into: $0) }
        XCTAssertEqual(final, [2], "the ended episode's last observation")
        XCTAssertEqual(env.base.resets, 1)
        _ = env.step(0)
        XCTAssertFalse(env.didReset)
    }

    func testEpisodeStatistics() {
        var env = AutoReset(EpisodeStatistics(Counter(episodeLength: 3)))
        for a in [1, 2, 2, 0, 1, 1, 2] { _ = env.step(a) }
        XCTAssertEqual(
            env.base.finished, [EpisodeRecord(totalReward: 5, length: 3), EpisodeRecord(totalReward: 2, length: 3)])
        XCTAssertEqual(env.base.episodeLength, 1)
        XCTAssertEqual(env.base.episodeReturn, 2)
    }

    func testVectorEnvironmentStepsAllTogether() {
        var vector = VectorEnvironment(count: 3) { Counter(episodeLength: $0 + 1) }
        XCTAssertEqual(vector.count, 3)
        vector.step([1, 2, 0])
        XCTAssertEqual(vector.rewards, [1, 2, 0])
        XCTAssertEqual(vector.terminated, [true, false, false])
        XCTAssertEqual(vector.truncated, [false, false, false])
        XCTAssertEqual([vector.didReset(0), vector.didReset(1)], [true, false])
        XCTAssertEqual(vector.observations(), [0, 0.5, 0.5], "(N, C, H, W) batch; env 0 already restarted")
        vector.step([0, 0, 0])
        XCTAssertEqual(vector.terminated, [true, true, false])
        var bytes = [UInt8](repeating: 9, count: 3)
        bytes.withUnsafeMutableBufferPointer { vector.writeObservations(into: $0) }
        XCTAssertEqual(bytes, [0, 0, 2])
        XCTAssertEqual(vector[2].base.executed, [0, 0])
        vector.withEnvironment(2) { $0.base.executed.removeAll() }
        XCTAssertEqual(vector[2].base.executed, [])
    }

    func testVectorEnvironmentOfGamesIsSeededPerEnvironment() {
        var a = VectorEnvironment(count: 4) { _ in Breakout() }
        var b = VectorEnvironment(count: 4) { _ in Breakout() }
        a.reset(seed: 10)
        b.reset(seed: 10)
        var random = MersenneTwister(seed: UInt64(3))
        for _ in 0..<500 {
            let actions = (0..<4).map { _ in random.nextInt(below: 3) }
            a.step(actions)
            b.step(actions)
            XCTAssertEqual(a.observations(), b.observations())
            XCTAssertEqual(a.rewards, b.rewards)
        }
    }
}
