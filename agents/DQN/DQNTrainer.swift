import Cortex
import Envs
import Foundation

/// What a finished (or interrupted) training run reports.
public struct DQNSummary: Sendable {
    public var frames: Int
    public var episodes: Int
    /// Mean return of the last 100 training episodes (MinAtar's metric: ε-greedy, sticky actions).
    public var trainReturnMean: Float
    /// Mean return of the last evaluation (ε = `evalEpsilon`).
    public var evalReturnMean: Float
    public var evalReturnBest: Float
    public var framesPerSecond: Double
    public var lastCheckpoint: String
    public var bestCheckpoint: String?
}

/// Progress of a run, saved in checkpoints so `--resume` continues from it.
public struct DQNTrainingState: Codable, Sendable {
    public var frame = 0
    public var episodes = 0
    public var updates = 0
    public var bestEvalReturn: Float?
    public var lastEvalReturn: Float?
    /// Returns of the last 100 training episodes.
    public var recentReturns: [Float] = []
    /// (frame, mean of the last 100 training returns) at each episode end, thinned to ≤ 2,000 points.
    public var trainCurve: [[Float]] = []
    /// (frame, evaluation mean) at each evaluation.
    public var evalCurve: [[Float]] = []
    public var generator: RandomGenerator

    public init(seed: UInt64) { generator = RandomGenerator(seed: seed) }

    public var recentReturnMean: Float {
        recentReturns.isEmpty ? 0 : recentReturns.reduce(0, +) / Float(recentReturns.count)
    }
}

/// The training loop of DQN, readable top to bottom: environments, agent, replay, then one
/// environment step, one ε-greedy action and one batch update per frame, with logging,
/// periodic evaluation on a separate environment and atomic checkpoints.
public final class DQNTrainer {
    public let config: DQNConfig
    public let agent: DQNAgent
    /// The run folder, its logs and checkpoint paths.
    public let trainingRun: TrainingRun
    public var logger: RunLogger { trainingRun.logger }
    public private(set) var state: DQNTrainingState
    /// Called about 10 times a second with the frame and current metrics (for a progress line).
    public var onProgress: ((Int, [(String, Double)]) -> Void)?
    /// Called with one-line messages (evaluations, checkpoints).
    public var onMessage: ((String) -> Void)?

    private var environment: AnyEnvironment
    private let replay: ReplayBuffer

    public var lastCheckpointPath: String { trainingRun.lastCheckpoint }
    public var bestCheckpointPath: String { trainingRun.bestCheckpoint }

    /// Builds a run in `folder` (created, config logged). With `resume`, loads networks,
    /// optimizer and progress from that checkpoint; the replay buffer starts empty again and
    /// refills for `learningStarts` frames.
    public init(config: DQNConfig, folder: String, resume: String? = nil) throws {
        guard config.frames > 0, config.batchSize > 0, config.replayCapacity > config.batchSize,
            config.nSteps >= 1, config.targetUpdateEvery > 0, config.trainEvery > 0
        else {
            throw AgentError.invalidConfig(
                "invalid DQN settings: frames, batch, replay capacity, n-steps, target and train intervals must be positive (capacity above the batch)"
            )
        }
        self.config = config
        environment = try DQNEnvironments.training(config)
        let shape = environment.observationShape
        agent = DQNAgent(config: config, observationShape: shape.dimensions, actionCount: environment.actionCount)
        // With two threads for kernels (`Runtime.configure(threads:smallMatrices: true)`), the
        // target computation runs beside the online pass.
        agent.overlapTargets = Runtime.kernelThreads > 1 && Runtime.blasThreads == 1
        replay = ReplayBuffer(
            capacity: config.replayCapacity, observationSize: shape.count,
            storage: config.observation == "pixels" ? .frames(stack: DQNEnvironments.frameStack) : .bits,
            prioritized: config.prioritized)
        state = DQNTrainingState(seed: config.seed)
        trainingRun = try TrainingRun(folder: folder, config: config, resumeFrom: resume)
        if let resume {
            let metadata = try DQNCheckpoint.load(resume, into: agent)
            guard let json = metadata[DQNCheckpoint.stateKey], let data = json.data(using: .utf8),
                let restored = try? JSONDecoder().decode(DQNTrainingState.self, from: data)
            else {
                throw AgentError.badCheckpoint(path: resume, reason: "no training state in its metadata")
            }
            state = restored
            agent.restore(updates: restored.updates)
        }
    }

    /// Runs until `config.frames` frames; `shouldStop` is polled every 100 frames (Ctrl-C), and a
    /// stopped run still writes its last checkpoint.
    public func run(shouldStop: () -> Bool = { false }) throws -> DQNSummary {
        let observationSize = environment.observationShape.count
        var observation = [Float](repeating: 0, count: observationSize)
        var next = observation
        var batch = ReplayBatch(size: config.batchSize, observationSize: observationSize)
        environment.reset(seed: config.seed &+ UInt64(state.frame))
        observation.withUnsafeMutableBufferPointer { environment.writeObservation(into: $0) }

        var episodeReturn: Float = 0, episodeLength = 0
        var lossSum: Double = 0, qSum: Double = 0, updatesSinceLog = 0
        let startFrame = state.frame
        let schedule = config.learningRateSchedule
        let learningStarts = startFrame + (startFrame > 0 ? config.learningStarts : 0)
        let start = Date()
        var evalSeconds = 0.0
        var lastReport = start
        var lastCheckpointFrame = state.frame

        while state.frame < config.frames {
            let frame = state.frame
            // MARK: act
            let epsilon = frame < max(config.learningStarts, learningStarts) ? 1 : config.epsilon(atFrame: frame)
            let action = observation.withUnsafeBufferPointer {
                agent.act($0, epsilon: epsilon, generator: &state.generator)
            }
            let result = environment.step(action)
            next.withUnsafeMutableBufferPointer { environment.writeObservation(into: $0) }
            observation.withUnsafeBufferPointer { o in
                next.withUnsafeBufferPointer { n in
                    replay.add(
                        observation: o, action: action, reward: result.reward, nextObservation: n,
                        terminated: result.terminated, truncated: result.truncated)
                }
            }
            episodeReturn += result.reward
            episodeLength += 1
            state.frame += 1

            if result.isDone {
                finishEpisode(episodeReturn, length: episodeLength, truncated: !result.terminated)
                episodeReturn = 0
                episodeLength = 0
                environment.reset(seed: nil)
                observation.withUnsafeMutableBufferPointer { environment.writeObservation(into: $0) }
            } else {
                swap(&observation, &next)
            }

            // MARK: learn
            if state.frame >= max(config.learningStarts, learningStarts) && state.frame % config.trainEvery == 0 {
                if config.prioritized {
                    replay.samplePrioritized(
                        into: &batch, beta: config.priorityBeta(atFrame: state.frame),
                        nSteps: config.nSteps, gamma: config.gamma, using: &state.generator)
                } else {
                    replay.sample(into: &batch, nSteps: config.nSteps, gamma: config.gamma, using: &state.generator)
                }
                agent.optimizer.learningRate = schedule.learningRate(at: state.frame - config.learningStarts)
                let update = agent.update(batch)
                if config.prioritized {
                    replay.updatePriorities(
                        indices: batch.indices, tdErrors: update.tdErrors, alpha: config.priorityAlpha)
                }
                lossSum += Double(update.loss)
                qSum += Double(update.meanQ)
                updatesSinceLog += 1
                state.updates = agent.updates
            }

            // MARK: log, evaluate, checkpoint
            if state.frame % 1_000 == 0 {
                let now = Date()
                let rate = Double(state.frame - startFrame) / max(1e-9, now.timeIntervalSince(start))
                if updatesSinceLog > 0 {
                    try logger.log(
                        step: state.frame,
                        [
                            ("train/td_loss", lossSum / Double(updatesSinceLog)),
                            ("train/mean_q", qSum / Double(updatesSinceLog)),
                            ("train/epsilon", Double(epsilon)),
                            ("train/frames_per_s", rate)
                        ])
                }
                if now.timeIntervalSince(lastReport) >= 0.1 || state.frame == config.frames {
                    lastReport = now
                    onProgress?(
                        state.frame,
                        [
                            ("return", Double(state.recentReturnMean)), ("eps", Double(epsilon)),
                            ("loss", updatesSinceLog > 0 ? lossSum / Double(updatesSinceLog) : .nan)
                        ])
                }
                lossSum = 0
                qSum = 0
                updatesSinceLog = 0
            }
            if state.frame % 100 == 0 && shouldStop() { break }
            if config.evalEvery > 0 && state.frame % config.evalEvery == 0 {
                let evalStart = Date()
                try evaluateAndSave()
                evalSeconds = Date().timeIntervalSince(evalStart)
            }
            // Stop early enough that the closing evaluation also fits in the budget (as PQN).
            if let budget = config.timeBudget, state.frame % 100 == 0, state.frame < config.frames,
                Date().timeIntervalSince(start) + evalSeconds >= budget
            {
                onMessage?("time budget of \(Progress.formatDuration(budget)) reached at \(state.frame) frames")
                break
            }
            if state.frame - lastCheckpointFrame >= config.checkpointEvery {
                try saveCheckpoint(to: lastCheckpointPath)
                lastCheckpointFrame = state.frame
            }
        }
        if config.evalEvery > 0 && (state.frame % config.evalEvery != 0 || state.evalCurve.isEmpty) {
            try evaluateAndSave()
        }
        try saveCheckpoint(to: lastCheckpointPath)
        try writeCurve()
        try trainingRun.finish(metrics: state.finalMetrics, step: state.frame)
        let elapsed = Date().timeIntervalSince(start)
        return DQNSummary(state: state, framesPerSecond: Double(state.frame - startFrame) / max(1e-9, elapsed),
                          lastCheckpoint: lastCheckpointPath, bestCheckpoint: bestCheckpointPath)
    }

    private func finishEpisode(_ episodeReturn: Float, length: Int, truncated: Bool) {
        state.recordEpisode(return: episodeReturn, length: length, runFrames: config.frames, logger: logger)
    }

    private func evaluateAndSave() throws {
        let results = try DQNEvaluation.run(
            network: agent.online, config: config, episodes: config.evalEpisodes,
            epsilon: config.evalEpsilon, seed: config.seed &+ 1_000_003 &+ UInt64(state.frame))
        try trainingRun.logHistograms(of: agent.online, step: state.frame)
        try logFrames()
        let (message, bestPath) = try state.recordEvaluation(results, maxSteps: config.evalMaxSteps, logger: logger)
        if let bestPath { try saveCheckpoint(to: bestPath) }
        onMessage?(message)
    }

    /// The first steps of one greedy episode, as a picture in TensorBoard's IMAGES tab.
    private func logFrames() throws {
        let seed = config.seed &+ 2_000_003 &+ UInt64(state.frame)
        var environment = try DQNEnvironments.make(config, seed: seed, maxSteps: config.evalMaxSteps)
        environment.reset(seed: seed)
        let shape = [1] + environment.observationShape.dimensions
        let network = agent.online
        let picture = EvaluationFrames.play(&environment) { observation in
            let input = Tensor(shape: shape, data: Array(observation))
            return EpsilonGreedy.argmax(withNoGrad { network(input) }.scalars)
        }
        try EvaluationFrames.log(picture, logger: logger, step: state.frame)
    }

    /// Writes networks, optimizer and progress atomically to `path`.
    public func saveCheckpoint(to path: String) throws {
        state.updates = agent.updates
        try DQNCheckpoint.save(agent: agent, state: state, to: path)
    }

    /// The learning curve as an SVG plot (`curve.svg`) and CSV (`curve.csv`) in the run folder.
    private func writeCurve() throws {
        try Self.writeCurve(
            trainCurve: state.trainCurve, evalCurve: state.evalCurve,
            title: "\(config.game) (\(config.observation))", evalEpsilon: config.evalEpsilon, folder: logger)
    }

    /// Writes `curve.svg` and `curve.csv` of (frame, value) points into `folder`'s run folder.
    public static func writeCurve(
        trainCurve: [[Float]], evalCurve: [[Float]], title: String, evalEpsilon: Float,
        folder: RunLogger
    ) throws {
        let train = trainCurve.map { ($0[0], $0[1]) }.filter { !$0.1.isNaN }
        let eval = evalCurve.map { ($0[0], $0[1]) }
        let svg = LinePlot(
            title: "\(title): return vs frames",
            xLabel: "frames", yLabel: "return",
            series: [
                .init(name: "train, mean of last 100 episodes", points: train, color: "#1f77b4"),
                .init(name: "evaluation (ε = \(evalEpsilon))", points: eval, color: "#d62728", markers: true)
            ]
        )
        .svg()
        try svg.write(toFile: folder.path("curve.svg"), atomically: true, encoding: .utf8)
        var csv = "frame,train_return_mean_100,eval_return_mean\n"
        for (x, y) in train { csv += "\(Int(x)),\(y),\n" }
        for (x, y) in eval { csv += "\(Int(x)),,\(y)\n" }
        try csv.write(toFile: folder.path("curve.csv"), atomically: true, encoding: .utf8)
    }
}
