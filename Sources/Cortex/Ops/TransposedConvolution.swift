/// 2-D transposed convolution (the adjoint of `conv2d` with the same weight, also called
/// fractionally strided convolution; Dumoulin & Visin 2016) on NCHW tensors, as
/// `torch.nn.functional.conv_transpose2d` (groups = 1).
///
/// Each input pixel scatters its kernel-weighted copy into the output:
/// `out[n, o, y·sH − pH + i·dH, x·sW − pW + j·dW] += in[n, c, y, x] · weight[c, o, i, j]`, plus `bias[o]`.
///
/// Layout: input `[N, C, H, W]`, weight `[C, O, kH, kW]` (PyTorch's layout: input channels
/// first), bias `[O]`, output `[N, O, oH, oW]` with
/// `oH = (H − 1)·sH − 2pH + dH·(kH − 1) + outputPadding.0 + 1` (likewise `oW`); the output
/// padding (less than the stride or the dilation) only adds rows and columns at the far side,
/// so that a stride-2 layer can exactly double a size.
///
/// Method: the output is a `conv2d` input whose convolution with `weight` would give `in`, so
/// the forward pass is conv2d's input gradient and the backward pass its forward: per block of
/// images, `col[K, b·P] = Wᵀ · in[C, b·P]` scattered by col2im (`K = O·kH·kW`, `P = H·W`);
/// backward `∂in = W · im2col(∂out)`, `∂W += in · im2col(∂out)ᵀ`, `∂bias = Σ ∂out`. Blocks,
/// threads and scratch are conv2d's (`ConvGeometry`).
public func convTranspose2d(
    _ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
    padding: (Int, Int) = (0, 0), outputPadding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1)
) -> Tensor {
    precondition(input.rank == 4, "convTranspose2d: input must be [N, C, H, W], got shape \(input.shape)")
    precondition(weight.rank == 4, "convTranspose2d: weight must be [C, O, kH, kW], got shape \(weight.shape)")
    precondition(
        input.shape[1] == weight.shape[0],
        "convTranspose2d: input shape \(input.shape) has \(input.shape[1]) channels, weight shape \(weight.shape) expects \(weight.shape[0])"
    )
    precondition(
        stride.0 > 0 && stride.1 > 0 && dilation.0 > 0 && dilation.1 > 0 && padding.0 >= 0 && padding.1 >= 0
            && outputPadding.0 >= 0 && outputPadding.1 >= 0
            && outputPadding.0 < max(stride.0, dilation.0) && outputPadding.1 < max(stride.1, dilation.1),
        "convTranspose2d: stride \(stride) and dilation \(dilation) must be positive, padding \(padding) non-negative, output padding \(outputPadding) below the stride or dilation"
    )
    let (N, C, H, W) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
    let (O, kH, kW) = (weight.shape[1], weight.shape[2], weight.shape[3])
    if let bias {
        precondition(bias.shape == [O], "convTranspose2d: bias shape \(bias.shape), expected [\(O)]")
    }
    let oH = (H - 1) * stride.0 - 2 * padding.0 + dilation.0 * (kH - 1) + outputPadding.0 + 1
    let oW = (W - 1) * stride.1 - 2 * padding.1 + dilation.1 * (kW - 1) + outputPadding.1 + 1
    precondition(
        oH > 0 && oW > 0, "convTranspose2d: input shape \(input.shape) with padding \(padding) gives no output")
    // The convolution this layer is the adjoint of: from the output [N, O, oH, oW] back to [N, C, H, W].
    let g = ConvGeometry(
        input: [N, O, oH, oW], weight: [C, O, kH, kW], stride: stride, padding: padding, dilation: dilation)
    precondition(g.oH == H && g.oW == W, "convTranspose2d: inconsistent geometry for input \(input.shape)")

    let output = TensorStorage(uninitializedCount: N * O * oH * oW)
    let x = input.storage.pointer, w = weight.storage.pointer, y = output.pointer
    let inPlane = C * H * W, outPlane = O * oH * oW
    g.forEachBlock { _, _, scratch, images in
        let first = images.lowerBound, block = images.count, columns = block * g.P
        g.toChannelMajor(x + first * inPlane, images: block, into: scratch.product, biasGradient: nil)
        // col[K, b·P] = W[C, K]ᵀ · in[C, b·P]
        g.gemm(true, false, g.K, columns, g.O, w, g.K, scratch.product, columns, 0, scratch.col, columns)
        g.col2im(scratch.col, images: block, into: y + first * outPlane)
    }
    if let b = bias?.storage.pointer {
        for n in 0..<N {
            for o in 0..<O {
                let plane = y + (n * O + o) * oH * oW, shift = b[o]
                for p in 0..<(oH * oW) { plane[p] += shift }
            }
        }
    }

    let inputs = bias.map { [input, weight, $0] } ?? [input, weight]
    return Tensor.record("convTranspose2d", shape: [N, O, oH, oW], storage: output, inputs: inputs) { gradOut in
        let needInput = input.requiresGrad, needWeight = weight.requiresGrad
        let gradInput = needInput ? TensorStorage(uninitializedCount: input.count) : nil
        // One partial ∂W ([C, K]) per block, summed in block order so results do not depend on threads.
        let partials = TensorStorage(count: needWeight ? g.blocks * g.O * g.K : 1, repeating: 0)
        let dy = gradOut.storage.pointer, dx = gradInput?.pointer
        g.forEachBlock { _, blockIndex, scratch, images in
            let first = images.lowerBound, block = images.count, columns = block * g.P
            g.im2col(dy + first * outPlane, images: block, into: scratch.col)
            if needWeight {
                g.toChannelMajor(x + first * inPlane, images: block, into: scratch.product, biasGradient: nil)
                // ∂W[C, K] += in[C, b·P] · col[K, b·P]ᵀ
                g.gemm(
                    false, true, g.O, g.K, columns, scratch.product, columns, scratch.col, columns, 1,
                    partials.pointer + blockIndex * g.O * g.K, g.K)
            }
            if let dx {
                // ∂in[C, b·P] = W[C, K] · col[K, b·P]
                g.gemm(false, false, g.O, columns, g.K, w, g.K, scratch.col, columns, 0, scratch.product, columns)
                g.toBatchMajor(scratch.product, images: block, into: dx + first * inPlane, bias: nil)
            }
        }
        var gradients: [Tensor?] = [gradInput.map { Tensor(shape: input.shape, storage: $0) }, nil]
        if needWeight {
            for blockIndex in 1..<max(g.blocks, 1) {
                let from = partials.pointer + blockIndex * g.O * g.K
                for i in 0..<(g.O * g.K) { partials.pointer[i] += from[i] }
            }
            let gradWeight = TensorStorage(uninitializedCount: g.O * g.K)
            gradWeight.pointer.update(from: partials.pointer, count: g.O * g.K)
            gradients[1] = Tensor(shape: weight.shape, storage: gradWeight)
        }
        if let bias {
            var gradBias: Tensor? = nil
            if bias.requiresGrad {
                let storage = TensorStorage(count: O)
                for n in 0..<N {
                    for o in 0..<O { storage.pointer[o] += KernelParallel.sum(dy + (n * O + o) * oH * oW, count: oH * oW) }
                }
                gradBias = Tensor(shape: [O], storage: storage)
            }
            gradients.append(gradBias)
        }
        return gradients
    }
}
