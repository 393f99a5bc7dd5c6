import CKernels
/// 2-D max and average pooling on NCHW tensors.
///
/// Layout: input `[N, C, H, W]`, output `[N, C, oH, oW]` with
/// `oH = floor((H + 2·pH − kH) / sH) + 1` (PyTorch's `ceil_mode=False`), likewise `oW`.
/// Padding may be at most half the kernel (as PyTorch requires), so every window holds at
/// least one real pixel. Threads split the `N·C` planes.

/// Max pooling: `out[n, c, y, x] = max` over the window at `(y·sH − pH, x·sW − pW)` of size
/// `kH × kW`; padding never wins (it counts as −∞). `stride` defaults to the kernel size.
///
/// Gradient: each output's gradient goes to the input element that was its maximum (the
/// first one in row-major order on ties), recorded during the forward pass.
public func maxPool2d(
    _ input: Tensor, kernelSize: (Int, Int), stride: (Int, Int)? = nil,
    padding: (Int, Int) = (0, 0)
) -> Tensor {
    let g = PoolGeometry(
        op: "maxPool2d", input: input.shape, kernel: kernelSize, stride: stride ?? kernelSize, padding: padding)
    let output = TensorStorage(uninitializedCount: g.N * g.C * g.oH * g.oW)
    // Flat index of each output's maximum within its input plane.
    var argmax = [Int32](repeating: 0, count: output.count)
    let x = input.storage.pointer, y = output.pointer
    argmax.withUnsafeMutableBufferPointer { indices in
        let arg = indices.baseAddress!
        if g.kH == 2 && g.kW == 2 && g.sH == 2 && g.sW == 2 && g.pH == 0 && g.pW == 0 {
            maxPool2x2(g, x, y, arg)
            return
        }
        g.forEachWindow { plane, out, y0, y1, x0, x1 in
            let source = x + plane * g.H * g.W
            var best = -Float.infinity, bestIndex = y0 * g.W + x0
            for iy in y0..<y1 {
                for ix in x0..<x1 {
                    let value = source[iy * g.W + ix]
                    if value > best || value.isNaN {
                        best = value
                        bestIndex = iy * g.W + ix
                    }
                }
            }
            y[out] = best
            arg[out] = Int32(truncatingIfNeeded: bestIndex)
        }
    }
    return Tensor.record("maxPool2d", shape: [g.N, g.C, g.oH, g.oW], storage: output, inputs: [input]) { gradOut in
        let grad = TensorStorage(count: input.count, repeating: 0)
        let dx = grad.pointer, dy = gradOut.storage.pointer
        argmax.withUnsafeBufferPointer { indices in
            let arg = indices.baseAddress!
            let perPlane = g.oH * g.oW
            for plane in 0..<(g.N * g.C) {
                let target = dx + plane * g.H * g.W
                for i in (plane * perPlane)..<((plane + 1) * perPlane) { target[Int(arg[i])] += dy[i] }
            }
        }
        return [Tensor(shape: input.shape, storage: grad)]
    }
}

/// The 2×2, stride-2 case (LeNet, most CNNs) without the per-window closure: the same result
/// and tie rule as the general loop (row-major first maximum; a NaN wins, the last one).
private func maxPool2x2(
    _ g: PoolGeometry, _ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>,
    _ arg: UnsafeMutablePointer<Int32>
) {
    let (H, W, oH, oW) = (g.H, g.W, g.oH, g.oW)
    let wide = Runtime.hasAVX2
    KernelParallel.forEachChunk(g.N * g.C, workPerItem: 4 * oH * oW) { planes in
        if wide {
            let first = planes.lowerBound
            cortex_max_pool_2x2_avx2(
                x + first * H * W, y + first * oH * oW, arg + first * oH * oW, planes.count, H, W, oH, oW)
            return
        }
        for plane in planes {
            let source = x + plane * H * W
            var out = plane * oH * oW
            for oy in 0..<oH {
                let top = 2 * oy * W
                for ox in 0..<oW {
                    let i0 = top + 2 * ox
                    var best = source[i0], bestIndex = i0
                    @inline(__always) func visit(_ i: Int) {
                        let value = source[i]
                        if value > best || value.isNaN {
                            best = value
                            bestIndex = i
                        }
                    }
                    visit(i0 + 1)
                    visit(i0 + W)
                    visit(i0 + W + 1)
                    y[out] = best
                    arg[out] = Int32(truncatingIfNeeded: bestIndex)
                    out += 1
                }
            }
        }
    }
}

/// Average pooling: `out[n, c, y, x] = (1/D) · Σ` over the window at `(y·sH − pH, x·sW − pW)`.
///
/// With `countIncludePad` (PyTorch's default, `count_include_pad=True`) the divisor `D` is
/// always `kH·kW`, padded zeros included; otherwise it is the number of real pixels in the
/// window. `stride` defaults to the kernel size.
///
/// Gradient: each output's gradient, divided by its `D`, goes to every real pixel of its window.
public func avgPool2d(
    _ input: Tensor, kernelSize: (Int, Int), stride: (Int, Int)? = nil,
    padding: (Int, Int) = (0, 0), countIncludePad: Bool = true
) -> Tensor {
    let g = PoolGeometry(
        op: "avgPool2d", input: input.shape, kernel: kernelSize, stride: stride ?? kernelSize, padding: padding)
    let output = TensorStorage(uninitializedCount: g.N * g.C * g.oH * g.oW)
    let x = input.storage.pointer, y = output.pointer
    g.forEachWindow { plane, out, y0, y1, x0, x1 in
        let source = x + plane * g.H * g.W
        var total: Float = 0
        for iy in y0..<y1 {
            for ix in x0..<x1 { total += source[iy * g.W + ix] }
        }
        y[out] = total / g.divisor(y0, y1, x0, x1, countIncludePad)
    }
    return Tensor.record("avgPool2d", shape: [g.N, g.C, g.oH, g.oW], storage: output, inputs: [input]) { gradOut in
        let grad = TensorStorage(count: input.count, repeating: 0)
        let dx = grad.pointer, dy = gradOut.storage.pointer
        // Windows of one plane write only that plane, so planes may run in parallel.
        g.forEachWindow { plane, out, y0, y1, x0, x1 in
            let target = dx + plane * g.H * g.W
            let share = dy[out] / g.divisor(y0, y1, x0, x1, countIncludePad)
            for iy in y0..<y1 {
                for ix in x0..<x1 { target[iy * g.W + ix] += share }
            }
        }
        return [Tensor(shape: input.shape, storage: grad)]
    }
}

/// Sizes of one pooling call and the clipped window of each output pixel.
struct PoolGeometry {
    let N, C, H, W, kH, kW, sH, sW, pH, pW, oH, oW: Int

    init(op: String, input: [Int], kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)) {
        precondition(input.count == 4, "\(op): input must be [N, C, H, W], got shape \(input)")
        precondition(
            kernel.0 > 0 && kernel.1 > 0 && stride.0 > 0 && stride.1 > 0,
            "\(op): kernel size \(kernel) and stride \(stride) must be positive")
        precondition(
            padding.0 >= 0 && padding.1 >= 0 && 2 * padding.0 <= kernel.0 && 2 * padding.1 <= kernel.1,
            "\(op): padding \(padding) must be between 0 and half the kernel size \(kernel)")
        (N, C, H, W) = (input[0], input[1], input[2], input[3])
        (kH, kW, sH, sW, pH, pW) = (kernel.0, kernel.1, stride.0, stride.1, padding.0, padding.1)
        oH = ConvGeometry.outputExtent(H, kernel: kH, stride: sH, padding: pH, dilation: 1)
        oW = ConvGeometry.outputExtent(W, kernel: kW, stride: sW, padding: pW, dilation: 1)
        precondition(
            oH > 0 && oW > 0, "\(op): input shape \(input) is smaller than kernel \(kernel) with padding \(padding)")
    }

    /// Calls `body(plane, outputIndex, y0, y1, x0, x1)` for every output pixel with its window
    /// clipped to the image (rows `y0..<y1`, columns `x0..<x1` of plane `plane` = `n·C + c`);
    /// threads split the planes.
    @inline(__always)
    func forEachWindow(_ body: (Int, Int, Int, Int, Int, Int) -> Void) {
        KernelParallel.forEachChunk(N * C, workPerItem: oH * oW * kH * kW) { planes in
            for plane in planes {
                for oy in 0..<oH {
                    let (y0, y1) = rows(oy)
                    for ox in 0..<oW {
                        let (x0, x1) = columns(ox)
                        body(plane, (plane * oH + oy) * oW + ox, y0, y1, x0, x1)
                    }
                }
            }
        }
    }

    /// Input rows `y0..<y1` of output row `oy`, clipped to the image.
    @inline(__always) func rows(_ oy: Int) -> (Int, Int) {
        let start = oy * sH - pH
        return (max(start, 0), min(start + kH, H))
    }

    /// Input columns `x0..<x1` of output column `ox`, clipped to the image.
    @inline(__always) func columns(_ ox: Int) -> (Int, Int) {
        let start = ox * sW - pW
        return (max(start, 0), min(start + kW, W))
    }

    @inline(__always) func divisor(_ y0: Int, _ y1: Int, _ x0: Int, _ x1: Int, _ includePad: Bool) -> Float {
        includePad ? Float(kH * kW) : Float((y1 - y0) * (x1 - x0))
    }
}
