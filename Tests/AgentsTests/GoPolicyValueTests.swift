import Agents
import Cortex
import Envs
import Foundation
import XCTest

/// The policy/value agent: input planes and symmetries, the SGF data reader, the network's
/// search, training steps, self-play records and the resumable self-play loop.
final class GoPolicyValueTests: XCTestCase {
    func tinyConfig(size: Int = 5) -> GoPolicyValueConfig {
        var c = GoPolicyValueConfig.preset(size: size)
        c.network = GoNetworkShape(blocks: 1, channels: 8, historyLength: 1)
        c.batchSize = 16
        c.gamesPerGeneration = 2
        c.selfPlayPlayouts = 8
        c.stepsPerGeneration = 2
        c.gateGames = 2
        c.window = 1000
        c.searchBatch = 4
        c.playoutWeight = 0.5
        return c
    }

    func temporaryFolder() -> String {
        let path = NSTemporaryDirectory() + "cortex-pv-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// A board built by playing `moves` (row, column) alternately from black.
    func board(size: Int, moves: [(Int, Int)]) -> GoBoard {
        let b = GoBoard(size: size, historyLength: 3)
        for (r, c) in moves { b.play(index: (r + 1) * b.stride + c + 1, color: b.toPlay) }
        return b
    }

    /// The input of a position turned by symmetry k is the input of the position whose moves were
    /// turned by k, planes, history and colour plane alike (every one of the eight symmetries).
    func testSymmetryOfInputEqualsInputOfTurnedPosition() {
        let moves = [(0, 1), (2, 3), (4, 4), (1, 0), (3, 1)]
        let original = board(size: 5, moves: moves)
        var input = GoNetworkInput(size: 5, historyLength: 2)
        var a = [Float](repeating: 0, count: input.count), b = a
        for k in 0..<GoSymmetry.count {
            let turned = board(
                size: 5, moves: moves.map { GoSymmetry.map(row: $0.0, column: $0.1, size: 5, symmetry: k) })
            a.withUnsafeMutableBufferPointer { input.write(original, symmetry: k, into: $0.baseAddress!) }
            b.withUnsafeMutableBufferPointer { input.write(turned, symmetry: 0, into: $0.baseAddress!) }
            XCTAssertEqual(a, b, "symmetry \(k)")
        }
        // The colour plane: white to move after five moves → all zeros; its own planes are not.
        XCTAssertEqual(Array(a[(input.planeCount - 1) * 25..<(input.planeCount * 25)]), [Float](repeating: 0, count: 25))
        XCTAssertEqual(a[0..<25].reduce(0, +), 2)  // white's own stones
    }

    /// A stored position's target moves with its planes: under symmetry k the one-hot target sits
    /// on the turned point, where the turned position's input has its last-move history.
    func testBatchTurnsPlanesAndTargetTogether() {
        let set = GoPositionSet(size: 5, historyLength: 1)
        let position = board(size: 5, moves: [(0, 1), (1, 3)])
        set.append(position, action: 0 * 5 + 4, outcome: -1)  // black to play at (0, 4)
        set.append(position, action: 25, outcome: 1)  // pass
        let per = set.planeCount * 25
        var planes = [Float](repeating: 0, count: 2 * per), policies = [Float](repeating: 0, count: 2 * 26)
        var outcomes: [Float] = [0, 0]
        var input = GoNetworkInput(size: 5, historyLength: 1)
        var expected = [Float](repeating: 0, count: per)
        for k in 0..<8 {
            set.batch(
                [0, 1], symmetries: [k, k], planes: &planes, policies: &policies, outcomes: &outcomes)
            let (r, c) = GoSymmetry.map(row: 0, column: 4, size: 5, symmetry: k)
            var want = [Float](repeating: 0, count: 26)
            want[r * 5 + c] = 1
            XCTAssertEqual(Array(policies[0..<26]), want, "symmetry \(k)")
            XCTAssertEqual(policies[26 + 25], 1, "pass stays pass under symmetry \(k)")
            XCTAssertEqual(outcomes, [-1, 1])
            expected.withUnsafeMutableBufferPointer { input.write(position, symmetry: k, into: $0.baseAddress!) }
            XCTAssertEqual(Array(planes[0..<per]), expected, "planes under symmetry \(k)")
        }
    }

    /// A game written as SGF reads back as one position per move after the skipped opening, each
    /// with the move played as its target and the result for its mover as the outcome.
    func testDatasetReaderRoundTripsSGF() throws {
        let folder = temporaryFolder()
        let game = GoGame(size: 5, komi: 0.5)
        let moves: [GoMove] = [
            .play(pt(2, 2)), .play(pt(1, 1)), .play(pt(2, 1)), .play(pt(1, 2)), .play(pt(1, 3)), .pass, .pass
        ]
        for m in moves { XCTAssertTrue(game.play(m)) }
        var record = game.record
        record.result = "W+3.5"  // as a referee might have said
        try SGF.write(record).write(toFile: folder + "/a.sgf", atomically: true, encoding: .utf8)
        try "(;GM[1]SZ[9]RE[B+1];B[aa])".write(toFile: folder + "/other-size.sgf", atomically: true, encoding: .utf8)
        try "(;GM[1]SZ[5];B[aa])".write(toFile: folder + "/no-result.sgf", atomically: true, encoding: .utf8)
        let set = GoPositionSet(size: 5, historyLength: 0)
        let files = try GoGameDataset.files(in: folder)
        XCTAssertEqual(files.count, 3)
        let summary = GoGameDataset.read(files, into: set, skipMoves: 2)
        XCTAssertEqual(summary.games, 1)
        XCTAssertEqual(summary.skipped.count, 2)
        XCTAssertEqual(set.count, moves.count - 2)
        let expectedActions = [2 * 5 + 1, 1 * 5 + 2, 1 * 5 + 3, 25, 25]
        XCTAssertEqual((0..<set.count).map(set.targetAction), expectedActions)
        // Moves 3, 5, 7 are black's (lost: −1), 4 and 6 white's (+1).
        XCTAssertEqual(set.outcomes, [-1, 1, -1, 1, -1])
    }

    /// The evaluator's priors: zero on occupied points and on a suicide point, positive elsewhere,
    /// summing to 1; values in [−1, 1]; the same priors whichever symmetry the call draws when the
    /// network is symmetric (all weights equal per input plane, so it cannot tell orientations).
    func testEvaluatorPriorsAreLegalAndNormalised() {
        var generator = RandomGenerator(seed: 3)
        let network = GoPolicyValueNetwork(shape: GoNetworkShape(blocks: 1, channels: 4, historyLength: 0), generator: &generator)
        let evaluator = GoNetworkEvaluator(network: network, seed: 1)
        // White stones around the corner point (0, 0): black may not play there (suicide).
        let position = GoBoard(size: 5, historyLength: 3)
        for p in [pt(0, 1), pt(1, 0)] { _ = position.setStone(.white, at: p) }
        position.setToPlay(.black)
        let values = UnsafeMutablePointer<Float>.allocate(capacity: 2)
        let priors = UnsafeMutablePointer<Float>.allocate(capacity: 2 * 26)
        let colours = UnsafeMutablePointer<UInt8>.allocate(capacity: 2 * 25)
        defer {
            values.deallocate()
            priors.deallocate()
            colours.deallocate()
        }
        evaluator.evaluate(
            [position, position], wantsPriors: [true, true], komi: 7.5,
            into: GoLeafBuffers(values: values, priors: priors, firstColor: colours))
        for i in 0..<2 {
            XCTAssertEqual(priors[i * 26 + 0], 0, "suicide")
            XCTAssertEqual(priors[i * 26 + 1], 0, "occupied")
            XCTAssertEqual(priors[i * 26 + 5], 0, "occupied")
            XCTAssertEqual((0..<26).map { priors[i * 26 + $0] }.reduce(0, +), 1, accuracy: 1e-5)
            XCTAssertTrue((0..<26).filter { ![0, 1, 5].contains($0) }.allSatisfy { priors[i * 26 + $0] > 0 })
            XCTAssertTrue((-1...1).contains(values[i]))
        }
        XCTAssertEqual(evaluator.evaluations, 2)
    }

    /// Rotating the position rotates the policy: the evaluator with symmetries off, on a position
    /// and on the position turned by k, gives priors that map onto each other point by point.
    func testRotatingThePositionRotatesThePolicyOfASymmetricNetwork() {
        var generator = RandomGenerator(seed: 5)
        let network = GoPolicyValueNetwork(shape: GoNetworkShape(blocks: 1, channels: 4, historyLength: 0), generator: &generator)
        // Make every 3×3 kernel symmetric under the square's symmetries: then the network commutes with them.
        for (name, tensor) in network.namedParameters() where tensor.rank == 4 && tensor.shape[2] == 3 {
            let w = tensor.storage.pointer
            for base in stride(from: 0, to: tensor.count, by: 9) {
                let corner = (w[base] + w[base + 2] + w[base + 6] + w[base + 8]) / 4
                let edge = (w[base + 1] + w[base + 3] + w[base + 5] + w[base + 7]) / 4
                for i in [0, 2, 6, 8] { w[base + i] = corner }
                for i in [1, 3, 5, 7] { w[base + i] = edge }
                _ = name
            }
        }
        let evaluator = GoNetworkEvaluator(network: network, seed: 1)
        evaluator.symmetries = false
        let moves = [(0, 1), (2, 3), (4, 4), (1, 0)]
        func priors(_ b: GoBoard) -> [Float] {
            let values = UnsafeMutablePointer<Float>.allocate(capacity: 1)
            let p = UnsafeMutablePointer<Float>.allocate(capacity: 26)
            let colours = UnsafeMutablePointer<UInt8>.allocate(capacity: 25)
            defer {
                values.deallocate()
                p.deallocate()
                colours.deallocate()
            }
            evaluator.evaluate(
                [b], wantsPriors: [true], komi: 7.5, into: GoLeafBuffers(values: values, priors: p, firstColor: colours))
            return Array(UnsafeBufferPointer(start: p, count: 26))
        }
        let base = priors(board(size: 5, moves: moves))
        XCTAssertGreaterThan(base.max()! - base.filter { $0 > 0 }.min()!, 1e-4, "the policy is not flat")
        for k in 1..<8 {
            let turned = priors(
                board(size: 5, moves: moves.map { GoSymmetry.map(row: $0.0, column: $0.1, size: 5, symmetry: k) }))
            for a in 0..<26 {
                XCTAssertEqual(turned[GoSymmetry.map(action: a, size: 5, symmetry: k)], base[a], accuracy: 1e-5, "k \(k) a \(a)")
            }
        }
    }

    /// Training steps on eight fixed positions drive the policy to their targets (accuracy 100%)
    /// and the value loss down.
    func testLearnerFitsAFewPositions() {
        var generator = RandomGenerator(seed: 7)
        let network = GoPolicyValueNetwork(shape: GoNetworkShape(blocks: 1, channels: 16, historyLength: 1), generator: &generator)
        let learner = GoPolicyValueLearner(network: network, learningRate: 3e-3, weightDecay: 0, valueWeight: 1)
        let set = GoPositionSet(size: 5, historyLength: 1)
        for i in 0..<8 {
            let b = board(size: 5, moves: [(i / 3, i % 3)])  // eight different positions
            set.append(b, action: (3 * i + 7) % 25, outcome: i % 2 == 0 ? 1 : -1)
        }
        var random = RandomGenerator(seed: 1)
        let before = learner.measure(set, batchSize: 8)
        for _ in 0..<300 { learner.step(on: set, indices: Array(0..<8), random: &random, augment: false) }
        let after = learner.measure(set, batchSize: 8)
        XCTAssertLessThan(before.accuracy, 0.5)
        XCTAssertEqual(after.accuracy, 1)
        XCTAssertLessThan(after.valueLoss, before.valueLoss / 4)
    }

    /// A checkpoint round trip gives the same outputs in evaluation mode (BatchNorm's running
    /// statistics travel with it) and keeps the config.
    func testCheckpointRoundTrip() throws {
        let folder = temporaryFolder()
        var config = tinyConfig()
        config.playouts = 123
        var generator = RandomGenerator(seed: 9)
        let network = GoPolicyValueNetwork(shape: config.network, generator: &generator)
        let x = Tensor.randn([3, config.network.inputChannels, 5, 5], using: &generator)
        network.train()
        _ = network(x)  // moves the running statistics off their start
        network.eval()
        let (p1, v1) = network(x)
        try GoPolicyValueCheckpoint.save(
            network: network, optimizer: nil, config: config, state: GoPolicyValueState(seed: 0), to: folder + "/a.safetensors")
        let (loadedConfig, loaded) = try GoPolicyValueCheckpoint.loadNetwork(folder + "/a.safetensors")
        let (p2, v2) = loaded(x)
        XCTAssertEqual(loadedConfig, config)
        XCTAssertEqual(p1.scalars, p2.scalars)
        XCTAssertEqual(v1.scalars, v2.scalars)
        XCTAssertEqual(try GoPolicyValueCheckpoint.kind(of: folder + "/a.safetensors"), "go-policy-value")
    }

    /// Self-play games replay legally from their SGF, with one stored position per searched move
    /// and outcomes of ±1 that match the result from each mover's view.
    func testSelfPlayRecordsReplayLegally() throws {
        let folder = temporaryFolder()
        let trainer = try GoSelfPlayTrainer(config: tinyConfig(), folder: folder, initFrom: nil, resume: nil)
        let set = GoPositionSet(size: 5, historyLength: 1)
        let p = trainer.player(trainer.best, noise: true, seed: 3, name: "x")
        let (result, game) = trainer.playGame(black: p, white: p, into: set)
        let replayed = try SGF.game(SGF.write(game.record))
        XCTAssertEqual(replayed.moves, game.moves)
        let searched = game.moves.filter { $0.move != .resign }.count
        XCTAssertEqual(set.count, searched)
        for i in 0..<set.count {
            let mover = game.moves[i].color
            XCTAssertEqual(set.outcomes[i], result.winner == nil ? 0 : result.winner == mover ? 1 : -1)
            // Targets are visit shares: a distribution.
            XCTAssertEqual(set.policies[(i * 26)..<((i + 1) * 26)].reduce(0, +), 1, accuracy: 1e-4)
        }
    }

    /// One generation, then `--resume` with two: the second run starts at generation 1 and ends at
    /// 2 with the first run's games counted, and a new run from the same seed repeats the first
    /// run's gate exactly (determinism).
    func testSelfPlayResumesAtTheNextGeneration() throws {
        let folder = temporaryFolder()
        var config = tinyConfig()
        config.generations = 1
        let first = try GoSelfPlayTrainer(config: config, folder: folder, initFrom: nil, resume: nil)
        let summary = try first.run()
        XCTAssertEqual(summary.generations, 1)
        XCTAssertEqual(summary.games, 2)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/best.safetensors"))
        config.generations = 2
        let second = try GoSelfPlayTrainer(
            config: config, folder: folder, initFrom: nil, resume: folder + "/last.safetensors")
        XCTAssertEqual(second.state.generation, 1)
        let resumed = try second.run()
        XCTAssertEqual(resumed.generations, 2)
        XCTAssertEqual(resumed.games, 4)
        XCTAssertEqual(second.state.gateWinRates.count, 2)
        XCTAssertEqual(second.state.gateWinRates.first, first.state.gateWinRates.first)
        // An imitation checkpoint cannot be resumed as self-play.
        var imitationState = GoPolicyValueState(seed: 0)
        imitationState.stage = "imitation"
        try GoPolicyValueCheckpoint.save(
            network: first.candidate, optimizer: nil, config: config, state: imitationState, to: folder + "/imitation.safetensors")
        XCTAssertThrowsError(
            try GoSelfPlayTrainer(config: config, folder: folder, initFrom: nil, resume: folder + "/imitation.safetensors"))
    }
}

private func pt(_ row: Int, _ column: Int) -> GoPoint { GoPoint(column: column, row: row) }
