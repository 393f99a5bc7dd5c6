import Foundation

/// Cross-entropy from logits with integer class targets: log-softmax and negative
/// log-likelihood fused in one stable pass, as PyTorch's `F.cross_entropy`.
///
/// Layout: `logits` is `[N, C]`, or `[B, T, C]` (any leading axes, flattened to `N` rows);
/// `targets` holds one class in `0..<C` per row, in row-major order of the leading axes.
///
/// Per row `i` with target `t`, `log pᵢⱼ = xᵢⱼ − logsumexp(xᵢ)` and, with label smoothing `ε`
/// (Szegedy et al. 2016, "Rethinking the Inception Architecture"), the target distribution is
/// `(1 − ε)·onehot(t) + ε/C`, so
/// `lossᵢ = −(1 − ε)·log pᵢₜ − (ε/C)·Σⱼ log pᵢⱼ`.
/// Rows whose target equals `ignoreIndex` contribute 0 and are left out of the mean's
/// denominator (PyTorch's rule; if every row is ignored the mean is 0/0 = NaN, as there).
///
/// Gradient: `∂xᵢⱼ = wᵢ · (pᵢⱼ − (1 − ε)·[j = t] − ε/C)`, `wᵢ` the upstream gradient
/// times 1/(rows counted) for `.mean`, 0 for ignored rows.
///
/// - Returns: a scalar (`[]`) for `.mean` and `.sum`, the leading shape for `.none`.
public func crossEntropy(
    logits: Tensor, targets: [Int], labelSmoothing: Float = 0, ignoreIndex: Int? = nil,
    reduction: Reduction = .mean
) -> Tensor {
    let (rows, classes) = classRows(logits, targets: targets, op: "crossEntropy")
    precondition(
        labelSmoothing >= 0 && labelSmoothing <= 1,
        "crossEntropy: labelSmoothing \(labelSmoothing) outside [0, 1]")
    for target in targets where target != ignoreIndex {
        precondition(
            target >= 0 && target < classes,
            "crossEntropy: target \(target) out of range for \(classes) classes (logits shape \(logits.shape))")
    }
    let epsilon = labelSmoothing
    let x = logits.storage.pointer
    // Per row, the max m and log Σ exp(x − m), kept for the backward pass (softmax is
    // recomputed from them). log p = (x − m) − log Σ stays exact for large logits.
    var normalizers = [Float](repeating: 0, count: 2 * rows)
    let losses = TensorStorage(uninitializedCount: rows)
    var counted = 0
    normalizers.withUnsafeMutableBufferPointer { normalizer in
        for i in 0..<rows {
            let target = targets[i]
            if target == ignoreIndex {
                losses.pointer[i] = 0
                continue
            }
            counted += 1
            let row = x + i * classes
            var m = -Float.infinity
            for j in 0..<classes { m = max(m, row[j]) }
            var total: Float = 0, shiftedSum: Float = 0
            for j in 0..<classes {
                total += Foundation.exp(row[j] - m)
                shiftedSum += row[j] - m
            }
            let logTotal = Foundation.log(total)
            normalizer[2 * i] = m
            normalizer[2 * i + 1] = logTotal
            // Σⱼ log pᵢⱼ = Σⱼ (xᵢⱼ − m) − C·log Σ
            let sumLogP = shiftedSum - Float(classes) * logTotal
            let targetLogP = (row[target] - m) - logTotal
            losses.pointer[i] = -(1 - epsilon) * targetLogP - epsilon / Float(classes) * sumLogP
        }
    }
    let (outputShape, value) = reduction.combine(losses, shape: Array(logits.shape.dropLast()), counted: counted)
    return Tensor.record("crossEntropy", shape: outputShape, storage: value, inputs: [logits]) { gradOut in
        let grad = TensorStorage(uninitializedCount: rows * classes)
        let g = gradOut.storage.pointer, dx = grad.pointer
        let uniform = epsilon / Float(classes)
        normalizers.withUnsafeBufferPointer { normalizer in
            for i in 0..<rows {
                let out = dx + i * classes
                let target = targets[i]
                if target == ignoreIndex {
                    out.update(repeating: 0, count: classes)
                    continue
                }
                let weight = reduction.upstream(g, i, counted: counted)
                let row = x + i * classes, m = normalizer[2 * i], logTotal = normalizer[2 * i + 1]
                for j in 0..<classes { out[j] = weight * (Foundation.exp((row[j] - m) - logTotal) - uniform) }
                out[target] -= weight * (1 - epsilon)
            }
        }
        return [Tensor(shape: logits.shape, storage: grad)]
    }
}

/// Negative log-likelihood of integer targets given log-probabilities, as PyTorch's `F.nll_loss`.
///
/// `lossᵢ = −logProbs[i, targets[i]]`; `logProbs` is `[N, C]` (or leading axes flattened).
/// Rows whose target is `ignoreIndex` give 0 and leave the mean's denominator.
/// Gradient: `−wᵢ` at the target entry of each counted row, 0 elsewhere.
public func nllLoss(
    logProbs: Tensor, targets: [Int], ignoreIndex: Int? = nil,
    reduction: Reduction = .mean
) -> Tensor {
    let (rows, classes) = classRows(logProbs, targets: targets, op: "nllLoss")
    let x = logProbs.storage.pointer
    let losses = TensorStorage(uninitializedCount: rows)
    var counted = 0
    for i in 0..<rows {
        let target = targets[i]
        if target == ignoreIndex {
            losses.pointer[i] = 0
            continue
        }
        precondition(
            target >= 0 && target < classes,
            "nllLoss: target \(target) out of range for \(classes) classes (logProbs shape \(logProbs.shape))")
        counted += 1
        losses.pointer[i] = -x[i * classes + target]
    }
    let (outputShape, value) = reduction.combine(losses, shape: Array(logProbs.shape.dropLast()), counted: counted)
    return Tensor.record("nllLoss", shape: outputShape, storage: value, inputs: [logProbs]) { gradOut in
        let grad = TensorStorage(count: rows * classes, repeating: 0)
        let g = gradOut.storage.pointer
        for i in 0..<rows where targets[i] != ignoreIndex {
            grad.pointer[i * classes + targets[i]] = -reduction.upstream(g, i, counted: counted)
        }
        return [Tensor(shape: logProbs.shape, storage: grad)]
    }
}

/// `(N, C)` of class scores `[…, C]` with one target per row; stops if the counts disagree.
private func classRows(_ scores: Tensor, targets: [Int], op: String) -> (rows: Int, classes: Int) {
    precondition(
        scores.rank >= 1 && scores.shape[scores.rank - 1] > 0,
        "\(op): scores need a non-empty class axis, got shape \(scores.shape)")
    let classes = scores.shape[scores.rank - 1]
    let rows = scores.count / classes
    precondition(
        targets.count == rows, "\(op): scores of shape \(scores.shape) have \(rows) rows but \(targets.count) targets")
    return (rows, classes)
}
