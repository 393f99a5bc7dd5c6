import Agents
import ArgumentParser
import Cortex
import Envs
import Foundation

/// The PQN-only options of `cortex train <game>` (with `--algo pqn`); the shared ones
/// (--obs, --frames, --lr, --lr-end, --out, --resume, --eval-every, --eval-episodes, --seed)
/// come from `DQNTrainOptions`. Every option left out keeps the game's preset value.
struct PQNTrainOptions: ParsableArguments {
    @Option(help: "PQN: parallel environments (one batched forward pass acts for all).")
    var envs: Int?
    @Option(help: "PQN: steps per environment in one rollout.")
    var rolloutSteps: Int?
    @Option(help: "PQN: passes over each rollout.")
    var epochs: Int?
    @Option(help: "PQN: minibatches per pass (must divide envs × rollout steps).")
    var minibatches: Int?
    @Option(help: "PQN: λ of the Q(λ) returns.")
    var lambda: Float?
    @Option(help: "PQN: discount γ.")
    var gamma: Float?
    @Option(help: "PQN: fraction of the frames over which ε falls from 1 to 0.05.")
    var epsilonFraction: Float?
    @Option(help: "Stop training after this many minutes of wall-clock, even short of --frames.")
    var minutes: Double?

    /// The game's preset with every given flag written over its field.
    func config(game: String, shared: DQNTrainOptions) throws -> PQNConfig {
        var c = PQNConfig(preset: game)
        if let file = shared.runFolder.config { c = try ConfigFile.load(file, over: c) }
        c.game = game
        if let obs = shared.obs { c.observation = obs.rawValue }
        c.seed = shared.common.seed
        if let frames = shared.frames { c.frames = frames }
        if let lr = shared.lr { c.learningRate = lr }
        if let lrEnd = shared.lrEnd { c.finalLearningRate = lrEnd }
        if let evalEvery = shared.evalEvery { c.evalEvery = evalEvery }
        if let evalEpisodes = shared.evalEpisodes { c.evalEpisodes = evalEpisodes }
        if let envs { c.envs = envs }
        if let rolloutSteps { c.rolloutSteps = rolloutSteps }
        if let epochs { c.epochs = epochs }
        if let minibatches { c.minibatches = minibatches }
        if let lambda { c.lambda = lambda }
        if let gamma { c.gamma = gamma }
        if let epsilonFraction { c.epsilonFraction = epsilonFraction }
        if let minutes { c.timeBudget = minutes * 60 }
        return c
    }
}

/// `cortex train <game> --algo pqn`: PQN on a MinAtar game, with the same progress line, run
/// folder, checkpoints and summary as the DQN.
func trainPQN(game: String, options: DQNTrainOptions) throws {
    let config = try options.pqn.config(game: game, shared: options)
    if let problem = config.problem { throw ValidationError("PQN settings: \(problem)") }
    Interrupt.install()
    Runtime.configure(threads: options.common.threads)
    let folder = options.runFolder.out ?? "runs/\(game)-pqn-\(config.observation)-s\(config.seed)"
    let resumePath = options.resumePath(folder: folder)
    // Under mpirun every rank runs its own environments; gradients are averaged (PQNTrainer).
    let group = try ProcessGroup.start()
    let trainer = try PQNTrainer(config: config, folder: folder, resume: resumePath, communicator: group)
    let ranks = group.size > 1 ? " on each of \(group.size) ranks" : ""
    if group.isRoot {
        printError(
            "PQN, preset \(config.preset): \(config.envs) envs × \(config.rolloutSteps) steps per rollout\(ranks), "
                + "\(config.epochs) epochs × \(config.minibatches) minibatches of \(config.minibatchSize)"
                + (group.size > 1 ? " (× \(group.size) ranks, gradients averaged)" : "")
                + (config.timeBudget.map { ", time budget \(Progress.formatDuration($0))" } ?? ""))
    }
    try drive(trainer, config: config, frames: config.frames, game: game, resuming: resumePath != nil, folder: folder,
              json: options.common.json && group.isRoot,
              extra: ["algo": "pqn", "preset": config.preset, "ranks": group.size], quiet: !group.isRoot)
    group.removeScratchFolder(trainer.trainingRun.folder)
    ProcessGroup.finish(group)
}

/// What `cortex train <game>` drives: the DQN's and PQN's trainers.
protocol GameTrainer: AnyObject {
    var trainingRun: TrainingRun { get }
    var state: DQNTrainingState { get }
    var onProgress: ((Int, [(String, Double)]) -> Void)? { get set }
    var onMessage: ((String) -> Void)? { get set }
    func run(shouldStop: () -> Bool) throws -> DQNSummary
}

extension DQNTrainer: GameTrainer {}
extension PQNTrainer: GameTrainer {}

/// Runs a game trainer with the start lines, the progress line, Ctrl-C and the closing report.
func drive<Config: Encodable>(_ trainer: GameTrainer, config: Config, frames: Int, game: String, resuming: Bool,
                              folder: String, json: Bool, extra: [String: Any], quiet: Bool = false) throws {
    let say: (String) -> Void = quiet ? { _ in } : printError
    trainer.trainingRun.startLines(config: config).forEach(say)
    if resuming { say("resuming at frame \(trainer.state.frame)") }
    let progress = Progress(total: frames, label: "\(game) frames", output: quiet ? { _ in } : nil)
    trainer.onProgress = { frame, metrics in progress.update(frame, metrics: metrics) }
    trainer.onMessage = { message in progress.message(message) }
    let summary = try trainer.run(shouldStop: { Interrupt.requested })
    progress.finish()
    if !quiet { reportTraining(summary, folder: folder, json: json, extra: extra) }
    if Interrupt.requested { throw ExitCode(130) }
}

extension DQNTrainOptions {
    /// The checkpoint to resume from: --resume-from, or with --resume the run folder's last
    /// checkpoint; nil for a new run (the trainer's `TrainingRun` says when it is missing).
    func resumePath(folder: String) -> String? {
        resumeFrom ?? (runFolder.resume ? folder + "/last.safetensors" : nil)
    }
}

/// The closing lines of a game-training run (both algorithms), and its JSON with `extra` keys.
func reportTraining(_ summary: DQNSummary, folder: String, json: Bool, extra: [String: Any]) {
    printError(
        "trained \(summary.frames) frames in \(summary.episodes) episodes at \(String(format: "%.0f", summary.framesPerSecond)) frames/s"
    )
    let lastEvaluation =
        summary.evalReturnMean.isNaN ? "none (--eval-every 0)" : String(format: "%.2f", summary.evalReturnMean)
    printError(
        "mean return of the last 100 training episodes: \(String(format: "%.2f", summary.trainReturnMean)); last evaluation: \(lastEvaluation)"
    )
    printError(
        "checkpoints: \(summary.lastCheckpoint)\(summary.bestCheckpoint.map { ", best " + $0 } ?? ""); curve: \(folder)/curve.svg; logs: \(folder)"
    )
    if json {
        let object: [String: Any] = [
            "frames": summary.frames, "eval_return_mean": Double(summary.evalReturnMean),
            "train_return_mean": Double(summary.trainReturnMean), "frames_per_s": summary.framesPerSecond,
            "checkpoint": summary.lastCheckpoint, "best_checkpoint": summary.bestCheckpoint ?? NSNull(),
            "eval_return_best": Double(summary.evalReturnBest),
            "episodes": summary.episodes
        ]
        printJSON(object.merging(extra) { _, new in new })
    }
}
