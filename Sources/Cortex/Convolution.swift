import CCBLAS

/// 2-D convolution (cross-correlation, as deep-learning libraries define it) on NCHW tensors.
///
/// `out[n, o, y, x] = bias[o] + Σ_{c, i, j} weight[o, c, i, j] · in[n, c, y·sH − pH + i·dH, x·sW − pW + j·dW]`,
/// reading zeros outside the input (zero padding).
///
/// Layout: input `[N, C, H, W]`, weight `[O, C, kH, kW]` (PyTorch's layout), bias `[O]`,
/// output `[N, O, oH, oW]` with `oH = (H + 2pH − dH·(kH − 1) − 1) / sH + 1` (floor), likewise `oW`.
///
/// Method: im2col (Chellapilla et al. 2006) into one column matrix `col[K, N·P]` with
/// `K = C·kH·kW` rows (channel, kernel row, kernel column) and one column per output pixel of
/// every image (`P = oH·oW`), so the whole batch is a single GEMM `W[O, K] · col → [O, N·P]`,
/// permuted to NCHW. Backward: `∂W = ∂out[O, N·P] · colᵀ`, `∂col = Wᵀ · ∂out` (BLAS transpose
/// flags, no copies) scattered back by col2im into the input gradient, `∂bias = Σ ∂out`.
/// The column buffer is kept from forward for `∂W` and then reused for `∂col`.
public func conv2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                   padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1)) -> Tensor {
    precondition(input.rank == 4, "conv2d: input must be [N, C, H, W], got shape \(input.shape)")
    precondition(weight.rank == 4, "conv2d: weight must be [O, C, kH, kW], got shape \(weight.shape)")
    precondition(input.shape[1] == weight.shape[1],
                 "conv2d: input shape \(input.shape) has \(input.shape[1]) channels, weight shape \(weight.shape) expects \(weight.shape[1])")
    precondition(stride.0 > 0 && stride.1 > 0 && dilation.0 > 0 && dilation.1 > 0 && padding.0 >= 0 && padding.1 >= 0,
                 "conv2d: stride \(stride) and dilation \(dilation) must be positive, padding \(padding) non-negative")
    if let bias {
        precondition(bias.shape == [weight.shape[0]],
                     "conv2d: bias shape \(bias.shape) does not match weight shape \(weight.shape) (expected [\(weight.shape[0])])")
    }
    let g = ConvGeometry(input: input.shape, weight: weight.shape, stride: stride, padding: padding, dilation: dilation)
    precondition(g.oH > 0 && g.oW > 0,
                 "conv2d: input shape \(input.shape) is smaller than the dilated kernel of weight shape \(weight.shape) with padding \(padding), dilation \(dilation)")

    let columns = g.N * g.P
    let col = TensorStorage(uninitializedCount: g.K * columns)
    g.im2col(input.storage.pointer, into: col.pointer)

    // One GEMM for the whole batch: [O, K] · [K, N·P] → [O, N·P].
    let product = TensorStorage(uninitializedCount: g.O * columns)
    if g.K > 0 && columns > 0 {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(g.O), Int32(columns), Int32(g.K),
                    1, weight.storage.pointer, Int32(g.K), col.pointer, Int32(columns), 0, product.pointer, Int32(columns))
    } else {
        product.pointer.update(repeating: 0, count: g.O * columns)
    }
    let output = TensorStorage(uninitializedCount: g.N * g.O * g.P)
    g.batchMajor(product.pointer, into: output.pointer, bias: bias?.storage.pointer)

    let inputs = bias.map { [input, weight, $0] } ?? [input, weight]
    return Tensor.record("conv2d", shape: [g.N, g.O, g.oH, g.oW], storage: output, inputs: inputs) { gradOut in
        // ∂out as [O, N·P], the layout of the forward GEMM's result.
        let gradProduct = TensorStorage(uninitializedCount: g.O * columns)
        g.channelMajor(gradOut.storage.pointer, into: gradProduct.pointer)
        var gradients: [Tensor?] = [nil, nil]

        if let bias, bias.requiresGrad {
            let gradBias = TensorStorage(uninitializedCount: g.O)
            for o in 0..<g.O {
                let row = gradProduct.pointer + o * columns
                var total: Float = 0
                for i in 0..<columns { total += row[i] }
                gradBias.pointer[o] = total
            }
            gradients.append(Tensor(shape: [g.O], storage: gradBias))
        } else if bias != nil {
            gradients.append(nil)
        }

        if weight.requiresGrad {
            let gradWeight = TensorStorage(count: g.O * g.K, repeating: 0)
            if columns > 0 && g.K > 0 {
                // ∂W[O, K] = ∂out[O, N·P] · col[K, N·P]ᵀ
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(g.O), Int32(g.K), Int32(columns),
                            1, gradProduct.pointer, Int32(columns), col.pointer, Int32(columns), 0, gradWeight.pointer, Int32(g.K))
            }
            gradients[1] = Tensor(shape: weight.shape, storage: gradWeight)
        }

        if input.requiresGrad {
            // ∂col[K, N·P] = W[O, K]ᵀ · ∂out[O, N·P], written over the spent column buffer.
            if columns > 0 && g.K > 0 {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(g.K), Int32(columns), Int32(g.O),
                            1, weight.storage.pointer, Int32(g.K), gradProduct.pointer, Int32(columns), 0, col.pointer, Int32(columns))
            }
            let gradInput = TensorStorage(uninitializedCount: input.count)
            g.col2im(col.pointer, into: gradInput.pointer)
            gradients[0] = Tensor(shape: input.shape, storage: gradInput)
        }
        return gradients
    }
}

/// Sizes of one conv2d call and the im2col/col2im transforms between an NCHW image batch and
/// the column matrix `col[K, N·P]`, row `k = (c·kH + i)·kW + j`, column `n·P + y·oW + x`.
struct ConvGeometry {
    let N, C, H, W, O, kH, kW, sH, sW, pH, pW, dH, dW, oH, oW: Int
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

    /// Where kernel tap `k` (row `k` of `col`) reads: input row `y·sH + rowOffset` and column
    /// `x·sW + columnOffset` for output pixel `(y, x)`, inside the image only for output rows
    /// `yLo..<yHi` and columns `xLo..<xHi` (elsewhere it reads zero padding).
    @inline(__always)
    func tap(_ k: Int) -> (rowOffset: Int, columnOffset: Int, yLo: Int, yHi: Int, xLo: Int, xHi: Int) {
        let i = (k / kW) % kH, j = k % kW
        let rowOffset = i * dH - pH, columnOffset = j * dW - pW
        let (yLo, yHi) = ConvGeometry.validRange(outputs: oH, size: H, stride: sH, offset: rowOffset)
        let (xLo, xHi) = ConvGeometry.validRange(outputs: oW, size: W, stride: sW, offset: columnOffset)
        return (rowOffset, columnOffset, yLo, yHi, xLo, xHi)
    }

    /// Fills `col` from the image batch `image` (`[N, C, H, W]`), threads splitting the rows `k`.
    func im2col(_ image: UnsafeMutablePointer<Float>, into col: UnsafeMutablePointer<Float>) {
        let columns = N * P
        KernelParallel.forEachChunk(K, workPerItem: columns) { rows in
            for k in rows {
                let c = k / (kH * kW)
                let (rowOffset, columnOffset, yLo, yHi, xLo, xHi) = tap(k)
                let destination = col + k * columns
                for n in 0..<N {
                    let plane = image + (n * C + c) * H * W
                    let out = destination + n * P
                    if yLo > 0 { out.update(repeating: 0, count: yLo * oW) }
                    for y in yLo..<yHi {
                        let source = plane + (y * sH + rowOffset) * W + columnOffset
                        let line = out + y * oW
                        for x in 0..<xLo { line[x] = 0 }
                        if sW == 1 {
                            (line + xLo).update(from: source + xLo, count: xHi - xLo)
                        } else {
                            for x in xLo..<xHi { line[x] = source[x * sW] }
                        }
                        for x in xHi..<oW { line[x] = 0 }
                    }
                    if yHi < oH { (out + yHi * oW).update(repeating: 0, count: (oH - yHi) * oW) }
                }
            }
        }
    }

    /// Sums the columns `col` back into an image batch `image` (`[N, C, H, W]`, overwritten):
    /// the adjoint of `im2col`. Threads split the channels so no two write the same pixel.
    func col2im(_ col: UnsafeMutablePointer<Float>, into image: UnsafeMutablePointer<Float>) {
        let columns = N * P
        KernelParallel.forEachChunk(C, workPerItem: kH * kW * columns) { channels in
            for c in channels {
                for n in 0..<N { (image + (n * C + c) * H * W).update(repeating: 0, count: H * W) }
                for k in (c * kH * kW)..<((c + 1) * kH * kW) {
                    let (rowOffset, columnOffset, yLo, yHi, xLo, xHi) = tap(k)
                    let source = col + k * columns
                    for n in 0..<N {
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
        }
    }

    /// `[O, N·P]` → `[N, O, P]`, adding `bias[o]` when given.
    func batchMajor(_ product: UnsafeMutablePointer<Float>, into output: UnsafeMutablePointer<Float>,
                    bias: UnsafeMutablePointer<Float>?) {
        let columns = N * P
        for n in 0..<N {
            for o in 0..<O {
                let from = product + o * columns + n * P, to = output + (n * O + o) * P
                let b = bias?[o] ?? 0
                for p in 0..<P { to[p] = from[p] + b }
            }
        }
    }

    /// `[N, O, P]` → `[O, N·P]`.
    func channelMajor(_ batch: UnsafeMutablePointer<Float>, into product: UnsafeMutablePointer<Float>) {
        let columns = N * P
        for n in 0..<N {
            for o in 0..<O {
                (product + o * columns + n * P).update(from: batch + (n * O + o) * P, count: P)
            }
        }
    }
}
