import Cortex
import CortexTestSupport
import XCTest

final class PoolingTests: XCTestCase {
    private let textbook = Tensor(shape: [1, 1, 4, 4], data: [1, 1, 2, 4, 5, 6, 7, 8, 3, 2, 1, 0, 1, 2, 3, 4])

    func testTextbookMaxPool() {
        assertTensor(maxPool2d(textbook, kernelSize: (2, 2), stride: (2, 2)), shape: [1, 1, 2, 2], [6, 8, 3, 4])
        assertTensor(maxPool2d(textbook, kernelSize: (2, 2)), shape: [1, 1, 2, 2], [6, 8, 3, 4])
    }

    func testMaxPoolGradientGoesToTheArgmax() {
        let x = Tensor(shape: [1, 1, 4, 4], data: textbook.scalars, requiresGrad: true)
        maxPool2d(x, kernelSize: (2, 2)).backward(gradient: Tensor(shape: [1, 1, 2, 2], data: [1, 2, 3, 4]))
        // 6 at (1,1), 8 at (1,3), 3 at (2,0), 4 at (3,3).
        assertTensor(x.grad!, shape: [1, 1, 4, 4], [0, 0, 0, 0, 0, 1, 0, 2, 3, 0, 0, 0, 0, 0, 0, 4])
    }

    func testMaxPoolTieSendsTheGradientToTheFirstMaximum() {
        // PyTorch's rule: the first maximum in row-major order of the window wins.
        let x = Tensor(shape: [1, 1, 2, 2], data: [3, 3, 3, 3], requiresGrad: true)
        maxPool2d(x, kernelSize: (2, 2)).backward(gradient: Tensor(shape: [1, 1, 1, 1], data: [1]))
        assertTensor(x.grad!, shape: [1, 1, 2, 2], [1, 0, 0, 0])
    }

    func testTwoByTwoFastPathMatchesTheDefinitionWithTiesAndNaNs() {
        // Odd widths (eight-window vectors plus a tail, and a dropped last column), values on a
        // coarse grid (ties), and NaNs: the window's first maximum wins, a NaN over numbers.
        var generator = RandomGenerator(seed: 31)
        for shape in [[2, 3, 9, 35], [1, 2, 28, 28], [3, 1, 10, 10], [1, 1, 5, 16]] {
            let (planes, H, W) = (shape[0] * shape[1], shape[2], shape[3])
            var data = (0..<(planes * H * W)).map { _ in (generator.nextNormal() * 2).rounded() / 2 }
            for _ in 0..<(data.count / 50) { data[Int(generator.next() % UInt64(data.count))] = .nan }
            let x = Tensor(shape: shape, data: data, requiresGrad: true)
            let y = maxPool2d(x, kernelSize: (2, 2))
            let (oH, oW) = (H / 2, W / 2)
            let upstream = (0..<(planes * oH * oW)).map { Float($0 + 1) }
            y.backward(gradient: Tensor(shape: y.shape, data: upstream))
            var expectedGrad = [Float](repeating: 0, count: data.count)
            for p in 0..<planes {
                for oy in 0..<oH {
                    for ox in 0..<oW {
                        let i0 = p * H * W + 2 * oy * W + 2 * ox
                        var best = data[i0], bestIndex = i0
                        for i in [i0 + 1, i0 + W, i0 + W + 1] where data[i] > best || data[i].isNaN {
                            best = data[i]
                            bestIndex = i
                        }
                        let out = (p * oH + oy) * oW + ox
                        let value = y.storage.pointer[out]
                        XCTAssertTrue(value == best || (value.isNaN && best.isNaN), "shape \(shape) window \(out)")
                        expectedGrad[bestIndex] += upstream[out]
                    }
                }
            }
            XCTAssertEqual(x.grad!.scalars, expectedGrad, "shape \(shape)")
        }
    }

    func testMaxPoolWithPaddingIgnoresThePad() {
        // All negative: a zero pad would win if padding counted as a value.
        let x = Tensor(shape: [1, 1, 2, 2], data: [-1, -2, -3, -4])
        assertTensor(
            maxPool2d(x, kernelSize: (2, 2), stride: (1, 1), padding: (1, 1)), shape: [1, 1, 3, 3],
            [-1, -1, -2, -1, -1, -2, -3, -3, -4])
    }

    func testAvgPoolCountsPaddingByDefault() {
        // 2×2 windows, stride 2 on the textbook input: means of each block.
        assertTensor(avgPool2d(textbook, kernelSize: (2, 2)), shape: [1, 1, 2, 2], [3.25, 5.25, 2, 2])
        // Padding 1, kernel 2, stride 2 on 0…8 (3×3): corner window holds only x[0,0] = 0 etc.
        let x = Tensor(shape: [1, 1, 3, 3], data: (0..<9).map(Float.init))
        // Windows: {0}, {1,2}, {3,6}, {4,5,7,8} → sums 0, 3, 9, 24.
        assertTensor(avgPool2d(x, kernelSize: (2, 2), padding: (1, 1)), shape: [1, 1, 2, 2], [0, 0.75, 2.25, 6])
        assertTensor(
            avgPool2d(x, kernelSize: (2, 2), padding: (1, 1), countIncludePad: false), shape: [1, 1, 2, 2],
            [0, 1.5, 4.5, 6])
    }

    /// Distinct values a finite-difference step cannot reorder.
    private func spreadValues(_ shape: [Int], seed: UInt64) -> Tensor {
        var generator = RandomGenerator(seed: seed)
        var values = (0..<shape.reduce(1, *)).map { Float($0) * 0.1 }
        values.shuffle(using: &generator)
        return Tensor(shape: shape, data: values, requiresGrad: true)
    }

    func testGradients() {
        // Overlapping windows (kernel 3, stride 2) with padding, non-square, batch 2, 3 channels.
        let x = spreadValues([2, 3, 7, 6], seed: 9)
        checkGradients([x]) { maxPool2d($0[0], kernelSize: (3, 3), stride: (2, 2), padding: (1, 1)) }
        checkGradients([x]) { maxPool2d($0[0], kernelSize: (2, 3), stride: (1, 2)) }
        checkGradients([x]) { avgPool2d($0[0], kernelSize: (3, 3), stride: (2, 2), padding: (1, 1)) }
        checkGradients([x]) {
            avgPool2d($0[0], kernelSize: (3, 2), stride: (2, 1), padding: (1, 1), countIncludePad: false)
        }
        // Kernel the size of the input: one output per plane.
        checkGradients([x]) { maxPool2d($0[0], kernelSize: (7, 6)) }
        checkGradients([x]) { avgPool2d($0[0], kernelSize: (7, 6)) }
    }
}
