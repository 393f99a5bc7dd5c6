import Agents
import Cortex
import Envs
import Foundation
import XCTest

final class DQNTests: XCTestCase {
    private func smallConfig() -> DQNConfig {
        var config = DQNConfig()
        config.batchSize = 4
        config.targetUpdateEvery = 3
        config.gamma = 0.5
        return config
    }

    /// Sets every parameter of `network` to a value derived from its name and index, so two
    /// networks can be made to differ in a known way.
    private func fill(_ network: QNetwork, scale: Float) {
        for (index, (_, tensor)) in network.namedParameters().enumerated() {
            for i in 0..<tensor.count {
                tensor.storage.pointer[i] = scale * Float((i * 7 + index * 3) % 11 - 5) / 50
            }
        }
    }

    func testDoubleDQNTargetMatchesHandComputedValue() {
        // Online and target networks differ; the target must use the online argmax on s′ and
        // the target network's value of it: y = R + discount · Q_target(s′, argmax_a Q_online(s′, a)).
        for double in [true, false] {
            var config = smallConfig()
            config.doubleDQN = double
            config.learningRate = 0  // keep the networks fixed so the check is exact
            config.maxGradNorm = 0
            let agent = DQNAgent(config: config, observationShape: [2, 3, 3], actionCount: 3)
            fill(agent.online, scale: 1)
            fill(agent.target, scale: -0.7)
            var batch = ReplayBatch(size: 4, observationSize: 18)
            for i in 0..<batch.states.count {
                batch.states[i] = Float(i % 3)
                batch.nextStates[i] = Float((i * 5) % 4) / 2
            }
            batch.actions = [0, 1, 2, 1]
            batch.returns = [1, 0, -1, 0.5]
            batch.discounts = [0.5, 0.5, 0, 0.25]
            // Hand computation from the networks' outputs on s′.
            let next = Tensor(shape: [4, 2, 3, 3], data: batch.nextStates)
            let qOnline = withNoGrad { agent.online(next) }, qTarget = withNoGrad { agent.target(next) }
            let current = withNoGrad { agent.online(Tensor(shape: [4, 2, 3, 3], data: batch.states)) }
            var expectedTD: [Float] = []
            for row in 0..<4 {
                let online = (0..<3).map { qOnline[row, $0] }, target = (0..<3).map { qTarget[row, $0] }
                let chooser = double ? online : target
                let best = chooser.firstIndex(of: chooser.max()!)!
                let y = batch.returns[row] + batch.discounts[row] * target[best]
                expectedTD.append(current[row, batch.actions[row]] - y)
            }
            let result = agent.update(batch)
            for row in 0..<4 {
                XCTAssertEqual(result.tdErrors[row], expectedTD[row], accuracy: 1e-5, "double \(double) row \(row)")
            }
            // Huber loss with δ = 1 of those differences, averaged.
            let huber = expectedTD.map { abs($0) < 1 ? 0.5 * $0 * $0 : abs($0) - 0.5 }.reduce(0, +) / 4
            XCTAssertEqual(result.loss, huber, accuracy: 1e-5)
        }
    }

    func testTargetNetworkChangesOnlyAtSyncs() {
        let config = smallConfig()  // sync every 3 updates
        let agent = DQNAgent(config: config, observationShape: [1, 3, 3], actionCount: 2)
        var generator = RandomGenerator(seed: 4)
        var batch = ReplayBatch(size: 4, observationSize: 9)
        for i in 0..<batch.states.count {
            batch.states[i] = generator.nextFloat()
            batch.nextStates[i] = generator.nextFloat()
        }
        batch.actions = [0, 1, 0, 1]
        batch.returns = [1, -1, 2, 0]
        batch.discounts = [0.5, 0.5, 0.5, 0.5]
        func targetValues() -> [Float] { agent.target.parameters().flatMap(\.scalars) }
        func onlineValues() -> [Float] { agent.online.parameters().flatMap(\.scalars) }
        XCTAssertEqual(targetValues(), onlineValues(), "starts synced")
        let initial = targetValues()
        agent.update(batch)
        agent.update(batch)
        XCTAssertEqual(targetValues(), initial, "unchanged between syncs")
        XCTAssertNotEqual(onlineValues(), initial, "the online network learns")
        agent.update(batch)  // third update: sync
        XCTAssertEqual(targetValues(), onlineValues())
        XCTAssertNotEqual(targetValues(), initial)
    }

    /// A 6-state chain: start in state 1; "right" moves right, "left" moves left (state 0 is a
    /// dead end paying 0.1 and ending the episode); state 5 pays 1 and ends it. With γ = 0.9
    /// going right is optimal everywhere: Q(s, right) = 0.9^(4−s) > Q(s, left).
    func testLearnsTheOptimalPolicyOfAChain() {
        var config = DQNConfig()
        config.seed = 3
        config.batchSize = 16
        config.gamma = 0.9
        config.learningRate = 1e-3
        config.targetUpdateEvery = 50
        let states = 6
        let agent = DQNAgent(config: config, observationShape: [1, 3, states], actionCount: 2)
        let replay = ReplayBuffer(capacity: 2_000, observationSize: 3 * states, storage: .bits)
        func observe(_ s: Int) -> [Float] {
            (0..<3 * states).map { $0 % states == s ? 1 : 0 }
        }
        var generator = RandomGenerator(seed: 11)
        var batch = ReplayBatch(size: 16, observationSize: 3 * states)
        var state = 1
        for step in 0..<3_000 {
            let epsilon = max(0.1, 1 - Float(step) / 1_500)
            let action = observe(state).withUnsafeBufferPointer {
                agent.act($0, epsilon: epsilon, generator: &generator)
            }
            let next = action == 1 ? state + 1 : state - 1
            let reward: Float = next == states - 1 ? 1 : (next == 0 ? 0.1 : 0)
            let terminal = next == 0 || next == states - 1
            replay.add(
                observation: observe(state), action: action, reward: reward, nextObservation: observe(next),
                terminated: terminal, truncated: false)
            state = terminal ? 1 : next
            if step >= 100 {
                replay.sample(into: &batch, gamma: config.gamma, using: &generator)
                agent.update(batch)
            }
        }
        for s in 1..<(states - 1) {
            let q = observe(s).withUnsafeBufferPointer { agent.qValues($0) }
            XCTAssertGreaterThan(q[1], q[0], "state \(s): right must beat left, Q = \(q)")
            XCTAssertEqual(q[1], Float(pow(0.9, Double(states - 2 - s))), accuracy: 0.15, "Q(\(s), right)")
        }
    }

    private func scratchFolder(_ name: String) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cortex-dqn-\(name)-\(getpid())").path
        try? FileManager.default.removeItem(atPath: path)
        return path
    }

    private func tinyRun(game: String, observation: String = "grid", frames: Int) -> DQNConfig {
        var config = DQNConfig()
        config.game = game
        config.observation = observation
        config.frames = frames
        config.learningStarts = 200
        config.batchSize = 8
        config.replayCapacity = 1_000
        config.evalEvery = 0
        config.evalEpisodes = 1
        config.evalMaxSteps = 50
        config.checkpointEvery = 250
        return config
    }

    func testEveryGameTrainsBriefly() throws {
        for game in Games.names {
            let folder = scratchFolder(game)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let trainer = try DQNTrainer(config: tinyRun(game: game, frames: 400), folder: folder)
            let summary = try trainer.run()
            XCTAssertEqual(summary.frames, 400, game)
            XCTAssertTrue(FileManager.default.fileExists(atPath: summary.lastCheckpoint), game)
            XCTAssertTrue(
                FileManager.default.fileExists(atPath: folder + "/metrics.csv")
                    || FileManager.default.fileExists(atPath: folder + "/scalars.csv"), game)
            let (config, network) = try DQNCheckpoint.loadNetwork(summary.lastCheckpoint)
            XCTAssertEqual(config.game, game)
            XCTAssertEqual(network.architecture, .minAtar)
        }
    }

    func testPixelsUseTheNatureNetwork() throws {
        let folder = scratchFolder("pixels")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var config = tinyRun(game: "breakout", observation: "pixels", frames: 240)
        config.learningStarts = 220
        config.batchSize = 2
        let trainer = try DQNTrainer(config: config, folder: folder)
        XCTAssertEqual(trainer.agent.online.architecture, .nature)
        XCTAssertEqual(trainer.agent.observationShape, [4, 84, 84])
        let summary = try trainer.run()
        XCTAssertEqual(summary.frames, 240)
    }

    func testInterruptedRunResumesFromItsCheckpoint() throws {
        let folder = scratchFolder("resume")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let config = tinyRun(game: "breakout", frames: 900)
        // First run: stopped (as by Ctrl-C) once 500 frames are done; it saves where it stopped.
        let first = try DQNTrainer(config: config, folder: folder)
        let stopped = try first.run(shouldStop: { first.state.frame >= 500 })
        XCTAssertEqual(stopped.frames, 500)
        let savedFrame = first.state.frame
        let savedUpdates = first.agent.updates
        XCTAssertLessThan(savedFrame, 900)
        let weights = first.agent.online.parameters().flatMap(\.scalars)

        let second = try DQNTrainer(config: config, folder: folder, resume: folder + "/last.safetensors")
        XCTAssertEqual(second.state.frame, savedFrame, "resumes at the saved frame count")
        XCTAssertEqual(second.agent.updates, savedUpdates)
        XCTAssertEqual(second.agent.online.parameters().flatMap(\.scalars), weights, "same weights")
        XCTAssertEqual(second.agent.optimizer.stepCount, first.agent.optimizer.stepCount, "same optimizer state")
        let finished = try second.run()
        XCTAssertEqual(finished.frames, 900)
    }

    func testTimeBudgetStopsTheRunEvaluatesAndSaves() throws {
        let folder = scratchFolder("budget")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var config = tinyRun(game: "breakout", frames: 100_000_000)
        config.timeBudget = 1.5
        config.evalEvery = 1_000_000
        config.checkpointEvery = Int.max
        let trainer = try DQNTrainer(config: config, folder: folder)
        let started = Date()
        let summary = try trainer.run()
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertLessThan(summary.frames, 100_000_000, "stopped by time, not frames")
        XCTAssertGreaterThan(summary.frames, 0)
        XCTAssertEqual(summary.frames % 100, 0, "stops at a check every 100 frames")
        XCTAssertLessThan(elapsed, 10, "the budget of 1.5 s is kept (closing evaluation and save included)")
        XCTAssertEqual(trainer.state.evalCurve.last.map { Int($0[0]) }, summary.frames, "evaluated where it stopped")
        XCTAssertEqual(try DQNCheckpoint.loadNetwork(summary.lastCheckpoint).config.timeBudget, 1.5)
    }

    func testLearningRateFallsLinearlyToItsFinalValue() throws {
        var config = DQNConfig()
        config.frames = 1_000
        config.learningStarts = 200
        config.learningRate = 1e-3
        config.finalLearningRate = 0
        XCTAssertEqual(config.learningRate(atFrame: 200), 1e-3, accuracy: 1e-9)
        XCTAssertEqual(config.learningRate(atFrame: 600), 5e-4, accuracy: 1e-9)
        XCTAssertEqual(config.learningRate(atFrame: 1_000), 0, accuracy: 1e-9)
        config.finalLearningRate = 2e-4
        XCTAssertEqual(config.learningRate(atFrame: 400), 8e-4, accuracy: 1e-9)
        config.finalLearningRate = nil
        XCTAssertEqual(config.learningRate(atFrame: 900), 1e-3)

        // The trainer applies it: stopped at frame 300 of 400 with learning from frame 200, the
        // last update ran at half the initial rate.
        let folder = scratchFolder("schedule")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var run = tinyRun(game: "breakout", frames: 400)
        run.learningRate = 1e-4
        run.finalLearningRate = 0
        let trainer = try DQNTrainer(config: run, folder: folder)
        _ = try trainer.run(shouldStop: { trainer.state.frame >= 300 })
        XCTAssertEqual(trainer.state.frame, 300)
        XCTAssertEqual(trainer.agent.optimizer.learningRate, 5e-5, accuracy: 1e-10)
    }

    func testCorruptCheckpointGivesOneLineError() throws {
        let path = scratchFolder("corrupt") + ".safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("not a checkpoint at all".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try DQNCheckpoint.loadNetwork(path)) { error in
            let text = "\(error)"
            XCTAssertFalse(text.contains("\n"), text)
            XCTAssertTrue(text.contains(path), text)
        }
    }
}
