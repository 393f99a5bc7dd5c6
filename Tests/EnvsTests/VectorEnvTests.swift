import Envs
import XCTest

/// The vector environment against its definition: N independent environments with seeds
/// `seed + i`, stepped one by one, reset by hand when an episode ends.
final class VectorEnvTests: XCTestCase {
    /// MinAtar's environment (sticky actions); every other copy has a step limit of 12 so that
    /// truncations happen alongside terminations.
    private func make(_ game: String, _ index: Int = 0) -> AnyEnvironment {
        try! Games.makeMinAtar(game, seed: 99, maxEpisodeSteps: index % 2 == 0 ? 12 : 10_000)
    }

    private func checkAgainstIndependentCopies(game: String, count: Int, threads: Int, steps: Int) {
        let seed: UInt64 = 1_234
        var vector = VectorEnvironment(count: count) { self.make(game, $0) }
        vector.threads = threads
        vector.reset(seed: seed)
        var copies = (0..<count).map { make(game, $0) }
        for i in 0..<count { copies[i].reset(seed: seed + UInt64(i)) }
        let size = vector.observationShape.count
        var batch = [Float](repeating: .nan, count: count * size)
        var final = [Float](repeating: .nan, count: size)
        var random = MersenneTwister(seed: UInt64(5))
        var ends = (terminated: 0, truncated: 0)
        for step in 0..<steps {
            let actions = (0..<count).map { _ in random.nextInt(below: vector.actionCount) }
            vector.step(actions)
            batch.withUnsafeMutableBufferPointer { vector.writeObservations(into: $0) }
            for i in 0..<count {
                let result = copies[i].step(actions[i])
                XCTAssertEqual(vector.rewards[i], result.reward, "step \(step) env \(i)")
                XCTAssertEqual(vector.terminated[i], result.terminated, "step \(step) env \(i)")
                XCTAssertEqual(vector.truncated[i], result.truncated, "step \(step) env \(i)")
                XCTAssertEqual(vector.didReset(i), result.isDone)
                if result.isDone {
                    if result.terminated { ends.terminated += 1 } else { ends.truncated += 1 }
                    final.withUnsafeMutableBufferPointer { vector.writeFinalObservation(i, into: $0) }
                    XCTAssertEqual(final, copies[i].observation(), "final observation, step \(step) env \(i)")
                    copies[i].reset(seed: nil)
                }
                XCTAssertEqual(
                    Array(batch[(i * size)..<((i + 1) * size)]), copies[i].observation(),
                    "observation of env \(i) at step \(step) (after autoreset when the episode ended)")
            }
        }
        XCTAssertGreaterThan(ends.terminated, 0, "the run must contain terminations")
        XCTAssertGreaterThan(ends.truncated, 0, "the run must contain truncations")
    }

    func testVectorEnvEqualsIndependentEnvironmentsSteppedOneByOne() {
        checkAgainstIndependentCopies(game: "breakout", count: 5, threads: 1, steps: 300)
        checkAgainstIndependentCopies(game: "space_invaders", count: 3, threads: 1, steps: 300)
    }

    func testThreadedVectorEnvEqualsIndependentEnvironments() {
        checkAgainstIndependentCopies(game: "breakout", count: 7, threads: 3, steps: 300)
    }

    func testCopiesGetDistinctSeedsFromOneSeed() {
        var vector = VectorEnvironment(count: 4) { _ in self.make("asterix") }
        vector.reset(seed: 8)
        var random = MersenneTwister(seed: UInt64(1))
        for _ in 0..<30 { vector.step((0..<4).map { _ in random.nextInt(below: vector.actionCount) }) }
        let size = vector.observationShape.count
        let all = vector.observations()
        let distinct = Set((0..<4).map { Array(all[($0 * size)..<(($0 + 1) * size)]) })
        XCTAssertGreaterThan(distinct.count, 1, "copies seeded seed + i must not play the same game")
    }
}
