import CKernels
import Foundation

/// Softmax and log-softmax along one axis, numerically stable.
///
/// `softmax(x)ᵢ = exp(xᵢ − m) / Σⱼ exp(xⱼ − m)` and `logSoftmax(x)ᵢ = xᵢ − m − log Σⱼ exp(xⱼ − m)`
/// with `m = maxⱼ xⱼ`: subtracting the maximum keeps every exponent ≤ 0, so logits such as
/// 1000 and 1001 give finite results. Layout: the tensor is viewed as `[outer, L, inner]`
/// with `L` the extent of `axis`; each of the `outer · inner` lines of length `L` (stride
/// `inner`) is normalised on its own.
extension Tensor {
    /// Softmax along `axis` (negative counts from the end). Same shape as `self`.
    ///
    /// Gradient: `∂x = y ⊙ (g − Σ_axis g ⊙ y)`.
    public func softmax(axis: Int = -1) -> Tensor {
        normalized(axis: axis, logarithm: false, op: "softmax")
    }

    /// Log-softmax along `axis` (negative counts from the end). Same shape as `self`.
    ///
    /// Gradient: `∂x = g − softmax(x) · Σ_axis g`, with `softmax(x) = exp(y)`.
    public func logSoftmax(axis: Int = -1) -> Tensor {
        normalized(axis: axis, logarithm: true, op: "logSoftmax")
    }

    private func normalized(axis: Int, logarithm: Bool, op: String) -> Tensor {
        let (outer, length, inner) = softmaxLines(axis: axis, op: op)
        let storage = TensorStorage(uninitializedCount: count)
        Tensor.normalizeLines(
            storage.pointer, from: self.storage.pointer,
            outer: outer, length: length, inner: inner, logarithm: logarithm)
        return Tensor.record(op, shape: shape, storage: storage, inputs: [self]) { gradOut in
            let grad = TensorStorage(uninitializedCount: storage.count)
            let y = storage.pointer, g = gradOut.storage.pointer, dx = grad.pointer
            if inner == 1 && !logarithm {
                let wide = Runtime.hasAVX2 && length % 8 == 0
                KernelParallel.forEachChunk(outer, workPerItem: 4 * length) { lines in
                    if wide {
                        let first = lines.lowerBound * length
                        cortex_softmax_backward_lines_avx2(y + first, g + first, dx + first, lines.count, length)
                        return
                    }
                    for line in lines {
                        let yl = y + line * length, gl = g + line * length, dl = dx + line * length
                        for a in 0..<length { dl[a] = gl[a] * yl[a] }
                        let total = KernelParallel.sum(dl, count: length)
                        for a in 0..<length { dl[a] = yl[a] * (gl[a] - total) }
                    }
                }
                return [Tensor(shape: gradOut.shape, storage: grad)]
            }
            Tensor.forEachLine(outer: outer, length: length, inner: inner) { base in
                // Σ g for log-softmax, Σ g ⊙ y for softmax.
                var total: Float = 0
                for a in 0..<length {
                    let i = base + a * inner
                    total += logarithm ? g[i] : g[i] * y[i]
                }
                for a in 0..<length {
                    let i = base + a * inner
                    dx[i] = logarithm ? g[i] - Foundation.exp(y[i]) * total : y[i] * (g[i] - total)
                }
            }
            return [Tensor(shape: gradOut.shape, storage: grad)]
        }
    }

    /// `(outer, L, inner)` of the lines along `axis`.
    private func softmaxLines(axis: Int, op: String) -> (Int, Int, Int) {
        precondition(rank > 0, "\(op): needs at least one axis, got a scalar")
        let a = self.axis(axis, op: op)
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        return (outer, shape[a], inner)
    }

    /// Writes the softmax (or log-softmax) of every line of `x` into `y`.
    private static func normalizeLines(
        _ y: UnsafeMutablePointer<Float>, from x: UnsafeMutablePointer<Float>,
        outer: Int, length: Int, inner: Int, logarithm: Bool
    ) {
        guard length > 0 else { return }
        if inner == 1 {
            normalizeContiguousLines(y, from: x, count: outer, length: length, logarithm: logarithm)
            return
        }
        forEachLine(outer: outer, length: length, inner: inner) { base in
            var m = -Float.infinity
            for a in 0..<length { m = Swift.max(m, x[base + a * inner]) }
            var total: Float = 0
            for a in 0..<length {
                let i = base + a * inner
                let e = Foundation.exp(x[i] - m)
                y[i] = e
                total += e
            }
            if logarithm {
                // (x − m) − log Σ rather than x − (m + log Σ): exact for the largest logit
                // even when |m| is large, as PyTorch computes it.
                let logTotal = Foundation.log(total)
                for a in 0..<length { y[base + a * inner] = (x[base + a * inner] - m) - logTotal }
            } else {
                let reciprocal = 1 / total
                for a in 0..<length { y[base + a * inner] *= reciprocal }
            }
        }
    }

    /// The last-axis case (attention weights, logits): each line is contiguous, so the
    /// exponentials are one vectorised loop (`fastExp`) and the sum runs in SIMD lanes.
    private static func normalizeContiguousLines(
        _ y: UnsafeMutablePointer<Float>, from x: UnsafeMutablePointer<Float>,
        count: Int, length: Int, logarithm: Bool
    ) {
        let wide = Runtime.hasAVX2 && length % 8 == 0
        KernelParallel.forEachChunk(count, workPerItem: 20 * length) { lines in
            if wide {
                let first = lines.lowerBound * length
                cortex_softmax_lines_avx2(x + first, y + first, lines.count, length, logarithm ? 1 : 0)
                return
            }
            for line in lines {
                let row = x + line * length, out = y + line * length
                var m = -Float.infinity
                for a in 0..<length { m = Swift.max(m, row[a]) }
                for a in 0..<length { out[a] = fastExp(row[a] - m) }
                let total = KernelParallel.sum(out, count: length)
                if logarithm {
                    let logTotal = Foundation.log(total)
                    for a in 0..<length { out[a] = (row[a] - m) - logTotal }
                } else {
                    let reciprocal = 1 / total
                    for a in 0..<length { out[a] *= reciprocal }
                }
            }
        }
    }

    /// Calls `body(base)` for the first element of every line (its elements are
    /// `base + a·inner`, `a < length`); lines are independent, so threads split them.
    @inline(__always)
    private static func forEachLine(outer: Int, length: Int, inner: Int, _ body: (Int) -> Void) {
        // Each element costs an exp (~20 simple operations).
        KernelParallel.forEachChunk(outer * inner, workPerItem: 20 * length) { lines in
            for line in lines { body((line / inner) * length * inner + line % inner) }
        }
    }
}
