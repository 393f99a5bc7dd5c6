import Cortex
import Foundation

/// The learning part of DQN (Mnih et al. 2015): an online Q-network trained by regression on
/// bootstrapped targets from a periodically synced target network, with Double-DQN targets
/// (van Hasselt et al. 2016) and the Huber loss.
///
/// One update on a batch (s, a, R, γⁿ-discount, s′):
///
///     a* = argmax_a Q_online(s′, a)            (Double DQN; argmax of Q_target without it)
///     y  = R + discount · Q_target(s′, a*)      (discount 0 where the episode terminated)
///     L  = mean_i w_i · huber(Q_online(s_i, a_i) − y_i)
///
/// Targets and acting run in no-grad mode; only Q_online(s) records a graph.
public final class DQNAgent {
    public let config: DQNConfig
    public let online: QNetwork
    public let target: QNetwork
    public let optimizer: Optimizer
    /// Gradient updates done so far.
    public private(set) var updates = 0
    /// Split the update's three forward passes over two threads (set it when two cores are
    /// available, with single-threaded BLAS; Double-DQN targets only).
    public var overlapTargets = false
    /// Shape of one observation [C, H, W].
    public let observationShape: [Int]
    public var actionCount: Int { online.actionCount }

    /// Online and target networks as one module for checkpoints: the online network's keys
    /// unprefixed (`conv.weight`), the target's under `target.`.
    public let checkpointModule: PairModule

    public init(config: DQNConfig, observationShape: [Int], actionCount: Int) {
        self.config = config
        self.observationShape = observationShape
        var generator = RandomGenerator(seed: config.seed &+ 0x5EED)
        let architecture: QNetwork.Architecture = observationShape[1] > 10 ? .nature : .minAtar
        online = QNetwork(architecture: architecture, inputShape: observationShape, actionCount: actionCount,
                          dueling: config.dueling, generator: &generator)
        target = QNetwork(architecture: architecture, inputShape: observationShape, actionCount: actionCount,
                          dueling: config.dueling, generator: &generator)
        checkpointModule = PairModule(main: online, extra: ("target", target))
        switch config.optimizer {
        case .rmsprop:
            // MinAtar's agent: torch.optim.RMSprop(lr, alpha=0.95, centered=True, eps=0.01, momentum=0.95).
            optimizer = RMSprop(online.parameterGroups(), learningRate: config.learningRate, alpha: 0.95,
                                epsilon: 0.01, momentum: 0.95, centered: true)
        case .adam:
            optimizer = Adam(online.parameterGroups(), learningRate: config.learningRate, epsilon: 1.5e-4)
        }
        for parameter in target.parameters() { parameter.requiresGrad = false }
        syncTarget()
    }

    /// Copies the online network's parameters into the target network.
    public func syncTarget() {
        for ((_, source), (_, destination)) in zip(online.namedParameters(), target.namedParameters()) {
            destination.storage.pointer.update(from: source.storage.pointer, count: source.count)
        }
    }

    // MARK: acting

    /// Q-values of one observation (no graph).
    public func qValues(_ observation: UnsafeBufferPointer<Float>) -> [Float] {
        let input = Tensor(shape: [1] + observationShape, storage: Self.storage(copying: observation))
        return withNoGrad { online(input) }.scalars
    }

    /// ε-greedy action for one observation: uniform with probability ε, else argmax Q (first on ties).
    public func act(_ observation: UnsafeBufferPointer<Float>, epsilon: Float, generator: inout RandomGenerator) -> Int {
        if epsilon > 0 && generator.nextFloat() < epsilon { return generator.nextInt(below: actionCount) }
        return Self.argmax(qValues(observation))
    }

    public static func argmax(_ values: [Float]) -> Int {
        var best = 0
        for i in 1..<values.count where values[i] > values[best] { best = i }
        return best
    }

    // MARK: learning

    /// What one update reports.
    public struct UpdateResult {
        public var loss: Float
        /// Mean of Q_online(s, a) over the batch.
        public var meanQ: Float
        /// Global gradient norm before clipping.
        public var gradientNorm: Float
        /// Q_online(s, a) − y per row (for priorities).
        public var tdErrors: [Float]

        /// The result of a batch of `count` predictions Q_online(s, a) and targets y.
        init(loss: Float, predicted: UnsafePointer<Float>, targets: UnsafePointer<Float>, count: Int, gradientNorm: Float) {
            var errors = [Float](repeating: 0, count: count)
            var sumQ: Float = 0
            for i in 0..<count {
                errors[i] = predicted[i] - targets[i]
                sumQ += predicted[i]
            }
            self.init(loss: loss, meanQ: sumQ / Float(count), gradientNorm: gradientNorm, tdErrors: errors)
        }

        init(loss: Float, meanQ: Float, gradientNorm: Float, tdErrors: [Float]) {
            self.loss = loss
            self.meanQ = meanQ
            self.gradientNorm = gradientNorm
            self.tdErrors = tdErrors
        }
    }

    /// One gradient step on `batch`; syncs the target network every `targetUpdateEvery` updates.
    @discardableResult
    public func update(_ batch: ReplayBatch) -> UpdateResult {
        let n = batch.size
        let shape = [n] + observationShape
        let states = Tensor(shape: shape, data: batch.states)
        let nextStates = Tensor(shape: shape, data: batch.nextStates)

        // y = R + discount · Q_target(s′, a*)            (N, 1), no graph
        func targets(nextTarget: Tensor, best: [Int]) -> Tensor {
            let y = TensorStorage(uninitializedCount: n)
            let q = nextTarget.storage.pointer
            for i in 0..<n {
                y.pointer[i] = batch.returns[i] + batch.discounts[i] * q[i * actionCount + best[i]]
            }
            return Tensor(shape: [n, 1], storage: y)
        }
        let actions = Tensor(shape: [n, 1], data: batch.actions.map(Float.init))
        var onlinePass: Tensor?
        var targetPass: Tensor?
        if overlapTargets && config.doubleDQN && n >= 2 {
            // Two cores: three forward passes (online on s with a graph, target and online on
            // s′ without) split evenly — each thread takes one whole pass and half the rows of
            // Q_online(s′). Each GEMM stays single-threaded.
            let half = n / 2, size = batch.observationSize
            let firstNext = Tensor(shape: [half] + observationShape, data: Array(batch.nextStates[0..<(half * size)]))
            let secondNext = Tensor(shape: [n - half] + observationShape,
                                    data: Array(batch.nextStates[(half * size)..<(n * size)]))
            var nextTarget: Tensor?
            var firstBest: [Int] = [], secondBest: [Int] = []
            Runtime.concurrently({
                onlinePass = online(states).gather(axis: 1, index: actions)                    // (N, 1)
                firstBest = withNoGrad { online(firstNext) }.argmaxIndices(axis: 1)
            }, {
                nextTarget = withNoGrad { target(nextStates) }                               // (N, A)
                secondBest = withNoGrad { online(secondNext) }.argmaxIndices(axis: 1)
            })
            targetPass = targets(nextTarget: nextTarget!, best: firstBest + secondBest)
        } else {
            onlinePass = online(states).gather(axis: 1, index: actions)
            targetPass = withNoGrad {
                let nextTarget = target(nextStates)                                          // (N, A)
                let choice = config.doubleDQN ? online(nextStates) : nextTarget
                return targets(nextTarget: nextTarget, best: choice.argmaxIndices(axis: 1))
            }
        }
        let (predicted, targets) = (onlinePass!, targetPass!)
        let loss: Tensor
        if batch.weights.allSatisfy({ $0 == 1 }) {
            loss = huberLoss(predicted, targets)
        } else {
            let perSample = huberLoss(predicted, targets, reduction: .none)       // (N, 1)
            loss = (perSample * Tensor(shape: [n, 1], data: batch.weights)).mean()
        }
        optimizer.zeroGrad()
        loss.backward()
        let norm = config.maxGradNorm > 0
            ? clipGradNorm(online.parameters(), maxNorm: config.maxGradNorm)
            : Float.nan
        optimizer.step()
        updates += 1
        if updates % config.targetUpdateEvery == 0 { syncTarget() }

        return UpdateResult(loss: loss.item, predicted: predicted.storage.pointer, targets: targets.storage.pointer,
                            count: n, gradientNorm: norm)
    }

    /// Restores the update count (from a checkpoint).
    public func restore(updates: Int) { self.updates = updates }

    private static func storage(copying buffer: UnsafeBufferPointer<Float>) -> TensorStorage {
        let storage = TensorStorage(uninitializedCount: buffer.count)
        storage.pointer.update(from: buffer.baseAddress!, count: buffer.count)
        return storage
    }
}

/// A module made of another module's entries plus one named extra child, so a checkpoint
/// keeps the main module's keys unprefixed (`conv.weight`) next to `target.conv.weight`.
public final class PairModule: Module {
    public let main: any Module
    public let extra: (name: String, module: any Module)
    public var isTraining = true

    public init(main: any Module, extra: (name: String, module: any Module)) {
        self.main = main
        self.extra = extra
    }

    public var localParameters: [NamedTensor] { main.localParameters }
    public var localBuffers: [NamedTensor] { main.localBuffers }
    public var children: [(name: String, module: any Module)] { main.children + [extra] }
}
