import Agents
import Cortex
import Envs
import Foundation
import XCTest

final class GoAgentTests: XCTestCase {
    private func tinyConfig() -> GoDQNConfig {
        var config = GoDQNConfig()
        config.size = 5
        config.channels = 4
        config.layers = 2
        config.batchSize = 2
        config.learningRate = 0  // networks stay fixed, so targets can be checked exactly
        config.maxGradNorm = 0
        config.gamma = 0.9
        return config
    }

    /// Sets every parameter of `network` to a value derived from its name and index.
    private func fill(_ network: GoQNetwork, scale: Float) {
        for (index, (_, tensor)) in network.namedParameters().enumerated() {
            for i in 0..<tensor.count { tensor.storage.pointer[i] = scale * Float((i * 7 + index * 3) % 11 - 5) / 20 }
        }
    }

    /// A network whose Q-value is 10 on every point holding a stone of the player to move and 0
    /// elsewhere (pass 0): plane 0 (own stones) carried through the trunk's channel 0 by centre
    /// taps, then weighted 10 by the point head.
    private func stoneLovingNetwork(layers: Int) -> GoQNetwork {
        var generator = RandomGenerator(seed: 1)
        let network = GoQNetwork(
            inputChannels: GoBoard.planeCount(historyLength: 3), channels: 4, layers: layers,
            generator: &generator)
        for (_, tensor) in network.namedParameters() {
            tensor.storage.pointer.update(repeating: 0, count: tensor.count)
        }
        let parameters = Dictionary(uniqueKeysWithValues: network.namedParameters().map { ($0.name, $0.tensor) })
        for layer in 1...layers {
            // weight [F, C, 3, 3]: output channel 0, input channel 0, centre tap (1, 1).
            let weight = parameters["conv\(layer).weight"]!
            weight.storage.pointer[0 * weight.shape[1] * 9 + 0 * 9 + 4] = 1
        }
        parameters["point_head.weight"]!.storage.pointer[0] = 10
        return network
    }

    // MARK: masking

    func testMaskedArgmaxSkipsIllegalActions() {
        let values: [Float] = [5, 1, 9, 2, -3]
        let mask: [Float] = [0, 1, 0, 1, 1]
        XCTAssertEqual(GoDQNAgent.maskedArgmax(values, mask: mask, count: 5), 3)
        // Only pass legal: pass, even with the lowest value.
        XCTAssertEqual(GoDQNAgent.maskedArgmax(values, mask: [0, 0, 0, 0, 1], count: 5), 4)
    }

    func testPlayerNeverChoosesAnIllegalPointEvenWhenItValuesItMost() {
        // Every occupied point gets Q = 10, every empty one 0: the greedy choice over all
        // actions would be a stone; masked, it must be a legal empty point.
        let network = stoneLovingNetwork(layers: 2)
        var config = GoDQNConfig()
        config.size = 5
        config.channels = 4
        config.layers = 2
        let player = GoDQNPlayer(network: network, config: config)
        let game = GoGame(size: 5)
        var random = GoRandom(seed: 3)
        var checked = 0
        for _ in 0..<30 {
            if game.isOver { break }
            let color = game.board.toPlay
            let move = player.generateMove(in: game, for: color)
            XCTAssertTrue(game.board.isLegal(move, color: color), "chose the illegal \(move.vertex(size: 5))")
            if case .play(let p) = move { XCTAssertNil(game.board[p]) }
            // Whenever the mover has a stone, the network valued that occupied point above the chosen move.
            let hasStone = (0..<25).contains { game.board[GoPoint(column: $0 % 5, row: $0 / 5)] == color }
            XCTAssertEqual(player.lastQValues.max(), hasStone ? 10 : 0)
            checked += hasStone ? 1 : 0
            game.play(move, color: color)
            game.play(game.board.randomMove(for: game.board.toPlay, using: &random))
        }
        XCTAssertGreaterThan(checked, 3)
    }

    func testEyeProtectionMasksOnlyTheMoversOwnEyes() {
        // Black B1 and A2 make A1 a single-point eye of black's; white plays far away.
        let board = GoBoard(size: 5, historyLength: 3)
        for vertex in ["B1", "E5", "A2", "E4"] { XCTAssertTrue(board.play(GTP.move(vertex, size: 5)!)) }
        let eye = 4 * 5 + 0  // A1: row 4 (bottom), column 0
        for protect in [false, true] {
            let layout = GoObservationLayout(size: 5, historyLength: 3, protectEyes: protect)
            var row = [Float](repeating: 0, count: layout.count)
            row.withUnsafeMutableBufferPointer { layout.write(board, into: $0) }
            let mask = Array(row[layout.planeValues...])
            XCTAssertEqual(mask[eye], protect ? 0 : 1, "A1 with protectEyes \(protect)")
            XCTAssertEqual(
                mask.reduce(0, +), Float(25 - 4 + 1 - (protect ? 1 : 0)), "every other empty point and pass stay legal")
        }
    }

    func testTargetMaxIgnoresIllegalMovesAndNegatesTheOpponentsValue() {
        // Two rows of 4 actions (3 points + pass). Row 0: s′ not terminal, the best value 0.9 is
        // on an illegal point; legal best is 0.2 → y = 0 + (−0.9)·0.2 = −0.18.
        // Row 1: the game ended, R = +1 → y = 1 whatever s′ holds.
        let select: [Float] = [0.9, 0.2, -0.5, 0.1, 0.7, 0.3, 0.8, 0.0]
        let masks: [Float] = [0, 1, 1, 1, 1, 1, 1, 1]
        let y = GoDQNAgent.targets(
            returns: [0, 1], discounts: [-0.9, 0], select: select, evaluate: select,
            masks: masks, maskStride: 4, actionCount: 4)
        XCTAssertEqual(y[0], -0.18, accuracy: 1e-6)
        XCTAssertEqual(y[1], 1, accuracy: 1e-6)
        // Double DQN: the online values pick among legal moves (action 2 here, 0 is illegal),
        // the target network's value of that action enters: y = (−0.9)·(−0.4) = 0.36.
        let online: [Float] = [5, 1, 3, 2]
        let target: [Float] = [7, 0.5, -0.4, 0.25]
        let z = GoDQNAgent.targets(
            returns: [0], discounts: [-0.9], select: online, evaluate: target,
            masks: [0, 1, 1, 1], maskStride: 4, actionCount: 4)
        XCTAssertEqual(z[0], 0.36, accuracy: 1e-6)
    }

    func testUpdateUsesTheNegamaxTargetOfAHandBuiltTransition() {
        // s: black to play on an empty 5×5 board, action C3 (12); s′: white to play. The target
        // is −γ · Q_target(s′, a*) with a* the legal argmax of Q_online(s′), computed here by hand
        // from the two networks' outputs and a mask that forbids C3 (occupied in s′).
        for double in [true, false] {
            var config = tinyConfig()
            config.doubleDQN = double
            let agent = GoDQNAgent(config: config)
            fill(agent.online, scale: 1)
            fill(agent.target, scale: -0.6)
            let layout = agent.layout
            let board = GoBoard(size: 5, historyLength: 3)
            var s = [Float](repeating: 0, count: layout.count)
            s.withUnsafeMutableBufferPointer { layout.write(board, into: $0) }
            board.play(.play(GoPoint(column: 2, row: 2)))
            var next = s
            next.withUnsafeMutableBufferPointer { layout.write(board, into: $0) }
            XCTAssertEqual(next[layout.planeValues + 12], 0, "C3 is occupied in s′")

            var batch = ReplayBatch(size: 2, observationSize: layout.count)
            batch.states = s + s
            batch.nextStates = next + next
            batch.actions = [12, 12]
            batch.returns = [0, -1]  // row 1: the mover lost at once
            batch.discounts = [-0.9, 0]

            let nextInput = Tensor(shape: [1, layout.planeCount, 5, 5], data: Array(next[0..<layout.planeValues]))
            let qTarget = withNoGrad { agent.target(nextInput) }.scalars
            let qOnline = withNoGrad { agent.online(nextInput) }.scalars
            let chooser = double ? qOnline : qTarget
            var best = -1
            for a in 0..<26 where a != 12 && (best < 0 || chooser[a] > chooser[best]) { best = a }
            let expected: [Float] = [-0.9 * qTarget[best], -1]
            let stateInput = Tensor(shape: [1, layout.planeCount, 5, 5], data: Array(s[0..<layout.planeValues]))
            let q = withNoGrad { agent.online(stateInput) }.scalars[12]

            let result = agent.update(batch)
            XCTAssertEqual(result.tdErrors[0], q - expected[0], accuracy: 1e-5, "double \(double)")
            XCTAssertEqual(result.tdErrors[1], q - expected[1], accuracy: 1e-5, "double \(double)")
        }
    }

    func testNStepReturnsAlternateSignsWithThePlayer() {
        // A three-move game: rewards 0, 0, +1 (the last mover won). Through the replay buffer
        // with discount −γ, the first move's 3-step return is (−γ)²·1 = γ² (the same player
        // moved first and last), the second's 2-step return −γ (its opponent won).
        let replay = ReplayBuffer(capacity: 16, observationSize: 8, storage: .bits)
        let zero = [Float](repeating: 0, count: 8)
        for t in 0..<3 {
            replay.add(
                observation: zero, action: t, reward: t == 2 ? 1 : 0, nextObservation: zero,
                terminated: t == 2, truncated: false)
        }
        var batch = ReplayBatch(size: 32, observationSize: 8)
        var generator = RandomGenerator(seed: 5)
        replay.sample(into: &batch, nSteps: 3, gamma: -0.9, using: &generator)
        let expected: [Float] = [0.81, -0.9, 1]
        var seen = Set<Int>()
        for row in 0..<batch.size {
            let a = batch.actions[row]
            seen.insert(a)
            XCTAssertEqual(batch.returns[row], expected[a], accuracy: 1e-6, "move \(a)")
            XCTAssertEqual(batch.discounts[row], 0, "every return reaches the game's end")
        }
        XCTAssertEqual(seen.count, 3)
    }

    func testSymmetryOfStoredPlanesMatchesTheSymmetricGame() {
        // Play the same moves on two boards, one through symmetry k: the transformed planes and
        // mask of the first must equal the second's, for each of the eight symmetries.
        let moves = [(2, 1), (3, 3), (1, 2), (2, 2), (0, 1), (4, 0), (1, 1), (3, 0), (1, 0)]  // (row, column), 6×6
        let layout = GoObservationLayout(size: 6, historyLength: 3)
        var seen = Set<[Float]>()
        for k in 0..<GoSymmetry.count {
            let board = GoBoard(size: 6, historyLength: 3), mirrored = GoBoard(size: 6, historyLength: 3)
            for (r, c) in moves {
                XCTAssertTrue(board.play(.play(GoPoint(column: c, row: r))))
                let (r2, c2) = GoSymmetry.map(row: r, column: c, size: 6, symmetry: k)
                XCTAssertTrue(mirrored.play(.play(GoPoint(column: c2, row: r2))))
            }
            var a = [Float](repeating: 0, count: layout.count), b = a, scratch = [Float](repeating: 0, count: 36)
            a.withUnsafeMutableBufferPointer { layout.write(board, into: $0) }
            b.withUnsafeMutableBufferPointer { layout.write(mirrored, into: $0) }
            a.withUnsafeMutableBufferPointer { p in
                scratch.withUnsafeMutableBufferPointer {
                    GoSymmetry.apply(k, to: p.baseAddress!, layout: layout, scratch: $0.baseAddress!)
                }
            }
            XCTAssertEqual(a, b, "symmetry \(k)")
            seen.insert(b)
            XCTAssertEqual(GoSymmetry.map(action: 36, size: 6, symmetry: k), 36, "pass stays pass")
        }
        XCTAssertEqual(seen.count, 8, "the eight symmetries give eight different positions")
    }

    // MARK: training and checkpoints

    private func smokeConfig() -> GoDQNConfig {
        var config = GoDQNConfig()
        config.size = 5
        config.moves = 1_200
        config.channels = 8
        config.layers = 2
        config.parallelGames = 4
        config.batchSize = 16
        config.learningStarts = 200
        config.replayCapacity = 2_000
        config.trainEvery = 4
        config.snapshotEvery = 50
        config.poolSize = 2
        config.epsilonDecayMoves = 500
        config.targetUpdateEvery = 50
        config.evalEvery = 600
        config.evalGames = 4
        config.checkpointEvery = 400
        config.nSteps = 2
        return config
    }

    private func temporaryFolder() -> String {
        let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("cortex-go-agent-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testShortTrainingRunLearnsAndSavesCheckpoints() throws {
        let folder = temporaryFolder()
        let config = smokeConfig()
        let before = GoDQNAgent(config: config).online.parameters().map(\.scalars)
        let trainer = try GoDQNTrainer(config: config, folder: folder)
        let summary = try trainer.run()
        XCTAssertGreaterThanOrEqual(summary.moves, config.moves)
        XCTAssertGreaterThan(summary.games, 10)
        XCTAssertEqual(summary.updates, (summary.moves - config.learningStarts) / config.trainEvery)
        XCTAssertTrue((0...1).contains(summary.evalWinRate))
        XCTAssertTrue(FileManager.default.fileExists(atPath: summary.lastCheckpoint))
        XCTAssertNotNil(summary.bestCheckpoint)
        let after = trainer.agent.online.parameters().map(\.scalars)
        XCTAssertNotEqual(before, after, "the updates changed the network")
        for tensor in after { XCTAssertTrue(tensor.allSatisfy(\.isFinite)) }
        let csv = try String(contentsOfFile: folder + "/metrics.csv", encoding: .utf8)
        XCTAssertTrue(csv.contains("train/td_loss") && csv.contains("eval/win_rate_vs_random"))

        // Resume: the progress and the networks come back, and the run goes on from there.
        var longer = config
        longer.moves = 1_600
        let resumed = try GoDQNTrainer(config: longer, folder: folder, resume: summary.lastCheckpoint)
        XCTAssertEqual(resumed.state.moves, summary.moves)
        XCTAssertEqual(resumed.agent.updates, summary.updates)
        XCTAssertEqual(resumed.agent.online.parameters().map(\.scalars), after)
        let second = try resumed.run()
        XCTAssertGreaterThanOrEqual(second.moves, 1_600)
        XCTAssertGreaterThan(second.updates, summary.updates)
    }

    func testCheckpointPlaysLegalMovesThroughGTP() throws {
        let folder = temporaryFolder()
        var config = smokeConfig()
        config.moves = 300
        config.evalEvery = 0
        let trainer = try GoDQNTrainer(config: config, folder: folder)
        let summary = try trainer.run()
        let player = try GoDQNPlayer(checkpoint: summary.lastCheckpoint)
        // Trained on 5×5, asked on 5×5 and on 9×9 (the network is fully convolutional).
        for size in [5, 9] {
            let engine = GTPEngine(size: size, komi: 7.5, generator: player, name: "Cortex", version: "test")
            XCTAssertEqual(engine.respond(to: "1 play b C3"), "=1\n\n")
            for id in 0..<12 {
                let before = engine.game.board.copy()
                let color: GoColor = before.toPlay
                let response = try XCTUnwrap(engine.respond(to: "\(id + 2) genmove \(color.letter)"))
                XCTAssertTrue(response.hasPrefix("=\(id + 2) "), response)
                let vertex = response.dropFirst("=\(id + 2) ".count).trimmingCharacters(in: .whitespacesAndNewlines)
                let move = try XCTUnwrap(GTP.move(vertex, size: size), "\(vertex) is not a vertex")
                XCTAssertTrue(before.isLegal(move, color: color), "\(vertex) was illegal")
                XCTAssertEqual(engine.game.moves.last?.move, move, "genmove played the move on the engine's board")
                if engine.game.isOver { break }
            }
        }
        // A checkpoint of something else is refused with one line.
        let notGo = (folder as NSString).appendingPathComponent("other.safetensors")
        try Checkpoint.save(Linear(inputFeatures: 2, outputFeatures: 2, generator: &Self.generator), to: notGo)
        XCTAssertThrowsError(try GoDQNPlayer(checkpoint: notGo)) { error in
            XCTAssertTrue("\(error)".contains("cortex train go"), "\(error)")
        }
    }

    nonisolated(unsafe) private static var generator = RandomGenerator(seed: 9)
}
