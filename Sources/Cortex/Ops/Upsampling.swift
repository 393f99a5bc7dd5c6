/// Nearest-neighbour upsampling of NCHW tensors by an integer factor, as
/// `torch.nn.functional.interpolate(x, scale_factor=s, mode="nearest")` (and `nn.Upsample`).
///
/// Layout: input `[N, C, H, W]`, output `[N, C, s·H, s·W]` with
/// `out[n, c, y, x] = in[n, c, ⌊y/s⌋, ⌊x/s⌋]` (PyTorch's rule for an integer factor).
///
/// Gradient: each input element receives the sum of the gradients of the `s × s` block it was
/// copied to.
public func upsampleNearest2d(_ input: Tensor, scale: Int) -> Tensor {
    precondition(
        input.rank == 4 && scale >= 1,
        "upsampleNearest2d: needs an [N, C, H, W] input and a scale ≥ 1, got shape \(input.shape), scale \(scale)")
    let (N, C, H, W) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
    let oH = H * scale, oW = W * scale, planes = N * C
    let output = TensorStorage(uninitializedCount: planes * oH * oW)
    let x = input.storage.pointer, y = output.pointer
    forEachOutputRow(planes: planes, H: H, W: W, scale: scale, small: x, large: y) { row, out in
        for ix in 0..<W {
            let value = row[ix]
            for k in 0..<scale { out[ix * scale + k] = value }
        }
    }
    return Tensor.record("upsampleNearest2d", shape: [N, C, oH, oW], storage: output, inputs: [input]) { g in
        let grad = TensorStorage(count: planes * H * W, repeating: 0)
        forEachOutputRow(planes: planes, H: H, W: W, scale: scale, small: grad.pointer, large: g.storage.pointer) {
            row, gradRow in
            for ix in 0..<W {
                var sum: Float = 0
                for k in 0..<scale { sum += gradRow[ix * scale + k] }
                row[ix] += sum
            }
        }
        return [Tensor(shape: input.shape, storage: grad)]
    }
}

/// Calls `body(smallRow, largeRow)` for every row of the `scale`-times larger planes with the
/// row of the small planes it comes from (threads split the planes, so no two calls of
/// different threads share a small row).
private func forEachOutputRow(
    planes: Int, H: Int, W: Int, scale: Int, small: UnsafeMutablePointer<Float>, large: UnsafeMutablePointer<Float>,
    _ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void
) {
    let oH = H * scale, oW = W * scale
    KernelParallel.forEachChunk(planes, workPerItem: oH * oW) { range in
        for plane in range {
            for oy in 0..<oH {
                body(small + plane * H * W + (oy / scale) * W, large + plane * oH * oW + oy * oW)
            }
        }
    }
}
