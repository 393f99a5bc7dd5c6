import Cortex
import CortexTestSupport
import Foundation
import XCTest

/// The fused GELU, LayerNorm and softmax kernels (AVX2/FMA rows in CKernels where the CPU has
/// them, scalar loops for the tails and other lengths) against the unfused composition of
/// elementary ops or a double-precision evaluation of the definition, forward values and
/// gradients, at sizes that are and are not multiples of the 8-float vector; plus
/// finite-difference checks at vector-sized rows (the older tests use odd rows only).
final class FusedKernelTests: XCTestCase {
    private var generator = RandomGenerator(seed: 23)

    /// Exact GELU and its slope in double precision: x·Φ(x), Φ(x) + x·φ(x).
    private func geluReference(_ x: Double) -> (value: Double, slope: Double) {
        let cdf = 0.5 * (1 + erf(x / 2.0.squareRoot()))
        let density = Foundation.exp(-0.5 * x * x) / (2 * Double.pi).squareRoot()
        return (x * cdf, cdf + x * density)
    }

    func testGELUMatchesTheDefinitionAtEverySize() {
        for count in [1, 7, 8, 9, 15, 16, 33, 1031, 70_001] {
            let x = Tensor.uniform([count], low: -6, high: 6, using: &generator, requiresGrad: true)
            // Fixed points in front: 0, the tails, and a value the rows' edges land on.
            for (i, v) in [0, -20, 20, -0.5, 3.25].prefix(count).enumerated() { x.storage.pointer[i] = Float(v) }
            let upstream = Tensor.randn([count], using: &generator)
            let y = x.gelu()
            y.backward(gradient: upstream)
            for i in 0..<count {
                let v = Double(x.storage.pointer[i])
                let (value, slope) = geluReference(v)
                // A&S 7.1.26's erf is within 1.5e-7; times |x| in the value.
                XCTAssertEqual(Double(y.storage.pointer[i]), value, accuracy: 1e-6 * Swift.max(1, abs(v)), "x = \(v), n = \(count)")
                XCTAssertEqual(
                    Double(x.grad!.storage.pointer[i]), Double(upstream.storage.pointer[i]) * slope,
                    accuracy: 2e-6 * Swift.max(1, abs(Double(upstream.storage.pointer[i]))), "x = \(v), n = \(count)")
            }
        }
    }

    func testGELUHandValuesAndFiniteDifferences() {
        // torch.nn.functional.gelu(torch.tensor([-3., -1., 0., 0.5, 1., 2., 3., 4., 5.]))
        let x = Tensor([-3, -1, 0, 0.5, 1, 2, 3, 4, 5], requiresGrad: true)
        assertTensor(
            x.gelu(), shape: [9],
            [-0.0040496, -0.1586553, 0, 0.3457312, 0.8413447, 1.9544997, 2.9959502, 3.9998734, 4.9999986],
            accuracy: 2e-6)
        let wide = Tensor.uniform([3, 17], low: -3, high: 3, using: &generator, requiresGrad: true)
        checkGradients([wide]) { $0[0].gelu() }
    }

    /// LayerNorm from elementary ops: (x − μ) / √(σ² + ε) · w + b.
    private func composedLayerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, epsilon: Float = 1e-5) -> Tensor {
        let centred = x - x.mean(axes: [-1], keepDims: true)
        let variance = (centred * centred).mean(axes: [-1], keepDims: true)
        return centred / (variance + epsilon).sqrt() * weight + bias
    }

    func testLayerNormMatchesTheComposition() {
        for (rows, features) in [(1, 8), (3, 16), (5, 64), (7, 128), (2, 5), (4, 12), (3, 130), (96, 128)] {
            let norm = LayerNorm(features)
            randomize(norm.weight!, &generator)
            randomize(norm.bias!, &generator)
            let x = Tensor.randn([rows, features], std: 2, using: &generator, requiresGrad: true)
            x.storage.pointer[0] += 5  // a row whose mean is far from 0
            let upstream = Tensor.randn([rows, features], using: &generator)
            let fused = norm(x)
            fused.backward(gradient: upstream)
            let fusedGrads = [x.grad!.scalars, norm.weight!.grad!.scalars, norm.bias!.grad!.scalars]

            let x2 = Tensor(shape: x.shape, data: x.scalars, requiresGrad: true)
            let w2 = Tensor(shape: [features], data: norm.weight!.scalars, requiresGrad: true)
            let b2 = Tensor(shape: [features], data: norm.bias!.scalars, requiresGrad: true)
            let composed = composedLayerNorm(x2, weight: w2, bias: b2)
            composed.backward(gradient: upstream)
            let label = "rows \(rows) × \(features)"
            assertClose(fused.scalars, composed.scalars, accuracy: 2e-5, "value, \(label)")
            assertClose(fusedGrads[0], x2.grad!.scalars, accuracy: 1e-4, "dx, \(label)")
            assertClose(fusedGrads[1], w2.grad!.scalars, accuracy: 1e-4, "dweight, \(label)")
            assertClose(fusedGrads[2], b2.grad!.scalars, accuracy: 1e-4, "dbias, \(label)")
        }
    }

    func testLayerNormFiniteDifferencesOnVectorRows() {
        let x = Tensor.randn([3, 16], using: &generator, requiresGrad: true)
        let affine = LayerNorm(16)
        randomize(affine.weight!, &generator)
        randomize(affine.bias!, &generator)
        checkGradients([x, affine.weight!, affine.bias!], step: 1e-2, tolerance: 1e-2) { affine($0[0]) }
        let plain = LayerNorm(24, elementwiseAffine: false)
        let y = Tensor.randn([2, 24], using: &generator, requiresGrad: true)
        checkGradients([y]) { plain($0[0]) }
        // A plain LayerNorm's row (1, 2, …, 8): μ = 4.5, σ² = 5.25.
        let row = LayerNorm(8, elementwiseAffine: false)(Tensor(shape: [1, 8], data: (1...8).map(Float.init)))
        let s = (5.25 + 1e-5 as Float).squareRoot()
        assertTensor(row, shape: [1, 8], (1...8).map { (Float($0) - 4.5) / s })
    }

    func testSoftmaxMatchesTheCompositionAtEveryLength() {
        for (lines, length) in [(1, 8), (5, 64), (3, 72), (4, 7), (2, 13), (700, 64)] {
            let x = Tensor.randn([lines, length], std: 3, using: &generator, requiresGrad: true)
            let upstream = Tensor.randn([lines, length], using: &generator)
            for logarithm in [false, true] {
                x.zeroGrad()
                let fused = logarithm ? x.logSoftmax() : x.softmax()
                fused.backward(gradient: upstream)
                let x2 = Tensor(shape: x.shape, data: x.scalars, requiresGrad: true)
                let shifted = x2 - withNoGrad { x2.max(axes: [-1], keepDims: true) }
                let composed =
                    logarithm
                    ? shifted - shifted.exp().sum(axes: [-1], keepDims: true).log()
                    : shifted.exp() / shifted.exp().sum(axes: [-1], keepDims: true)
                composed.backward(gradient: upstream)
                let label = "\(logarithm ? "log-softmax" : "softmax") \(lines) × \(length)"
                assertClose(fused.scalars, composed.scalars, accuracy: 2e-6, "value, \(label)")
                assertClose(x.grad!.scalars, x2.grad!.scalars, accuracy: 2e-5, "gradient, \(label)")
            }
        }
        let row = Tensor.randn([2, 16], using: &generator, requiresGrad: true)
        checkGradients([row]) { $0[0].softmax() }
        checkGradients([row]) { $0[0].logSoftmax() }
    }

    /// `linear` for a few long rows (the in-place kernels, AVX2 and, where the CPU has it, AVX-512,
    /// on one and two threads) against the definition in double precision, at row counts around
    /// their four-row blocks, output counts around their three- and six-output blocks and input
    /// sizes that are and are not multiples of 8 and 16; the gradients still come from OpenBLAS
    /// and are checked by finite differences.
    func testLinearForFewRowsMatchesTheDefinition() {
        let previous = Runtime.blasThreads, previousWide = Runtime.usesAVX512
        defer {
            Runtime.configure(threads: previous)
            Runtime.usesAVX512 = previousWide
        }
        for (threads, wide) in [(1, false), (2, false), (1, true), (2, true)] where !wide || Runtime.hasAVX512 {
            Runtime.configure(threads: threads)
            Runtime.usesAVX512 = wide
            let shapes = [
                (1, 256, 1), (3, 259, 2), (4, 300, 7), (5, 264, 64), (32, 3136, 13), (33, 256, 5), (2, 264, 6),
                (6, 520, 11),
            ]
            for (rows, inputs, outputs) in shapes {
                let x = Tensor.randn([rows, inputs], using: &generator)
                let w = Tensor.randn([outputs, inputs], std: 0.1, using: &generator)
                let b = Tensor.randn([outputs], using: &generator)
                for bias in [nil, b] {
                    let y = linear(x, weight: w, bias: bias).scalars
                    for r in 0..<rows {
                        for o in 0..<outputs {
                            var sum = bias.map { Double($0.storage.pointer[o]) } ?? 0
                            for k in 0..<inputs {
                                let xk = Double(x.storage.pointer[r * inputs + k])
                                sum += xk * Double(w.storage.pointer[o * inputs + k])
                            }
                            XCTAssertEqual(
                                Double(y[r * outputs + o]), sum, accuracy: 1e-4 * Swift.max(1, abs(sum)),
                                "\(rows)×\(inputs) → \(outputs), bias \(bias != nil), threads \(threads), AVX-512 \(wide), [\(r), \(o)]")
                        }
                    }
                }
            }
        }
        let x = Tensor.randn([3, 256], using: &generator, requiresGrad: true)
        let w = Tensor.randn([5, 256], std: 0.1, using: &generator, requiresGrad: true)
        let b = Tensor.randn([5], using: &generator, requiresGrad: true)
        checkGradients([x, w, b]) { linear($0[0], weight: $0[1], bias: $0[2]) }
    }
}
