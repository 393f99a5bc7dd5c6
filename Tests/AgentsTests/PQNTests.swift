import Agents
import Cortex
import CortexTestSupport
import Envs
import Foundation
import XCTest

/// A 5-state chain (states 0…4, start 0): `right` moves one state up, `left` one down (at 0 it
/// stays and pays 0.05, a tempting loop); reaching state 4 pays 1 and terminates; episodes are
/// truncated after 20 steps. With γ = 0.9 the optimal policy is `right` everywhere:
/// Q(0, right) = 0.9³ = 0.729 > Q(0, left) ≤ 0.05 · Σ 0.9ᵏ < 0.5.
/// Observation: 5 planes of 3 × 3, plane s all ones in state s.
struct ChainMDP: Environment {
    static let length = 5
    var position = 0
    var steps = 0
    var isDone = false
    var actionNames: [String] { ["left", "right"] }
    var observationShape: ObservationShape { ObservationShape(channels: Self.length, height: 3, width: 3) }
    var observationScale: Float { 1 }

    mutating func reset(seed: UInt64?) {
        position = 0
        steps = 0
        isDone = false
    }

    mutating func step(_ action: Int) -> StepResult {
        precondition(!isDone)
        steps += 1
        var reward: Float = 0
        if action == 1 { position += 1 } else if position > 0 { position -= 1 } else { reward = 0.05 }
        let terminated = position == Self.length - 1
        if terminated { reward = 1 }
        let truncated = !terminated && steps >= 20
        isDone = terminated || truncated
        return StepResult(reward: reward, terminated: terminated, truncated: truncated)
    }

    func writeObservation(into buffer: UnsafeMutableBufferPointer<Float>) {
        for i in 0..<observationShape.count { buffer[i] = i / 9 == position ? 1 : 0 }
    }
    func writeObservation(into buffer: UnsafeMutableBufferPointer<UInt8>) {
        for i in 0..<observationShape.count { buffer[i] = i / 9 == position ? 1 : 0 }
    }
    func render() -> Frame { Frame(width: 10, height: 10) }
}

final class PQNTests: XCTestCase {
    private func temporaryFolder() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pqn-test-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    // MARK: Q(λ)

    func testQLambdaReturnsMatchHandComputedValues() {
        // Two environments, three steps, γ = 0.5, λ = 0.5; layout (T, N).
        // env 0: rewards 1, 0, 2, no episode end, max Q of the next states 4, 6, 8:
        //   G₂ = 2 + 0.5·8 = 6;  G₁ = 0 + 0.5·(0.5·6 + 0.5·6) = 3;  G₀ = 1 + 0.5·(0.5·4 + 0.5·3) = 2.75
        // env 1: rewards 1, 1, 1, terminated at t = 0, truncated at t = 1 (max Q of its final state 10):
        //   G₂ = 1 + 0.5·2 = 2;  G₁ = 1 + 0.5·10 = 6 (the chain is cut);  G₀ = 1 (terminal)
        let rewards: [Float] = [1, 1, 0, 1, 2, 1]
        let terminated = [false, true, false, false, false, false]
        let truncated = [false, false, false, true, false, false]
        let nextMaxQ: [Float] = [4, 100, 6, 10, 8, 2]
        let returns = QLambda.returns(
            rewards: rewards, terminated: terminated, truncated: truncated, nextMaxQ: nextMaxQ,
            steps: 3, envs: 2, gamma: 0.5, lambda: 0.5)
        assertClose(returns, [2.75, 1, 3, 6, 6, 2])
        // λ = 0: one-step targets r + γ max Q′; λ = 1: discounted rewards bootstrapped at the rollout's end.
        let oneStep = QLambda.returns(
            rewards: rewards, terminated: terminated, truncated: truncated, nextMaxQ: nextMaxQ,
            steps: 3, envs: 2, gamma: 0.5, lambda: 0)
        assertClose(oneStep, [3, 1, 3, 6, 6, 2])
        let monteCarlo = QLambda.returns(
            rewards: rewards, terminated: terminated, truncated: truncated, nextMaxQ: nextMaxQ,
            steps: 3, envs: 2, gamma: 0.5, lambda: 1)
        assertClose(monteCarlo, [2.5, 1, 3, 6, 6, 2])
    }

    // MARK: network

    func testLayerNormQNetworkGradientsMatchFiniteDifferences() {
        var generator = RandomGenerator(seed: 3)
        let network = PQNNetwork(inputShape: [2, 5, 5], actionCount: 3, generator: &generator)
        XCTAssertEqual(
            network.namedParameters().map(\.name),
            [
                "conv.weight", "conv.bias", "conv_norm.weight", "conv_norm.bias", "fc_hidden.weight",
                "fc_hidden.bias", "fc_norm.weight", "fc_norm.bias", "output.weight", "output.bias"
            ])
        XCTAssertEqual(
            network.namedParameters().map(\.tensor.shape),
            [[16, 2, 3, 3], [16], [16, 3, 3], [16, 3, 3], [128, 144], [128], [128], [128], [3, 128], [3]])
        // Move the affine LayerNorm parameters off 1 and 0 so their gradients are exercised too;
        // the biases move up by 1.5 so that few normalised values sit at a ReLU kink, where
        // finite differences and the (one-sided) derivative disagree.
        for (name, tensor) in network.namedParameters() where name.contains("norm") {
            let shift: Float = name.hasSuffix("bias") ? 1.5 : 0
            for i in 0..<tensor.count { tensor.storage.pointer[i] += generator.nextFloat() - 0.5 + shift }
        }
        let x = Tensor.uniform([2, 2, 5, 5], low: 0, high: 1, using: &generator)
        x.requiresGrad = true
        // Float32 central differences with a step of 1e-3: small enough that no ReLU after a
        // LayerNorm changes side within it for this seed, large enough for single precision.
        checkGradients([x] + network.parameters(), step: 1e-3, tolerance: 1e-2) { inputs in network(inputs[0]) }
    }

    // MARK: learning

    private func chainConfig(frames: Int) -> PQNConfig {
        var config = PQNConfig()
        config.game = "chain"
        config.frames = frames
        config.envs = 8
        config.rolloutSteps = 8
        config.epochs = 2
        config.minibatches = 4
        config.gamma = 0.9
        config.learningRate = 1e-3
        config.epsilonFraction = 0.3
        config.evalEvery = 0
        config.checkpointEvery = Int.max
        config.seed = 5
        return config
    }

    private let makeChain: PQNTrainer.EnvironmentMaker = { _, _ in AnyEnvironment(ChainMDP()) }

    private func greedyActions(_ network: PQNNetwork) -> [Int] {
        let count = ChainMDP.length - 1, size = 5 * 9
        var data = [Float](repeating: 0, count: count * size)
        for s in 0..<count { for j in 0..<9 { data[s * size + s * 9 + j] = 1 } }
        return withNoGrad { network(Tensor(shape: [count, 5, 3, 3], data: data)) }.argmaxIndices(axis: 1)
    }

    func testPQNLearnsTheOptimalPolicyOfAChain() throws {
        let trainer = try PQNTrainer(
            config: chainConfig(frames: 16_384), folder: temporaryFolder(), environment: makeChain)
        let summary = try trainer.run()
        XCTAssertEqual(summary.frames, 16_384)
        XCTAssertEqual(greedyActions(trainer.network), [1, 1, 1, 1], "right in every non-terminal state")
        // The optimal return from the start, 1 after 4 steps, is what the greedy policy earns;
        // Q(0, right) approaches γ³ = 0.729.
        let q = withNoGrad {
            trainer.network(Tensor(shape: [1, 5, 3, 3], data: (0..<45).map { $0 < 9 ? 1 : 0 }))
        }.scalars
        XCTAssertEqual(q[1], 0.729, accuracy: 0.1)
        XCTAssertLessThan(q[0], q[1])
    }

    func testEachEvaluationShowsTheAgentPlayingInTensorBoard() throws {
        var config = chainConfig(frames: 16_384)
        config.evalEvery = 8_192
        config.evalEpisodes = 2
        let folder = temporaryFolder()
        let trainer = try PQNTrainer(config: config, folder: folder, environment: makeChain)
        _ = try trainer.run()
        let output = try pythonInterop(["read-summaries", folder])
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        let images = try XCTUnwrap((json["images"] as? [String: [[Any]]])?[EvaluationFrames.tag])
        XCTAssertEqual(images.compactMap { $0[0] as? Int }.sorted().last, 16_384, "a picture at the last evaluation")
        XCTAssertGreaterThanOrEqual(images.count, 2, "one picture per evaluation")
        // The trained agent walks right and ends the episode in 4 steps: the reset frame and the
        // final frame, two 10 × 10 tiles side by side with a 2-pixel border (2·10 + 3·2 = 26 by 14).
        let last = try XCTUnwrap(images.max { ($0[0] as? Int ?? 0) < ($1[0] as? Int ?? 0) })
        XCTAssertEqual([last[1] as? Int, last[2] as? Int], [26, 14])
    }

    func testFramesAreTiledWithABorder() {
        var red = Frame(width: 1, height: 1), blue = Frame(width: 1, height: 1)
        red[0, 0] = RGB(255, 0, 0)
        blue[0, 0] = RGB(0, 0, 255)
        let tiled = EvaluationFrames.tile([red, blue, red], columns: 2, gap: 1)
        XCTAssertEqual([tiled.width, tiled.height], [5, 5])
        XCTAssertEqual(tiled[1, 1], RGB(255, 0, 0))
        XCTAssertEqual(tiled[3, 1], RGB(0, 0, 255))
        XCTAssertEqual(tiled[1, 3], RGB(255, 0, 0))
        XCTAssertEqual(tiled[3, 3], RGB(128, 128, 128), "the empty cell stays grey")
        XCTAssertEqual(tiled[2, 1], RGB(128, 128, 128))
    }

    func testFramesFollowTheEpisodeEveryStrideSteps() throws {
        // Breakout with a fixed action: the picture's tiles are the frames a hand-stepped copy
        // of the same environment shows at steps 0, 2, 4
        var environment = try Games.makeMinAtar("breakout", observation: .grid, seed: 3)
        environment.reset(seed: 3)
        var copy = try Games.makeMinAtar("breakout", observation: .grid, seed: 3)
        copy.reset(seed: 3)
        let picture = EvaluationFrames.play(&environment, count: 3, stride: 2, columns: 3, gap: 0) { _ in 0 }
        var expected = [copy.render()]
        for step in 1...4 {
            XCTAssertFalse(copy.step(0).isDone, "the ball is still in play at step \(step)")
            if step % 2 == 0 { expected.append(copy.render()) }
        }
        XCTAssertEqual(picture, EvaluationFrames.tile(expected, columns: 3, gap: 0))
    }

    func testResumeContinuesFromTheSavedFrameCount() throws {
        let folder = temporaryFolder()
        let first = try PQNTrainer(config: chainConfig(frames: 1_024), folder: folder, environment: makeChain)
        _ = try first.run()
        XCTAssertEqual(first.state.frame, 1_024)
        let updates = first.state.updates
        XCTAssertEqual(updates, 1_024 / 64 * 2 * 4)
        let resumed = try PQNTrainer(
            config: chainConfig(frames: 2_048), folder: folder,
            resume: first.lastCheckpointPath, environment: makeChain)
        XCTAssertEqual(resumed.state.frame, 1_024, "continues from the saved frame count")
        XCTAssertEqual(resumed.state.episodes, first.state.episodes)
        XCTAssertEqual(resumed.optimizer.stepCount, updates, "Adam's step count comes back too")
        for ((name, a), (_, b)) in zip(first.network.namedParameters(), resumed.network.namedParameters()) {
            XCTAssertEqual(a.scalars, b.scalars, name)
        }
        let summary = try resumed.run()
        XCTAssertEqual(summary.frames, 2_048)
        XCTAssertEqual(resumed.state.updates, 2 * updates)
    }

    // MARK: presets

    func testEachGameHasAPresetAndItsLoggedConfigIsItsRow() throws {
        XCTAssertEqual(Set(PQNConfig.presets.keys), Set(Games.names))
        for (game, row) in PQNConfig.presets {
            let config = PQNConfig(preset: game)
            XCTAssertEqual(config.preset, game)
            XCTAssertNil(config.problem, game)
            let folder = temporaryFolder()
            _ = try RunLogger(folder: folder, config: config)
            let logged = try JSONDecoder().decode(
                PQNConfig.self,
                from: Data(contentsOf: URL(fileURLWithPath: folder + "/config.json")))
            XCTAssertEqual(logged.presetFields, row, game)
            XCTAssertEqual(logged, config, game)
        }
        XCTAssertEqual(PQNConfig(preset: "chain").preset, "purejaxql", "a game without a row keeps the defaults")
    }

    func testAFlagOverridesExactlyOneFieldOfThePreset() throws {
        let folder = temporaryFolder()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try cortexExecutable())
        process.arguments = [
            "train", "freeway", "--algo", "pqn", "--lambda", "0.5", "--frames", "8192",
            "--eval-every", "0", "--out", folder, "--threads", "1"
        ]
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let logged = try JSONDecoder().decode(
            PQNConfig.self,
            from: Data(contentsOf: URL(fileURLWithPath: folder + "/config.json")))
        var expected = PQNConfig(preset: "freeway")
        XCTAssertNotEqual(expected.lambda, 0.5)
        expected.lambda = 0.5  // --lambda
        expected.frames = 8192  // --frames
        expected.evalEvery = 0  // --eval-every
        XCTAssertEqual(logged, expected)
        XCTAssertEqual(logged.preset, "freeway", "the logged config names the preset")
    }
}
