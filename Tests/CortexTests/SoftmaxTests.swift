import Cortex
import CortexTestSupport
import XCTest

final class SoftmaxTests: XCTestCase {
    func testSoftmaxOfLargeLogitsStaysFinite() {
        // e^1000 overflows Float; after subtracting the max: [1, e] / (1 + e).
        let y = Tensor([1000, 1001]).softmax()
        assertTensor(y, shape: [2], [0.26894142, 0.73105858])
        // log-softmax: [−log(1 + e), 1 − log(1 + e)] = [−1.31326169, −0.31326169].
        assertTensor(Tensor([1000, 1001]).logSoftmax(), shape: [2], [-1.31326169, -0.31326169])
    }

    func testSoftmaxAlongFirstAxisNormalisesColumns() {
        // Column 0 is [0, ln 3] → [1/4, 3/4]; column 1 is [2, 2] → [1/2, 1/2].
        let x = Tensor([[0, 2], [Float(log(3.0)), 2]])
        assertTensor(x.softmax(axis: 0), shape: [2, 2], [0.25, 0.5, 0.75, 0.5])
        assertTensor(
            x.logSoftmax(axis: 0), shape: [2, 2],
            [Float(log(0.25)), Float(log(0.5)), Float(log(0.75)), Float(log(0.5))])
    }

    func testSoftmaxAlongMiddleAxis() {
        var generator = RandomGenerator(seed: 1)
        let x = Tensor.randn([2, 3, 4], using: &generator)
        let y = x.softmax(axis: 1)
        for outer in 0..<2 {
            for inner in 0..<4 {
                var total: Float = 0, normaliser: Float = 0
                for a in 0..<3 { normaliser += exp(x[outer, a, inner]) }
                for a in 0..<3 {
                    total += y[outer, a, inner]
                    XCTAssertEqual(y[outer, a, inner], exp(x[outer, a, inner]) / normaliser, accuracy: 1e-6)
                }
                XCTAssertEqual(total, 1, accuracy: 1e-6)
            }
        }
    }

    func testSoftmaxGradients() {
        var generator = RandomGenerator(seed: 2)
        for axis in [0, -1, 1] {
            let x = Tensor.randn([3, 4, 5], using: &generator, requiresGrad: true)
            checkGradients([x]) { $0[0].softmax(axis: axis) }
            checkGradients([x]) { $0[0].logSoftmax(axis: axis) }
        }
        let row = Tensor.randn([1, 7], using: &generator, requiresGrad: true)
        checkGradients([row]) { $0[0].softmax(axis: 0) }  // a line of length 1: gradient 0
        checkGradients([row]) { $0[0].logSoftmax() }
    }

    func testLargeSoftmaxSplitBetweenThreadsMatchesTheDefinition() {
        var generator = RandomGenerator(seed: 19)
        let x = Tensor.randn([300, 128], std: 3, using: &generator, requiresGrad: true)
        let y = x.softmax(), logY = x.logSoftmax()
        for row in Swift.stride(from: 0, to: 300, by: 7) {
            var normaliser = 0.0
            for j in 0..<128 { normaliser += Foundation.exp(Double(x[row, j])) }
            for j in 0..<128 {
                XCTAssertEqual(Double(y[row, j]), Foundation.exp(Double(x[row, j])) / normaliser, accuracy: 1e-6)
                XCTAssertEqual(Double(logY[row, j]), Double(x[row, j]) - Foundation.log(normaliser), accuracy: 1e-4)
            }
        }
        // Backward with upstream 1 on log-softmax: ∂x = 1 − 128·softmax(x).
        logY.backward(gradient: Tensor.ones([300, 128]))
        for i in Swift.stride(from: 0, to: 300 * 128, by: 97) {
            XCTAssertEqual(x.grad!.storage.pointer[i], 1 - 128 * y.storage.pointer[i], accuracy: 1e-4)
        }
    }
}
