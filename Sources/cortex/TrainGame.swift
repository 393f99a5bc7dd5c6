import Agents
import ArgumentParser
import Cortex
import Envs
import Foundation

extension ObservationMode: ExpressibleByArgument {}

/// The learners of `cortex train <game>`.
enum GameAlgorithm: String, CaseIterable, ExpressibleByArgument {
    /// Parallel Q-learning over vectorised environments (Gallici et al. 2024); the default.
    case pqn
    /// DQN with a replay buffer and a target network (Mnih et al. 2015).
    case dqn
}
extension DQNConfig.Optimizer: ExpressibleByArgument {}

/// How the DQN step size moves over a run.
enum LRScheduleKind: String, CaseIterable, ExpressibleByArgument {
    /// The same rate throughout.
    case constant
    /// From `--lr` down to `--lr-end` at the last frame.
    case linear
}

/// Options of `cortex train <game>` (DQN on a MinAtar game). Every default is the game's
/// preset (`DQNConfig.preset(for:)`, docs/dqn.md); a flag overrides one field, and `--config`
/// starts from a logged `config.json` instead.
struct DQNTrainOptions: ParsableArguments {
    @Option(help: "Observation: grid (MinAtar planes, MinAtar's network) or pixels (84×84×4, the Nature network).")
    var obs: ObservationMode?
    @Option(help: "Algorithm: pqn (parallel Q-learning, Gallici et al. 2024) or dqn.")
    var algo: GameAlgorithm = .pqn
    @Option(help: "Frames (agent steps) to train for (DQN: 1,000,000; PQN: the game's preset).")
    var frames: Int?
    @Option(
        help: "Resume from this checkpoint (--resume alone takes the run folder's last.safetensors).",
        completion: .file(extensions: ["safetensors"]))
    var resumeFrom: String?
    @Option(help: "Optimizer: adam or rmsprop (MinAtar's centered RMSprop).")
    var optimizer: DQNConfig.Optimizer?
    @Option(help: "Learning rate (default 1e-4 for adam, 2.5e-4 for rmsprop).")
    var lr: Float?
    @Option(help: "Learning-rate schedule (default: the game's preset).")
    var lrSchedule: LRScheduleKind?
    @Option(help: "Learning rate at the last frame with --lr-schedule linear (default 0).")
    var lrEnd: Float?
    @Option(help: "Minibatch size (default 32).")
    var batch: Int?
    @Option(help: "Replay capacity in transitions (default 100,000).")
    var replay: Int?
    @Option(help: "Frames of random play before learning starts (default 5,000).")
    var learningStarts: Int?
    @Option(help: "Frames over which ε decays from 1 to 0.1 (default 100,000).")
    var epsilonFrames: Int?
    @Option(help: "Updates between target-network syncs (default 1,000).")
    var targetUpdate: Int?
    @Option(help: "Multi-step return length (default: the game's preset).")
    var nSteps: Int?
    @Flag(
        inversion: .prefixedNo,
        help:
            "Prioritized replay (Schaul et al. 2016); --no-prioritized samples uniformly (default: the game's preset).")
    var prioritized: Bool?
    @Flag(help: "Dueling head (Wang et al. 2016).")
    var dueling = false
    @Flag(help: "Plain DQN targets instead of Double DQN.")
    var noDouble = false
    @Option(help: "Frames between evaluations (DQN: 50,000; PQN: the game's preset).")
    var evalEvery: Int?
    @Option(help: "Episodes per evaluation (default 10).")
    var evalEpisodes: Int?
    @OptionGroup var pqn: PQNTrainOptions
    @OptionGroup var runFolder: RunFolderOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        // A flag the chosen algorithm has no use for is an error, not silently ignored.
        let dqnOnly: [(String, Bool)] = [
            ("--optimizer", optimizer != nil), ("--lr-schedule", lrSchedule != nil), ("--batch", batch != nil),
            ("--replay", replay != nil), ("--learning-starts", learningStarts != nil),
            ("--epsilon-frames", epsilonFrames != nil), ("--target-update", targetUpdate != nil),
            ("--n-steps", nSteps != nil), ("--prioritized/--no-prioritized", prioritized != nil),
            ("--dueling", dueling), ("--no-double", noDouble)
        ]
        let pqnOnly: [(String, Bool)] = [
            ("--envs", pqn.envs != nil), ("--rollout-steps", pqn.rolloutSteps != nil), ("--epochs", pqn.epochs != nil),
            ("--minibatches", pqn.minibatches != nil), ("--lambda", pqn.lambda != nil), ("--gamma", pqn.gamma != nil),
            ("--epsilon-fraction", pqn.epsilonFraction != nil)
        ]
        let unused = (algo == .pqn ? dqnOnly : pqnOnly).filter(\.1).map(\.0)
        if !unused.isEmpty {
            throw ValidationError(
                "\(unused.joined(separator: ", ")) \(unused.count == 1 ? "applies" : "apply") to --algo \(algo == .pqn ? "dqn" : "pqn") only; this run uses --algo \(algo.rawValue)"
            )
        }
        // PQN's settings are checked when its config is built (`trainPQN`).
        if algo == .dqn, let problem = try Self.problem(of: config(game: "breakout")) { throw ValidationError(problem) }
    }

    /// The first setting that cannot work, as one line.
    static func problem(of c: DQNConfig) -> String? {
        guard c.frames > 0, c.batchSize > 0, c.replayCapacity > c.batchSize, c.nSteps >= 1, c.targetUpdateEvery > 0,
            c.evalEvery >= 0, c.evalEpisodes > 0
        else {
            return
                "--frames, --batch, --n-steps, --target-update, --eval-episodes must be positive and --replay larger than --batch"
        }
        if !(c.learningRate > 0) { return "--lr must be positive, got \(c.learningRate)" }
        if let end = c.finalLearningRate, !(end >= 0) { return "--lr-end must be zero or positive, got \(end)" }
        if let budget = c.timeBudget, !(budget > 0) { return "--minutes must be positive" }
        return nil
    }

    /// The game's preset (or `--config`) with the flags that were given written over it.
    func config(game: String) throws -> DQNConfig {
        var c = DQNConfig.preset(for: game)
        if let file = runFolder.config { c = try ConfigFile.load(file, over: c) }
        c.game = game
        c.seed = common.seed
        if let obs { c.observation = obs.rawValue }
        if let frames { c.frames = frames }
        if let optimizer {
            c.optimizer = optimizer
            if lr == nil { c.learningRate = optimizer.defaultLearningRate }
        }
        if let lr { c.learningRate = lr }
        switch lrSchedule {
        case .constant?: c.finalLearningRate = nil
        case .linear?: c.finalLearningRate = lrEnd ?? 0
        case nil: if let lrEnd { c.finalLearningRate = lrEnd }
        }
        if let batch { c.batchSize = batch }
        if let replay { c.replayCapacity = replay }
        if let learningStarts { c.learningStarts = learningStarts }
        if let epsilonFrames { c.epsilonDecayFrames = epsilonFrames }
        if let targetUpdate { c.targetUpdateEvery = targetUpdate }
        if let nSteps { c.nSteps = nSteps }
        if let prioritized { c.prioritized = prioritized }
        if dueling { c.dueling = true }
        if noDouble { c.doubleDQN = false }
        if let evalEvery { c.evalEvery = evalEvery }
        if let evalEpisodes { c.evalEpisodes = evalEpisodes }
        if let minutes = pqn.minutes { c.timeBudget = minutes * 60 }
        c.checkpointEvery = max(1, min(c.checkpointEvery, c.frames / 4))
        return c
    }
}

/// Shared body of the five `cortex train <game>` commands.
protocol GameTrainingCommand: ParsableCommand {
    static var game: String { get }
    var options: DQNTrainOptions { get }
}

extension GameTrainingCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: game,
            abstract: "Train a PQN or DQN agent on MinAtar \(game) (Young & Tian 2019), headless.")
    }

    func run() throws {
        if options.algo == .pqn { return try trainPQN(game: Self.game, options: options) }
        let config = try options.config(game: Self.game)
        Interrupt.install()
        Runtime.configure(threads: options.common.threads, smallMatrices: true)
        let folder = options.runFolder.out ?? "runs/\(Self.game)-\(config.observation)-s\(config.seed)"
        let resumePath = options.resumePath(folder: folder)
        let trainer = try DQNTrainer(config: config, folder: folder, resume: resumePath)
        try drive(trainer, config: config, frames: config.frames, game: Self.game, resuming: resumePath != nil,
                  folder: folder, json: options.common.json, extra: ["algo": "dqn", "preset": config.preset ?? NSNull()])
    }
}

struct TrainBreakout: GameTrainingCommand {
    static let game = "breakout"
    @OptionGroup var options: DQNTrainOptions
}
struct TrainSpaceInvaders: GameTrainingCommand {
    static let game = "space_invaders"
    @OptionGroup var options: DQNTrainOptions
}
struct TrainFreeway: GameTrainingCommand {
    static let game = "freeway"
    @OptionGroup var options: DQNTrainOptions
}
struct TrainAsterix: GameTrainingCommand {
    static let game = "asterix"
    @OptionGroup var options: DQNTrainOptions
}
struct TrainSeaquest: GameTrainingCommand {
    static let game = "seaquest"
    @OptionGroup var options: DQNTrainOptions
}
