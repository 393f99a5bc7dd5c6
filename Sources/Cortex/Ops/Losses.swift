import Foundation

// Regression and binary losses as single fused kernels: each is one pass that writes the
// loss and its derivative, so the piecewise Huber needs no select op and the logistic loss
// stays finite for any logit. Each has a finite-difference check in LossTests.
// Cross-entropy over classes is `crossEntropy(logits:targets:…)` in the core kernels.

/// Mean squared error, as `torch.nn.functional.mse_loss`: `ℓᵢ = (xᵢ − tᵢ)²`, then reduced.
public func mseLoss(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
    elementwiseLoss("mseLoss", input, target, reduction) { x, t in
        let d = x - t
        return (d * d, 2 * d, -2 * d)
    }
}

/// Huber loss (Huber 1964), as `torch.nn.functional.huber_loss`:
/// `ℓᵢ = ½dᵢ²` if `|dᵢ| < δ`, else `δ(|dᵢ| − ½δ)`, with `dᵢ = xᵢ − tᵢ`. With δ = 1 it equals
/// smooth L1 and is the loss of the DQN paper (Mnih et al. 2015: "clip the error term to
/// [−1, 1]"). The gradient is `d` clipped to [−δ, δ].
public func huberLoss(_ input: Tensor, _ target: Tensor, delta: Float = 1, reduction: Reduction = .mean) -> Tensor {
    precondition(delta > 0, "huberLoss: delta must be positive, got \(delta)")
    return elementwiseLoss("huberLoss", input, target, reduction) { x, t in
        let d = x - t
        if abs(d) < delta { return (0.5 * d * d, d, -d) }
        let g = d > 0 ? delta : -delta
        return (delta * (abs(d) - 0.5 * delta), g, -g)
    }
}

/// Smooth L1 loss (Girshick 2015, Fast R-CNN), as `torch.nn.functional.smooth_l1_loss`:
/// `ℓᵢ = ½dᵢ²/β` if `|dᵢ| < β`, else `|dᵢ| − ½β`. Equals `huberLoss(delta: β) / β`.
public func smoothL1Loss(_ input: Tensor, _ target: Tensor, beta: Float = 1, reduction: Reduction = .mean) -> Tensor {
    precondition(beta > 0, "smoothL1Loss: beta must be positive, got \(beta)")
    return elementwiseLoss("smoothL1Loss", input, target, reduction) { x, t in
        let d = x - t
        if abs(d) < beta { return (0.5 * d * d / beta, d / beta, -d / beta) }
        let g: Float = d > 0 ? 1 : -1
        return (abs(d) - 0.5 * beta, g, -g)
    }
}

/// Binary cross-entropy on logits, as `torch.nn.functional.binary_cross_entropy_with_logits`:
/// `ℓᵢ = −[tᵢ log σ(xᵢ) + (1 − tᵢ) log(1 − σ(xᵢ))]`, computed in the stable form
/// `max(x, 0) − x·t + log(1 + e^{−|x|})`. Gradient: `σ(x) − t` for the logit, `−x` for the target.
public func binaryCrossEntropyWithLogits(_ logits: Tensor, _ targets: Tensor, reduction: Reduction = .mean) -> Tensor {
    elementwiseLoss("binaryCrossEntropyWithLogits", logits, targets, reduction) { x, t in
        let e = Foundation.exp(-abs(x))
        let sigmoid = x >= 0 ? 1 / (1 + e) : e / (1 + e)
        return (max(x, 0) - x * t + Foundation.log1p(e), sigmoid - t, -x)
    }
}

/// A loss `ℓ(x, t)` applied elementwise then reduced. `f` returns the loss and its partial
/// derivatives with respect to x and t.
private func elementwiseLoss(
    _ name: String, _ input: Tensor, _ target: Tensor, _ reduction: Reduction,
    _ f: (Float, Float) -> (value: Float, dx: Float, dt: Float)
) -> Tensor {
    precondition(
        input.shape == target.shape, "\(name): input shape \(input.shape) differs from target shape \(target.shape)")
    let n = input.count
    let x = input.storage.pointer, t = target.storage.pointer
    let values = TensorStorage(uninitializedCount: n)
    let dx = TensorStorage(uninitializedCount: n), dt = TensorStorage(uninitializedCount: n)
    for i in 0..<n {
        let (value, gx, gt) = f(x[i], t[i])
        values.pointer[i] = value
        dx.pointer[i] = gx
        dt.pointer[i] = gt
    }
    let shape = input.shape
    // The closure keeps the derivative buffers alive and scales them by the upstream gradient.
    func inputGradients(_ g: Tensor, _ scale: Float) -> [Tensor?] {
        [dx, dt].enumerated().map { index, partial -> Tensor? in
            guard (index == 0 ? input : target).requiresGrad else { return nil }
            let out = TensorStorage(uninitializedCount: n)
            if g.count == 1 {
                let s = g.storage.pointer[0] * scale
                for i in 0..<n { out.pointer[i] = partial.pointer[i] * s }
            } else {
                for i in 0..<n { out.pointer[i] = partial.pointer[i] * g.storage.pointer[i] }
            }
            return Tensor(shape: shape, storage: out)
        }
    }
    switch reduction {
    case .none:
        return Tensor.record(name, shape: shape, storage: values, inputs: [input, target]) { g in inputGradients(g, 1) }
    case .sum, .mean:
        var total: Double = 0
        for i in 0..<n { total += Double(values.pointer[i]) }
        let scale: Float = reduction == .mean ? 1 / Float(max(n, 1)) : 1
        let result = TensorStorage(count: 1, repeating: Float(total) * scale)
        return Tensor.record(name, shape: [], storage: result, inputs: [input, target]) { g in inputGradients(g, scale)
        }
    }
}
