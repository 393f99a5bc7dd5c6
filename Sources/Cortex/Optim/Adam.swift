import CKernels
import Foundation

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

    public init(
        _ groups: [ParameterGroup], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
        epsilon: Float = 1e-8, weightDecay: Float = 0, decoupledWeightDecay: Bool = false
    ) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.decoupledWeightDecay = decoupledWeightDecay
        super.init(groups, learningRate: learningRate, weightDecay: weightDecay)
    }

    public override var slotNames: Set<String> { ["exp_avg", "exp_avg_sq"] }

    public override func update(
        parameter p: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>, count: Int,
        shape: [Int], state: ParameterState, learningRate lr: Float, weightDecay wd: Float
    ) {
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
        let e = SIMD4<Float>(repeating: eps), step = SIMD4<Float>(repeating: stepSize),
            l2v = SIMD4<Float>(repeating: l2)
        let wide = Runtime.hasAVX2
        parallelRanges(count, threshold: 1 << 16) { start, end in
            var i = start
            if wide {
                // Same operations, unfused, eight lanes at a time (results equal the SSE loop's).
                i += cortex_adam_avx2(
                    p + i, gradient + i, m + i, v + i, end - i, oneMinusBeta1, beta2, oneMinusBeta2,
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
                UnsafeMutableRawPointer(p + i).storeBytes(
                    of: pv - step * (mv / (vv.squareRoot() * c2 + e)), as: SIMD4<Float>.self)
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
    public init(
        _ groups: [ParameterGroup], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
        epsilon: Float = 1e-8, weightDecay: Float = 0.01
    ) {
        super.init(
            groups, learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
            weightDecay: weightDecay, decoupledWeightDecay: true)
    }
}
