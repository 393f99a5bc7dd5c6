import CCBLAS
import CKernels

/// 2-D convolution (cross-correlation, as deep-learning libraries define it) on NCHW tensors.
///
/// `out[n, o, y, x] = bias[o] + Σ_{c, i, j} weight[o, c, i, j] · in[n, c, y·sH − pH + i·dH, x·sW − pW + j·dW]`,
/// reading zeros outside the input (zero padding).
///
/// Layout: input `[N, C, H, W]`, weight `[O, C, kH, kW]` (PyTorch's layout), bias `[O]`,
/// output `[N, O, oH, oW]` with `oH = (H + 2pH − dH·(kH − 1) − 1) / sH + 1` (floor), likewise `oW`.
///
/// Method: im2col (Chellapilla et al. 2006) and GEMM, blocked so the column matrix stays in
/// cache. The batch is cut into blocks of `b` images whose column matrix `col[K, b·P]`
/// (`K = C·kH·kW`, `P = oH·oW`) is about 1 MB; the threads of `Runtime.blasThreads` take
/// blocks in turn, fill the block's columns and multiply `W[O, K] · col` with a single-threaded
/// `cblas_sgemm` (measured faster here than one two-threaded GEMM over a 13 MB column matrix
/// for the Nature-DQN stack). Backward recomputes each block's columns instead of keeping
/// them: `∂W += ∂out[O, b·P] · colᵀ` (per-thread partial sums, added at the end),
/// `∂col = Wᵀ · ∂out` (BLAS transpose flags, no copies) scattered back by col2im,
/// `∂bias = Σ ∂out`.
///
/// Layers with a multiple of 16 output channels run the forward as an implicit GEMM instead
/// (`ConvGeometry.usesImplicitForward`: the image read in place, or a zero-padded copy of it for
/// padded layers; no columns, no packing); their backward recomputes the columns as above.
/// Small stride-1 layers (LeNet's first) run direct kernels (`usesDirectKernels`).
public func conv2d(
    _ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
    padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1)
) -> Tensor {
    precondition(input.rank == 4, "conv2d: input must be [N, C, H, W], got shape \(input.shape)")
    precondition(weight.rank == 4, "conv2d: weight must be [O, C, kH, kW], got shape \(weight.shape)")
    precondition(
        input.shape[1] == weight.shape[1],
        "conv2d: input shape \(input.shape) has \(input.shape[1]) channels, weight shape \(weight.shape) expects \(weight.shape[1])"
    )
    precondition(
        stride.0 > 0 && stride.1 > 0 && dilation.0 > 0 && dilation.1 > 0 && padding.0 >= 0 && padding.1 >= 0,
        "conv2d: stride \(stride) and dilation \(dilation) must be positive, padding \(padding) non-negative")
    if let bias {
        precondition(
            bias.shape == [weight.shape[0]],
            "conv2d: bias shape \(bias.shape) does not match weight shape \(weight.shape) (expected [\(weight.shape[0])])"
        )
    }
    let g = ConvGeometry(input: input.shape, weight: weight.shape, stride: stride, padding: padding, dilation: dilation)
    precondition(
        g.oH > 0 && g.oW > 0,
        "conv2d: input shape \(input.shape) is smaller than the dilated kernel of weight shape \(weight.shape) with padding \(padding), dilation \(dilation)"
    )

    let output = TensorStorage(uninitializedCount: g.N * g.O * g.P)
    let x = input.storage.pointer, w = weight.storage.pointer, b = bias?.storage.pointer, y = output.pointer
    // The columns are kept for the weight gradient when one will be wanted (blocks are the same
    // in both passes, so block images `first…` sit at `first·K·P`).
    let direct = g.usesDirectKernels
    // The implicit kernel also runs the forward of a training step: the backward then recomputes
    // each block's columns for the weight gradient (measured faster for the Nature DQN's three
    // layers than keeping a 13 MB column matrix from an im2col forward).
    let implicit = !direct && g.usesImplicitForward
    let keptColumns =
        GradMode.isEnabled && weight.requiresGrad && !direct && !implicit
        ? TensorStorage(uninitializedCount: g.N * g.K * g.P) : nil
    if implicit {
        g.implicitForward(x, weight: w, bias: b, into: y)
    } else {
    g.forEachBlock(scratch: !direct) { _, _, scratch, images in
        if direct {
            g.withDirectScratch(gradient: false) { pad, _ in
                for n in images {
                    cortex_direct_pad_image(x + n * g.C * g.H * g.W, g.C, g.H, g.W, g.pH, g.pW, pad, g.directHp, g.directWp)
                    cortex_direct_conv_forward_avx2(
                        pad, g.C, g.directHp, g.directWp, w, g.O, g.kH, g.kW, b, y + n * g.O * g.P, g.oH, g.oW)
                }
            }
            return
        }
        let first = images.lowerBound, block = images.count
        let col = keptColumns.map { $0.pointer + first * g.K * g.P } ?? scratch.col
        g.im2col(x + first * g.C * g.H * g.W, images: block, into: col)
        g.gemmSmall(false, g.O, block * g.P, g.K, w, g.K, col, block * g.P, scratch.product, block * g.P)
        g.toBatchMajor(scratch.product, images: block, into: y + first * g.O * g.P, bias: b)
    }
    }

    let inputs = bias.map { [input, weight, $0] } ?? [input, weight]
    return Tensor.record("conv2d", shape: [g.N, g.O, g.oH, g.oW], storage: output, inputs: inputs) { gradOut in
        let needInput = input.requiresGrad, needWeight = weight.requiresGrad
        let needBias = bias?.requiresGrad ?? false
        let gradInput = needInput ? TensorStorage(uninitializedCount: input.count) : nil
        // One partial ∂Wᵀ ([K, O]) and ∂bias per block of images, summed below in block order:
        // which thread takes which block varies from run to run, the sums must not.
        let partials = TensorStorage(count: g.blocks * (g.O * g.K + g.O), repeating: 0)
        let dy = gradOut.storage.pointer, dx = gradInput?.pointer
        // Implicit layers take their weight gradient from the image in place as well
        // (`ConvGeometry.ImplicitWeightGradient`); the columns are then made only for ∂input.
        let implicitGradient = implicit && needWeight ? ConvGeometry.ImplicitWeightGradient(g) : nil
        defer { implicitGradient?.deallocate() }
        g.forEachBlock(scratch: needInput || (!direct && implicitGradient == nil)) { worker, blockIndex, scratch, images in
            let first = images.lowerBound, block = images.count, columns = block * g.P
            let gradWeightT = partials.pointer + blockIndex * (g.O * g.K + g.O), gradBias = gradWeightT + g.O * g.K
            // Implicit layers: ∂W (and ∂bias) from the image in place; the code below then makes
            // columns only for ∂input.
            implicitGradient?.accumulate(
                x, dy, images: images, worker: worker, into: gradWeightT, biasGradient: needBias ? gradBias : nil)
            if direct && (needWeight || needBias) {
                g.withDirectScratch(gradient: true) { pad, dyPad in
                    for n in images {
                        g.padOutputGradient(dy + n * g.O * g.P, into: dyPad)
                        cortex_direct_pad_image(
                            x + n * g.C * g.H * g.W, g.C, g.H, g.W, g.pH, g.pW, pad, g.directHp, g.directWp)
                        cortex_direct_conv_weight_grad_avx2(
                            pad, g.C, g.directHp, g.directWp, dyPad, g.O, g.kH, g.kW, g.oH, g.directOutputPitch,
                            gradWeightT, needBias ? gradBias : nil)
                    }
                }
            }
            // Bias and weight gradients are done when the direct or implicit kernels took them.
            let kernelsTookWeights = direct || implicitGradient != nil
            guard dx != nil || !kernelsTookWeights else { return }
            g.toChannelMajor(
                dy + first * g.O * g.P, images: block, into: scratch.product,
                biasGradient: needBias && !kernelsTookWeights ? gradBias : nil)
            if needWeight && !kernelsTookWeights {
                var col = scratch.col
                if let keptColumns {
                    col = keptColumns.pointer + first * g.K * g.P
                } else {
                    g.im2col(x + first * g.C * g.H * g.W, images: block, into: col)
                }
                // ∂Wᵀ[K, O] += col[K, b·P] · ∂out[O, b·P]ᵀ (this orientation measured 10–25 %
                // faster in OpenBLAS than ∂W = ∂out · colᵀ for these shapes)
                g.gemm(false, true, g.K, g.O, columns, col, columns, scratch.product, columns, 1, gradWeightT, g.O)
            }
            if let dx {
                // ∂col[K, b·P] = W[O, K]ᵀ · ∂out[O, b·P]
                g.gemmSmall(true, g.K, columns, g.O, w, g.K, scratch.product, columns, scratch.col, columns)
                g.col2im(scratch.col, images: block, into: dx + first * g.C * g.H * g.W)
            }
        }
        for blockIndex in 1..<max(g.blocks, 1) {
            let from = partials.pointer + blockIndex * (g.O * g.K + g.O)
            for i in 0..<(g.O * g.K + g.O) { partials.pointer[i] += from[i] }
        }
        var gradients: [Tensor?] = [gradInput.map { Tensor(shape: input.shape, storage: $0) }, nil]
        if needWeight {
            let gradWeight = TensorStorage(uninitializedCount: g.O * g.K)
            for k in 0..<g.K {
                for o in 0..<g.O { gradWeight.pointer[o * g.K + k] = partials.pointer[k * g.O + o] }
            }
            gradients[1] = Tensor(shape: weight.shape, storage: gradWeight)
        }
        if bias != nil {
            var gradBias: Tensor? = nil
            if needBias {
                let storage = TensorStorage(uninitializedCount: g.O)
                storage.pointer.update(from: partials.pointer + g.O * g.K, count: g.O)
                gradBias = Tensor(shape: [g.O], storage: storage)
            }
            gradients.append(gradBias)
        }
        return gradients
    }
}

/// One thread's buffers for a block of images: the column matrix `[K, b·P]` and the GEMM
/// result or output gradient `[O, b·P]`.
struct ConvScratch {
    let col: UnsafeMutablePointer<Float>
    let product: UnsafeMutablePointer<Float>

    init(_ g: ConvGeometry, images: Int) {
        col = .allocate(capacity: max(g.K * images * g.P, 1))
        product = .allocate(capacity: max(g.O * images * g.P, 1))
    }

    func deallocate() {
        col.deallocate()
        product.deallocate()
    }
}

/// Sizes of one conv2d call, how its batch is split into threads and blocks, and the
/// im2col/col2im transforms between `b` NCHW images and the column matrix `col[K, b·P]`,
/// row `k = (c·kH + i)·kW + j`, column `n·P + y·oW + x`.
struct ConvGeometry {
    let N, C, H, W, O, kH, kW, sH, sW, pH, pW, dH, dW, oH, oW: Int
    /// Threads sharing the batch; blocks the batch is cut into (a multiple of `threads`, each
    /// block's column matrix at most about 1 MB), and images in the largest block.
    let threads, blocks, blockImages: Int
    /// Rows of the column matrix (one per weight of an output channel).
    var K: Int { C * kH * kW }
    /// Output pixels per image.
    var P: Int { oH * oW }

    init(input: [Int], weight: [Int], stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int)) {
        (N, C, H, W) = (input[0], input[1], input[2], input[3])
        (O, kH, kW) = (weight[0], weight[2], weight[3])
        (sH, sW, pH, pW, dH, dW) = (stride.0, stride.1, padding.0, padding.1, dilation.0, dilation.1)
        oH = ConvGeometry.outputExtent(H, kernel: kH, stride: sH, padding: pH, dilation: dH)
        oW = ConvGeometry.outputExtent(W, kernel: kW, stride: sW, padding: pW, dilation: dW)
        let columnFloats = max(C * kH * kW * oH * oW, 1)
        // Below ~1 MFLOP per image pair a thread hand-off costs more than it saves.
        let work = 2 * O * columnFloats * N
        // The kernel threads: with `Runtime.configure(threads:smallMatrices: true)` OpenBLAS stays
        // on one thread and the layers still split their batch over Cortex's own workers.
        threads = work < 2_000_000 ? 1 : max(1, min(Runtime.kernelThreads, N))
        let largest = max(1, 262_144 / columnFloats)
        let needed = (N + largest - 1) / largest
        blocks = min(N, (needed + threads - 1) / threads * threads)
        blockImages = blocks > 0 ? (N + blocks - 1) / blocks : 1
    }

    /// Whether the direct kernels (CKernels, AVX2) run this layer instead of im2col and GEMM:
    /// stride 1, no dilation, at most 32 weights per output channel and 16 output channels
    /// (LeNet's first layer), where the column matrix and its packing cost more than the arithmetic.
    var usesDirectKernels: Bool {
        Runtime.hasAVX2 && sH == 1 && sW == 1 && dH == 1 && dW == 1 && K <= 32 && O <= 16 && oH > 0 && oW > 0
    }
    /// Whether the forward runs the implicit-GEMM kernel instead of im2col and OpenBLAS: AVX2,
    /// output channels a multiple of 16. The Nature DQN's forward spent 28 % of its time in im2col
    /// and 18 % in OpenBLAS packing the column matrix; this reads the image in place. Padded
    /// layers read a zero-padded copy: the Go search over a 4 × 32 residual tower at 19×19 spent
    /// 27 % of its time in im2col, packing and clearing columns, and evaluates 1.15–1.45× as many
    /// positions a second this way (docs/speed.md).
    var usesImplicitForward: Bool {
        Runtime.hasAVX2 && O % 16 == 0 && !usesDirectKernels && oH > 0 && oW > 0
            && C * paddedH * paddedW < Int(Int32.max)
    }
    /// The image's extent with its zero padding (the implicit kernel reads a padded copy).
    var paddedH: Int { H + 2 * pH }
    var paddedW: Int { W + 2 * pW }

    /// `y = conv(x, w) + bias` by `cortex_conv_implicit_forward_avx2`, the batch's pixels split
    /// over the same blocks and threads as the im2col path.
    func implicitForward(
        _ x: UnsafePointer<Float>, weight w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        into y: UnsafeMutablePointer<Float>
    ) {
        let padded = pH > 0 || pW > 0
        let taps = UnsafeMutablePointer<Int32>.allocate(capacity: K)
        let transposed = UnsafeMutablePointer<Float>.allocate(capacity: K * O)
        // Padded layers (the residual towers' 3×3 convolutions) read a zero-padded copy of the
        // block's images: C·Hp·Wp floats an image against im2col's C·kH·kW·oH·oW.
        let pads = padded ? UnsafeMutablePointer<Float>.allocate(capacity: threads * blockImages * imageFloats) : nil
        defer {
            taps.deallocate()
            transposed.deallocate()
            pads?.deallocate()
        }
        implicitTaps(into: taps)
        // AVX-512 (O a multiple of 32): the weights in slabs of 32 output channels, [O/32][K][32];
        // else [K, O].
        let wide = Runtime.usesAVX512 && O % 32 == 0
        for o in 0..<O {
            let slab = wide ? (o / 32) * K * 32 + o % 32 : o, step = wide ? 32 : O
            for k in 0..<K { transposed[slab + k * step] = w[o * K + k] }
        }
        let kernel = wide ? cortex_conv_implicit_forward_avx512 : cortex_conv_implicit_forward_avx2
        forEachBlock(scratch: false) { worker, _, _, images in
            guard let pads else {
                kernel(
                    x, imageFloats, W, oW, P, sH, sW, taps, K, transposed, O, bias, y, images.lowerBound * P,
                    images.upperBound * P)
                return
            }
            let pad = pads + worker * blockImages * imageFloats
            padImages(x, images: images, into: pad)
            kernel(
                pad, imageFloats, paddedW, oW, P, sH, sW, taps, K, transposed, O, bias, y + images.lowerBound * O * P, 0,
                images.count * P)
        }
    }

    /// Offsets of the kernel taps `k = (c·kH + i)·kW + j` from a receptive field's corner in an
    /// image of `paddedH × paddedW` planes (the implicit kernels' `tap`).
    func implicitTaps(into taps: UnsafeMutablePointer<Int32>) {
        let (Hp, Wp) = (paddedH, paddedW)
        for k in 0..<K {
            let c = k / (kH * kW), i = (k / kW) % kH, j = k % kW
            taps[k] = Int32(c * Hp * Wp + i * dH * Wp + j * dW)
        }
    }

    /// The weight gradient of an implicit layer without a column matrix: each block's output
    /// gradient packed in slabs of 32 (AVX-512) or 16 output channels, then
    /// `cortex_conv_implicit_weight_grad_avx512/avx2` reads the image (or its zero-padded copy)
    /// in place. The Nature DQN's update spent about a third of its time on im2col, OpenBLAS's
    /// packing and its kernel for these products (docs/speed.md).
    final class ImplicitWeightGradient {
        let g: ConvGeometry
        let wide: Bool
        let taps: UnsafeMutablePointer<Int32>
        /// Per worker: the packed output gradient of a block, and a zero-padded copy of its images.
        let packed: [UnsafeMutablePointer<Float>]
        let pads: [UnsafeMutablePointer<Float>]

        init(_ g: ConvGeometry) {
            self.g = g
            wide = Runtime.usesAVX512 && g.O % 32 == 0
            taps = .allocate(capacity: g.K)
            g.implicitTaps(into: taps)
            packed = (0..<g.threads).map { _ in .allocate(capacity: max(g.O * g.blockImages * g.P, 1)) }
            let padded = g.pH > 0 || g.pW > 0
            pads = padded ? (0..<g.threads).map { _ in .allocate(capacity: g.blockImages * g.imageFloats) } : []
        }

        func deallocate() {
            taps.deallocate()
            for buffer in packed + pads { buffer.deallocate() }
        }

        /// Adds the gradient of `images` to `gradWeightT` (`[K, O]`) and, with `biasGradient`, to it.
        func accumulate(
            _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, images: Range<Int>, worker: Int,
            into gradWeightT: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>?
        ) {
            let block = images.count, dyp = packed[worker]
            cortex_conv_pack_output_gradient(
                dy + images.lowerBound * g.O * g.P, block, g.O, g.P, wide ? 32 : 16, dyp, biasGradient)
            let kernel = wide ? cortex_conv_implicit_weight_grad_avx512 : cortex_conv_implicit_weight_grad_avx2
            if pads.isEmpty {
                kernel(
                    x, g.imageFloats, g.W, g.oW, g.P, g.sH, g.sW, taps, g.K, dyp, g.O, gradWeightT,
                    images.lowerBound * g.P, images.upperBound * g.P)
            } else {
                let pad = pads[worker]
                g.padImages(x, images: images, into: pad)
                kernel(
                    pad, g.imageFloats, g.paddedW, g.oW, g.P, g.sH, g.sW, taps, g.K, dyp, g.O, gradWeightT, 0,
                    block * g.P)
            }
        }
    }

    /// Floats of one image with its zero padding.
    var imageFloats: Int { C * paddedH * paddedW }

    /// Zero-padded copies of `images` of the batch `x`, one after another from `pad`.
    func padImages(_ x: UnsafePointer<Float>, images: Range<Int>, into pad: UnsafeMutablePointer<Float>) {
        for (slot, n) in images.enumerated() {
            cortex_direct_pad_image(x + n * C * H * W, C, H, W, pH, pW, pad + slot * imageFloats, paddedH, paddedW)
        }
    }

    /// The direct kernels' zero-padded image (C × directHp × directWp) and output-gradient rows.
    var directHp: Int { oH + kH - 1 }
    var directWp: Int { cortex_direct_padded_width(oW, kW) }
    var directOutputPitch: Int { (oW + 7) / 8 * 8 }

    /// Runs `body(pad, dyPad)` with scratch for one image's padded input and, with `gradient`, its
    /// padded output gradient (else a one-float placeholder).
    func withDirectScratch(gradient: Bool, _ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        let pad = UnsafeMutablePointer<Float>.allocate(capacity: C * directHp * directWp)
        let dyPad = UnsafeMutablePointer<Float>.allocate(capacity: gradient ? O * oH * directOutputPitch : 1)
        defer {
            pad.deallocate()
            dyPad.deallocate()
        }
        body(pad, dyPad)
    }

    /// One image's output gradient `[O, oH, oW]` in rows of `directOutputPitch`, zero past `oW`.
    func padOutputGradient(_ dy: UnsafePointer<Float>, into dyPad: UnsafeMutablePointer<Float>) {
        let pitch = directOutputPitch
        for row in 0..<(O * oH) {
            let to = dyPad + row * pitch
            to.update(from: dy + row * oW, count: oW)
            if pitch > oW { (to + oW).update(repeating: 0, count: pitch - oW) }
        }
    }

    /// `floor((size + 2·padding − dilation·(kernel − 1) − 1) / stride) + 1`, or 0 if the kernel does not fit.
    static func outputExtent(_ size: Int, kernel: Int, stride: Int, padding: Int, dilation: Int) -> Int {
        let span = size + 2 * padding - dilation * (kernel - 1) - 1
        return span < 0 ? 0 : span / stride + 1
    }

    /// Output columns `lo..<hi` whose input column `x·s − p + offset` lies inside `0..<size`.
    static func validRange(outputs: Int, size: Int, stride: Int, offset: Int) -> (Int, Int) {
        // x·s + offset ≥ 0  ⇔  x ≥ ceil(−offset / s);   x·s + offset ≤ size − 1  ⇔  x ≤ floor((size − 1 − offset) / s)
        let lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride
        let last = size - 1 - offset
        let hi = last < 0 ? 0 : min(outputs, last / stride + 1)
        return (min(lo, hi), hi)
    }

    /// Runs `body(worker, block, scratch, images)` for each of the `blocks` blocks of images,
    /// on `threads` workers that take blocks in turn, each with its own scratch buffers.
    /// OpenBLAS is held to one thread meanwhile, so the GEMMs inside run on their caller's
    /// core (and its cache) instead of contending for OpenBLAS's pool. This changes OpenBLAS's
    /// process-wide thread count for the duration: do not run conv2d from several threads at once.
    func forEachBlock(scratch needed: Bool = true, _ body: (Int, Int, ConvScratch, Range<Int>) -> Void) {
        // Without `needed` (the direct kernels' passes that use no columns) the buffers are one float.
        let scratch = (0..<threads).map { _ in ConvScratch(self, images: needed ? blockImages : 0) }
        defer { for buffers in scratch { buffers.deallocate() } }
        // Near-equal blocks: sizes differ by at most one image.
        let images = { (block: Int) in (N * block / blocks)..<(N * (block + 1) / blocks) }
        guard threads > 1 else {
            for block in 0..<blocks { body(0, block, scratch[0], images(block)) }
            return
        }
        let blasThreads = Runtime.blasThreads
        Runtime.blasThreads = 1
        defer { Runtime.blasThreads = blasThreads }
        KernelParallel.forEachItem(blocks, workers: threads) { worker, block in
            body(worker, block, scratch[worker], images(block))
        }
    }

    /// Row-major `C = op(A)·B` for the forward product (M = O) and the column gradient (inner
    /// size O): with AVX2 and at most `smallGemmChannels` output channels, CKernels' unpacked
    /// kernel (OpenBLAS spent about a third of these calls packing the column matrix); else OpenBLAS.
    @inline(__always)
    func gemmSmall(
        _ transposeA: Bool, _ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int,
        _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        if Runtime.hasAVX2 && O <= ConvGeometry.smallGemmChannels && m > 0 && n > 0 && k > 0 {
            cortex_gemm_small_avx2(m, n, k, a, lda, transposeA ? 1 : 0, b, ldb, c, ldc)
        } else {
            gemm(transposeA, false, m, n, k, a, lda, b, ldb, 0, c, ldc)
        }
    }

    /// Output channels up to which `gemmSmall` uses the unpacked kernel: LeNet's 6 and 16 (measured
    /// 0.85 → 1.05 of PyTorch's time ratio for the second layer); at the Nature DQN's 32 and 64 the
    /// 24-column strip of a 256–576-row column matrix no longer stays in L1 and OpenBLAS's packed
    /// kernel was faster (ratios 0.99 → 0.82, 1.12 → 0.78 with the unpacked kernel).
    static let smallGemmChannels = 16

    /// Row-major `C = α·op(A)·op(B) + β·C` (skips the call on empty sizes, where C is β·C = 0 or kept).
    @inline(__always)
    func gemm(
        _ transposeA: Bool, _ transposeB: Bool, _ m: Int, _ n: Int, _ k: Int,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        guard m > 0 && n > 0 else { return }
        guard k > 0 else {
            if beta == 0 { for row in 0..<m { (c + row * ldc).update(repeating: 0, count: n) } }
            return
        }
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Where kernel tap `k` (row `k` of `col`) reads: input channel `channel`, row `y·sH + rowOffset` and column
    /// `x·sW + columnOffset` for output pixel `(y, x)`, inside the image only for output rows
    /// `yLo..<yHi` and columns `xLo..<xHi` (elsewhere it reads zero padding).
    @inline(__always)
    func tap(_ k: Int) -> (channel: Int, rowOffset: Int, columnOffset: Int, yLo: Int, yHi: Int, xLo: Int, xHi: Int) {
        let i = (k / kW) % kH, j = k % kW
        let rowOffset = i * dH - pH, columnOffset = j * dW - pW
        let (yLo, yHi) = ConvGeometry.validRange(outputs: oH, size: H, stride: sH, offset: rowOffset)
        let (xLo, xHi) = ConvGeometry.validRange(outputs: oW, size: W, stride: sW, offset: columnOffset)
        return (k / (kH * kW), rowOffset, columnOffset, yLo, yHi, xLo, xHi)
    }

    /// Fills `col` (`[K, b·P]`) from `b` consecutive images starting at `image`.
    func im2col(_ image: UnsafePointer<Float>, images b: Int, into col: UnsafeMutablePointer<Float>) {
        let columns = b * P
        if sH == 1 && sW == 1 && pH == 0 && pW == 0 && dH == 1 && dW == 1 {
            // Valid stride-1 convolutions (MinAtar's 3×3 on 10×10 planes): every output row is
            // in range, so rows are plain vector moves without the general loop's bounds work.
            for k in 0..<K {
                let c = k / (kH * kW), i = (k / kW) % kH, j = k % kW
                var out = col + k * columns
                for n in 0..<b {
                    var source = image + (n * C + c) * H * W + i * W + j
                    for _ in 0..<oH {
                        copyRow(from: source, to: out, 0, oW)
                        out += oW
                        source += W
                    }
                }
            }
            return
        }
        if Runtime.hasAVX2 {
            // CKernels: the same loops, with strides 1, 2 and 4 moved eight floats at a time
            // (the strided gathers of the Nature DQN's 8×8/4 and 4×4/2 layers were the cost).
            for k in 0..<K {
                let (c, rowOffset, columnOffset, yLo, yHi, xLo, xHi) = tap(k)
                cortex_im2col_tap_avx2(
                    image + c * H * W, C * H * W, b, col + k * columns, H, W, oH, oW, sH, sW, rowOffset, columnOffset,
                    yLo, yHi, xLo, xHi)
            }
            return
        }
        for k in 0..<K {
            let (c, rowOffset, columnOffset, yLo, yHi, xLo, xHi) = tap(k)
            let destination = col + k * columns
            for n in 0..<b {
                let plane = image + (n * C + c) * H * W
                let out = destination + n * P
                if yLo > 0 { out.update(repeating: 0, count: yLo * oW) }
                for y in yLo..<yHi {
                    let source = plane + (y * sH + rowOffset) * W + columnOffset
                    let line = out + y * oW
                    for x in 0..<xLo { line[x] = 0 }
                    if sW == 1 {
                        copyRow(from: source, to: line, xLo, xHi)
                    } else {
                        for x in xLo..<xHi { line[x] = source[x * sW] }
                    }
                    for x in xHi..<oW { line[x] = 0 }
                }
                if yHi < oH { (out + yHi * oW).update(repeating: 0, count: (oH - yHi) * oW) }
            }
        }
    }

    /// `line[x] = source[x]` for `x` in `lo..<hi`, in vector moves: rows here are short (8 to
    /// 80 floats) and a `memmove` call per row cost more than the copying.
    @inline(__always)
    private func copyRow(from source: UnsafePointer<Float>, to line: UnsafeMutablePointer<Float>, _ lo: Int, _ hi: Int)
    {
        let from = UnsafeRawPointer(source), to = UnsafeMutableRawPointer(line)
        var x = lo
        while x + 8 <= hi {
            to.storeBytes(
                of: from.loadUnaligned(fromByteOffset: x * 4, as: SIMD8<Float>.self), toByteOffset: x * 4,
                as: SIMD8<Float>.self)
            x += 8
        }
        if x + 4 <= hi {
            to.storeBytes(
                of: from.loadUnaligned(fromByteOffset: x * 4, as: SIMD4<Float>.self), toByteOffset: x * 4,
                as: SIMD4<Float>.self)
            x += 4
        }
        while x < hi {
            line[x] = source[x]
            x += 1
        }
    }

    /// Sums the columns `col` (`[K, b·P]`) back into `b` consecutive images at `image`
    /// (overwritten): the adjoint of `im2col`.
    func col2im(_ col: UnsafePointer<Float>, images b: Int, into image: UnsafeMutablePointer<Float>) {
        let columns = b * P
        image.update(repeating: 0, count: b * C * H * W)
        if Runtime.hasAVX2 {
            for k in 0..<K {
                let (c, rowOffset, columnOffset, yLo, yHi, xLo, xHi) = tap(k)
                cortex_col2im_tap_avx2(
                    col + k * columns, C * H * W, b, image + c * H * W, W, oH, oW, sH, sW, rowOffset, columnOffset,
                    yLo, yHi, xLo, xHi)
            }
            return
        }
        for k in 0..<K {
            let (c, rowOffset, columnOffset, yLo, yHi, xLo, xHi) = tap(k)
            let source = col + k * columns
            for n in 0..<b {
                let plane = image + (n * C + c) * H * W
                let from = source + n * P
                for y in yLo..<yHi {
                    let target = plane + (y * sH + rowOffset) * W + columnOffset
                    let line = from + y * oW
                    for x in xLo..<xHi { target[x * sW] += line[x] }
                }
            }
        }
    }

    /// `[O, b·P]` → `b` images `[O, P]`, adding `bias[o]` when given.
    func toBatchMajor(
        _ product: UnsafePointer<Float>, images b: Int, into output: UnsafeMutablePointer<Float>,
        bias: UnsafePointer<Float>?
    ) {
        let columns = b * P
        for n in 0..<b {
            for o in 0..<O {
                let from = product + o * columns + n * P, to = output + (n * O + o) * P
                let shift = bias?[o] ?? 0
                for p in 0..<P { to[p] = from[p] + shift }
            }
        }
    }

    /// `b` images `[O, P]` → `[O, b·P]`, adding each channel's total into `biasGradient` when given.
    func toChannelMajor(
        _ batch: UnsafePointer<Float>, images b: Int, into product: UnsafeMutablePointer<Float>,
        biasGradient: UnsafeMutablePointer<Float>?
    ) {
        let columns = b * P
        for n in 0..<b {
            for o in 0..<O {
                let from = batch + (n * O + o) * P
                (product + o * columns + n * P).update(from: from, count: P)
                if let biasGradient { biasGradient[o] += KernelParallel.sum(from, count: P) }
            }
        }
    }
}
