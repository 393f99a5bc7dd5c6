import Agents
import ArgumentParser
import Cortex
import Envs
import Foundation

/// Options of `cortex train <game>` (DQN on a MinAtar game).
struct DQNTrainOptions: ParsableArguments {
    @Option(help: "Observation: grid (MinAtar planes, MinAtar's network) or pixels (84×84×4, the Nature network).")
    var obs: String = "grid"
    @Option(help: "Algorithm: pqn (parallel Q-learning, Gallici et al. 2024) or dqn.")
    var algo: String = "pqn"
    @Option(help: "Frames (agent steps) to train for (DQN: 1,000,000; PQN: the game's preset).")
    var frames: Int?
    @Option(help: "Run folder (default runs/<game>-<obs>-s<seed>).")
    var out: String?
    @Option(help: "Resume from this checkpoint (--resume alone takes the run folder's last.safetensors).")
    var resumeFrom: String?
    @Flag(help: "Resume the run in --out from its last.safetensors.")
    var resume = false
    @Option(help: "Optimizer: adam or rmsprop (MinAtar's centered RMSprop).")
    var optimizer: String = DQNConfig().optimizer.rawValue
    @Option(help: "Learning rate (default 1e-4 for adam, 2.5e-4 for rmsprop).")
    var lr: Float?
    @Option(help: "Learning-rate schedule: constant, or linear (from --lr down to --lr-end at the last frame).")
    var lrSchedule: String = "constant"
    @Option(help: "Learning rate at the last frame with --lr-schedule linear.")
    var lrEnd: Float = 0
    @Option(help: "Minibatch size.")
    var batch: Int = DQNConfig().batchSize
    @Option(help: "Replay capacity in transitions.")
    var replay: Int = DQNConfig().replayCapacity
    @Option(help: "Frames of random play before learning starts.")
    var learningStarts: Int = DQNConfig().learningStarts
    @Option(help: "Frames over which ε decays from 1 to 0.1.")
    var epsilonFrames: Int = DQNConfig().epsilonDecayFrames
    @Option(help: "Updates between target-network syncs.")
    var targetUpdate: Int = DQNConfig().targetUpdateEvery
    @Option(help: "Multi-step return length.")
    var nSteps: Int = DQNConfig().nSteps
    @Flag(inversion: .prefixedNo, help: "Prioritized replay (Schaul et al. 2016); --no-prioritized samples uniformly.")
    var prioritized = DQNConfig().prioritized
    @Flag(help: "Dueling head (Wang et al. 2016).")
    var dueling = false
    @Flag(help: "Plain DQN targets instead of Double DQN.")
    var noDouble = false
    @Option(help: "Frames between evaluations (default \(DQNConfig().evalEvery) for DQN, the preset's for PQN).")
    var evalEvery: Int?
    @Option(help: "Episodes per evaluation.")
    var evalEpisodes: Int?
    @OptionGroup var pqn: PQNTrainOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard ["grid", "pixels"].contains(obs) else { throw ValidationError("--obs must be grid or pixels, got '\(obs)'") }
        guard DQNConfig.Optimizer(rawValue: optimizer) != nil else {
            throw ValidationError("--optimizer must be adam or rmsprop, got '\(optimizer)'")
        }
        guard ["pqn", "dqn"].contains(algo) else { throw ValidationError("--algo must be pqn or dqn, got '\(algo)'") }
        guard frames ?? 1 > 0, batch > 0, replay > batch, nSteps >= 1, targetUpdate > 0, evalEvery ?? 0 >= 0, evalEpisodes ?? 1 > 0 else {
            throw ValidationError("--frames, --batch, --n-steps, --target-update, --eval-episodes must be positive and --replay larger than --batch")
        }
        if let lr, !(lr > 0) { throw ValidationError("--lr must be positive, got \(lr)") }
        guard ["linear", "constant"].contains(lrSchedule) else {
            throw ValidationError("--lr-schedule must be linear or constant, got '\(lrSchedule)'")
        }
        if !(lrEnd >= 0) { throw ValidationError("--lr-end must be zero or positive, got \(lrEnd)") }
    }

    func config(game: String) -> DQNConfig {
        var c = DQNConfig()
        c.game = game
        c.observation = obs
        c.frames = frames ?? 1_000_000
        c.seed = common.seed
        c.optimizer = DQNConfig.Optimizer(rawValue: optimizer)!
        c.learningRate = lr ?? (c.optimizer == .adam ? 1e-4 : 2.5e-4)
        c.finalLearningRate = lrSchedule == "linear" ? lrEnd : nil
        c.batchSize = batch
        c.replayCapacity = replay
        c.learningStarts = learningStarts
        c.epsilonDecayFrames = epsilonFrames
        c.targetUpdateEvery = targetUpdate
        c.nSteps = nSteps
        c.prioritized = prioritized
        c.dueling = dueling
        c.doubleDQN = !noDouble
        c.evalEvery = evalEvery ?? c.evalEvery
        c.evalEpisodes = evalEpisodes ?? c.evalEpisodes
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
        CommandConfiguration(commandName: game,
                             abstract: "Train a PQN or DQN agent on MinAtar \(game) (Young & Tian 2019), headless.")
    }

    func run() throws {
        if options.algo == "pqn" { return try trainPQN(game: Self.game, options: options) }
        let config = options.config(game: Self.game)
        Interrupt.install()
        Runtime.configure(threads: options.common.threads)
        let folder = options.out ?? "runs/\(Self.game)-\(config.observation)-s\(config.seed)"
        let resumePath = try options.resumePath(folder: folder)
        let trainer = try DQNTrainer(config: config, folder: folder, resume: resumePath)
        let configJSON = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        printError("config: \(configJSON)")
        printError("run folder: \(folder) (TensorBoard: tensorboard --logdir \((folder as NSString).deletingLastPathComponent))")
        if let resumePath { printError("resuming from \(resumePath) at frame \(trainer.state.frame)") }
        let progress = Progress(total: config.frames, label: "\(Self.game) frames")
        trainer.onProgress = { frame, metrics in progress.update(frame, metrics: metrics) }
        trainer.onMessage = { message in progress.message(message) }
        let summary = try trainer.run(shouldStop: { Interrupt.requested })
        progress.finish()
        reportTraining(summary, folder: folder, json: options.common.json, extra: [:])
        if Interrupt.requested { throw ExitCode(130) }
    }
}

struct TrainBreakout: GameTrainingCommand { static let game = "breakout"; @OptionGroup var options: DQNTrainOptions }
struct TrainSpaceInvaders: GameTrainingCommand { static let game = "space_invaders"; @OptionGroup var options: DQNTrainOptions }
struct TrainFreeway: GameTrainingCommand { static let game = "freeway"; @OptionGroup var options: DQNTrainOptions }
struct TrainAsterix: GameTrainingCommand { static let game = "asterix"; @OptionGroup var options: DQNTrainOptions }
struct TrainSeaquest: GameTrainingCommand { static let game = "seaquest"; @OptionGroup var options: DQNTrainOptions }
