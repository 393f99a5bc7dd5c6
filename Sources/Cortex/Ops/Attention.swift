import CCBLAS
import CKernels

// Scaled dot-product attention (Vaswani et al. 2017, "Attention Is All You Need") as one fused
// op with its own backward. Queries, keys and values are read in place through strides, so the
// fused QKV projection of a Transformer ([B, T, 3C]) feeds the kernel without a permute, and the
// result is written straight into [B, T, C] with the heads side by side.

/// Where one operand of the attention kernel lives: element `[b, h, t, d]` is at
/// `offset + b·batch + h·head + t·row + d`.
struct AttentionOperand {
    var offset: Int, batch: Int, head: Int, row: Int

    /// A contiguous `[B, H, T, D]` tensor.
    static func contiguous(heads H: Int, length T: Int, width D: Int) -> AttentionOperand {
        AttentionOperand(offset: 0, batch: H * T * D, head: T * D, row: D)
    }

    /// Part `part` (0 = q, 1 = k, 2 = v) of a fused `[B, T, 3C]` projection, head h at columns h·D.
    static func packed(part: Int, length T: Int, width C: Int, headWidth D: Int) -> AttentionOperand {
        AttentionOperand(offset: part * C, batch: T * 3 * C, head: D, row: 3 * C)
    }

    @inline(__always) func base(_ b: Int, _ h: Int) -> Int { offset + b * batch + h * head }
}

/// Sizes and masks of one attention call.
struct AttentionShape {
    var B: Int, H: Int, Tq: Int, Tk: Int, D: Int, Dv: Int
    var scale: Float
    var causal: Bool
    /// `B·Tk` flags, true where a key is padding (PyTorch's `key_padding_mask`).
    var keyPadding: [Bool]?

    /// The keys query `i` may see, `0..<end`, and whether key `j` is hidden by padding.
    @inline(__always) func visibleEnd(_ i: Int) -> Int { causal ? Swift.min(Tk, i + Tk - Tq + 1) : Tk }
}

/// `C = alpha·op(A)·op(B) + beta·C` with explicit leading dimensions (row-major).
@inline(__always)
func stridedGemm(
    _ tA: Bool, _ tB: Bool, _ m: Int, _ n: Int, _ k: Int,
    _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
    _ c: UnsafeMutablePointer<Float>, _ ldc: Int, alpha: Float = 1, beta: Float = 0
) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
        return
    }
    cblas_sgemm(
        CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// max of `p[0..<count]` (−∞ when empty) with eight lanes, since a scalar max loop does not vectorise.
@inline(__always)
func rowMaximum(_ p: UnsafePointer<Float>, count: Int) -> Float {
    var lanes = SIMD8<Float>(repeating: -.infinity)
    let raw = UnsafeRawPointer(p)
    var i = 0
    while i + 8 <= count {
        let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        lanes.replace(with: v, where: v .> lanes)
        i += 8
    }
    var m = lanes.max()
    while i < count {
        m = Swift.max(m, p[i])
        i += 1
    }
    return m
}

/// `Σ a[j]·b[j]` with eight accumulators.
@inline(__always)
func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var lanes = SIMD8<Float>()
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    var i = 0
    while i + 8 <= count {
        lanes +=
            ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    var total = lanes.sum()
    while i < count {
        total += a[i] * b[i]
        i += 1
    }
    return total
}

/// The fused kernel: forward writes the output and the attention probabilities; the returned
/// tensor's backward writes dQ, dK, dV into the given gradient layouts.
enum AttentionKernel {
    /// Runs `body(b, h)` for every batch entry and head, split over the runtime's threads
    /// when the work is worth it (each pair is a few small GEMMs).
    static func forEachPair(_ shape: AttentionShape, _ body: (Int, Int) -> Void) {
        let pairs = shape.B * shape.H
        let work = shape.Tq * shape.Tk * (shape.D + shape.Dv)
        if Runtime.blasThreads > 1 && pairs > 1 && pairs * work >= 1 << 16 {
            KernelParallel.forEachItem(pairs, workers: Swift.min(Runtime.blasThreads, pairs)) { _, pair in
                body(pair / shape.H, pair % shape.H)
            }
        } else {
            for pair in 0..<pairs { body(pair / shape.H, pair % shape.H) }
        }
    }

    /// softmax(scale·QKᵀ + mask)·V into `out`; probabilities `[B, H, Tq, Tk]` into `probs`.
    static func forward(
        _ s: AttentionShape,
        q: UnsafePointer<Float>, _ ql: AttentionOperand,
        k: UnsafePointer<Float>, _ kl: AttentionOperand,
        v: UnsafePointer<Float>, _ vl: AttentionOperand,
        out: UnsafeMutablePointer<Float>, _ ol: AttentionOperand,
        probs: UnsafeMutablePointer<Float>
    ) {
        forEachPair(s) { b, h in
            let p = probs + (b * s.H + h) * s.Tq * s.Tk
            // (Tq, D)·(Tk, D)ᵀ → (Tq, Tk)
            stridedGemm(
                false, true, s.Tq, s.Tk, s.D, q + ql.base(b, h), ql.row, k + kl.base(b, h), kl.row,
                p, s.Tk, alpha: s.scale)
            let padding = s.keyPadding
            if padding == nil && Runtime.hasAVX2 {
                // Without padding each row is a softmax over its visible prefix (vectorised with
                // masked tails: the scalar loop below took 10 % of a ViT training step).
                for i in 0..<s.Tq { cortex_softmax_prefix_avx2(p + i * s.Tk, s.visibleEnd(i), s.Tk) }
            } else {
            for i in 0..<s.Tq {
                let row = p + i * s.Tk
                let end = s.visibleEnd(i)
                if let padding {
                    for j in 0..<end where padding[b * s.Tk + j] { row[j] = -.infinity }
                }
                let m = rowMaximum(row, count: end)
                if m == -Float.infinity {
                    // Every key hidden: the row attends to nothing and outputs zeros (no NaN).
                    row.update(repeating: 0, count: s.Tk)
                    continue
                }
                for j in 0..<end { row[j] = fastExp(row[j] - m) }
                if let padding {
                    for j in 0..<end where padding[b * s.Tk + j] { row[j] = 0 }
                }
                let reciprocal = 1 / KernelParallel.sum(row, count: end)
                for j in 0..<end { row[j] *= reciprocal }
                if end < s.Tk { (row + end).update(repeating: 0, count: s.Tk - end) }
            }
            }
            // (Tq, Tk)·(Tk, Dv) → (Tq, Dv)
            stridedGemm(false, false, s.Tq, s.Dv, s.Tk, p, s.Tk, v + vl.base(b, h), vl.row, out + ol.base(b, h), ol.row)
        }
    }

    /// Gradients given dO: dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P)),
    /// dQ = scale·dS·K, dK = scale·dSᵀ·Q. Each destination is written (not accumulated).
    static func backward(
        _ s: AttentionShape, gradOut: UnsafePointer<Float>, _ ol: AttentionOperand,
        probs: UnsafePointer<Float>,
        q: UnsafePointer<Float>, _ ql: AttentionOperand,
        k: UnsafePointer<Float>, _ kl: AttentionOperand,
        v: UnsafePointer<Float>, _ vl: AttentionOperand,
        dq: UnsafeMutablePointer<Float>?, dk: UnsafeMutablePointer<Float>?,
        dv: UnsafeMutablePointer<Float>?
    ) {
        let scratch = TensorStorage(uninitializedCount: s.B * s.H * s.Tq * s.Tk)
        let dScores = scratch.pointer
        forEachPair(s) { b, h in
            let pair = (b * s.H + h) * s.Tq * s.Tk
            let p = probs + pair, dp = dScores + pair, go = gradOut + ol.base(b, h)
            if let dv {
                stridedGemm(true, false, s.Tk, s.Dv, s.Tq, p, s.Tk, go, ol.row, dv + vl.base(b, h), vl.row)
            }
            guard dq != nil || dk != nil else { return }
            stridedGemm(false, true, s.Tq, s.Tk, s.Dv, go, ol.row, v + vl.base(b, h), vl.row, dp, s.Tk)
            for i in 0..<s.Tq {
                let pr = p + i * s.Tk, dr = dp + i * s.Tk
                if Runtime.hasAVX2 {
                    cortex_softmax_backward_row_avx2(pr, dr, s.Tk)
                    continue
                }
                let dot = dotProduct(pr, dr, count: s.Tk)
                for j in 0..<s.Tk { dr[j] = pr[j] * (dr[j] - dot) }
            }
            if let dq {
                stridedGemm(
                    false, false, s.Tq, s.D, s.Tk, dp, s.Tk, k + kl.base(b, h), kl.row,
                    dq + ql.base(b, h), ql.row, alpha: s.scale)
            }
            if let dk {
                stridedGemm(
                    true, false, s.Tk, s.D, s.Tq, dp, s.Tk, q + ql.base(b, h), ql.row,
                    dk + kl.base(b, h), kl.row, alpha: s.scale)
            }
        }
    }
}

/// Scaled dot-product attention, `softmax(Q·Kᵀ / √D + M)·V`, as PyTorch's
/// `F.scaled_dot_product_attention` (Vaswani et al. 2017).
///
/// Layout: `query` `[B, H, Tq, D]`, `key` `[B, H, Tk, D]`, `value` `[B, H, Tk, Dv]` → `[B, H, Tq, Dv]`.
/// Masks (M = −∞ where hidden):
/// - `causal`: query `i` sees keys `j ≤ i + Tk − Tq` (the queries are the last `Tq` positions of
///   the key sequence; for `Tq = Tk` this is PyTorch's `is_causal`);
/// - `keyPaddingMask`: `B·Tk` flags in row-major `[B, Tk]` order, `true` where the key is padding
///   (PyTorch's `key_padding_mask` convention).
/// A query that sees no key at all gets a zero output and zero gradients (PyTorch gives NaN).
/// One fused op: per batch entry and head two GEMMs forward and four backward through
/// `cblas_sgemm`; the probabilities are kept for the backward pass.
public func scaledDotProductAttention(
    query: Tensor, key: Tensor, value: Tensor, causal: Bool = false,
    keyPaddingMask: [Bool]? = nil, scale: Float? = nil
) -> Tensor {
    precondition(
        query.rank == 4 && key.rank == 4 && value.rank == 4
            && query.shape[0] == key.shape[0] && key.shape[0] == value.shape[0]
            && query.shape[1] == key.shape[1] && key.shape[1] == value.shape[1]
            && query.shape[3] == key.shape[3] && key.shape[2] == value.shape[2],
        "scaledDotProductAttention: query \(query.shape), key \(key.shape), value \(value.shape) are not [B, H, Tq, D], [B, H, Tk, D], [B, H, Tk, Dv]"
    )
    let (B, H, Tq, D) = (query.shape[0], query.shape[1], query.shape[2], query.shape[3])
    let (Tk, Dv) = (key.shape[2], value.shape[3])
    precondition(
        keyPaddingMask == nil || keyPaddingMask!.count == B * Tk,
        "scaledDotProductAttention: keyPaddingMask has \(keyPaddingMask!.count) flags, expected B·Tk = \(B * Tk)")
    let shape = AttentionShape(
        B: B, H: H, Tq: Tq, Tk: Tk, D: D, Dv: Dv, scale: scale ?? 1 / Float(D).squareRoot(),
        causal: causal, keyPadding: keyPaddingMask)
    let ql = AttentionOperand.contiguous(heads: H, length: Tq, width: D)
    let kl = AttentionOperand.contiguous(heads: H, length: Tk, width: D)
    let vl = AttentionOperand.contiguous(heads: H, length: Tk, width: Dv)
    let ol = AttentionOperand.contiguous(heads: H, length: Tq, width: Dv)
    let out = TensorStorage(uninitializedCount: B * H * Tq * Dv)
    let probs = TensorStorage(uninitializedCount: B * H * Tq * Tk)
    AttentionKernel.forward(
        shape, q: query.storage.pointer, ql, k: key.storage.pointer, kl,
        v: value.storage.pointer, vl, out: out.pointer, ol, probs: probs.pointer)
    return Tensor.record(
        "scaledDotProductAttention", shape: [B, H, Tq, Dv], storage: out,
        inputs: [query, key, value]
    ) { g in
        let dq = query.requiresGrad ? TensorStorage(uninitializedCount: query.count) : nil
        let dk = key.requiresGrad ? TensorStorage(uninitializedCount: key.count) : nil
        let dv = value.requiresGrad ? TensorStorage(uninitializedCount: value.count) : nil
        AttentionKernel.backward(
            shape, gradOut: g.storage.pointer, ol, probs: probs.pointer,
            q: query.storage.pointer, ql, k: key.storage.pointer, kl, v: value.storage.pointer, vl,
            dq: dq?.pointer, dk: dk?.pointer, dv: dv?.pointer)
        return [
            dq.map { Tensor(shape: query.shape, storage: $0) }, dk.map { Tensor(shape: key.shape, storage: $0) },
            dv.map { Tensor(shape: value.shape, storage: $0) }
        ]
    }
}

/// Multi-head self-attention on a fused QKV projection: the attention part of
/// `MultiHeadSelfAttention`, without its linear layers.
///
/// Layout: `qkv` `[B, T, 3C]` holds q, k, v side by side (`C = heads·D`, head h at columns
/// `h·D ..< (h+1)·D` of each part, as nanoGPT's `c_attn` and timm's `qkv` split them) →
/// `[B, T, C]` with the heads side by side (ready for the output projection). Masks as
/// `scaledDotProductAttention`. Reads and writes through strides: no permute copies.
public func multiHeadSelfAttention(
    qkv: Tensor, heads: Int, causal: Bool = false, keyPaddingMask: [Bool]? = nil
) -> Tensor {
    fusedSelfAttention(qkv: qkv, heads: heads, causal: causal, keyPaddingMask: keyPaddingMask).output
}

/// `multiHeadSelfAttention` and its probabilities `[B, H, T, T]` (no gradient).
func fusedSelfAttention(
    qkv: Tensor, heads: Int, causal: Bool, keyPaddingMask: [Bool]?
) -> (output: Tensor, weights: Tensor) {
    precondition(
        qkv.rank == 3 && heads > 0 && qkv.shape[2] % (3 * heads) == 0,
        "multiHeadSelfAttention: qkv shape \(qkv.shape) is not [B, T, 3·C] with C divisible by \(heads) heads")
    let (B, T, C) = (qkv.shape[0], qkv.shape[1], qkv.shape[2] / 3)
    let D = C / heads
    precondition(
        keyPaddingMask == nil || keyPaddingMask!.count == B * T,
        "multiHeadSelfAttention: keyPaddingMask has \(keyPaddingMask!.count) flags, expected B·T = \(B * T)")
    let shape = AttentionShape(
        B: B, H: heads, Tq: T, Tk: T, D: D, Dv: D, scale: 1 / Float(D).squareRoot(),
        causal: causal, keyPadding: keyPaddingMask)
    let ql = AttentionOperand.packed(part: 0, length: T, width: C, headWidth: D)
    let kl = AttentionOperand.packed(part: 1, length: T, width: C, headWidth: D)
    let vl = AttentionOperand.packed(part: 2, length: T, width: C, headWidth: D)
    let ol = AttentionOperand(offset: 0, batch: T * C, head: D, row: C)
    let out = TensorStorage(uninitializedCount: B * T * C)
    let probs = TensorStorage(uninitializedCount: B * heads * T * T)
    let x = qkv.storage.pointer
    AttentionKernel.forward(shape, q: x, ql, k: x, kl, v: x, vl, out: out.pointer, ol, probs: probs.pointer)
    let output = Tensor.record("multiHeadSelfAttention", shape: [B, T, C], storage: out, inputs: [qkv]) { g in
        let grad = TensorStorage(uninitializedCount: qkv.count)
        let x = qkv.storage.pointer, d = grad.pointer
        AttentionKernel.backward(
            shape, gradOut: g.storage.pointer, ol, probs: probs.pointer,
            q: x, ql, k: x, kl, v: x, vl, dq: d, dk: d, dv: d)
        return [Tensor(shape: qkv.shape, storage: grad)]
    }
    return (output, Tensor(shape: [B, heads, T, T], storage: probs))
}
