import Cortex
import Envs
import Foundation

/// What an imitation run reports.
public struct GoImitationSummary: Sendable {
    public var epochs: Int
    public var steps: Int
    public var trainGames: Int
    public var heldOutGames: Int
    public var trainPositions: Int
    public var heldOutPositions: Int
    public var heldOutAccuracy: Double
    public var bestHeldOutAccuracy: Double
    public var heldOutValueLoss: Double
    public var secondsPerEpoch: Double
    public var lastCheckpoint: String
    public var bestCheckpoint: String
}

/// AlphaGo's supervised stage (Silver et al. 2016): the policy/value network learns an expert's
/// moves (cross-entropy) and the games' results (squared error) from a folder of SGF games;
/// a share of the games, chosen by a hash of their names, is held out to measure move
/// prediction. One epoch is one pass over the training positions in a shuffled order, each
/// position turned by a random symmetry; AdamW with warmup and a cosine decay.
public final class GoImitationTrainer {
    public let config: GoPolicyValueConfig
    public let network: GoPolicyValueNetwork
    public let learner: GoPolicyValueLearner
    public let trainingRun: TrainingRun
    public private(set) var state: GoPolicyValueState
    public let train: GoPositionSet
    public let heldOut: GoPositionSet
    public let trainGames: Int
    public let heldOutGames: Int
    /// Games that could not be read, with the reason.
    public let skipped: [String]
    public var onProgress: ((Int, Int, [(String, Double)]) -> Void)?
    public var onMessage: ((String) -> Void)?

    /// Starts from random weights, from `initFrom`'s network (another board size's network
    /// fine-tunes: the heads pool over the board), or resumes from `resume`.
    public init(config: GoPolicyValueConfig, folder: String, resume: String? = nil, initFrom: String? = nil) throws {
        if let problem = config.problem { throw AgentError.invalidConfig("invalid Go policy/value settings: \(problem)") }
        self.config = config
        var generator = RandomGenerator(seed: config.seed)
        network = GoPolicyValueNetwork(shape: config.network, generator: &generator)
        learner = GoPolicyValueLearner(
            network: network, learningRate: config.learningRate, weightDecay: config.weightDecay,
            valueWeight: config.valueWeight)
        state = GoPolicyValueState(seed: config.seed)
        let files = try GoGameDataset.files(in: config.data)
        let heldOutFiles = files.filter { GoGameDataset.isHeldOut($0, fraction: config.heldOut) }
        let trainFiles = files.filter { !GoGameDataset.isHeldOut($0, fraction: config.heldOut) }
        train = GoPositionSet(size: config.size, historyLength: config.network.historyLength)
        heldOut = GoPositionSet(size: config.size, historyLength: config.network.historyLength)
        let a = GoGameDataset.read(trainFiles, into: train, skipMoves: config.skipMoves)
        let b = GoGameDataset.read(heldOutFiles, into: heldOut, skipMoves: config.skipMoves)
        trainGames = a.games
        heldOutGames = b.games
        skipped = a.skipped + b.skipped
        guard train.count >= config.batchSize else {
            throw AgentError.invalidConfig(
                "\(config.data): \(train.count) training positions from \(a.games) games of size \(config.size) (\(skipped.count) skipped), fewer than one batch of \(config.batchSize)"
            )
        }
        trainingRun = try TrainingRun(folder: folder, config: config, resumeFrom: resume)
        if let resume {
            state = try GoPolicyValueCheckpoint.load(resume, into: network, optimizer: learner.optimizer)
            guard state.stage == "imitation" else {
                throw AgentError.badCheckpoint(path: resume, reason: "it is a \(state.stage) run, not an imitation run")
            }
        } else if let initFrom {
            let (from, source) = try GoPolicyValueCheckpoint.loadNetwork(initFrom)
            guard from.network == config.network else {
                throw AgentError.badCheckpoint(
                    path: initFrom, reason: "its network \(from.network) differs from this run's \(config.network)")
            }
            GoSelfPlayTrainer.copy(source, to: network)
        }
    }

    var stepsPerEpoch: Int { train.count / config.batchSize }

    public func run(shouldStop: () -> Bool = { false }) throws -> GoImitationSummary {
        let total = config.epochs * stepsPerEpoch
        let schedule = WarmupCosineLR(
            maximum: config.learningRate, minimum: config.learningRate * 0.05,
            warmupSteps: max(1, total / 50), decaySteps: max(2, total))
        var lastHeldOut = GoBatchMetrics()
        var epochSeconds: [Double] = []
        while state.epoch < config.epochs && !shouldStop() {
            let started = Date()
            var order = Array(0..<train.count)
            order.shuffle(using: &state.generator)
            var running = GoBatchMetrics()
            for s in 0..<stepsPerEpoch {
                if shouldStop() { break }
                learner.optimizer.learningRate = schedule.learningRate(at: state.steps)
                let batch = Array(order[(s * config.batchSize)..<((s + 1) * config.batchSize)])
                let m = learner.step(on: train, indices: batch, random: &state.generator)
                running.add(m)
                state.steps += 1
                if state.steps % 20 == 0 {
                    try trainingRun.logger.log(
                        step: state.steps,
                        [
                            ("train/policy_loss", m.policyLoss), ("train/value_loss", m.valueLoss),
                            ("train/accuracy", m.accuracy),
                            ("train/learning_rate", Double(learner.optimizer.learningRate))
                        ])
                }
                onProgress?(
                    state.epoch * stepsPerEpoch + s + 1, total,
                    [
                        ("epoch", Double(state.epoch + 1)), ("policy", running.policyLoss),
                        ("value", running.valueLoss), ("acc", running.accuracy)
                    ])
            }
            if shouldStop() { break }
            state.epoch += 1
            epochSeconds.append(Date().timeIntervalSince(started))
            lastHeldOut = heldOut.count > 0 ? learner.measure(heldOut, batchSize: 512) : learner.measure(train, batchSize: 512)
            try trainingRun.logger.log(
                step: state.steps,
                [
                    ("heldout/accuracy", lastHeldOut.accuracy), ("heldout/policy_loss", lastHeldOut.policyLoss),
                    ("heldout/value_loss", lastHeldOut.valueLoss), ("epoch", Double(state.epoch)),
                    ("seconds_per_epoch", epochSeconds.last!)
                ])
            var message = String(
                format: "epoch %d/%d: train accuracy %.1f%%, held-out accuracy %.1f%% (policy %.3f, value %.3f) in %.0f s",
                state.epoch, config.epochs, 100 * running.accuracy, 100 * lastHeldOut.accuracy,
                lastHeldOut.policyLoss, lastHeldOut.valueLoss, epochSeconds.last!)
            if TrainingRun.improves(lastHeldOut.accuracy, on: &state.bestHeldOutAccuracy) {
                try save(to: trainingRun.bestCheckpoint)
                message += ", best → \(trainingRun.bestCheckpoint)"
            }
            try save(to: trainingRun.lastCheckpoint)
            onMessage?(message)
        }
        try save(to: trainingRun.lastCheckpoint)
        let perEpoch = epochSeconds.isEmpty ? 0 : epochSeconds.reduce(0, +) / Double(epochSeconds.count)
        try trainingRun.finish(
            metrics: [("heldout_accuracy", lastHeldOut.accuracy), ("heldout_value_loss", lastHeldOut.valueLoss)],
            step: state.steps)
        return GoImitationSummary(
            epochs: state.epoch, steps: state.steps, trainGames: trainGames, heldOutGames: heldOutGames,
            trainPositions: train.count, heldOutPositions: heldOut.count, heldOutAccuracy: lastHeldOut.accuracy,
            bestHeldOutAccuracy: state.bestHeldOutAccuracy ?? .nan, heldOutValueLoss: lastHeldOut.valueLoss,
            secondsPerEpoch: perEpoch, lastCheckpoint: trainingRun.lastCheckpoint,
            bestCheckpoint: trainingRun.bestCheckpoint)
    }

    public func save(to path: String) throws {
        try GoPolicyValueCheckpoint.save(
            network: network, optimizer: learner.optimizer, config: config, state: state, to: path)
    }
}
