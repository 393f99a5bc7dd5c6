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
        online = QNetwork(
            architecture: architecture, inputShape: observationShape, actionCount: actionCount,
            dueling: config.dueling, generator: &generator)
        target = QNetwork(
            architecture: architecture, inputShape: observationShape, actionCount: actionCount,
            dueling: config.dueling, generator: &generator)
        checkpointModule = PairModule(main: online, extra: ("target", target))
        switch config.optimizer {
        case .rmsprop:
            // MinAtar's agent: torch.optim.RMSprop(lr, alpha=0.95, centered=True, eps=0.01, momentum=0.95).
            optimizer = RMSprop(
                online.parameterGroups(), learningRate: config.learningRate, alpha: 0.95,
                epsilon: 0.01, momentum: 0.95, centered: true)
        case .adam:
            optimizer = Adam(online.parameterGroups(), learningRate: config.learningRate, epsilon: 1.5e-4)
        }
        TargetNetwork.prepare(target, from: online)
    }

    /// Copies the online network's parameters into the target network.
    public func syncTarget() { TargetNetwork.copyParameters(from: online, to: target) }

    // MARK: acting

    /// Q-values of one observation (no graph).
    public func qValues(_ observation: UnsafeBufferPointer<Float>) -> [Float] {
        let input = Tensor(shape: [1] + observationShape, storage: Self.storage(copying: observation))
        return withNoGrad { online(input) }.scalars
    }

    /// ε-greedy action for one observation: uniform with probability ε, else argmax Q (first on ties).
    public func act(_ observation: UnsafeBufferPointer<Float>, epsilon: Float, generator: inout RandomGenerator) -> Int
    {
        EpsilonGreedy.action(epsilon: epsilon, actionCount: actionCount, generator: &generator) {
            EpsilonGreedy.argmax(qValues(observation))
        }
    }

    // MARK: learning

    /// One gradient step on `batch`; syncs the target network every `targetUpdateEvery` updates.
    @discardableResult
    public func update(_ batch: ReplayBatch) -> QLearning.UpdateResult {
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
            let secondNext = Tensor(
                shape: [n - half] + observationShape,
                data: Array(batch.nextStates[(half * size)..<(n * size)]))
            var nextTarget: Tensor?
            var firstBest: [Int] = [], secondBest: [Int] = []
            Runtime.concurrently(
                {
                    onlinePass = online(states).gather(axis: 1, index: actions)  // (N, 1)
                    firstBest = withNoGrad { online(firstNext) }.argmaxIndices(axis: 1)
                },
                {
                    nextTarget = withNoGrad { target(nextStates) }  // (N, A)
                    secondBest = withNoGrad { online(secondNext) }.argmaxIndices(axis: 1)
                })
            targetPass = targets(nextTarget: nextTarget!, best: firstBest + secondBest)
        } else {
            onlinePass = online(states).gather(axis: 1, index: actions)
            targetPass = withNoGrad {
                let nextTarget = target(nextStates)  // (N, A)
                let choice = config.doubleDQN ? online(nextStates) : nextTarget
                return targets(nextTarget: nextTarget, best: choice.argmaxIndices(axis: 1))
            }
        }
        let result = QLearning.step(
            predicted: onlinePass!, targets: targetPass!, weights: batch.weights, optimizer: optimizer,
            parameters: online.parameters(), maxGradNorm: config.maxGradNorm)
        updates += 1
        if updates % config.targetUpdateEvery == 0 { syncTarget() }
        return result
    }

    /// Restores the update count (from a checkpoint).
    public func restore(updates: Int) { self.updates = updates }

    private static func storage(copying buffer: UnsafeBufferPointer<Float>) -> TensorStorage {
        let storage = TensorStorage(uninitializedCount: buffer.count)
        storage.pointer.update(from: buffer.baseAddress!, count: buffer.count)
        return storage
    }
}
