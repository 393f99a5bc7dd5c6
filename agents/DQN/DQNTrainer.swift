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

/// Errors a user can cause when training or loading an agent.
public enum AgentError: Error, CustomStringConvertible, LocalizedError {
    case badCheckpoint(path: String, reason: String)
    case invalidConfig(String)

    public var description: String {
        switch self {
        case .badCheckpoint(let path, let reason): "\(path): not a DQN checkpoint of this kind: \(reason)"
        case .invalidConfig(let reason): reason
        }
    }
    public var errorDescription: String? { description }
}

/// The training loop of DQN, readable top to bottom: environments, agent, replay, then one
/// environment step, one ε-greedy action and one batch update per frame, with logging,
/// periodic evaluation on a separate environment and atomic checkpoints.
public final class DQNTrainer {
    public let config: DQNConfig
    public let agent: DQNAgent
    public let logger: RunLogger
    public private(set) var state: DQNTrainingState
    /// Called about 10 times a second with the frame and current metrics (for a progress line).
    public var onProgress: ((Int, [(String, Double)]) -> Void)?
    /// Called with one-line messages (evaluations, checkpoints).
    public var onMessage: ((String) -> Void)?

    private var environment: AnyEnvironment
    private let replay: ReplayBuffer

    public var lastCheckpointPath: String { logger.path("last.safetensors") }
    public var bestCheckpointPath: String { logger.path("best.safetensors") }

    /// Builds a run in `folder` (created, config logged). With `resume`, loads networks,
    /// optimizer and progress from that checkpoint; the replay buffer starts empty again and
    /// refills for `learningStarts` frames.
    public init(config: DQNConfig, folder: String, resume: String? = nil) throws {
        guard config.frames > 0, config.batchSize > 0, config.replayCapacity > config.batchSize,
              config.nSteps >= 1, config.targetUpdateEvery > 0, config.trainEvery > 0 else {
            throw AgentError.invalidConfig("invalid DQN settings: frames, batch, replay capacity, n-steps, target and train intervals must be positive (capacity above the batch)")
        }
        self.config = config
        environment = try DQNEnvironments.training(config)
        let shape = environment.observationShape
        agent = DQNAgent(config: config, observationShape: shape.dimensions, actionCount: environment.actionCount)
        // Small GEMMs gain nothing from BLAS threads; two cores go to overlapping the target
        // computation with the online pass instead.
        if Runtime.blasThreads > 1 {
            agent.overlapTargets = true
            Runtime.kernelThreadsOverride = Runtime.blasThreads
            Runtime.blasThreads = 1
        }
        replay = ReplayBuffer(capacity: config.replayCapacity, observationSize: shape.count,
                              storage: config.observation == "pixels" ? .frames(stack: DQNEnvironments.frameStack) : .bits,
                              prioritized: config.prioritized)
        state = DQNTrainingState(seed: config.seed)
        logger = try RunLogger(folder: folder, config: config)
        if let resume {
            let metadata = try DQNCheckpoint.load(resume, into: agent)
            guard let json = metadata[DQNCheckpoint.stateKey], let data = json.data(using: .utf8),
                  let restored = try? JSONDecoder().decode(DQNTrainingState.self, from: data) else {
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
        let learningStarts = startFrame + (startFrame > 0 ? config.learningStarts : 0)
        let start = Date()
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
                    replay.add(observation: o, action: action, reward: result.reward, nextObservation: n,
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
                    replay.samplePrioritized(into: &batch, beta: config.priorityBeta(atFrame: state.frame),
                                             nSteps: config.nSteps, gamma: config.gamma, using: &state.generator)
                } else {
                    replay.sample(into: &batch, nSteps: config.nSteps, gamma: config.gamma, using: &state.generator)
                }
                agent.optimizer.learningRate = config.learningRate(atFrame: state.frame)
                let update = agent.update(batch)
                if config.prioritized {
                    replay.updatePriorities(indices: batch.indices, tdErrors: update.tdErrors, alpha: config.priorityAlpha)
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
                    try logger.log(step: state.frame, [("train/td_loss", lossSum / Double(updatesSinceLog)),
                                                       ("train/mean_q", qSum / Double(updatesSinceLog)),
                                                       ("train/epsilon", Double(epsilon)),
                                                       ("train/frames_per_s", rate)])
                }
                if now.timeIntervalSince(lastReport) >= 0.1 || state.frame == config.frames {
                    lastReport = now
                    onProgress?(state.frame, [("return", Double(state.recentReturnMean)), ("eps", Double(epsilon)),
                                              ("loss", updatesSinceLog > 0 ? lossSum / Double(updatesSinceLog) : .nan)])
                }
                lossSum = 0; qSum = 0; updatesSinceLog = 0
            }
            if state.frame % 100 == 0 && shouldStop() { break }
            if config.evalEvery > 0 && state.frame % config.evalEvery == 0 { try evaluateAndSave() }
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
        let elapsed = Date().timeIntervalSince(start)
        return DQNSummary(frames: state.frame, episodes: state.episodes, trainReturnMean: state.recentReturnMean,
                          evalReturnMean: state.lastEvalReturn ?? .nan, evalReturnBest: state.bestEvalReturn ?? .nan,
                          framesPerSecond: Double(state.frame - startFrame) / max(1e-9, elapsed),
                          lastCheckpoint: lastCheckpointPath,
                          bestCheckpoint: FileManager.default.fileExists(atPath: bestCheckpointPath) ? bestCheckpointPath : nil)
    }

    private func finishEpisode(_ episodeReturn: Float, length: Int, truncated: Bool) {
        state.recordEpisode(return: episodeReturn, length: length, runFrames: config.frames, logger: logger)
    }

    private func evaluateAndSave() throws {
        let results = try DQNEvaluation.run(network: agent.online, config: config, episodes: config.evalEpisodes,
                                            epsilon: config.evalEpsilon, seed: config.seed &+ 1_000_003 &+ UInt64(state.frame))
        let (message, bestPath) = try state.recordEvaluation(results, maxSteps: config.evalMaxSteps, logger: logger)
        if let bestPath { try saveCheckpoint(to: bestPath) }
        onMessage?(message)
    }

    /// Writes networks, optimizer and progress atomically to `path`.
    public func saveCheckpoint(to path: String) throws {
        state.updates = agent.updates
        try DQNCheckpoint.save(agent: agent, state: state, to: path)
    }

    /// The learning curve as an SVG plot (`curve.svg`) and CSV (`curve.csv`) in the run folder.
    private func writeCurve() throws {
        try Self.writeCurve(trainCurve: state.trainCurve, evalCurve: state.evalCurve,
                            title: "\(config.game) (\(config.observation))", evalEpsilon: config.evalEpsilon, folder: logger)
    }

    /// Writes `curve.svg` and `curve.csv` of (frame, value) points into `folder`'s run folder.
    public static func writeCurve(trainCurve: [[Float]], evalCurve: [[Float]], title: String, evalEpsilon: Float,
                                  folder: RunLogger) throws {
        let train = trainCurve.map { ($0[0], $0[1]) }.filter { !$0.1.isNaN }
        let eval = evalCurve.map { ($0[0], $0[1]) }
        let svg = LinePlot(title: "\(title): return vs frames",
                           xLabel: "frames", yLabel: "return",
                           series: [.init(name: "train, mean of last 100 episodes", points: train, color: "#1f77b4"),
                                    .init(name: "evaluation (ε = \(evalEpsilon))", points: eval, color: "#d62728", markers: true)])
            .svg()
        try svg.write(toFile: folder.path("curve.svg"), atomically: true, encoding: .utf8)
        var csv = "frame,train_return_mean_100,eval_return_mean\n"
        for (x, y) in train { csv += "\(Int(x)),\(y),\n" }
        for (x, y) in eval { csv += "\(Int(x)),,\(y)\n" }
        try csv.write(toFile: folder.path("curve.csv"), atomically: true, encoding: .utf8)
    }
}

/// The environments DQN trains and evaluates on, built from a config.
public enum DQNEnvironments {
    /// Frames per stacked pixel observation (Mnih et al. 2015).
    public static let frameStack = 4
    /// Training episodes are cut at this many steps (MinAtar has no limit and a good Breakout
    /// policy can play forever); the cut is a truncation, so targets still bootstrap.
    public static let trainingStepLimit = 100_000

    static func mode(_ config: DQNConfig) throws -> ObservationMode {
        guard let mode = ObservationMode(rawValue: config.observation) else {
            throw AgentError.invalidConfig("unknown observation mode '\(config.observation)'; use grid or pixels")
        }
        return mode
    }

    /// MinAtar's environment (sticky actions) with a step limit, stacked for pixels.
    public static func make(_ config: DQNConfig, seed: UInt64, maxSteps: Int) throws -> AnyEnvironment {
        let mode = try mode(config)
        let game = try Games.makeMinAtar(config.game, observation: mode, seed: seed,
                                         stickyActionProbability: Double(config.stickyActions), maxEpisodeSteps: maxSteps)
        return mode == .pixels ? AnyEnvironment(FrameStack(game, count: frameStack)) : game
    }

    public static func training(_ config: DQNConfig) throws -> AnyEnvironment {
        try make(config, seed: config.seed, maxSteps: trainingStepLimit)
    }
}

/// Evaluation episodes of a Q-network.
public enum DQNEvaluation {
    public struct Episode: Sendable {
        public var totalReward: Float
        public var length: Int
        public var truncated: Bool
    }

    public struct Results: Sendable {
        public var episodes: [Episode]
        public var meanReturn: Float { episodes.isEmpty ? .nan : episodes.map(\.totalReward).reduce(0, +) / Float(episodes.count) }
        public var stdReturn: Float {
            guard episodes.count > 1 else { return 0 }
            let mean = meanReturn
            return (episodes.map { ($0.totalReward - mean) * ($0.totalReward - mean) }.reduce(0, +) / Float(episodes.count)).squareRoot()
        }
        public var truncatedCount: Int { episodes.filter(\.truncated).count }
    }

    /// Plays `episodes` episodes ε-greedily on a fresh environment (sticky actions as in
    /// training, episodes truncated at `config.evalMaxSteps`).
    public static func run(network: QNetwork, config: DQNConfig, episodes: Int, epsilon: Float, seed: UInt64,
                           onEpisode: ((Int, Episode) -> Void)? = nil) throws -> Results {
        var environment = try DQNEnvironments.make(config, seed: seed, maxSteps: config.evalMaxSteps)
        var generator = RandomGenerator(seed: seed)
        let shape = environment.observationShape
        let input = TensorStorage(count: shape.count)
        var results: [Episode] = []
        for index in 0..<episodes {
            environment.reset(seed: index == 0 ? seed : nil)
            var total: Float = 0, length = 0
            while true {
                let action: Int
                if epsilon > 0 && generator.nextFloat() < epsilon {
                    action = generator.nextInt(below: environment.actionCount)
                } else {
                    environment.writeObservation(into: UnsafeMutableBufferPointer(start: input.pointer, count: shape.count))
                    let q = withNoGrad { network(Tensor(shape: [1] + shape.dimensions, storage: input)) }.scalars
                    action = DQNAgent.argmax(q)
                }
                let result = environment.step(action)
                total += result.reward
                length += 1
                if result.isDone {
                    let episode = Episode(totalReward: total, length: length, truncated: !result.terminated)
                    results.append(episode)
                    onEpisode?(index, episode)
                    break
                }
            }
        }
        return Results(episodes: results)
    }
}

/// Saving and loading DQN checkpoints.
///
/// One `.safetensors` file: the online network's parameters under their plain names
/// (`conv.weight`, `fc_hidden.weight`, `output.weight`, … — MinAtar's `QNetwork` attribute
/// names), the target network under `target.`, the optimizer's slots under `optimizer.`; the
/// metadata holds `dqn.config` (JSON of `DQNConfig`), `dqn.state` (JSON of the training
/// progress), `dqn.observation_shape` and `dqn.actions`. In Python:
/// `{k: v for k, v in load_file(p).items() if not k.startswith(("target.", "optimizer."))}`
/// loads into MinAtar's network.
public enum DQNCheckpoint {
    public static let configKey = "dqn.config"
    public static let stateKey = "dqn.state"

    public static func save(agent: DQNAgent, state: DQNTrainingState, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var metadata = [
            configKey: String(decoding: try encoder.encode(agent.config), as: UTF8.self),
            stateKey: String(decoding: try encoder.encode(state), as: UTF8.self),
            "dqn.observation_shape": agent.observationShape.map(String.init).joined(separator: ","),
            "dqn.actions": String(agent.actionCount),
        ]
        metadata["dqn.architecture"] = agent.online.architecture.rawValue
        try Checkpoint.save(agent.checkpointModule, optimizer: agent.optimizer, metadata: metadata, to: path)
    }

    /// Loads everything into `agent` (networks and optimizer); returns the metadata.
    @discardableResult
    public static func load(_ path: String, into agent: DQNAgent) throws -> [String: String] {
        try Checkpoint.load(into: agent.checkpointModule, optimizer: agent.optimizer, from: path)
    }

    /// The config stored in a checkpoint and an online network with its weights, for `eval` and `watch`.
    public static func loadNetwork(_ path: String) throws -> (config: DQNConfig, network: QNetwork) {
        let file = try SafeTensors.read(from: path)
        guard let json = file.metadata[configKey], let data = json.data(using: .utf8),
              let config = try? JSONDecoder().decode(DQNConfig.self, from: data) else {
            throw AgentError.badCheckpoint(path: path, reason: "its metadata has no '\(configKey)' (was it written by `cortex train <game>`?)")
        }
        let shape = (file.metadata["dqn.observation_shape"] ?? "").split(separator: ",").compactMap { Int($0) }
        guard shape.count == 3, let actions = file.metadata["dqn.actions"].flatMap(Int.init), actions > 0 else {
            throw AgentError.badCheckpoint(path: path, reason: "observation shape or action count missing in its metadata")
        }
        let agent = DQNAgent(config: config, observationShape: shape, actionCount: actions)
        try Checkpoint.load(into: agent.checkpointModule, from: path, strict: false)
        return (config, agent.online)
    }
}
