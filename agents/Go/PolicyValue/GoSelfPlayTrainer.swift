import Cortex
import Envs
import Foundation

/// What a self-play run reports.
public struct GoSelfPlaySummary: Sendable {
    public var generations: Int
    public var games: Int
    public var accepted: Int
    public var lastGateWinRate: Double
    public var elo: Double
    public var secondsPerGeneration: Double
    public var lastCheckpoint: String
    public var bestCheckpoint: String
}

/// AlphaGo Zero's loop (Silver et al. 2017) on a CPU budget, one generation at a time:
///
/// 1. **Self-play**: the best network so far plays `gamesPerGeneration` games against itself by
///    tree search (`selfPlayPlayouts` a move, root Dirichlet noise, moves drawn by visit count for
///    the first `temperatureMoves`); every position is kept with the search's visit shares and,
///    once the game ends, its outcome for the player to move. Games end by two passes (the dead
///    stones the playouts find are removed before the area count), a resignation, or 2·size² moves.
/// 2. **Training**: the candidate network (it starts as the best) takes `stepsPerGeneration`
///    AdamW steps on the newest `window` positions, each turned by a random symmetry.
/// 3. **Gate**: candidate and best play `gateGames` games (colours alternated, the first moves drawn
///    by visit count so the games differ); the candidate becomes the best only if it wins at least
///    `gateThreshold` of them. Its Elo over the first network grows by 400·log10(w / (1 − w)).
///
/// `last.safetensors` holds the candidate with its optimizer and the run's state, `best.safetensors`
/// the best network; `--resume` continues at the next generation (the window starts empty again).
public final class GoSelfPlayTrainer {
    public let config: GoPolicyValueConfig
    public let candidate: GoPolicyValueNetwork
    public let best: GoPolicyValueNetwork
    public let learner: GoPolicyValueLearner
    public let trainingRun: TrainingRun
    public private(set) var state: GoPolicyValueState
    public let window: GoPositionSet
    public var onProgress: ((Int, Int, [(String, Double)]) -> Void)?
    public var onMessage: ((String) -> Void)?

    /// Starts from `initFrom` (an imitation or self-play checkpoint), or resumes from `resume`.
    public init(config: GoPolicyValueConfig, folder: String, initFrom: String?, resume: String?) throws {
        if let problem = config.problem { throw AgentError.invalidConfig("invalid Go policy/value settings: \(problem)") }
        self.config = config
        var generator = RandomGenerator(seed: config.seed)
        candidate = GoPolicyValueNetwork(shape: config.network, generator: &generator)
        best = GoPolicyValueNetwork(shape: config.network, generator: &generator)
        learner = GoPolicyValueLearner(
            network: candidate, learningRate: config.selfPlayLearningRate, weightDecay: config.weightDecay,
            valueWeight: 1)
        window = GoPositionSet(size: config.size, historyLength: config.network.historyLength)
        state = GoPolicyValueState(seed: config.seed)
        state.stage = "selfplay"
        trainingRun = try TrainingRun(folder: folder, config: config, resumeFrom: resume)
        if let resume {
            state = try GoPolicyValueCheckpoint.load(resume, into: candidate, optimizer: learner.optimizer)
            guard state.stage == "selfplay" else {
                throw AgentError.badCheckpoint(path: resume, reason: "it is an \(state.stage) run, not a self-play run")
            }
            let bestPath = trainingRun.bestCheckpoint
            guard FileManager.default.fileExists(atPath: bestPath) else {
                throw AgentError.badCheckpoint(path: resume, reason: "its run has no \(bestPath) to play against")
            }
            _ = try GoPolicyValueCheckpoint.load(bestPath, into: best, optimizer: nil)
        } else if let initFrom {
            let (from, network) = try GoPolicyValueCheckpoint.loadNetwork(initFrom)
            guard from.network == config.network else {
                throw AgentError.badCheckpoint(
                    path: initFrom, reason: "its network \(from.network) differs from this run's \(config.network)")
            }
            Self.copy(network, to: candidate)
            Self.copy(network, to: best)
        }
        best.eval()
    }

    static func copy(_ from: GoPolicyValueNetwork, to: GoPolicyValueNetwork) {
        let source = Dictionary(uniqueKeysWithValues: from.stateDict().map { ($0.name, $0.tensor) })
        for (name, tensor) in to.stateDict() {
            guard let s = source[name] else { continue }
            tensor.storage.pointer.update(from: s.storage.pointer, count: tensor.count)
        }
    }

    /// A tree-search player over `network` with the self-play settings.
    public func player(_ network: GoPolicyValueNetwork, noise: Bool, seed: UInt64, name: String) -> GoMCTSPlayer {
        var search = config.searchConfig
        search.playouts = config.selfPlayPlayouts
        search.temperature = 1
        search.temperatureMoves = noise ? config.temperatureMoves : 4
        search.dirichletAlpha = noise ? config.dirichletAlpha : 0
        search.dirichletWeight = config.dirichletWeight
        search.resignThreshold = config.selfPlayResign
        search.reuseTree = !noise
        let evaluator = GoNetworkEvaluator(network: network, playoutWeight: config.playoutWeight, seed: seed)
        return GoMCTSPlayer(config: search, evaluator: evaluator, seed: seed, name: name)
    }

    /// Plays one game between `black` and `white`; with a `set`, adds its positions to it.
    @discardableResult
    public func playGame(black: GoMCTSPlayer, white: GoMCTSPlayer, into set: GoPositionSet?) -> (result: GoResult, game: GoGame) {
        let size = config.size
        let game = GoGame(size: size, komi: config.komi)
        black.startGame(size: size, komi: config.komi)
        white.startGame(size: size, komi: config.komi)
        let first = set?.count ?? 0
        var movers: [GoColor] = []
        var policy = [Float](repeating: 0, count: size * size + 1)
        while !game.isOver && game.moves.count < 2 * size * size {
            let color = game.board.toPlay
            let player = color == .black ? black : white
            let move = player.generateMove(in: game, for: color)
            if let set, let result = player.lastResult {
                let total = result.visits.reduce(0, +)
                if total > 0 {
                    for a in policy.indices { policy[a] = result.visits[a] / total }
                    policy.withUnsafeBufferPointer { set.append(game.board, policy: $0, outcome: 0) }
                    movers.append(color)
                }
            }
            if move == .resign {
                game.play(.resign, color: color)
                break
            }
            if !game.play(move, color: color) {
                game.forfeit(by: color)
                break
            }
        }
        if game.board.isOver && game.decidedResult == nil {
            game.deadStones = GoMCTSPlayer.deadStones(
                on: game.board, komi: config.komi, playouts: 128, seed: state.generator.next())
        }
        let result = game.result
        if let set {
            for (i, mover) in movers.enumerated() {
                set.setOutcome(first + i, result.winner == nil ? 0 : result.winner == mover ? 1 : -1)
            }
        }
        return (result, game)
    }

    public func run(shouldStop: () -> Bool = { false }) throws -> GoSelfPlaySummary {
        var generationSeconds: [Double] = []
        var accepted = 0
        let perGeneration = config.gamesPerGeneration + config.gateGames
        while state.generation < config.generations && !shouldStop() {
            let started = Date()
            // 1. Self-play with the best network.
            var blackWins = 0
            for g in 0..<config.gamesPerGeneration {
                if shouldStop() { break }
                let seed = state.generator.next()
                let p = player(best, noise: true, seed: seed, name: "best")
                let result = playGame(black: p, white: p, into: window).result
                if result.winner == .black { blackWins += 1 }
                state.selfPlayGames += 1
                onProgress?(
                    state.generation * perGeneration + g + 1, config.generations * perGeneration,
                    [("gen", Double(state.generation + 1)), ("positions", Double(window.count))])
            }
            if shouldStop() { break }
            window.keepLast(config.window)
            // 2. Training.
            var metrics = GoBatchMetrics()
            let batch = min(config.batchSize, window.count)
            for _ in 0..<config.stepsPerGeneration {
                let indices = (0..<batch).map { _ in state.generator.nextInt(below: window.count) }
                metrics.add(learner.step(on: window, indices: indices, random: &state.generator))
                state.steps += 1
            }
            candidate.eval()
            // 3. Gate.
            var wins = 0.0
            for g in 0..<config.gateGames {
                if shouldStop() { break }
                let seedA = state.generator.next(), seedB = state.generator.next()
                let a = player(candidate, noise: false, seed: seedA, name: "candidate")
                let b = player(best, noise: false, seed: seedB, name: "best")
                let candidateBlack = g % 2 == 0
                let result = (candidateBlack ? playGame(black: a, white: b, into: nil) : playGame(black: b, white: a, into: nil)).result
                switch result.winner {
                case .black?: wins += candidateBlack ? 1 : 0
                case .white?: wins += candidateBlack ? 0 : 1
                case nil: wins += 0.5
                }
                onProgress?(
                    state.generation * perGeneration + config.gamesPerGeneration + g + 1,
                    config.generations * perGeneration,
                    [("gen", Double(state.generation + 1)), ("gate", wins / Double(g + 1))])
            }
            if shouldStop() { break }
            candidate.train()
            let rate = wins / Double(config.gateGames)
            state.gateWinRates.append(rate)
            let promoted = rate >= config.gateThreshold
            if promoted {
                let clipped = min(max(rate, 0.5 / Double(config.gateGames)), 1 - 0.5 / Double(config.gateGames))
                state.elo.append((state.elo.last ?? 0) + 400 * log10(clipped / (1 - clipped)))
                Self.copy(candidate, to: best)
                accepted += 1
            }
            state.generation += 1
            generationSeconds.append(Date().timeIntervalSince(started))
            try trainingRun.logger.log(
                step: state.generation,
                [
                    ("selfplay/games", Double(state.selfPlayGames)), ("selfplay/black_wins", Double(blackWins) / Double(config.gamesPerGeneration)),
                    ("selfplay/positions", Double(window.count)),
                    ("train/policy_loss", metrics.policyLoss), ("train/value_loss", metrics.valueLoss),
                    ("train/accuracy", metrics.accuracy), ("gate/win_rate", rate), ("gate/promoted", promoted ? 1 : 0),
                    ("elo", state.elo.last ?? 0), ("seconds_per_generation", generationSeconds.last!)
                ])
            if promoted { try saveBest() }
            try saveLast()
            onMessage?(
                String(
                    format: "generation %d/%d: %d self-play games (black won %d), %d positions; policy %.3f value %.3f; gate %.0f%% → %@, Elo %.0f; %.0f s",
                    state.generation, config.generations, config.gamesPerGeneration, blackWins, window.count,
                    metrics.policyLoss, metrics.valueLoss, 100 * rate, promoted ? "promoted" : "kept the best",
                    state.elo.last ?? 0, generationSeconds.last!))
        }
        try saveLast()
        if !FileManager.default.fileExists(atPath: trainingRun.bestCheckpoint) { try saveBest() }
        try trainingRun.finish(
            metrics: [("elo", state.elo.last ?? 0), ("gate_win_rate", state.gateWinRates.last ?? .nan)],
            step: state.generation)
        return GoSelfPlaySummary(
            generations: state.generation, games: state.selfPlayGames, accepted: accepted,
            lastGateWinRate: state.gateWinRates.last ?? .nan, elo: state.elo.last ?? 0,
            secondsPerGeneration: generationSeconds.isEmpty ? 0 : generationSeconds.reduce(0, +) / Double(generationSeconds.count),
            lastCheckpoint: trainingRun.lastCheckpoint, bestCheckpoint: trainingRun.bestCheckpoint)
    }

    func saveLast() throws {
        try GoPolicyValueCheckpoint.save(
            network: candidate, optimizer: learner.optimizer, config: config, state: state,
            to: trainingRun.lastCheckpoint)
    }

    func saveBest() throws {
        try GoPolicyValueCheckpoint.save(
            network: best, optimizer: nil, config: config, state: state, to: trainingRun.bestCheckpoint)
    }
}
