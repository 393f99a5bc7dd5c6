import Agents
import ArgumentParser
import Cortex
import Envs
import Foundation

/// Flags shared by the policy/value stages: board, network shape.
struct GoNetworkOptions: ParsableArguments {
    @Option(help: "Board size (9 or 19; the preset of that size supplies every default).")
    var size = 9
    @Option(help: "Residual blocks in the tower.")
    var blocks: Int?
    @Option(help: "Feature maps of the tower's 3×3 convolutions.")
    var channels: Int?
    @Option(help: "Past positions in the input planes (0…3).")
    var history: Int?
    @Option(help: "Komi.")
    var komi: Double?

    func apply(to c: inout GoPolicyValueConfig) {
        if let blocks { c.network.blocks = blocks }
        if let channels { c.network.channels = channels }
        if let history { c.network.historyLength = history }
        if let komi { c.komi = komi }
    }
}

/// `cortex train go-imitation`: AlphaGo's supervised stage on a folder of SGF games.
struct TrainGoImitation: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "go-imitation",
        abstract: "Train a Go policy/value network on an expert's games (SGF), AlphaGo's supervised stage.",
        discussion: """
            The residual policy/value network (AlphaGo Zero's shape) learns the moves (cross-entropy) and \
            results (squared error) of the games in --data; 5% of the games are held out to measure move \
            prediction. Make the games with GnuGo playing itself, e.g. \
            `cortex match --black "gnugo --mode gtp --level 5" --white "gnugo --mode gtp --level 1" --games 2000 \
            --size 9 --random-opening 4 --referee "gnugo --mode gtp --chinese-rules" --sgf-dir data/go9-gnugo/a`. \
            Writes <out>/last.safetensors and <out>/best.safetensors (best held-out accuracy); \
            `cortex gtp --checkpoint`, `cortex match cortex:<checkpoint>` and `cortex train go-selfplay --init-from` use them.
            """)

    @OptionGroup var board: GoNetworkOptions
    @Option(help: "Folder of SGF games (searched recursively).", completion: .directory)
    var data: String?
    @Option(help: "Epochs over the training positions.")
    var epochs: Int?
    @Option(help: "Minibatch size.")
    var batch: Int?
    @Option(help: "AdamW peak learning rate (warmup, then cosine).")
    var lr: Float?
    @Option(help: "Weight decay.")
    var weightDecay: Float?
    @Option(help: "Weight of the value loss.")
    var valueWeight: Float?
    @Option(help: "First moves of every game that are not targets (the random opening of a generated set).")
    var skipMoves: Int?
    @Option(help: "Share of the games held out for measuring move prediction.")
    var heldOut: Double?
    @Option(
        help: "Start from this checkpoint's network (its shape; any board size, e.g. the 9×9 network for 19×19).",
        completion: .file(extensions: ["safetensors"]))
    var initFrom: String?
    @OptionGroup var runFolder: RunFolderOptions
    @OptionGroup var common: CommonOptions

    func config() throws -> GoPolicyValueConfig {
        var c = GoPolicyValueConfig.preset(size: board.size)
        if let file = runFolder.config { c = try ConfigFile.load(file, over: c) }
        c.seed = common.seed
        if let initFrom, !runFolder.resume { c.network = try GoPolicyValueCheckpoint.readConfig(initFrom).network }
        board.apply(to: &c)
        if let data { c.data = data }
        if let epochs { c.epochs = epochs }
        if let batch { c.batchSize = batch }
        if let lr { c.learningRate = lr }
        if let weightDecay { c.weightDecay = weightDecay }
        if let valueWeight { c.valueWeight = valueWeight }
        if let skipMoves { c.skipMoves = skipMoves }
        if let heldOut { c.heldOut = heldOut }
        return c
    }

    func validate() throws {
        if let problem = try config().problem { throw ValidationError(problem) }
    }

    func run() throws {
        try reportingFailures("train go-imitation") {
            let config = try self.config()
            Interrupt.install()
            Runtime.configure(threads: common.threads)
            let folder = runFolder.out ?? "runs/\(config.preset)-imitation-s\(config.seed)"
            let resume = runFolder.resume ? folder + "/last.safetensors" : nil
            printError("reading games in \(config.data)")
            let trainer = try GoImitationTrainer(
                config: config, folder: folder, resume: resume, initFrom: runFolder.resume ? nil : initFrom)
            trainer.trainingRun.startLines(config: config).forEach(printError)
            printError(
                "\(trainer.trainGames) games (\(trainer.train.count) positions) to learn, \(trainer.heldOutGames) held out (\(trainer.heldOut.count) positions); \(trainer.skipped.count) files skipped"
                    + (trainer.skipped.first.map { " (first: \($0))" } ?? ""))
            printError("network: \(trainer.network.parameterCount) parameters, \(config.network)")
            if resume != nil { printError("resuming at epoch \(trainer.state.epoch)") }
            if let initFrom, resume == nil { printError("starting from the network of \(initFrom)") }
            let progress = Progress(total: config.epochs * trainer.train.count / config.batchSize, label: "steps")
            trainer.onProgress = { step, _, metrics in progress.update(step, metrics: metrics) }
            trainer.onMessage = { progress.message($0) }
            let summary = try trainer.run(shouldStop: { Interrupt.requested })
            progress.finish()
            printError(
                String(
                    format: "held-out move prediction %.1f%% (best %.1f%%) over %d positions of %d games; %.0f s per epoch",
                    100 * summary.heldOutAccuracy, 100 * summary.bestHeldOutAccuracy, summary.heldOutPositions,
                    summary.heldOutGames, summary.secondsPerEpoch))
            printError("checkpoints: \(summary.lastCheckpoint), best \(summary.bestCheckpoint); logs: \(folder)")
            if common.json {
                printJSON([
                    "epochs": summary.epochs, "steps": summary.steps, "train_games": summary.trainGames,
                    "heldout_games": summary.heldOutGames, "train_positions": summary.trainPositions,
                    "heldout_positions": summary.heldOutPositions, "heldout_accuracy": summary.heldOutAccuracy,
                    "best_heldout_accuracy": summary.bestHeldOutAccuracy, "heldout_value_loss": summary.heldOutValueLoss,
                    "s_per_epoch": summary.secondsPerEpoch, "checkpoint": summary.lastCheckpoint,
                    "best_checkpoint": summary.bestCheckpoint
                ])
            }
            if Interrupt.requested { throw ExitCode(130) }
        }
    }
}

/// `cortex train go-selfplay`: AlphaGo Zero's loop with a gate, from an imitation checkpoint.
struct TrainGoSelfPlay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "go-selfplay",
        abstract: "Improve a Go policy/value network by self-play with tree search, AlphaGo Zero's loop with a gate.",
        discussion: """
            Each generation: the best network plays --games games against itself by tree search (Dirichlet noise, \
            moves drawn by visit count early), the candidate trains on the newest --window positions (visit shares \
            and outcomes), then plays --gate-games against the best and replaces it when it wins at least \
            --gate-threshold. <out>/best.safetensors is the best network (play it with `cortex gtp --checkpoint`), \
            <out>/last.safetensors the candidate with its optimizer; --resume continues at the next generation.
            """)

    @OptionGroup var board: GoNetworkOptions
    @Option(
        help: "Start from this policy/value checkpoint (cortex train go-imitation's best.safetensors).",
        completion: .file(extensions: ["safetensors"]), transform: ShippedModels.resolve)
    var initFrom: String?
    @Option(help: "Generations (self-play, training, gate).")
    var generations: Int?
    @Option(help: "Self-play games per generation.")
    var games: Int?
    @Option(help: "Playouts per move in self-play and in the gate.")
    var playouts: Int?
    @Option(help: "Leaf value = (1 − w)·network + w·playout.")
    var playoutWeight: Float?
    @Option(help: "Training steps per generation.")
    var steps: Int?
    @Option(help: "Minibatch size.")
    var batch: Int?
    @Option(help: "AdamW learning rate.")
    var lr: Float?
    @Option(help: "Newest positions kept for training.")
    var window: Int?
    @Option(help: "Games of the gate.")
    var gateGames: Int?
    @Option(help: "Share of the gate's games the candidate must win to replace the best.")
    var gateThreshold: Double?
    @OptionGroup var runFolder: RunFolderOptions
    @OptionGroup var common: CommonOptions

    func config() throws -> GoPolicyValueConfig {
        var c = GoPolicyValueConfig.preset(size: board.size)
        if let initFrom { c = try GoPolicyValueCheckpoint.readConfig(initFrom) }
        if let file = runFolder.config { c = try ConfigFile.load(file, over: c) }
        c.seed = common.seed
        board.apply(to: &c)
        if let generations { c.generations = generations }
        if let games { c.gamesPerGeneration = games }
        if let playouts { c.selfPlayPlayouts = playouts }
        if let playoutWeight { c.playoutWeight = playoutWeight }
        if let steps { c.stepsPerGeneration = steps }
        if let batch { c.batchSize = batch }
        if let lr { c.selfPlayLearningRate = lr }
        if let window { c.window = window }
        if let gateGames { c.gateGames = gateGames }
        if let gateThreshold { c.gateThreshold = gateThreshold }
        return c
    }

    func validate() throws {
        if initFrom == nil && !runFolder.resume {
            throw ValidationError("--init-from CHECKPOINT is needed to start (or --resume a run)")
        }
    }

    func run() throws {
        try reportingFailures("train go-selfplay") {
            let config = try self.config()
            if let problem = config.problem { throw CommandFailure(problem) }
            Interrupt.install()
            Runtime.configure(threads: common.threads)
            let folder = runFolder.out ?? "runs/\(config.preset)-selfplay-s\(config.seed)"
            let resume = runFolder.resume ? folder + "/last.safetensors" : nil
            let trainer = try GoSelfPlayTrainer(config: config, folder: folder, initFrom: initFrom, resume: resume)
            trainer.trainingRun.startLines(config: config).forEach(printError)
            if resume != nil { printError("resuming at generation \(trainer.state.generation)") }
            let perGeneration = config.gamesPerGeneration + config.gateGames
            let progress = Progress(total: config.generations * perGeneration, label: "games")
            trainer.onProgress = { game, _, metrics in progress.update(game, metrics: metrics) }
            trainer.onMessage = { progress.message($0) }
            let summary = try trainer.run(shouldStop: { Interrupt.requested })
            progress.finish()
            printError(
                String(
                    format: "%d generations, %d self-play games, %d networks promoted, Elo %.0f over the start; %.0f s per generation",
                    summary.generations, summary.games, summary.accepted, summary.elo, summary.secondsPerGeneration))
            printError("checkpoints: \(summary.lastCheckpoint), best \(summary.bestCheckpoint); logs: \(folder)")
            if common.json {
                printJSON([
                    "generations": summary.generations, "games": summary.games, "promoted": summary.accepted,
                    "last_gate_win_rate": summary.lastGateWinRate.isNaN ? NSNull() : summary.lastGateWinRate as Any,
                    "elo": summary.elo, "s_per_generation": summary.secondsPerGeneration,
                    "checkpoint": summary.lastCheckpoint, "best_checkpoint": summary.bestCheckpoint
                ])
            }
            if Interrupt.requested { throw ExitCode(130) }
        }
    }
}
