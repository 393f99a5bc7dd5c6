import CCBLAS
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

    public init(_ groups: [ParameterGroup], learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                nesterov: Bool = false, weightDecay: Float = 0) {
        precondition(!nesterov || (momentum > 0 && dampening == 0), "SGD: Nesterov needs momentum > 0 and no dampening")
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        super.init(groups, learningRate: learningRate, weightDecay: weightDecay)
    }

    public override var slotNames: Set<String> { ["momentum_buffer"] }

    public override func update(parameter p: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>, count: Int,
                                shape: [Int], state: ParameterState, learningRate lr: Float, weightDecay wd: Float) {
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

/// Adam (Kingma & Ba 2015), as `torch.optim.Adam`; with `decoupledWeightDecay` it is AdamW
/// (Loshchilov & Hutter 2019). With step count t:
/// ```
/// θ ← θ·(1 − η·λ)              (AdamW only)        g ← ∇ + λ·θ   (Adam only, L2 form)
/// m ← m + (1 − β₁)·(g − m)                         (PyTorch's lerp)
/// v ← β₂·v + (1 − β₂)·g²
/// θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
/// ```
/// Slots: `exp_avg` (m), `exp_avg_sq` (v). Defaults: β = (0.9, 0.999), ε = 1e-8.
public class Adam: Optimizer {
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    /// AdamW's decay θ ← θ(1 − ηλ) applied to the weights, instead of adding λθ to the gradient.
    public var decoupledWeightDecay: Bool

    public init(_ groups: [ParameterGroup], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0, decoupledWeightDecay: Bool = false) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.decoupledWeightDecay = decoupledWeightDecay
        super.init(groups, learningRate: learningRate, weightDecay: weightDecay)
    }

    public override var slotNames: Set<String> { ["exp_avg", "exp_avg_sq"] }

    public override func update(parameter p: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>, count: Int,
                                shape: [Int], state: ParameterState, learningRate lr: Float, weightDecay wd: Float) {
        let m = state.slot("exp_avg", shape: shape)
        let v = state.slot("exp_avg_sq", shape: shape)
        let t = Double(state.step)
        let stepSize = Float(Double(lr) / (1 - Foundation.pow(Double(beta1), t)))
        let correction2 = Float((1 - Foundation.pow(Double(beta2), t)).squareRoot())
        let oneMinusBeta1 = 1 - beta1, beta2 = beta2, oneMinusBeta2 = 1 - beta2, eps = epsilon
        if decoupledWeightDecay && wd != 0 {
            let shrink = 1 - lr * wd
            for i in 0..<count { p[i] *= shrink }
        }
        let l2 = decoupledWeightDecay ? 0 : wd
        // Four lanes (one SSE register: wider vectors spill on the baseline x86-64 target) and
        // two threads on large tensors: the square root and division do not vectorise through
        // the scalar loop's possible aliasing, and this loop dominates a small network's step.
        let b1 = SIMD4<Float>(repeating: oneMinusBeta1), b2 = SIMD4<Float>(repeating: beta2)
        let ob2 = SIMD4<Float>(repeating: oneMinusBeta2), c2 = SIMD4<Float>(repeating: 1 / correction2)
        let e = SIMD4<Float>(repeating: eps), step = SIMD4<Float>(repeating: stepSize), l2v = SIMD4<Float>(repeating: l2)
        let wide = Runtime.hasAVX2
        parallelRanges(count, threshold: 1 << 16) { start, end in
            var i = start
            if wide {
                // Same operations, unfused, eight lanes at a time (results equal the SSE loop's).
                i += cortex_adam_avx2(p + i, gradient + i, m + i, v + i, end - i, oneMinusBeta1, beta2, oneMinusBeta2,
                                      1 / correction2, eps, stepSize, l2)
            }
            while i + 4 <= end {
                let pv = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD4<Float>.self)
                let g = UnsafeRawPointer(gradient + i).loadUnaligned(as: SIMD4<Float>.self) + l2v * pv
                var mv = UnsafeRawPointer(m + i).loadUnaligned(as: SIMD4<Float>.self)
                var vv = UnsafeRawPointer(v + i).loadUnaligned(as: SIMD4<Float>.self)
                mv += b1 * (g - mv)
                vv = b2 * vv + ob2 * g * g
                UnsafeMutableRawPointer(m + i).storeBytes(of: mv, as: SIMD4<Float>.self)
                UnsafeMutableRawPointer(v + i).storeBytes(of: vv, as: SIMD4<Float>.self)
                UnsafeMutableRawPointer(p + i).storeBytes(of: pv - step * (mv / (vv.squareRoot() * c2 + e)), as: SIMD4<Float>.self)
                i += 4
            }
            while i < end {
                let g = gradient[i] + l2 * p[i]
                m[i] += oneMinusBeta1 * (g - m[i])
                v[i] = beta2 * v[i] + oneMinusBeta2 * g * g
                p[i] -= stepSize * (m[i] / (v[i].squareRoot() / correction2 + eps))
                i += 1
            }
        }
    }
}

/// AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization"): Adam whose
/// weight decay shrinks the weights directly, θ ← θ·(1 − η·λ), as `torch.optim.AdamW`
/// (default λ = 0.01).
public final class AdamW: Adam {
    public init(_ groups: [ParameterGroup], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0.01) {
        super.init(groups, learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                   weightDecay: weightDecay, decoupledWeightDecay: true)
    }
}

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

    public init(_ groups: [ParameterGroup], learningRate: Float = 0.01, alpha: Float = 0.99, epsilon: Float = 1e-8,
                momentum: Float = 0, centered: Bool = false, epsilonInsideSquareRoot: Bool = false, weightDecay: Float = 0) {
        self.alpha = alpha
        self.epsilon = epsilon
        self.momentum = momentum
        self.centered = centered
        self.epsilonInsideSquareRoot = epsilonInsideSquareRoot
        super.init(groups, learningRate: learningRate, weightDecay: weightDecay)
    }

    public override var slotNames: Set<String> { ["square_avg", "grad_avg", "momentum_buffer"] }

    public override func update(parameter p: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>, count: Int,
                                shape: [Int], state: ParameterState, learningRate lr: Float, weightDecay wd: Float) {
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
