import CCBLAS
import CKernels

// Matrix products through OpenBLAS `cblas_sgemm`. Transposed operands are passed as BLAS
// transpose flags, never copied; the backward products use the same flags.

/// One GEMM: C = alpha·op(A)·op(B) + beta·C on row-major matrices, op(X) = Xᵀ when `tX`.
/// A is m×k after op, B is k×n after op, C is m×n.
@inline(__always)
func gemm(
    _ tA: Bool, _ tB: Bool, _ m: Int, _ n: Int, _ k: Int,
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
    alpha: Float = 1, beta: Float = 0
) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        if beta == 0 { c.update(repeating: 0, count: m * n) }
        return
    }
    cblas_sgemm(
        CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(tA ? m : k), b, Int32(tB ? k : n),
        beta, c, Int32(n))
}

/// The batched layout of one product: broadcast batch shape and per-batch matrix offsets.
private struct BatchedProduct {
    var batchShape: [Int]
    var offsetsA: [Int], offsetsB: [Int]
    /// Whether some matrix of A (of B) is used by several batch entries.
    var sharesA: Bool, sharesB: Bool
    var m: Int, n: Int, k: Int

    init(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool) {
        precondition(a.rank >= 2 && b.rank >= 2, "matmul: operands need rank ≥ 2, got \(a.shape) and \(b.shape)")
        let (ra, ca) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (rb, cb) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        m = transposeA ? ca : ra
        k = transposeA ? ra : ca
        let kb = transposeB ? cb : rb
        n = transposeB ? rb : cb
        precondition(
            k == kb,
            "matmul: inner dimensions differ: \(a.shape)\(transposeA ? "ᵀ" : "") × \(b.shape)\(transposeB ? "ᵀ" : "")")
        let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
        batchShape = Tensor.broadcastShape(batchA, batchB, op: "matmul batch of \(a.shape) × \(b.shape)")
        let count = batchShape.reduce(1, *)
        let plan = BroadcastPlan(batchA, batchB, output: batchShape)
        var offsetsA: [Int] = [], offsetsB: [Int] = []
        offsetsA.reserveCapacity(count)
        offsetsB.reserveCapacity(count)
        let sizeA = ra * ca, sizeB = rb * cb
        plan.forEachRow { _, ia, ib in
            for j in 0..<plan.inner {
                offsetsA.append((ia + j * plan.innerStrideA) * sizeA)
                offsetsB.append((ib + j * plan.innerStrideB) * sizeB)
            }
        }
        self.offsetsA = offsetsA
        self.offsetsB = offsetsB
        sharesA = batchA.reduce(1, *) < count
        sharesB = batchB.reduce(1, *) < count
    }

    /// The gradient of one operand of `shape`, written one batch entry at a time by
    /// `product(entry, destination, beta)`. A matrix shared by several entries accumulates
    /// (beta 1) into zeroed memory.
    func gradient(
        _ shape: [Int], offsets: [Int], shared: Bool,
        _ product: (Int, UnsafeMutablePointer<Float>, Float) -> Void
    ) -> Tensor {
        let count = shape.reduce(1, *)
        let grad = shared ? TensorStorage(count: count) : TensorStorage(uninitializedCount: count)
        for i in 0..<offsets.count { product(i, grad.pointer + offsets[i], shared ? 1 : 0) }
        return Tensor(shape: shape, storage: grad)
    }
}

/// Matrix product op(a)·op(b) with op = transpose of the last two axes when asked.
///
/// Layout: a is [..., M, K] (or [..., K, M] with `transposeA`), b is [..., K, N] (or
/// [..., N, K]); leading batch axes broadcast (e.g. [B,H,T,D]×[B,H,D,T], [B,T,C]×[C,D]);
/// the result is [batch..., M, N]. A batched `a` times a 2-D `b` runs as one GEMM with the
/// batch folded into M. Gradients: ∂a = g·op(b)ᵀ, ∂b = op(a)ᵀ·g, each one GEMM per batch
/// entry with transpose flags, summed over broadcast batch entries.
///
/// As in PyTorch, a 1-D `a` is a row [1, K] and a 1-D `b` a column [K, 1], and that unit
/// axis is removed from the result (vector · vector gives rank 0).
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    if a.rank == 1 && b.rank == 1 {
        precondition(a.count == b.count, "matmul: vectors of shapes \(a.shape) and \(b.shape) differ in length")
        return matmul(a.unsqueezed(axis: 0), b.unsqueezed(axis: 1)).reshaped([])
    }
    if a.rank == 1 {
        return matmul(a.unsqueezed(axis: 0), b, transposeB: transposeB).squeezed(axis: -2)
    }
    if b.rank == 1 {
        return matmul(a, b.unsqueezed(axis: 1), transposeA: transposeA).squeezed(axis: -1)
    }
    if b.rank == 2 && !transposeA && a.rank >= 2 {
        return foldedMatmul(a, b, transposeB: transposeB)
    }
    let p = BatchedProduct(a, b, transposeA: transposeA, transposeB: transposeB)
    let (m, n, k) = (p.m, p.n, p.k)
    let shape = p.batchShape + [m, n]
    let storage = TensorStorage(uninitializedCount: shape.reduce(1, *))
    let x = a.storage.pointer, y = b.storage.pointer, out = storage.pointer
    for i in 0..<p.offsetsA.count {
        gemm(transposeA, transposeB, m, n, k, x + p.offsetsA[i], y + p.offsetsB[i], out + i * m * n)
    }
    return Tensor.record("matmul", shape: shape, storage: storage, inputs: [a, b]) { g in
        let dC = g.storage.pointer
        let gradA =
            !a.requiresGrad
            ? nil
            : p.gradient(a.shape, offsets: p.offsetsA, shared: p.sharesA) { i, dA, beta in
                let B = y + p.offsetsB[i], G = dC + i * m * n
                if transposeA {
                    gemm(transposeB, true, k, m, n, B, G, dA, beta: beta)  // dA (k×m) = op(B)·Gᵀ
                } else {
                    gemm(false, !transposeB, m, k, n, G, B, dA, beta: beta)  // dA (m×k) = G·op(B)ᵀ
                }
            }
        let gradB =
            !b.requiresGrad
            ? nil
            : p.gradient(b.shape, offsets: p.offsetsB, shared: p.sharesB) { i, dB, beta in
                let A = x + p.offsetsA[i], G = dC + i * m * n
                if transposeB {
                    gemm(true, transposeA, n, k, m, G, A, dB, beta: beta)  // dB (n×k) = Gᵀ·op(A)
                } else {
                    gemm(!transposeA, false, k, n, m, A, G, dB, beta: beta)  // dB (k×n) = op(A)ᵀ·G
                }
            }
        return [gradA, gradB]
    }
}

/// [..., M, K] × [K, N] (or [N, K] with `transposeB`) as one [M·batch, K] GEMM.
private func foldedMatmul(_ a: Tensor, _ b: Tensor, transposeB: Bool) -> Tensor {
    let k = a.shape[a.rank - 1], rows = a.shape.dropLast().reduce(1, *)
    let n = transposeB ? b.shape[0] : b.shape[1]
    let kb = transposeB ? b.shape[1] : b.shape[0]
    precondition(k == kb, "matmul: inner dimensions differ: \(a.shape) × \(b.shape)\(transposeB ? "ᵀ" : "")")
    let shape = Array(a.shape.dropLast()) + [n]
    let storage = TensorStorage(uninitializedCount: rows * n)
    gemm(false, transposeB, rows, n, k, a.storage.pointer, b.storage.pointer, storage.pointer)
    return Tensor.record("matmul", shape: shape, storage: storage, inputs: [a, b]) { g in
        var gradA: Tensor? = nil, gradB: Tensor? = nil
        if a.requiresGrad {
            let grad = TensorStorage(uninitializedCount: a.count)
            gemm(false, !transposeB, rows, k, n, g.storage.pointer, b.storage.pointer, grad.pointer)
            gradA = Tensor(shape: a.shape, storage: grad)
        }
        if b.requiresGrad {
            let grad = TensorStorage(uninitializedCount: b.count)
            if transposeB {
                gemm(true, false, n, k, rows, g.storage.pointer, a.storage.pointer, grad.pointer)
            } else {
                gemm(true, false, k, n, rows, a.storage.pointer, g.storage.pointer, grad.pointer)
            }
            gradB = Tensor(shape: b.shape, storage: grad)
        }
        return [gradA, gradB]
    }
}

/// Fully connected map x·Wᵀ + b in one GEMM, as PyTorch's `F.linear`.
///
/// Layout: x [..., in], weight [out, in], bias [out] (optional); result [..., out]. The bias
/// is written into the output first and the GEMM adds to it (beta 1).
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
    precondition(
        weight.rank == 2 && x.rank >= 1 && x.shape[x.rank - 1] == weight.shape[1],
        "linear: input \(x.shape) does not match weight \(weight.shape) (expected [out, in])")
    let outFeatures = weight.shape[0], inFeatures = weight.shape[1]
    let rows = x.shape.dropLast().reduce(1, *)
    let shape = Array(x.shape.dropLast()) + [outFeatures]
    let storage = TensorStorage(uninitializedCount: rows * outFeatures)
    var inputs = [x, weight]
    if let bias {
        precondition(bias.shape == [outFeatures], "linear: bias \(bias.shape) does not match weight \(weight.shape)")
        inputs.append(bias)
        for r in 0..<rows { (storage.pointer + r * outFeatures).update(from: bias.storage.pointer, count: outFeatures) }
    }
    linearForward(
        x.storage.pointer, rows: rows, inFeatures: inFeatures, weight: weight.storage.pointer,
        outFeatures: outFeatures, into: storage.pointer, accumulate: bias != nil)
    return Tensor.record("linear", shape: shape, storage: storage, inputs: inputs) { g in
        var grads: [Tensor?] = [nil, nil]
        let gradX = x.requiresGrad ? TensorStorage(uninitializedCount: x.count) : nil
        let gradW = weight.requiresGrad ? TensorStorage(uninitializedCount: weight.count) : nil
        // ∂x = ∂y·W and ∂W = ∂yᵀ·x are independent: with single-threaded BLAS and a second
        // kernel thread they run side by side.
        func product(_ which: Int) {
            if which == 0, let gradX {
                gemm(
                    false, false, rows, inFeatures, outFeatures, g.storage.pointer, weight.storage.pointer,
                    gradX.pointer)
            } else if which == 1, let gradW {
                gemm(true, false, outFeatures, inFeatures, rows, g.storage.pointer, x.storage.pointer, gradW.pointer)
            }
        }
        if gradX != nil && gradW != nil && Runtime.blasThreads == 1 && Runtime.kernelThreads > 1
            && rows * inFeatures * outFeatures >= 1 << 20
        {
            WorkerTeam.shared.perform(2, threads: 2) { _, which in product(which) }
        } else {
            product(0)
            product(1)
        }
        if let gradX { grads[0] = Tensor(shape: x.shape, storage: gradX) }
        if let gradW { grads[1] = Tensor(shape: weight.shape, storage: gradW) }
        if let bias {
            grads.append(bias.requiresGrad ? g.sumToShape(bias.shape) : nil)
        }
        return grads
    }
}

/// `y (+)= x·Wᵀ` for x [rows, in] and W [out, in]. A few long rows (the batch of a DQN update or
/// of acting, into a wide layer) go through `cortex_linear_rows_avx2`, which reads W in place
/// where OpenBLAS packs all of W on every call: the MinAtar DQN update (1024 → 128 at batch 32)
/// became 27 % faster; on the Nature net's 3136 → 512 layer the AVX2 kernel only matches
/// OpenBLAS's AVX-512 one with its packing, the AVX-512 variant (`cortex_linear_rows_avx512`,
/// four rows × six outputs) is 15–20 % faster than both (docs/speed.md). Everything else is one
/// `cblas_sgemm`.
func linearForward(
    _ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, weight: UnsafePointer<Float>, outFeatures: Int,
    into y: UnsafeMutablePointer<Float>, accumulate: Bool
) {
    guard Runtime.hasAVX2 && rows <= linearRowsLimit && inFeatures >= 256 && rows > 0 && outFeatures > 0 else {
        gemm(false, true, rows, outFeatures, inFeatures, x, weight, y, beta: accumulate ? 1 : 0)
        return
    }
    // The kernels' outputs at a time: six with AVX-512, three with AVX2.
    let (outputs, kernel) =
        Runtime.usesAVX512 ? (6, cortex_linear_rows_avx512) : (3, cortex_linear_rows_avx2)
    let blocks = (outFeatures + outputs - 1) / outputs
    KernelParallel.forEachChunk(blocks, workPerItem: outputs * rows * inFeatures) { range in
        kernel(
            x, rows, inFeatures, weight, y, outFeatures, range.lowerBound * outputs,
            min(range.upperBound * outputs, outFeatures), accumulate ? 1 : 0)
    }
}

/// `y (+)= x·W` for a few rows x [rows, K] (rows `ldx` apart) and a row-major W [K, N] (rows `ldw`
/// apart) into y (rows `ldy` apart): a recurrent layer's step, forward (h·W_hhᵀ with W_hh
/// transposed once per sequence) and backward (dgates·W_hh). With AVX-512, up to 32 rows and at
/// least 256 of K go through `cortex_rows_times_matrix_avx512`, which reads W in place (OpenBLAS
/// packs all of it on every call: an LSTM 2×256 backward step at batch 32 took 0.192 ms in
/// OpenBLAS, 0.148 ms in the kernel); everything else is one `cblas_sgemm`.
func rowsTimesMatrix(
    _ x: UnsafePointer<Float>, rows: Int, ldx: Int, _ w: UnsafePointer<Float>, k: Int, n: Int, ldw: Int,
    into y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool
) {
    guard rowsTimesMatrixRunsKernel(rows: rows, k: k) && n > 0 else {
        stridedGemm(false, false, rows, n, k, x, ldx, w, ldw, y, ldy, beta: accumulate ? 1 : 0)
        return
    }
    let blocks = (n + 31) / 32  // the kernel's 32 columns at a time
    KernelParallel.forEachChunk(blocks, workPerItem: 32 * rows * k) { range in
        cortex_rows_times_matrix_avx512(
            x, rows, ldx, k, w, ldw, y, ldy, range.lowerBound * 32, min(range.upperBound * 32, n), accumulate ? 1 : 0)
    }
}

/// Whether `rowsTimesMatrix` runs its kernel for this many rows and this K.
func rowsTimesMatrixRunsKernel(rows: Int, k: Int) -> Bool {
    Runtime.usesAVX512 && rows > 0 && rows <= linearRowsLimit && k >= 256
}

/// Rows up to which `linearForward` reads the weights in place: the DQN batches (each block of
/// four rows reads W again, from cache); larger batches keep OpenBLAS, not measured here.
let linearRowsLimit = 32

extension Tensor {
    /// `matmul(self, other)`.
    public func matmul(_ other: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        Cortex.matmul(self, other, transposeA: transposeA, transposeB: transposeB)
    }
}
