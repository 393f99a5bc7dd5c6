import Agents
import XCTest

final class ReplayBufferTests: XCTestCase {
    /// A binary observation that encodes `t` in its bits, so any mix-up shows.
    private func planes(_ t: Int, size: Int = 13) -> [Float] {
        (0..<size).map { Float((t >> ($0 % 10)) & 1 ^ ($0 == 12 ? 1 : 0)) }
    }

    func testBitsStoreExactlyWhatWasAdded() {
        let buffer = ReplayBuffer(capacity: 16, observationSize: 13, storage: .bits)
        for t in 0..<10 {
            buffer.add(
                observation: planes(t), action: t % 3, reward: Float(t), nextObservation: planes(t + 1),
                terminated: t == 4, truncated: false)
        }
        XCTAssertEqual(buffer.count, 10)
        var batch = ReplayBatch(size: 64, observationSize: 13)
        var g = SystemRandomNumberGenerator()
        buffer.sample(into: &batch, gamma: 0.9, using: &g)
        for row in 0..<64 {
            let t = Int(batch.returns[row])  // reward t identifies the transition
            XCTAssertEqual(Array(batch.states[row * 13..<(row + 1) * 13]), planes(t))
            XCTAssertEqual(Array(batch.nextStates[row * 13..<(row + 1) * 13]), planes(t + 1))
            XCTAssertEqual(batch.actions[row], t % 3)
            XCTAssertEqual(batch.discounts[row], t == 4 ? 0 : 0.9, accuracy: 1e-6)
        }
    }

    func testBitsOverwriteOldest() {
        let buffer = ReplayBuffer(capacity: 10, observationSize: 13, storage: .bits)
        for t in 0..<25 {
            buffer.add(
                observation: planes(t), action: 0, reward: Float(t), nextObservation: planes(t + 1),
                terminated: false, truncated: false)
        }
        XCTAssertEqual(buffer.count, 10)
        var batch = ReplayBatch(size: 200, observationSize: 13)
        var g = SystemRandomNumberGenerator()
        buffer.sample(into: &batch, gamma: 1, using: &g)
        XCTAssertEqual(Set(batch.returns.map { Int($0) }), Set(15..<25))
    }

    func testNStepReturnStopsAtTerminalAndEpisodeEnd() {
        let buffer = ReplayBuffer(capacity: 32, observationSize: 13, storage: .bits)
        // Episode A: rewards 1, 2, 3 then terminal. Episode B: rewards 10, 20 then truncated.
        let rewards: [Float] = [1, 2, 3, 10, 20]
        let ends: [(Bool, Bool)] = [(false, false), (false, false), (true, false), (false, false), (false, true)]
        for t in 0..<5 {
            buffer.add(
                observation: planes(t), action: t, reward: rewards[t], nextObservation: planes(t + 1),
                terminated: ends[t].0, truncated: ends[t].1)
        }
        var batch = ReplayBatch(size: 100, observationSize: 13)
        var g = SystemRandomNumberGenerator()
        buffer.sample(into: &batch, nSteps: 3, gamma: 0.5, using: &g)
        for row in 0..<100 {
            let next = Array(batch.nextStates[row * 13..<(row + 1) * 13])
            switch batch.actions[row] {
            case 0:  // 1 + .5·2 + .25·3, terminal inside → discount 0
                XCTAssertEqual(batch.returns[row], 2.75)
                XCTAssertEqual(batch.discounts[row], 0)
                XCTAssertEqual(next, planes(3))
            case 1:
                XCTAssertEqual(batch.returns[row], 3.5)
                XCTAssertEqual(batch.discounts[row], 0)
            case 2:
                XCTAssertEqual(batch.returns[row], 3)
                XCTAssertEqual(batch.discounts[row], 0)
            case 3:  // 10 + .5·20, truncated: bootstrap from s₅ with γ²
                XCTAssertEqual(batch.returns[row], 20)
                XCTAssertEqual(batch.discounts[row], 0.25)
                XCTAssertEqual(next, planes(5))
            case 4:
                XCTAssertEqual(batch.returns[row], 20)
                XCTAssertEqual(batch.discounts[row], 0.5)
            default: XCTFail("unexpected action")
            }
        }
    }

    /// Frame stacks of 3 frames of 2 values; frame value encodes (episode, step).
    func testFramesRebuildStacksWithEpisodePadding() {
        let stack = 3, frameSize = 2
        let buffer = ReplayBuffer(capacity: 64, observationSize: stack * frameSize, storage: .frames(stack: stack))
        func frame(_ e: Int, _ t: Int) -> [Float] { [Float(e * 10 + t) / 255, Float(100 + t) / 255] }
        func observation(_ e: Int, _ t: Int) -> [Float] {  // Gymnasium "reset" padding
            (0..<stack).flatMap { k in frame(e, max(0, t - (stack - 1 - k))) }
        }
        var expected: [Int: ([Float], [Float], Float)] = [:]  // action id → (s, s′, discount)
        var id = 0
        for (e, length) in [(1, 4), (2, 2), (3, 5)] {
            for t in 0..<length {
                let terminal = t == length - 1 && e != 3
                buffer.add(
                    observation: observation(e, t), action: id, reward: 0, nextObservation: observation(e, t + 1),
                    terminated: terminal, truncated: e == 3 && t == length - 1)
                expected[id] = (observation(e, t), observation(e, t + 1), terminal ? 0 : 0.5)
                id += 1
            }
        }
        XCTAssertEqual(buffer.count, 11)
        var batch = ReplayBatch(size: 300, observationSize: stack * frameSize)
        var g = SystemRandomNumberGenerator()
        buffer.sample(into: &batch, gamma: 0.5, using: &g)
        var seen = Set<Int>()
        for row in 0..<300 {
            let (s, next, discount) = expected[batch.actions[row]]!
            let n = stack * frameSize
            for (a, b) in zip(batch.states[row * n..<(row + 1) * n], s) { XCTAssertEqual(a, b, accuracy: 1e-6) }
            for (a, b) in zip(batch.nextStates[row * n..<(row + 1) * n], next) { XCTAssertEqual(a, b, accuracy: 1e-6) }
            XCTAssertEqual(batch.discounts[row], discount)
            seen.insert(batch.actions[row])
        }
        XCTAssertEqual(seen, Set(0..<11))
        // One frame per step plus one per episode: 11 + 3 frames of 2 bytes; nothing duplicated.
        XCTAssertEqual(buffer.observationBytes, 64 * frameSize)
    }

    func testFramesNeverSampleOverwrittenHistory() {
        let stack = 4
        let buffer = ReplayBuffer(capacity: 16, observationSize: stack, storage: .frames(stack: stack))
        func observation(_ t: Int) -> [Float] { (0..<stack).map { Float(max(0, t - (stack - 1 - $0))) / 255 } }
        for t in 0..<100 {
            buffer.add(
                observation: observation(t), action: t, reward: 0, nextObservation: observation(t + 1),
                terminated: false, truncated: false)
        }
        var batch = ReplayBatch(size: 500, observationSize: stack)
        var g = SystemRandomNumberGenerator()
        buffer.sample(into: &batch, gamma: 1, using: &g)
        for row in 0..<500 {
            let t = batch.actions[row]
            XCTAssertGreaterThanOrEqual(t, 100 - 15)
            for k in 0..<stack { XCTAssertEqual(batch.states[row * stack + k], observation(t)[k], accuracy: 1e-6) }
        }
    }

    func testPrioritizedSamplingFollowsPriorities() {
        let buffer = ReplayBuffer(capacity: 16, observationSize: 13, storage: .bits, prioritized: true)
        for t in 0..<4 {
            buffer.add(
                observation: planes(t), action: t, reward: 0, nextObservation: planes(t + 1), terminated: false,
                truncated: false)
        }
        // Priorities (|δ|)^1: 1, 1, 2, 4 → P = 1/8, 1/8, 2/8, 4/8.
        buffer.updatePriorities(indices: [0, 1, 2, 3], tdErrors: [1, 1, 2, 4], alpha: 1, epsilon: 0)
        var counts = [0, 0, 0, 0]
        var batch = ReplayBatch(size: 32, observationSize: 13)
        var g = SystemRandomNumberGenerator()
        for _ in 0..<250 {
            buffer.samplePrioritized(into: &batch, beta: 1, gamma: 1, using: &g)
            for a in batch.actions { counts[a] += 1 }
        }
        let total = Float(counts.reduce(0, +))
        XCTAssertEqual(Float(counts[3]) / total, 0.5, accuracy: 0.03)
        XCTAssertEqual(Float(counts[0]) / total, 0.125, accuracy: 0.03)
        // β = 1 weights ∝ 1/P, normalised by the max (the rarest, P = 1/8 → weight 1).
        for (a, w) in zip(batch.actions, batch.weights) {
            XCTAssertEqual(w, [1, 1, 0.5, 0.25][a], accuracy: 1e-5)
        }
    }
}
