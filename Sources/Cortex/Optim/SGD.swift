import Foundation

/// Stochastic gradient descent with momentum, as `torch.optim.SGD` (momentum form of
/// Sutskever et al. 2013; Nesterov 1983):
/// ```
/// g ← ∇ + λ·θ                                  (weight decay λ, L2 form)
/// b ← g                       on the first step
/// b ← μ·b + (1 − τ)·g         afterwards       (momentum μ, dampening τ)
/// g ← g + μ·b  (Nesterov)  or  g ← b
/// θ ← θ − η·g
/// ```
/// Slot: `momentum_buffer` (only when μ ≠ 0).
public final class SGD: Optimizer {
    public var momentum: Float
    public var dampening: Float
    public var nesterov: Bool

    public init(
        _ groups: [ParameterGroup], learningRate: Float, momentum: Float = 0, dampening: Float = 0,
        nesterov: Bool = false, weightDecay: Float = 0
    ) {
        precondition(!nesterov || (momentum > 0 && dampening == 0), "SGD: Nesterov needs momentum > 0 and no dampening")
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        super.init(groups, learningRate: learningRate, weightDecay: weightDecay)
    }

    public override var slotNames: Set<String> { ["momentum_buffer"] }

    public override func update(
        parameter p: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>, count: Int,
        shape: [Int], state: ParameterState, learningRate lr: Float, weightDecay wd: Float
    ) {
        let mu = momentum, damp = dampening, nesterov = nesterov
        guard mu != 0 else {
            for i in 0..<count { p[i] -= lr * (gradient[i] + wd * p[i]) }
            return
        }
        let first = state.slots["momentum_buffer"] == nil
        let b = state.slot("momentum_buffer", shape: shape)
        for i in 0..<count {
            var g = gradient[i]
            if wd != 0 { g += wd * p[i] }
            b[i] = first ? g : mu * b[i] + (1 - damp) * g
            p[i] -= lr * (nesterov ? g + mu * b[i] : b[i])
        }
    }
}
