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
    var size = 9
    @Option(help: "Moves (both sides, all parallel games) to train for.")
    var moves = GoDQNConfig().moves
    @Option(help: "Run folder (default runs/go<size>-s<seed>).")
    var out: String?
    @Flag(help: "Resume the run in --out from its last.safetensors.")
    var resume = false
    @Option(help: "Resume from this checkpoint.")
    var resumeFrom: String?
    @Option(help: "Start from the online network of this checkpoint (any board size: the network is fully convolutional).")
    var initFrom: String?
    @Option(help: "Feature maps of the trunk's convolutions.")
    var channels = GoDQNConfig().channels
    @Option(help: "3×3 convolutions in the trunk.")
    var layers = GoDQNConfig().layers
    @Option(help: "Games played side by side.")
    var parallel = GoDQNConfig().parallelGames
    @Option(help: "Adam learning rate.")
    var lr = GoDQNConfig().learningRate
    @Option(help: "Minibatch size.")
    var batch = GoDQNConfig().batchSize
    @Option(help: "Moves per gradient update.")
    var trainEvery = GoDQNConfig().trainEvery
    @Option(help: "Replay capacity in transitions.")
    var replay = GoDQNConfig().replayCapacity
    @Option(help: "Moves of random play before learning starts.")
    var learningStarts = GoDQNConfig().learningStarts
    @Option(help: "ε of the learner when learning starts (lower it when starting from a trained network).")
    var epsilonStart = GoDQNConfig().epsilonStart
    @Option(help: "Final ε of the learner.")
    var epsilonEnd = GoDQNConfig().epsilonEnd
    @Option(help: "Moves over which ε decays to its final value.")
    var epsilonMoves = GoDQNConfig().epsilonDecayMoves
    @Option(help: "Multi-step return length (signs alternate with the player).")
    var nSteps = GoDQNConfig().nSteps
    @Option(help: "Discount γ of the negamax target.")
    var gamma = GoDQNConfig().gamma
    @Option(help: "Updates between target-network syncs.")
    var targetUpdate = GoDQNConfig().targetUpdateEvery
    @Option(help: "Fraction of training games against the random player (the rest against snapshots).")
    var randomFraction = GoDQNConfig().randomOpponentFraction
    @Option(help: "Moves between evaluations against the random player (0: none).")
    var evalEvery = GoDQNConfig().evalEvery
    @Option(help: "Games per evaluation.")
    var evalGames = GoDQNConfig().evalGames
    @Flag(inversion: .prefixedNo, help: "Never fill the agent's own single-point eyes (the random baseline's rule): masked like illegal moves.")
    var protectEyes = GoDQNConfig().protectEyes
    @Flag(help: "Train without the random board symmetry per sample.")
    var noAugment = false
    @Option(help: "Komi.")
    var komi = 7.5
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (5...25).contains(size) else { throw ValidationError("--size must be in 5...25, got \(size)") }
        guard moves > 0, channels > 0, layers > 0, parallel > 0, batch > 0, replay > batch, trainEvery > 0,
              nSteps >= 1, targetUpdate > 0, evalEvery >= 0, evalGames > 0, learningStarts >= 0, epsilonMoves >= 0 else {
            throw ValidationError("--moves, --channels, --layers, --parallel, --batch, --train-every, --n-steps, --target-update, --eval-games must be positive and --replay larger than --batch")
        }
        guard lr > 0, gamma > 0, gamma <= 1, (0...1).contains(randomFraction), (0...1).contains(epsilonStart),
              (0...1).contains(epsilonEnd) else {
            throw ValidationError("--lr must be positive, --gamma in (0, 1], --random-fraction, --epsilon-start and --epsilon-end in [0, 1]")
        }
    }

    var config: GoDQNConfig {
        var c = GoDQNConfig()
        c.size = size
        c.komi = komi
        c.moves = moves
        c.seed = common.seed
        c.channels = channels
        c.layers = layers
        c.parallelGames = parallel
        c.learningRate = lr
        c.batchSize = batch
        c.trainEvery = trainEvery
        c.replayCapacity = replay
        c.learningStarts = learningStarts
        c.epsilonStart = epsilonStart
        c.epsilonEnd = epsilonEnd
        c.epsilonDecayMoves = epsilonMoves
        c.nSteps = nSteps
        c.gamma = gamma
        c.targetUpdateEvery = targetUpdate
        c.randomOpponentFraction = randomFraction
        c.evalEvery = evalEvery
        c.evalGames = evalGames
        c.augment = !noAugment
        c.protectEyes = protectEyes
        c.checkpointEvery = max(1, min(c.checkpointEvery, moves / 4))
        return c
    }

    func run() throws {
        try reportingFailures("train go") {
            let config = self.config
            Interrupt.install()
            Runtime.configure(threads: common.threads)
            let folder = out ?? "runs/go\(size)-s\(config.seed)"
            var resumePath = resumeFrom
            if resume && resumePath == nil { resumePath = folder + "/last.safetensors" }
            let trainer = try GoDQNTrainer(config: config, folder: folder, resume: resumePath)
            if let initFrom, resumePath == nil {
                let (_, network) = try GoDQNCheckpoint.loadNetwork(initFrom)
                guard network.channels == config.channels, network.namedParameters().count == trainer.agent.online.namedParameters().count else {
                    throw CommandFailure("--init-from \(initFrom): its network's shape differs from --channels \(channels) --layers \(layers)")
                }
                TargetNetwork.copyParameters(from: network, to: trainer.agent.online)
                trainer.agent.syncTarget()
                trainer.resetOpponentPool()
            }
            trainer.trainingRun.startLines(config: config).forEach(printError)
            if resumePath != nil { printError("resuming at move \(trainer.state.moves)") }
            if let initFrom, resumePath == nil { printError("network initialised from \(initFrom)") }
            let progress = Progress(total: config.moves, label: "go \(size)×\(size) moves")
            trainer.onProgress = { move, metrics in progress.update(move, metrics: metrics) }
            trainer.onMessage = { message in progress.message(message) }
            let summary = try trainer.run(shouldStop: { Interrupt.requested })
            progress.finish()
            printError(String(format: "trained %d moves in %d games, %d updates, at %.0f moves/s",
                              summary.moves, summary.games, summary.updates, summary.movesPerSecond))
            printError(String(format: "last evaluation against random: %.1f%% wins (best %.1f%%)",
                              100 * summary.evalWinRate, 100 * summary.bestEvalWinRate))
            printError("checkpoints: \(summary.lastCheckpoint)\(summary.bestCheckpoint.map { ", best " + $0 } ?? ""); logs: \(folder)")
            if common.json {
                printJSON(["moves": summary.moves, "games": summary.games, "updates": summary.updates,
                           "eval_win_rate": summary.evalWinRate.isNaN ? NSNull() : Double(summary.evalWinRate) as Any,
                           "best_eval_win_rate": summary.bestEvalWinRate.isNaN ? NSNull() : Double(summary.bestEvalWinRate) as Any,
                           "moves_per_s": summary.movesPerSecond, "checkpoint": summary.lastCheckpoint,
                           "best_checkpoint": summary.bestCheckpoint ?? NSNull()])
            }
            if Interrupt.requested { throw ExitCode(130) }
        }
    }
}
