import Cortex
import Envs
import Foundation

/// Progress of a Go run, saved in checkpoints so `--resume` continues from it.
public struct GoTrainingState: Codable, Sendable {
    public var moves = 0
    public var games = 0
    public var updates = 0
    /// Learner's results (1 win, 0.5 draw, 0 loss) of the last 100 training games against the
    /// random player, and against snapshots.
    public var recentVersusRandom: [Float] = []
    public var recentVersusSnapshots: [Float] = []
    public var bestEvalWinRate: Float?
    public var lastEvalWinRate: Float?
    /// (moves, win rate against the random player) at each evaluation.
    public var evalCurve: [[Float]] = []
    public var generator: RandomGenerator

    public init(seed: UInt64) { generator = RandomGenerator(seed: seed) }

    static func mean(_ values: [Float]) -> Float { values.isEmpty ? .nan : values.reduce(0, +) / Float(values.count) }
}

/// What a finished (or interrupted) Go run reports.
public struct GoTrainingSummary: Sendable {
    public var moves: Int
    public var games: Int
    public var updates: Int
    public var evalWinRate: Float
    public var bestEvalWinRate: Float
    public var movesPerSecond: Double
    public var lastCheckpoint: String
    public var bestCheckpoint: String?
}

/// Self-play DQN for Go, readable top to bottom: `parallelGames` games run side by side, the
/// learner (the online network, ε-greedy over legal moves) against either the random
/// eye-preserving player or a frozen earlier snapshot; every move of both sides is a
/// transition for the negamax update (Q-learning is off-policy, so the opponent's moves teach
/// as much as the learner's). A finished game goes into the replay buffer whole, so n-step
/// returns see its moves in order.
public final class GoDQNTrainer {
    public let config: GoDQNConfig
    public let agent: GoDQNAgent
    /// The run folder, its logs and checkpoint paths.
    public let trainingRun: TrainingRun
    public var logger: RunLogger { trainingRun.logger }
    public private(set) var state: GoTrainingState
    /// Called about 10 times a second with the move count and current metrics.
    public var onProgress: ((Int, [(String, Double)]) -> Void)?
    /// Called with one-line messages (evaluations, checkpoints).
    public var onMessage: ((String) -> Void)?

    private let replay: ReplayBuffer
    private var pool: [GoQNetwork] = []

    public var lastCheckpointPath: String { trainingRun.lastCheckpoint }
    public var bestCheckpointPath: String { trainingRun.bestCheckpoint }

    public init(config: GoDQNConfig, folder: String, resume: String? = nil) throws {
        guard (2...25).contains(config.size), config.moves > 0, config.batchSize > 0,
            config.replayCapacity > config.batchSize, config.nSteps >= 1, config.targetUpdateEvery > 0,
            config.trainEvery > 0, config.parallelGames > 0, config.poolSize > 0, config.snapshotEvery > 0,
            config.channels > 0, config.layers > 0, config.evalGames > 0
        else {
            throw AgentError.invalidConfig(
                "invalid Go DQN settings: size must be 2…25; moves, batch, n-steps, intervals, games, pool, channels and layers positive; replay capacity above the batch"
            )
        }
        self.config = config
        agent = GoDQNAgent(config: config)
        replay = ReplayBuffer(capacity: config.replayCapacity, observationSize: agent.layout.count, storage: .bits)
        state = GoTrainingState(seed: config.seed)
        trainingRun = try TrainingRun(folder: folder, config: config, resumeFrom: resume)
        if let resume {
            let metadata = try GoDQNCheckpoint.load(resume, into: agent)
            guard let json = metadata[GoDQNCheckpoint.stateKey], let data = json.data(using: .utf8),
                let restored = try? JSONDecoder().decode(GoTrainingState.self, from: data)
            else {
                throw AgentError.badCheckpoint(path: resume, reason: "no Go training state in its metadata")
            }
            state = restored
            agent.restore(updates: restored.updates)
        }
        pool = [snapshot()]
    }

    /// Restarts the opponent pool with one snapshot of the online network (after its weights
    /// were replaced, e.g. initialised from another run).
    public func resetOpponentPool() { pool = [snapshot()] }

    private func snapshot() -> GoQNetwork {
        var generator = RandomGenerator(seed: 0)
        let copy = GoQNetwork(
            inputChannels: agent.layout.planeCount, channels: config.channels, layers: config.layers,
            generator: &generator)
        TargetNetwork.copyParameters(from: agent.online, to: copy)
        copy.isTraining = false
        return copy
    }

    /// One game in progress and everything it has produced so far.
    private struct Slot {
        var board: GoBoard
        var learner: GoColor
        /// −1: the random player; otherwise an index into the pool.
        var opponent: Int
        /// Every position of the game so far, packed to bits (`layout.count` bits each).
        var positions: [UInt8] = []
        var actions: [Int32] = []
    }

    /// Runs until `config.moves` moves; `shouldStop` is polled between batches of moves, and a
    /// stopped run still writes its last checkpoint.
    public func run(shouldStop: () -> Bool = { false }) throws -> GoTrainingSummary {
        let layout = agent.layout
        let k = config.parallelGames, cap = config.moveCap
        let startMove = state.moves, updatesAtStart = state.updates
        // After a resume the buffer is empty: refill it before learning again.
        let learningStarts =
            startMove + (startMove > 0 ? min(config.learningStarts, config.replayCapacity) : config.learningStarts)
        var slots: [Slot] = []
        for _ in 0..<k { slots.append(newSlot()) }
        var current = [Float](repeating: 0, count: k * layout.count)
        var group = [Float](repeating: 0, count: k * layout.count)
        var batch = ReplayBatch(size: config.batchSize, observationSize: layout.count)
        var unpackedA = [Float](repeating: 0, count: layout.count), unpackedB = unpackedA
        var random = GoRandom(seed: state.generator.next())
        var lossSum = 0.0, qSum = 0.0, updatesSinceLog = 0
        let start = Date()
        var lastReport = start, lastCheckpointMove = state.moves, lastLogMove = state.moves
        var nextEval = config.evalEvery > 0 ? (state.moves / config.evalEvery + 1) * config.evalEvery : Int.max

        while state.moves < config.moves {
            // MARK: observe
            current.withUnsafeMutableBufferPointer { out in
                for i in 0..<k {
                    let row = UnsafeMutableBufferPointer(rebasing: out[i * layout.count..<(i + 1) * layout.count])
                    layout.write(slots[i].board, into: row)
                    Self.pack(UnsafeBufferPointer(row), appendingTo: &slots[i].positions)
                }
            }

            // MARK: act — one batched forward per network that has a position to play
            var chosen = [Int](repeating: 0, count: k)
            let epsilon = state.moves < learningStarts ? 1 : config.epsilon(atMove: state.moves)
            for network in -2..<pool.count {  // −2: the learner, −1: random, ≥ 0: a snapshot
                var members: [Int] = []
                for i in 0..<k {
                    let toMove = slots[i].board.toPlay
                    let who = toMove == slots[i].learner ? -2 : slots[i].opponent
                    if who == network { members.append(i) }
                }
                if members.isEmpty { continue }
                if network == -1 {
                    for i in members { chosen[i] = exploratoryAction(slots[i].board, random: &random) }
                    continue
                }
                let noise = network == -2 ? epsilon : config.opponentEpsilon
                var greedy: [Int] = []
                for i in members {
                    if EpsilonGreedy.explores(noise, generator: &state.generator) {
                        chosen[i] = exploratoryAction(slots[i].board, random: &random)
                    } else {
                        greedy.append(i)
                    }
                }
                if greedy.isEmpty { continue }
                current.withUnsafeBufferPointer { source in
                    group.withUnsafeMutableBufferPointer { rows in
                        for (r, i) in greedy.enumerated() {
                            (rows.baseAddress! + r * layout.count).update(
                                from: source.baseAddress! + i * layout.count,
                                count: layout.count)
                        }
                        let q = agent.qValues(
                            of: rows.baseAddress!, count: greedy.count,
                            network: network == -2 ? agent.online : pool[network])
                        for (r, i) in greedy.enumerated() {
                            chosen[i] = GoDQNAgent.maskedArgmax(
                                q.storage.pointer + r * layout.actionCount,
                                mask: rows.baseAddress! + r * layout.count + layout.planeValues,
                                count: layout.actionCount)
                        }
                    }
                }
            }

            // MARK: play; a finished game goes into the replay buffer whole
            for i in 0..<k {
                let board = slots[i].board
                let played = board.play(board.move(forAction: chosen[i]))
                precondition(played, "GoDQNTrainer: chose the illegal action \(chosen[i])")
                slots[i].actions.append(Int32(chosen[i]))
                state.moves += 1
                if board.isOver || board.moveCount >= cap {
                    current.withUnsafeMutableBufferPointer { out in
                        let row = UnsafeMutableBufferPointer(rebasing: out[0..<layout.count])
                        layout.write(board, into: row)
                        Self.pack(UnsafeBufferPointer(row), appendingTo: &slots[i].positions)
                    }
                    finishGame(slots[i], unpackedA: &unpackedA, unpackedB: &unpackedB)
                    slots[i] = newSlot()
                }
            }

            // MARK: learn
            if state.moves >= learningStarts && replay.count >= config.batchSize {
                let due = (state.moves - learningStarts) / config.trainEvery
                while state.updates < updatesAtStart + due {
                    replay.sample(into: &batch, nSteps: config.nSteps, gamma: -config.gamma, using: &state.generator)
                    if config.augment { augment(&batch, scratch: &unpackedA) }
                    let result = agent.update(batch)
                    state.updates = agent.updates
                    lossSum += Double(result.loss)
                    qSum += Double(result.meanQ)
                    updatesSinceLog += 1
                    if state.updates % config.snapshotEvery == 0 {
                        if pool.count >= config.poolSize {
                            pool.removeFirst()
                            // Games against a dropped snapshot switch to the random player.
                            for i in 0..<k where slots[i].opponent >= 0 { slots[i].opponent -= 1 }
                        }
                        pool.append(snapshot())
                    }
                }
            }

            // MARK: log, evaluate, checkpoint
            let now = Date()
            if state.moves - lastLogMove >= 1_000 {
                lastLogMove = state.moves
                let rate = Double(state.moves - startMove) / max(1e-9, now.timeIntervalSince(start))
                var scalars: [(String, Double)] = [
                    ("train/epsilon", Double(epsilon)), ("train/moves_per_s", rate),
                    ("train/games", Double(state.games))
                ]
                if updatesSinceLog > 0 {
                    scalars += [
                        ("train/td_loss", lossSum / Double(updatesSinceLog)),
                        ("train/mean_q", qSum / Double(updatesSinceLog))
                    ]
                }
                try logger.log(step: state.moves, scalars)
                lossSum = 0
                qSum = 0
                updatesSinceLog = 0
            }
            if now.timeIntervalSince(lastReport) >= 0.1 {
                lastReport = now
                onProgress?(
                    state.moves,
                    [
                        ("games", Double(state.games)),
                        ("vs_random", Double(GoTrainingState.mean(state.recentVersusRandom))),
                        ("vs_pool", Double(GoTrainingState.mean(state.recentVersusSnapshots))),
                        ("eps", Double(epsilon))
                    ])
            }
            if shouldStop() { break }
            if state.moves >= nextEval {
                try evaluateAndSave()
                nextEval += config.evalEvery
            }
            if state.moves - lastCheckpointMove >= config.checkpointEvery {
                try saveCheckpoint(to: lastCheckpointPath)
                lastCheckpointMove = state.moves
            }
        }
        if config.evalEvery > 0 && (state.evalCurve.last.map { Int($0[0]) } ?? -1) != state.moves {
            try evaluateAndSave()
        }
        try saveCheckpoint(to: lastCheckpointPath)
        try trainingRun.finish(
            metrics: [
                ("eval_win_rate", Double(state.lastEvalWinRate ?? .nan)),
                ("best_eval_win_rate", Double(state.bestEvalWinRate ?? .nan))
            ], step: state.moves)
        let elapsed = Date().timeIntervalSince(start)
        return GoTrainingSummary(
            moves: state.moves, games: state.games, updates: state.updates,
            evalWinRate: state.lastEvalWinRate ?? .nan, bestEvalWinRate: state.bestEvalWinRate ?? .nan,
            movesPerSecond: Double(state.moves - startMove) / max(1e-9, elapsed),
            lastCheckpoint: lastCheckpointPath,
            bestCheckpoint: FileManager.default.fileExists(atPath: bestCheckpointPath) ? bestCheckpointPath : nil)
    }

    private func newSlot() -> Slot {
        let learner: GoColor = state.games % 2 == 0 ? .black : .white
        let opponent =
            state.generator.nextFloat() < config.randomOpponentFraction
            ? -1 : state.generator.nextInt(below: pool.count)
        state.games += 1
        return Slot(
            board: GoBoard(size: config.size, historyLength: config.historyLength), learner: learner, opponent: opponent
        )
    }

    /// One random symmetry per row, the same for s, s′ and the action.
    private func augment(_ batch: inout ReplayBatch, scratch: inout [Float]) {
        let layout = agent.layout, count = layout.count
        scratch.withUnsafeMutableBufferPointer { temporary in
            batch.states.withUnsafeMutableBufferPointer { states in
                batch.nextStates.withUnsafeMutableBufferPointer { next in
                    for row in 0..<batch.size {
                        let k = state.generator.nextInt(below: GoSymmetry.count)
                        GoSymmetry.apply(
                            k, to: states.baseAddress! + row * count, layout: layout, scratch: temporary.baseAddress!)
                        GoSymmetry.apply(
                            k, to: next.baseAddress! + row * count, layout: layout, scratch: temporary.baseAddress!)
                        batch.actions[row] = GoSymmetry.map(action: batch.actions[row], size: layout.size, symmetry: k)
                    }
                }
            }
        }
    }

    /// Exploration: uniform among legal moves that fill none of the mover's own eyes, and pass.
    private func exploratoryAction(_ board: GoBoard, random: inout GoRandom) -> Int {
        let p = board.randomMoveIndex(for: board.toPlay, using: &random, includePass: true, protectEyes: true)
        return p < 0 ? board.size * board.size : board.action(for: .play(board.point(at: p)))
    }

    /// Scores a finished game, stores its transitions (reward ±1 to the last mover, 0 before),
    /// and records the learner's result.
    private func finishGame(_ slot: Slot, unpackedA: inout [Float], unpackedB: inout [Float]) {
        let margin = slot.board.score(komi: config.komi)
        let winner: GoColor? = margin > 0 ? .black : margin < 0 ? .white : nil
        let count = slot.actions.count
        let bytes = (agent.layout.count + 7) / 8
        // Movers alternate from black (no handicap in self-play; passes are moves).
        let lastMover: GoColor = (count - 1) % 2 == 0 ? .black : .white
        let finalReward: Float = winner == nil ? 0 : winner == lastMover ? 1 : -1
        for t in 0..<count {
            Self.unpack(slot.positions, at: t * bytes, into: &unpackedA)
            Self.unpack(slot.positions, at: (t + 1) * bytes, into: &unpackedB)
            let last = t == count - 1
            replay.add(
                observation: unpackedA, action: Int(slot.actions[t]), reward: last ? finalReward : 0,
                nextObservation: unpackedB, terminated: last, truncated: false)
        }
        let score: Float = winner == nil ? 0.5 : winner == slot.learner ? 1 : 0
        if slot.opponent < 0 {
            state.recentVersusRandom.append(score)
            if state.recentVersusRandom.count > 100 { state.recentVersusRandom.removeFirst() }
        } else {
            state.recentVersusSnapshots.append(score)
            if state.recentVersusSnapshots.count > 100 { state.recentVersusSnapshots.removeFirst() }
        }
        try? logger.log(
            step: state.moves,
            [
                ("charts/game_length", Double(count)),
                ("charts/learner_score", Double(score))
            ])
    }

    private func evaluateAndSave() throws {
        let result = GoEvaluation.versusRandom(
            network: agent.online, config: config, games: config.evalGames,
            seed: config.seed &+ 1_000_003 &+ UInt64(state.moves))
        state.lastEvalWinRate = result.winRate
        state.evalCurve.append([Float(state.moves), result.winRate])
        try logger.log(
            step: state.moves,
            [
                ("eval/win_rate_vs_random", Double(result.winRate)),
                ("eval/mean_margin", result.meanMargin),
                ("eval/mean_length", result.meanLength)
            ])
        var message = String(
            format: "eval at %d moves: %.1f%% wins against random over %d games (mean margin %+.1f, %.0f moves)",
            state.moves, 100 * result.winRate, result.games, result.meanMargin, result.meanLength)
        var best = state.bestEvalWinRate.map(Double.init)
        if TrainingRun.improves(Double(result.winRate), on: &best) {
            state.bestEvalWinRate = result.winRate
            try saveCheckpoint(to: bestCheckpointPath)
            message += ", best → \(bestCheckpointPath)"
        }
        onMessage?(message)
    }

    /// Writes networks, optimizer and progress atomically to `path`.
    public func saveCheckpoint(to path: String) throws {
        state.updates = agent.updates
        try GoDQNCheckpoint.save(agent: agent, state: state, to: path)
    }

    // MARK: bit packing of stored positions

    static func pack(_ values: UnsafeBufferPointer<Float>, appendingTo bytes: inout [UInt8]) {
        var byte: UInt8 = 0
        for i in 0..<values.count {
            if values[i] != 0 { byte |= 1 << UInt8(i & 7) }
            if i & 7 == 7 || i == values.count - 1 {
                bytes.append(byte)
                byte = 0
            }
        }
    }

    static func unpack(_ bytes: [UInt8], at offset: Int, into values: inout [Float]) {
        bytes.withUnsafeBufferPointer { b in
            values.withUnsafeMutableBufferPointer { v in
                for i in 0..<v.count { v[i] = (b[offset + i >> 3] >> UInt8(i & 7)) & 1 == 1 ? 1 : 0 }
            }
        }
    }
}
