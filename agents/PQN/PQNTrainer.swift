import Cortex
import Envs
import Foundation

/// The training loop of PQN (Gallici et al. 2024), readable top to bottom: N environments act
/// together for T steps with one batched forward pass per step (ε-greedy on the online
/// network, no replay buffer, no target network); the rollout's Q(λ) returns become the
/// regression targets of `epochs` passes of shuffled minibatch updates:
///
///     L = ½ · mean_i (Q(s_i, a_i) − G_i)²        (G from `QLambda`, no gradient through it)
///
/// with Adam, gradient clipping by global norm and a learning rate falling linearly over the
/// run. Logging, periodic evaluation on separate environments and atomic checkpoints follow
/// the DQN's (`DQNTrainingState` is shared, so curves and `--resume` work the same way).
///
/// Under a `Communicator` of several ranks (PQN's multi-device recipe, as purejaxql's
/// `pmean` over devices): every rank runs its own `envs` environments and ε draws (seeded by
/// its rank), the gradients of each minibatch are averaged over the ranks before the common
/// Adam step, so the parameters stay identical; frames count over all ranks. Rank 0 alone
/// evaluates, logs and writes checkpoints; the ranks agree on stopping (Ctrl-C, time budget)
/// after each rollout.
public final class PQNTrainer {
    public let config: PQNConfig
    public let network: PQNNetwork
    public let optimizer: Adam
    /// The run folder, its logs and checkpoint paths.
    public let trainingRun: TrainingRun
    public var logger: RunLogger { trainingRun.logger }
    public private(set) var state: DQNTrainingState
    /// Called after every rollout with the frame and current metrics (for a progress line).
    public var onProgress: ((Int, [(String, Double)]) -> Void)?
    /// Called with one-line messages (evaluations, checkpoints, the time budget).
    public var onMessage: ((String) -> Void)?

    /// Builds one environment from a seed and a step limit (MinAtar's games by default).
    public typealias EnvironmentMaker = (_ seed: UInt64, _ maxSteps: Int) throws -> AnyEnvironment

    private var environments: VectorEnvironment<AnyEnvironment>
    private let makeEnvironment: EnvironmentMaker
    private let observationShape: [Int]
    private let observationSize: Int
    /// The ranks this run is spread over (one by default).
    public let parallel: DataParallel

    public var lastCheckpointPath: String { trainingRun.lastCheckpoint }
    public var bestCheckpointPath: String { trainingRun.bestCheckpoint }

    /// Builds a run in `folder` (created, config logged). With `resume`, loads the network,
    /// the optimizer and the progress from that checkpoint.
    public init(
        config: PQNConfig, folder: String, resume: String? = nil, environment: EnvironmentMaker? = nil,
        communicator: Communicator = SingleProcess()
    ) throws {
        if let problem = config.problem { throw AgentError.invalidConfig("invalid PQN settings: \(problem)") }
        if communicator.size > 1 { try DataParallel.checkSameConfig(config, communicator: communicator) }
        self.config = config
        // The GEMMs of a 128-row minibatch are too small for BLAS threads (measured: 2 threads
        // ran the loop 20% slower than 1); Cortex's own kernels keep the thread count.
        if Runtime.blasThreads > 1 {
            Runtime.kernelThreadsOverride = Runtime.kernelThreadsOverride ?? Runtime.blasThreads
            Runtime.blasThreads = 1
        }
        let settings = config.environmentSettings
        let make =
            environment ?? { seed, maxSteps in try DQNEnvironments.make(settings, seed: seed, maxSteps: maxSteps) }
        makeEnvironment = make
        var copies: [AnyEnvironment] = []
        let rankSeed = config.seed &+ Self.rankSeedStride &* UInt64(communicator.rank)
        for i in 0..<config.envs {
            copies.append(try make(rankSeed &+ UInt64(i), DQNEnvironments.trainingStepLimit))
        }
        environments = VectorEnvironment(count: config.envs) { copies[$0] }
        observationShape = environments.observationShape.dimensions
        observationSize = environments.observationShape.count
        var generator = RandomGenerator(seed: config.seed &+ 0x5EED)
        network = PQNNetwork(inputShape: observationShape, actionCount: environments.actionCount, generator: &generator)
        optimizer = Adam(network.parameterGroups(), learningRate: config.learningRate, epsilon: config.adamEpsilon)
        state = DQNTrainingState(seed: config.seed)
        // Rank 0 writes the run folder; the others a scratch folder, into which rank 0's last
        // checkpoint is copied when the run resumes from the folder (any number of ranks).
        let runFolder = try communicator.runFolder(folder, resume: resume == folder + "/last.safetensors")
        let resume = communicator.isRoot || resume != folder + "/last.safetensors" ? resume : runFolder + "/last.safetensors"
        trainingRun = try TrainingRun(folder: runFolder, config: config, resumeFrom: resume)
        parallel = DataParallel(parameters: network.namedParameters(), communicator: communicator)
        if let resume {
            let metadata = try PQNCheckpoint.load(resume, network: network, optimizer: optimizer)
            guard let json = metadata[PQNCheckpoint.stateKey], let data = json.data(using: .utf8),
                let restored = try? JSONDecoder().decode(DQNTrainingState.self, from: data)
            else {
                throw AgentError.badCheckpoint(path: resume, reason: "no PQN training state in its metadata")
            }
            state = restored
        }
        if communicator.size > 1 {
            try parallel.broadcastParameters()
            // Each rank its own ε draws and minibatch order.
            if !communicator.isRoot {
                state.generator = RandomGenerator(seed: rankSeed &+ 0x5EED &+ UInt64(state.frame))
            }
        }
    }

    /// The distance between the environment seeds of two ranks.
    public static let rankSeedStride: UInt64 = 1_000_003
    private var isRoot: Bool { parallel.communicator.isRoot }
    private var ranks: Int { parallel.size }

    /// Runs until `config.frames` frames or the time budget; `shouldStop` is polled after every
    /// environment step (Ctrl-C), and a stopped run still writes its last checkpoint.
    public func run(shouldStop: () -> Bool = { false }) throws -> DQNSummary {
        let (N, T, D, A) = (config.envs, config.rolloutSteps, observationSize, environments.actionCount)
        // Rollout buffers, (T, N) row-major; observations (T, N, C, H, W).
        var observations = [Float](repeating: 0, count: T * N * D)
        var actions = [Int](repeating: 0, count: T * N)
        var rewards = [Float](repeating: 0, count: T * N)
        var terminated = [Bool](repeating: false, count: T * N)
        var truncated = [Bool](repeating: false, count: T * N)
        var nextMaxQ = [Float](repeating: 0, count: T * N)
        var returns = [Float](repeating: 0, count: T * N)
        var stepActions = [Int](repeating: 0, count: N)
        var episodeReturns = [Float](repeating: 0, count: N), episodeLengths = [Int](repeating: 0, count: N)
        var finalObservation = [Float](repeating: 0, count: D)
        var afterRollout = [Float](repeating: 0, count: N * D)
        var order = Array(0..<(T * N))

        environments.reset(seed: config.seed &+ Self.rankSeedStride &* UInt64(parallel.rank) &+ UInt64(state.frame))
        let startFrame = state.frame
        let start = Date()
        var lastCheckpointFrame = state.frame
        var nextEval = config.evalEvery > 0 ? (state.frame / config.evalEvery + 1) * config.evalEvery : Int.max
        var evalSeconds = 0.0
        var stopped = false

        while state.frame < config.frames && !stopped {
            let epsilon = config.epsilon(atFrame: state.frame)
            // MARK: act — T steps of N environments, one forward pass per step
            for t in 0..<T {
                let slice = t * N * D
                let q = observations.withUnsafeMutableBufferPointer { all in
                    let batch = UnsafeMutableBufferPointer(rebasing: all[slice..<(slice + N * D)])
                    environments.writeObservations(into: batch)
                    return qValues(UnsafeBufferPointer(batch), rows: N)
                }
                let greedy = q.argmaxIndices(axis: 1)
                let qp = q.storage.pointer
                for i in 0..<N {
                    if t > 0 && !(terminated[(t - 1) * N + i] || truncated[(t - 1) * N + i]) {
                        nextMaxQ[(t - 1) * N + i] = Self.rowMax(qp + i * A, A)
                    }
                    let action =
                        epsilon > 0 && state.generator.nextFloat() < epsilon
                        ? state.generator.nextInt(below: A) : greedy[i]
                    stepActions[i] = action
                    actions[t * N + i] = action
                }
                environments.step(stepActions.withUnsafeBufferPointer { $0 })
                for i in 0..<N {
                    let k = t * N + i
                    rewards[k] = environments.rewards[i]
                    terminated[k] = environments.terminated[i]
                    truncated[k] = environments.truncated[i] && !terminated[k]
                    episodeReturns[i] += rewards[k]
                    episodeLengths[i] += 1
                    if terminated[k] || environments.truncated[i] {
                        if truncated[k] {  // the cut state still has a value: bootstrap on its final observation
                            finalObservation.withUnsafeMutableBufferPointer {
                                environments.writeFinalObservation(i, into: $0)
                            }
                            let qFinal = finalObservation.withUnsafeBufferPointer { qValues($0, rows: 1) }
                            nextMaxQ[k] = Self.rowMax(qFinal.storage.pointer, A)
                        }
                        state.recordEpisode(
                            return: episodeReturns[i], length: episodeLengths[i], runFrames: config.frames,
                            logger: logger)
                        episodeReturns[i] = 0
                        episodeLengths[i] = 0
                    }
                }
                state.frame += N * ranks
                // Alone, stop at once; over ranks, only where all agree (after the update).
                if ranks == 1 && shouldStop() {
                    stopped = true
                    break
                }
            }
            if stopped { break }
            // Bootstrap values of the observations after the rollout.
            let last = afterRollout.withUnsafeMutableBufferPointer { batch in
                environments.writeObservations(into: batch)
                return qValues(UnsafeBufferPointer(batch), rows: N)
            }
            for i in 0..<N where !(terminated[(T - 1) * N + i] || truncated[(T - 1) * N + i]) {
                nextMaxQ[(T - 1) * N + i] = Self.rowMax(last.storage.pointer + i * A, A)
            }

            // MARK: targets — Q(λ) returns over the rollout
            rewards.withUnsafeBufferPointer { r in
                terminated.withUnsafeBufferPointer { d in
                    truncated.withUnsafeBufferPointer { u in
                        nextMaxQ.withUnsafeBufferPointer { q in
                            returns.withUnsafeMutableBufferPointer {
                                QLambda.returns(
                                    rewards: r, terminated: d, truncated: u, nextMaxQ: q, steps: T, envs: N,
                                    gamma: config.gamma, lambda: config.lambda, into: $0)
                            }
                        }
                    }
                }
            }

            // MARK: learn — epochs × shuffled minibatches
            var lossSum = 0.0, qSum = 0.0, normSum = 0.0
            let B = config.minibatchSize
            for _ in 0..<config.epochs {
                for j in stride(from: order.count - 1, to: 0, by: -1) {  // Fisher–Yates
                    order.swapAt(j, state.generator.nextInt(below: j + 1))
                }
                for m in 0..<config.minibatches {
                    let rows = order[(m * B)..<((m + 1) * B)]
                    let result = try observations.withUnsafeBufferPointer { obs in
                        try update(rows: rows, observations: obs, actions: actions, returns: returns)
                    }
                    lossSum += Double(result.loss)
                    qSum += Double(result.meanQ)
                    normSum += Double(result.norm)
                }
            }
            let updatesDone = Double(config.epochs * config.minibatches)

            // MARK: log, evaluate, checkpoint (rank 0)
            let elapsed = Date().timeIntervalSince(start)
            let rate = Double(state.frame - startFrame) / max(1e-9, elapsed)
            var budgetReached = false
            if let budget = config.timeBudget, elapsed + evalSeconds >= budget, state.frame < config.frames {
                budgetReached = true
            }
            if ranks > 1 {
                // One collective: stop when any rank was asked to or ran out of time.
                let votes = try parallel.communicator.sum([shouldStop() ? 1 : 0, budgetReached ? 1 : 0])
                stopped = votes[0] > 0
                budgetReached = votes[1] > 0 && !stopped
            }
            if state.frame - lastCheckpointFrame >= max(1, min(config.checkpointEvery, config.frames / 4)) && ranks > 1 {
                try parallel.checkParametersAgree()
            }
            guard isRoot else {
                if state.frame - lastCheckpointFrame >= max(1, min(config.checkpointEvery, config.frames / 4)) {
                    lastCheckpointFrame = state.frame
                }
                if state.frame >= nextEval { nextEval = (state.frame / config.evalEvery + 1) * config.evalEvery }
                if stopped || budgetReached { break }
                continue
            }
            try logger.log(
                step: state.frame,
                [
                    ("train/td_loss", lossSum / updatesDone), ("train/mean_q", qSum / updatesDone),
                    ("train/grad_norm", normSum / updatesDone), ("train/epsilon", Double(epsilon)),
                    ("train/learning_rate", Double(optimizer.learningRate)),
                    ("train/frames_per_s", rate)
                ])
            onProgress?(
                state.frame,
                [
                    ("return", Double(state.recentReturnMean)), ("eps", Double(epsilon)),
                    ("loss", lossSum / updatesDone)
                ])
            if state.frame >= nextEval {
                let evalStart = Date()
                try evaluateAndSave()
                evalSeconds = Date().timeIntervalSince(evalStart)
                nextEval = (state.frame / config.evalEvery + 1) * config.evalEvery
            }
            if state.frame - lastCheckpointFrame >= max(1, min(config.checkpointEvery, config.frames / 4)) {
                try saveCheckpoint(to: lastCheckpointPath)
                lastCheckpointFrame = state.frame
            }
            if stopped || (ranks == 1 && shouldStop()) { break }
            // Stop early enough that the closing evaluation also fits in the budget.
            if budgetReached, let budget = config.timeBudget {
                onMessage?("time budget of \(Progress.formatDuration(budget)) reached at \(state.frame) frames")
                break
            }
        }
        let elapsed = Date().timeIntervalSince(start)
        let framesPerSecond = Double(state.frame - startFrame) / max(1e-9, elapsed)
        guard isRoot else {
            return DQNSummary(state: state, framesPerSecond: framesPerSecond, lastCheckpoint: lastCheckpointPath,
                              bestCheckpoint: bestCheckpointPath)
        }
        if config.evalEvery > 0 && state.evalCurve.last.map({ Int($0[0]) != state.frame }) ?? true {
            try evaluateAndSave()
        }
        try saveCheckpoint(to: lastCheckpointPath)
        try DQNTrainer.writeCurve(
            trainCurve: state.trainCurve, evalCurve: state.evalCurve,
            title: "\(config.game) (\(config.observation), PQN)", evalEpsilon: config.evalEpsilon,
            folder: logger)
        try trainingRun.finish(metrics: state.finalMetrics, step: state.frame)
        return DQNSummary(state: state, framesPerSecond: framesPerSecond,
                          lastCheckpoint: lastCheckpointPath, bestCheckpoint: bestCheckpointPath)
    }

    // MARK: pieces

    /// Q-values [rows, A] of `rows` observations (no graph).
    private func qValues(_ observations: UnsafeBufferPointer<Float>, rows: Int) -> Tensor {
        let input = TensorStorage(uninitializedCount: rows * observationSize)
        input.pointer.update(from: observations.baseAddress!, count: rows * observationSize)
        return withNoGrad { network(Tensor(shape: [rows] + observationShape, storage: input)) }
    }

    private static func rowMax(_ row: UnsafePointer<Float>, _ count: Int) -> Float {
        var best = row[0]
        for a in 1..<count where row[a] > best { best = row[a] }
        return best
    }

    /// One gradient step on the transitions `rows` of the rollout.
    private func update(
        rows: ArraySlice<Int>, observations: UnsafeBufferPointer<Float>, actions: [Int],
        returns: [Float]
    ) throws -> (loss: Float, meanQ: Float, norm: Float) {
        let B = rows.count, D = observationSize
        let input = TensorStorage(uninitializedCount: B * D)
        let chosen = TensorStorage(uninitializedCount: B), targets = TensorStorage(uninitializedCount: B)
        for (b, k) in rows.enumerated() {
            (input.pointer + b * D).update(from: observations.baseAddress! + k * D, count: D)
            chosen.pointer[b] = Float(actions[k])
            targets.pointer[b] = returns[k]
        }
        let q = network(Tensor(shape: [B] + observationShape, storage: input))  // (B, A)
        let predicted = q.gather(axis: 1, index: Tensor(shape: [B, 1], storage: chosen))  // (B, 1)
        let loss = 0.5 * mseLoss(predicted, Tensor(shape: [B, 1], storage: targets))
        optimizer.zeroGrad()
        loss.backward()
        var lossValue = loss.item
        var sumQ: Float = 0
        for b in 0..<B { sumQ += predicted.storage.pointer[b] }
        if ranks > 1 {
            // The global minibatch's gradient: the mean over ranks (equal shares), with the
            // loss and Q sums riding along.
            let summed = try parallel.averageGradients(localCount: B, globalCount: B * ranks, extras: [lossValue, sumQ])
            lossValue = summed[0] / Float(ranks)
            sumQ = summed[1] / Float(ranks)
        }
        let norm = config.maxGradNorm > 0 ? clipGradNorm(network.parameters(), maxNorm: config.maxGradNorm) : .nan
        optimizer.learningRate = config.learningRate(atUpdate: state.updates)
        optimizer.step()
        state.updates += 1
        return (lossValue, sumQ / Float(B), norm)
    }

    private func evaluateAndSave() throws {
        let results = try PQNEvaluation.run(
            network: network, episodes: config.evalEpisodes, epsilon: config.evalEpsilon,
            seed: config.seed &+ 1_000_003 &+ UInt64(state.frame),
            maxSteps: config.evalMaxSteps, make: makeEnvironment)
        try trainingRun.logHistograms(of: network, step: state.frame)
        try logFrames()
        let (message, bestPath) = try state.recordEvaluation(results, maxSteps: config.evalMaxSteps, logger: logger)
        if let bestPath { try saveCheckpoint(to: bestPath) }
        onMessage?(message)
    }

    /// The first steps of one greedy episode, as a picture in TensorBoard's IMAGES tab.
    private func logFrames() throws {
        var environment = try makeEnvironment(config.seed &+ 2_000_003 &+ UInt64(state.frame), config.evalMaxSteps)
        environment.reset(seed: config.seed &+ 2_000_003 &+ UInt64(state.frame))
        let shape = [1] + environment.observationShape.dimensions
        let picture = EvaluationFrames.play(&environment) { observation in
            let input = Tensor(shape: shape, data: Array(observation))
            return withNoGrad { network(input) }.argmaxIndices(axis: 1)[0]
        }
        try EvaluationFrames.log(picture, logger: logger, step: state.frame)
    }

    /// Writes the network, the optimizer and the progress atomically to `path`.
    public func saveCheckpoint(to path: String) throws {
        try PQNCheckpoint.save(network: network, optimizer: optimizer, config: config, state: state, to: path)
    }
}
