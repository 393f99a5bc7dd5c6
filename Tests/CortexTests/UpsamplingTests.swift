import Cortex
import CortexTestSupport
import XCTest

/// Nearest-neighbour upsampling and channel concatenation, the two joins of a U-Net decoder.
final class UpsamplingTests: XCTestCase {
    func testNearestCopiesEachPixelIntoAnSByBBlock() {
        // [[1, 2], [3, 4]] by 2 → each value fills a 2×2 block (PyTorch's interpolate(mode="nearest")).
        let x = Tensor(shape: [1, 1, 2, 2], data: [1, 2, 3, 4])
        assertTensor(
            upsampleNearest2d(x, scale: 2), shape: [1, 1, 4, 4],
            [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4])
        // Two planes, scale 3, a 1×2 plane: rows repeat three times, columns three times.
        let y = Tensor(shape: [1, 2, 1, 2], data: [5, 6, 7, 8])
        let up = upsampleNearest2d(y, scale: 3)
        XCTAssertEqual(up.shape, [1, 2, 3, 6])
        assertClose(Array(up.scalars[0..<6]), [5, 5, 5, 6, 6, 6])
        assertClose(Array(up.scalars[18..<24]), [7, 7, 7, 8, 8, 8])
        // The layer is the op; scale 1 is the identity.
        assertTensor(Upsample(scale: 2)(x), shape: [1, 1, 4, 4], upsampleNearest2d(x, scale: 2).scalars)
        assertTensor(upsampleNearest2d(x, scale: 1), shape: [1, 1, 2, 2], [1, 2, 3, 4])
    }

    func testNearestGradientSumsEachBlock() {
        // Upstream gradient 1, 2, …, 16 over the 4×4 output: input (0, 0) gets 1 + 2 + 5 + 6 = 14,
        // (0, 1) 3 + 4 + 7 + 8 = 22, (1, 0) 9 + 10 + 13 + 14 = 46, (1, 1) 11 + 12 + 15 + 16 = 54.
        let x = Tensor(shape: [1, 1, 2, 2], data: [1, 2, 3, 4], requiresGrad: true)
        upsampleNearest2d(x, scale: 2).backward(gradient: Tensor(shape: [1, 1, 4, 4], data: (1...16).map(Float.init)))
        assertClose(x.grad!.scalars, [14, 22, 46, 54])
    }

    func testNearestAndConcatGradientsMatchFiniteDifferences() {
        var generator = RandomGenerator(seed: 3)
        let x = Tensor.randn([2, 3, 3, 2], using: &generator, requiresGrad: true)
        checkGradients([x]) { upsampleNearest2d($0[0], scale: 2) }
        checkGradients([x]) { upsampleNearest2d($0[0], scale: 3) }
        // Concatenation along channels, as a U-Net's skip connection joins decoder and encoder maps.
        let a = Tensor.randn([2, 2, 4, 4], using: &generator, requiresGrad: true)
        let b = Tensor.randn([2, 3, 4, 4], using: &generator, requiresGrad: true)
        checkGradients([a, b]) { Tensor.concat([$0[0], $0[1]], axis: 1) }
        checkGradients([x, a]) { Tensor.concat([upsampleNearest2d($0[0].slice(axis: 2, start: 0, end: 2), scale: 2), $0[1]], axis: 1) }
    }

    func testConcatAlongChannelsByHand() {
        let a = Tensor(shape: [2, 1, 1, 2], data: [1, 2, 3, 4])
        let b = Tensor(shape: [2, 2, 1, 2], data: [10, 20, 30, 40, 50, 60, 70, 80])
        // Per batch item: a's channel then b's two channels.
        assertTensor(
            Tensor.concat([a, b], axis: 1), shape: [2, 3, 1, 2], [1, 2, 10, 20, 30, 40, 3, 4, 50, 60, 70, 80])
    }
}
