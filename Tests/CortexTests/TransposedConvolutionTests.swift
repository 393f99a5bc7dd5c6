import Cortex
import CortexTestSupport
import XCTest

final class TransposedConvolutionTests: XCTestCase {
    /// The definition written as loops: each input pixel adds its weighted kernel into the output.
    func scatter(
        _ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: Int, padding: Int, outputPadding: Int, dilation: Int
    ) -> (shape: [Int], values: [Float]) {
        let (N, C, H, W) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (O, k) = (w.shape[1], w.shape[2])
        let oH = (H - 1) * stride - 2 * padding + dilation * (k - 1) + outputPadding + 1
        let oW = (W - 1) * stride - 2 * padding + dilation * (k - 1) + outputPadding + 1
        var out = [Float](repeating: 0, count: N * O * oH * oW)
        for n in 0..<N {
            for o in 0..<O {
                for i in 0..<(oH * oW) { out[(n * O + o) * oH * oW + i] = b?.scalars[o] ?? 0 }
                for c in 0..<C {
                    for y in 0..<H {
                        for xx in 0..<W {
                            for i in 0..<k {
                                for j in 0..<k {
                                    let oy = y * stride - padding + i * dilation
                                    let ox = xx * stride - padding + j * dilation
                                    guard oy >= 0 && oy < oH && ox >= 0 && ox < oW else { continue }
                                    out[((n * O + o) * oH + oy) * oW + ox] +=
                                        x[n, c, y, xx] * w[c, o, i, j]
                                }
                            }
                        }
                    }
                }
            }
        }
        return ([N, O, oH, oW], out)
    }

    func testTextbookStrideTwo() {
        // 2×2 input [[1, 2], [3, 4]], kernel [[1, 10], [100, 1000]], stride 2: the four copies tile a 4×4 output.
        let x = Tensor(shape: [1, 1, 2, 2], data: [1, 2, 3, 4])
        let w = Tensor(shape: [1, 1, 2, 2], data: [1, 10, 100, 1000])
        assertTensor(
            convTranspose2d(x, weight: w, stride: (2, 2)), shape: [1, 1, 4, 4],
            [1, 10, 2, 20, 100, 1000, 200, 2000, 3, 30, 4, 40, 300, 3000, 400, 4000])
        // Stride 1: overlapping copies add, out[1][1] = 1·1000 + 2·100 + 3·10 + 4·1 = 1234.
        let overlap = convTranspose2d(x, weight: w)
        XCTAssertEqual(overlap.shape, [1, 1, 3, 3])
        XCTAssertEqual(overlap[0, 0, 1, 1], 1234)
        // Padding 1 crops a ring off the stride-2 output; output padding adds a far row and column.
        assertTensor(
            convTranspose2d(x, weight: w, stride: (2, 2), padding: (1, 1)), shape: [1, 1, 2, 2], [1000, 200, 30, 4])
        let padded = convTranspose2d(x, weight: w, stride: (2, 2), padding: (1, 1), outputPadding: (1, 1))
        assertTensor(padded, shape: [1, 1, 3, 3], [1000, 200, 2000, 30, 4, 40, 3000, 400, 4000])
    }

    func testMatchesTheScatterLoopsForStridesPaddingsAndOutputPaddings() {
        var generator = RandomGenerator(seed: 3)
        for (stride, padding, outputPadding, dilation, kernel) in [
            (1, 0, 0, 1, 3), (2, 0, 0, 1, 3), (2, 1, 0, 1, 4), (2, 1, 1, 1, 3), (3, 2, 2, 1, 4), (1, 1, 0, 2, 3),
            (2, 0, 1, 2, 2)
        ] {
            let x = Tensor.randn([2, 3, 4, 5], using: &generator)
            let w = Tensor.randn([3, 2, kernel, kernel], using: &generator)
            let b = Tensor.randn([2], using: &generator)
            let y = convTranspose2d(
                x, weight: w, bias: b, stride: (stride, stride), padding: (padding, padding),
                outputPadding: (outputPadding, outputPadding), dilation: (dilation, dilation))
            let expected = scatter(
                x, w, b, stride: stride, padding: padding, outputPadding: outputPadding, dilation: dilation)
            XCTAssertEqual(y.shape, expected.shape, "stride \(stride) padding \(padding) output padding \(outputPadding)")
            assertClose(y.scalars, expected.values, accuracy: 1e-4, "stride \(stride) padding \(padding)")
        }
    }

    func testGradientsForStridesPaddingsAndOutputPaddings() {
        var generator = RandomGenerator(seed: 4)
        for (stride, padding, outputPadding, dilation) in [
            (1, 0, 0, 1), (2, 0, 0, 1), (2, 1, 0, 1), (2, 1, 1, 1), (3, 1, 2, 1), (1, 1, 0, 2)
        ] {
            let x = Tensor.randn([2, 2, 3, 4], using: &generator, requiresGrad: true)
            let w = Tensor.randn([2, 3, 3, 3], using: &generator, requiresGrad: true)
            let b = Tensor.randn([3], using: &generator, requiresGrad: true)
            checkGradients([x, w, b]) {
                convTranspose2d(
                    $0[0], weight: $0[1], bias: $0[2], stride: (stride, stride), padding: (padding, padding),
                    outputPadding: (outputPadding, outputPadding), dilation: (dilation, dilation))
            }
        }
    }

    func testIsTheAdjointOfConv2d() {
        // ⟨convT(x, w), y⟩ = ⟨x, conv2d(y, w)⟩ for the same weight, stride and padding.
        var generator = RandomGenerator(seed: 5)
        let x = Tensor.randn([2, 4, 5, 5], using: &generator)
        let w = Tensor.randn([4, 3, 4, 4], using: &generator)
        let up = convTranspose2d(x, weight: w, stride: (2, 2), padding: (1, 1))
        XCTAssertEqual(up.shape, [2, 3, 10, 10])
        let y = Tensor.randn(up.shape, using: &generator)
        let down = conv2d(y, weight: w, stride: (2, 2), padding: (1, 1))
        XCTAssertEqual(down.shape, x.shape)
        let left = zip(up.scalars, y.scalars).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        let right = zip(x.scalars, down.scalars).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        XCTAssertEqual(left, right, accuracy: 1e-3 * max(1, abs(left)))
    }

    func testLayerDoublesTheSizeWithPyTorchNames() {
        var generator = RandomGenerator(seed: 6)
        let layer = ConvTranspose2d(
            inputChannels: 8, outputChannels: 4, kernelSize: 4, stride: 2, padding: 1, generator: &generator)
        XCTAssertEqual(layer.namedParameters().map(\.name), ["weight", "bias"])
        XCTAssertEqual(layer.weight.shape, [8, 4, 4, 4])
        // PyTorch's bound 1/√(outputChannels·k²) = 1/8.
        XCTAssertLessThanOrEqual(layer.weight.scalars.map(abs).max()!, 0.125)
        XCTAssertEqual(withNoGrad { layer(Tensor.zeros([3, 8, 7, 7])) }.shape, [3, 4, 14, 14])
    }
}
