import Cortex
import Envs
import Foundation

/// What one batch measured.
public struct GoBatchMetrics: Sendable {
    public var policyLoss = 0.0
    public var valueLoss = 0.0
    /// Share of positions whose most likely move (network) is the target's most likely move.
    public var accuracy = 0.0
    public var count = 0

    public mutating func add(_ other: GoBatchMetrics) {
        let total = Double(count + other.count)
        guard total > 0 else { return }
        let (a, b) = (Double(count) / total, Double(other.count) / total)
        policyLoss = a * policyLoss + b * other.policyLoss
        valueLoss = a * valueLoss + b * other.valueLoss
        accuracy = a * accuracy + b * other.accuracy
        count += other.count
    }
}

/// The policy/value network with its optimizer and the loss of AlphaGo Zero (Silver et al. 2017):
/// l = −πᵀ log p + w·(z − v)², π the target distribution (a one-hot expert move, or the search's
/// visit shares), z the outcome for the player to move; weight decay by AdamW. Each position of a
/// batch is turned by a random board symmetry.
public final class GoPolicyValueLearner {
    public let network: GoPolicyValueNetwork
    public let optimizer: AdamW
    public var valueWeight: Float
    var planes: [Float] = []
    var policies: [Float] = []
    var outcomes: [Float] = []

    public init(network: GoPolicyValueNetwork, learningRate: Float, weightDecay: Float, valueWeight: Float) {
        self.network = network
        optimizer = AdamW(network.weightDecayGroups(weightDecay: weightDecay), learningRate: learningRate, weightDecay: weightDecay)
        self.valueWeight = valueWeight
    }

    /// One gradient step on positions `indices` of `set` (or, with `train` false, only the metrics).
    @discardableResult
    public func step(
        on set: GoPositionSet, indices: [Int], random: inout RandomGenerator, train: Bool = true,
        augment: Bool = true
    ) -> GoBatchMetrics {
        let b = indices.count, per = set.planeCount * set.size * set.size, actions = set.actions
        if planes.count < b * per { planes = [Float](repeating: 0, count: b * per) }
        if policies.count < b * actions { policies = [Float](repeating: 0, count: b * actions) }
        if outcomes.count < b { outcomes = [Float](repeating: 0, count: b) }
        let symmetries = indices.map { _ in augment ? random.nextInt(below: GoSymmetry.count) : 0 }
        planes.withUnsafeMutableBufferPointer { p in
            policies.withUnsafeMutableBufferPointer { q in
                outcomes.withUnsafeMutableBufferPointer { z in
                    set.batch(
                        indices, symmetries: symmetries, planes: p.baseAddress!, policies: q.baseAddress!,
                        outcomes: z.baseAddress!)
                }
            }
        }
        let x = Tensor(shape: [b, set.planeCount, set.size, set.size], data: Array(planes[0..<(b * per)]))
        let target = Tensor(shape: [b, actions], data: Array(policies[0..<(b * actions)]))
        let z = Tensor(shape: [b, 1], data: Array(outcomes[0..<b]))
        network.train(train)
        let run = { () -> (Tensor, Tensor, Tensor, Tensor) in
            let (logits, value) = self.network(x)
            let policyLoss = -(target * logits.logSoftmax(axis: 1)).sum() * (1 / Float(b))
            let valueLoss = mseLoss(value, z)
            return (logits, policyLoss, valueLoss, policyLoss + valueLoss * self.valueWeight)
        }
        let (logits, policyLoss, valueLoss, loss): (Tensor, Tensor, Tensor, Tensor)
        if train {
            (logits, policyLoss, valueLoss, loss) = run()
            optimizer.zeroGrad()
            loss.backward()
            optimizer.step()
        } else {
            (logits, policyLoss, valueLoss, loss) = withNoGrad { run() }
        }
        var correct = 0
        let l = logits.storage.pointer
        for j in 0..<b {
            var best = 0, want = 0
            for a in 0..<actions {
                if l[j * actions + a] > l[j * actions + best] { best = a }
                if policies[j * actions + a] > policies[j * actions + want] { want = a }
            }
            if best == want { correct += 1 }
        }
        return GoBatchMetrics(
            policyLoss: Double(policyLoss.item), valueLoss: Double(valueLoss.item),
            accuracy: Double(correct) / Double(b), count: b)
    }

    /// Metrics over every position of `set`, in batches, without symmetries or updates.
    public func measure(_ set: GoPositionSet, batchSize: Int) -> GoBatchMetrics {
        var total = GoBatchMetrics()
        var random = RandomGenerator(seed: 0)
        var start = 0
        while start < set.count {
            let end = min(set.count, start + batchSize)
            total.add(step(on: set, indices: Array(start..<end), random: &random, train: false, augment: false))
            start = end
        }
        network.train(true)
        return total
    }
}
