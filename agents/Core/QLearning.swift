import Cortex

/// The regression step every Q-learning agent shares (Mnih et al. 2015): Q(s, a) moves towards
/// targets y under the Huber loss, weighted per row when importance weights are given
/// (prioritized replay), with the gradient's global norm clipped before the optimizer steps.
public enum QLearning {
    /// What one update reports.
    public struct UpdateResult {
        public var loss: Float
        /// Mean of Q(s, a) over the batch.
        public var meanQ: Float
        /// Global gradient norm before clipping (NaN when clipping is off).
        public var gradientNorm: Float
        /// Q(s, a) − y per row (for priorities).
        public var tdErrors: [Float]

        public init(loss: Float, meanQ: Float, gradientNorm: Float, tdErrors: [Float]) {
            self.loss = loss
            self.meanQ = meanQ
            self.gradientNorm = gradientNorm
            self.tdErrors = tdErrors
        }
    }

    /// One gradient step: L = mean_i w_i · huber(predicted_i − y_i); `predicted` is (N, 1) with
    /// a graph back to `parameters`, `targets` (N, 1) without one; `weights` nil means all 1.
    public static func step(
        predicted: Tensor, targets: Tensor, weights: [Float]? = nil, optimizer: Optimizer,
        parameters: [Tensor], maxGradNorm: Float
    ) -> UpdateResult {
        let n = predicted.count
        precondition(targets.count == n, "QLearning.step: \(n) predictions, \(targets.count) targets")
        let loss: Tensor
        if let weights, !weights.allSatisfy({ $0 == 1 }) {
            let perSample = huberLoss(predicted, targets, reduction: .none)  // (N, 1)
            loss = (perSample * Tensor(shape: [n, 1], data: weights)).mean()
        } else {
            loss = huberLoss(predicted, targets)
        }
        optimizer.zeroGrad()
        loss.backward()
        let norm = maxGradNorm > 0 ? clipGradNorm(parameters, maxNorm: maxGradNorm) : Float.nan
        optimizer.step()

        let q = predicted.storage.pointer, y = targets.storage.pointer
        var errors = [Float](repeating: 0, count: n)
        var sumQ: Float = 0
        for i in 0..<n {
            errors[i] = q[i] - y[i]
            sumQ += q[i]
        }
        return UpdateResult(loss: loss.item, meanQ: sumQ / Float(n), gradientNorm: norm, tdErrors: errors)
    }
}
