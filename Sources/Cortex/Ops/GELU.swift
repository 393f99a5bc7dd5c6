import CKernels

/// Exact GELU, `x·Φ(x)`, that computes its derivative `Φ(x) + x·φ(x)` in the same pass and keeps it
/// for the backward pass: Φ's erf (Abramowitz & Stegun 1964, formula 7.1.26, within 1.5e-7) and the density
/// φ share one exponential `e^(−x²/2)`, so forward and backward together cost one exp per
/// element instead of three. With AVX2/FMA (picked at run time) eight elements a step in
/// CKernels' `cortex_gelu_avx2`; the scalar loop below does the rest and other CPUs.
func geluSavingSlope(_ x: Tensor) -> Tensor {
    let count = x.count
    let out = TensorStorage(uninitializedCount: count), slope = TensorStorage(uninitializedCount: count)
    let input = x.storage.pointer, y = out.pointer, d = slope.pointer
    let wide = Runtime.hasAVX2
    parallelRanges(count) { start, end in
        var i = start
        if wide { i += cortex_gelu_avx2(input + start, y + start, d + start, end - start) }
        while i < end {
            let v = input[i]
            let e = fastExp(-0.5 * v * v)
            let t = 1 / (1 + 0.3275911 * 0.70710678 * Swift.abs(v))
            var p: Float = 1.061405429
            p = p * t - 1.453152027
            p = p * t + 1.421413741
            p = p * t - 0.284496736
            p = p * t + 0.254829592
            let erfAbs = 1 - p * t * e
            let cdf = 0.5 * (1 + (v < 0 ? -erfAbs : erfAbs))
            y[i] = v * cdf
            d[i] = cdf + v * 0.39894228 * e
            i += 1
        }
    }
    return Tensor.record("gelu", shape: x.shape, storage: out, inputs: [x]) { g in
        let grad = TensorStorage(uninitializedCount: count)
        let gp = g.storage.pointer, dx = grad.pointer, d = slope.pointer
        parallelRanges(count) { start, end in
            var i = start
            if wide { i += cortex_multiply_avx2(gp + start, d + start, dx + start, end - start) }
            while i < end {
                dx[i] = gp[i] * d[i]
                i += 1
            }
        }
        return [Tensor(shape: x.shape, storage: grad)]
    }
}
