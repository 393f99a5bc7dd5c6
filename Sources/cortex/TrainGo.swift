import Agents
import ArgumentParser
import Cortex
import Envs
import Foundation

/// `cortex train go`: self-play DQN for Go, headless, with progress, logs and checkpoints like
/// the MinAtar trainer.
struct TrainGo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "go",
        abstract: "Train a Go DQN agent by self-play against frozen snapshots and the random player.",
        discussion: """
            Negamax DQN (Mnih et al. 2015, Double DQN) over the board planes, illegal moves masked out of \
            both the argmax and the target's max, reward ±1 at the game's end from the mover's view. \
            Writes <out>/last.safetensors and <out>/best.safetensors (best win rate against the random player); \
            `cortex gtp --checkpoint`, `cortex match cortex:<checkpoint>`, `cortex watch go` and `cortex play go` use them.
            """)

    @Option(help: "Board size to train on (9 or 19; any size 5…25 works).")
    var size: Int?
    @Option(help: "Moves (both sides, all parallel games) to train for.")
    var moves: Int?
    @Option(help: "Resume from this checkpoint.", completion: .file(extensions: ["safetensors"]))
    var resumeFrom: String?
    @Option(
        help: "Start from the online network of this checkpoint (any board size: the network is fully convolutional).",
        completion: .file(extensions: ["safetensors"]))
    var initFrom: String?
    @Option(help: "Feature maps of the trunk's convolutions.")
    var channels: Int?
    @Option(help: "3×3 convolutions in the trunk.")
    var layers: Int?
    @Option(help: "Games played side by side.")
    var parallel: Int?
    @Option(help: "Adam learning rate.")
    var lr: Float?
    @Option(help: "Minibatch size.")
    var batch: Int?
    @Option(help: "Moves per gradient update.")
    var trainEvery: Int?
    @Option(help: "Replay capacity in transitions.")
    var replay: Int?
    @Option(help: "Moves of random play before learning starts.")
    var learningStarts: Int?
    @Option(help: "ε of the learner when learning starts (lower it when starting from a trained network).")
    var epsilonStart: Float?
    @Option(help: "Final ε of the learner.")
    var epsilonEnd: Float?
    @Option(help: "Moves over which ε decays to its final value.")
    var epsilonMoves: Int?
    @Option(help: "Multi-step return length (signs alternate with the player).")
    var nSteps: Int?
    @Option(help: "Discount γ of the negamax target.")
    var gamma: Float?
    @Option(help: "Updates between target-network syncs.")
    var targetUpdate: Int?
    @Option(help: "Fraction of training games against the random player (the rest against snapshots).")
    var randomFraction: Float?
    @Option(help: "Moves between evaluations against the random player (0: none).")
    var evalEvery: Int?
    @Option(help: "Games per evaluation.")
    var evalGames: Int?
    @Flag(
        inversion: .prefixedNo,
        help: "Never fill the agent's own single-point eyes (the random baseline's rule): masked like illegal moves.")
    var protectEyes: Bool?
    @Flag(help: "Train without the random board symmetry per sample.")
    var noAugment = false
    @Option(help: "Komi.")
    var komi: Double?
    @OptionGroup var runFolder: RunFolderOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        let c = try config()
        guard (5...25).contains(c.size) else { throw ValidationError("--size must be in 5...25, got \(c.size)") }
        guard c.moves > 0, c.channels > 0, c.layers > 0, c.parallelGames > 0, c.batchSize > 0,
            c.replayCapacity > c.batchSize,
            c.trainEvery > 0, c.nSteps >= 1, c.targetUpdateEvery > 0, c.evalEvery >= 0, c.evalGames > 0,
            c.learningStarts >= 0, c.epsilonDecayMoves >= 0
        else {
            throw ValidationError(
                "--moves, --channels, --layers, --parallel, --batch, --train-every, --n-steps, --target-update, --eval-games must be positive and --replay larger than --batch"
            )
        }
        // Beyond these the network does not fit in memory (channels² · 9 weights a layer).
        guard (0...16).contains(c.historyLength), c.channels <= 4096, c.layers <= 1000 else {
            throw ValidationError(
                "historyLength must be in 0...16, --channels at most 4096 and --layers at most 1000, got \(c.historyLength), \(c.channels), \(c.layers)"
            )
        }
        guard c.learningRate > 0, c.gamma > 0, c.gamma <= 1, (0...1).contains(c.randomOpponentFraction),
            (0...1).contains(c.epsilonStart), (0...1).contains(c.epsilonEnd)
        else {
            throw ValidationError(
                "--lr must be positive, --gamma in (0, 1], --random-fraction, --epsilon-start and --epsilon-end in [0, 1]"
            )
        }
    }

    /// The defaults (or `--config`) with the flags that were given written over them.
    func config() throws -> GoDQNConfig {
        var c = GoDQNConfig()
        if let file = runFolder.config { c = try ConfigFile.load(file, over: c) }
        c.seed = common.seed
        if let size { c.size = size }
        if let moves { c.moves = moves }
        if let channels { c.channels = channels }
        if let layers { c.layers = layers }
        if let parallel { c.parallelGames = parallel }
        if let lr { c.learningRate = lr }
        if let batch { c.batchSize = batch }
        if let trainEvery { c.trainEvery = trainEvery }
        if let replay { c.replayCapacity = replay }
        if let learningStarts { c.learningStarts = learningStarts }
        if let epsilonStart { c.epsilonStart = epsilonStart }
        if let epsilonEnd { c.epsilonEnd = epsilonEnd }
        if let epsilonMoves { c.epsilonDecayMoves = epsilonMoves }
        if let nSteps { c.nSteps = nSteps }
        if let gamma { c.gamma = gamma }
        if let targetUpdate { c.targetUpdateEvery = targetUpdate }
        if let randomFraction { c.randomOpponentFraction = randomFraction }
        if let evalEvery { c.evalEvery = evalEvery }
        if let evalGames { c.evalGames = evalGames }
        if let komi { c.komi = komi }
        if noAugment { c.augment = false }
        if let protectEyes { c.protectEyes = protectEyes }
        c.checkpointEvery = max(1, min(c.checkpointEvery, c.moves / 4))
        return c
    }

    func run() throws {
        try reportingFailures("train go") {
            let config = try self.config()
            Interrupt.install()
            Runtime.configure(threads: common.threads)
            let folder = runFolder.out ?? "runs/go\(config.size)-s\(config.seed)"
            var resumePath = resumeFrom
            if runFolder.resume && resumePath == nil { resumePath = folder + "/last.safetensors" }
            let trainer = try GoDQNTrainer(config: config, folder: folder, resume: resumePath)
            if let initFrom, resumePath == nil {
                let (_, network) = try GoDQNCheckpoint.loadNetwork(initFrom)
                guard network.channels == config.channels,
                    network.namedParameters().count == trainer.agent.online.namedParameters().count
                else {
                    throw CommandFailure(
                        "--init-from \(initFrom): its network's shape differs from this run's (\(config.channels) channels, \(config.layers) layers)"
                    )
                }
                TargetNetwork.copyParameters(from: network, to: trainer.agent.online)
                trainer.agent.syncTarget()
                trainer.resetOpponentPool()
            }
            trainer.trainingRun.startLines(config: config).forEach(printError)
            if resumePath != nil { printError("resuming at move \(trainer.state.moves)") }
            if let initFrom, resumePath == nil { printError("network initialised from \(initFrom)") }
            let progress = Progress(total: config.moves, label: "go \(config.size)×\(config.size) moves")
            trainer.onProgress = { move, metrics in progress.update(move, metrics: metrics) }
            trainer.onMessage = { message in progress.message(message) }
            let summary = try trainer.run(shouldStop: { Interrupt.requested })
            progress.finish()
            printError(
                String(
                    format: "trained %d moves in %d games, %d updates, at %.0f moves/s",
                    summary.moves, summary.games, summary.updates, summary.movesPerSecond))
            printError(
                String(
                    format: "last evaluation against random: %.1f%% wins (best %.1f%%)",
                    100 * summary.evalWinRate, 100 * summary.bestEvalWinRate))
            printError(
                "checkpoints: \(summary.lastCheckpoint)\(summary.bestCheckpoint.map { ", best " + $0 } ?? ""); logs: \(folder)"
            )
            if common.json {
                printJSON([
                    "moves": summary.moves, "games": summary.games, "updates": summary.updates,
                    "eval_win_rate": summary.evalWinRate.isNaN ? NSNull() : Double(summary.evalWinRate) as Any,
                    "best_eval_win_rate": summary.bestEvalWinRate.isNaN
                        ? NSNull() : Double(summary.bestEvalWinRate) as Any,
                    "moves_per_s": summary.movesPerSecond, "checkpoint": summary.lastCheckpoint,
                    "best_checkpoint": summary.bestCheckpoint ?? NSNull()
                ])
            }
            if Interrupt.requested { throw ExitCode(130) }
        }
    }
}
