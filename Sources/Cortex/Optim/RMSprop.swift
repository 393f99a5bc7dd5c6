import Foundation

/// RMSprop (Tieleman & Hinton 2012, lecture 6e), as `torch.optim.RMSprop`:
/// ```
/// g ← ∇ + λ·θ
/// s ← α·s + (1 − α)·g²
/// ḡ ← ḡ + (1 − α)·(g − ḡ)                  (centered only)
/// d ← √(s − ḡ²) + ε   (centered)   or   √s + ε
/// b ← μ·b + g / d,  θ ← θ − η·b            (momentum μ > 0)
/// θ ← θ − η·g / d                          (μ = 0)
/// ```
/// Slots: `square_avg` (s), `grad_avg` (ḡ, centered), `momentum_buffer` (b, μ > 0).
/// Defaults: η = 0.01, α = 0.99, ε = 1e-8.
///
/// The DQN paper (Mnih et al. 2015: η = 0.00025, α = 0.95, momentum 0.95, ε = 0.01) used
/// DeepMind's centered RMSProp (Graves 2013, eq. 38–41), which puts ε *inside* the root,
/// `d = √(s − ḡ² + ε)`, and whose "gradient momentum 0.95" is α for ḡ, not μ. Set
/// `epsilonInsideSquareRoot` (with `centered`) for that form; PyTorch's form adds ε outside.
public final class RMSprop: Optimizer {
    public var alpha: Float
    public var epsilon: Float
    public var momentum: Float
    public var centered: Bool
    /// Graves' form: d = √(s − ḡ² + ε) instead of √(s − ḡ²) + ε.
    public var epsilonInsideSquareRoot: Bool

    public init(
        _ groups: [ParameterGroup], learningRate: Float = 0.01, alpha: Float = 0.99, epsilon: Float = 1e-8,
        momentum: Float = 0, centered: Bool = false, epsilonInsideSquareRoot: Bool = false, weightDecay: Float = 0
    ) {
        self.alpha = alpha
        self.epsilon = epsilon
        self.momentum = momentum
        self.centered = centered
        self.epsilonInsideSquareRoot = epsilonInsideSquareRoot
        super.init(groups, learningRate: learningRate, weightDecay: weightDecay)
    }

    public override var slotNames: Set<String> { ["square_avg", "grad_avg", "momentum_buffer"] }

    public override func update(
        parameter p: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>, count: Int,
        shape: [Int], state: ParameterState, learningRate lr: Float, weightDecay wd: Float
    ) {
        let s = state.slot("square_avg", shape: shape)
        let ga: UnsafeMutablePointer<Float>? = centered ? state.slot("grad_avg", shape: shape) : nil
        let b: UnsafeMutablePointer<Float>? = momentum > 0 ? state.slot("momentum_buffer", shape: shape) : nil
        let alpha = alpha, oneMinusAlpha = 1 - alpha, eps = epsilon, mu = momentum, inside = epsilonInsideSquareRoot
        for i in 0..<count {
            var g = gradient[i]
            if wd != 0 { g += wd * p[i] }
            s[i] = alpha * s[i] + oneMinusAlpha * g * g
            var variance = s[i]
            if let ga {
                ga[i] += oneMinusAlpha * (g - ga[i])
                variance -= ga[i] * ga[i]
            }
            let d = inside ? (variance + eps).squareRoot() : variance.squareRoot() + eps
            if let b {
                b[i] = mu * b[i] + g / d
                p[i] -= lr * b[i]
            } else {
                p[i] -= lr * (g / d)
            }
        }
    }
}
