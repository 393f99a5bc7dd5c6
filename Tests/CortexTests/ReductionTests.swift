import Cortex
import CortexTestSupport
import XCTest

/// Reductions: values by hand, all axis sets, ties, and finite-difference gradients.
final class ReductionTests: XCTestCase {
    private var generator = RandomGenerator(seed: 21)

    private func random(_ shape: [Int]) -> Tensor {
        Tensor.uniform(shape, low: -2, high: 2, using: &generator, requiresGrad: true)
    }

    // x[i][j][k] = 100i + 10j + k on shape [2, 3, 2]
    private let x = Tensor(shape: [2, 3, 2], data: [0, 1, 10, 11, 20, 21, 100, 101, 110, 111, 120, 121])

    func testSumOverAxisSets() {
        assertTensor(x.sum(), shape: [], [726])
        assertTensor(x.sum(axes: [0]), shape: [3, 2], [100, 102, 120, 122, 140, 142])
        assertTensor(x.sum(axes: [1]), shape: [2, 2], [30, 33, 330, 333])
        assertTensor(x.sum(axes: [2]), shape: [2, 3], [1, 21, 41, 201, 221, 241])
        assertTensor(x.sum(axes: [-1], keepDims: true), shape: [2, 3, 1], [1, 21, 41, 201, 221, 241])
        assertTensor(x.sum(axes: [0, 2]), shape: [3], [202, 242, 282])
        assertTensor(x.sum(axes: [0, 2], keepDims: true), shape: [1, 3, 1], [202, 242, 282])
        assertTensor(x.sum(axes: [0, 1, 2], keepDims: true), shape: [1, 1, 1], [726])
        assertTensor(x.sum(axes: []), shape: [2, 3, 2], x.scalars)
    }

    func testMeanMaxMinVariance() {
        assertTensor(x.mean(axes: [1]), shape: [2, 2], [10, 11, 110, 111])
        assertTensor(x.max(axes: [0, 1]), shape: [2], [120, 121])
        assertTensor(x.min(axes: [2]), shape: [2, 3], [0, 10, 20, 100, 110, 120])
        assertTensor(x.max(), shape: [], [121])
        let v = Tensor([[1, 2, 3, 4], [2, 2, 2, 2]])
        // Population variance of 1…4 is 1.25; sample variance 5/3.
        assertTensor(v.variance(axes: [1]), shape: [2], [1.25, 0])
        assertTensor(v.variance(axes: [1], unbiased: true), shape: [2], [5.0 / 3.0, 0])
        // Mean 2.25; squared deviations sum to 5.5 over 8 values.
        assertTensor(v.variance(), shape: [], [0.6875])
    }

    func testLogSumExpIsStable() {
        let big = Tensor([[1000, 1000], [-1000, -1000]])
        assertTensor(big.logSumExp(axes: [1]), shape: [2], [1000 + 0.6931472, -1000 + 0.6931472])
        assertTensor(Tensor([0, 1, 2]).logSumExp(), shape: [], [2.4076059])
        let negInf = Tensor([-Float.infinity, -Float.infinity])
        XCTAssertEqual(negInf.logSumExp().item, -Float.infinity)
        XCTAssertEqual(Tensor([[1, 2]]).logSumExp(axes: [1], keepDims: true).shape, [1, 1])
    }

    func testArgmax() {
        let t = Tensor([[1, 9, 3], [7, 2, 7]])
        assertTensor(t.argmax(axis: 1), shape: [2], [1, 0])
        assertTensor(t.argmax(axis: 0), shape: [3], [1, 0, 1])
        assertTensor(t.argmax(axis: -1, keepDims: true), shape: [2, 1], [1, 0])
        XCTAssertEqual(t.argmaxIndices(axis: 1), [1, 0])
        XCTAssertEqual(x.argmaxIndices(axis: 1), [2, 2, 2, 2])
    }

    func testEdgeCases() {
        // Size-1 and empty axes, rank 0.
        assertTensor(Tensor(scalar: 3).sum(), shape: [], [3])
        assertTensor(Tensor(shape: [1, 3, 1], data: [1, 2, 3]).sum(axes: [1]), shape: [1, 1], [6])
        assertTensor(Tensor.zeros([0, 3]).sum(axes: [0]), shape: [3], [0, 0, 0])
        assertTensor(Tensor.zeros([2, 0]).sum(axes: [1]), shape: [2], [0, 0])
        assertTensor(Tensor.zeros([0]).sum(), shape: [], [0])
        XCTAssertEqual(Tensor.zeros([3, 0]).sum(axes: [0]).shape, [0])
    }

    func testLongRowsUseTheVectorFold() {
        // 1000 values 0…999 in one row, plus rows folded through the middle axis.
        let row = Tensor.arange(0, 1000).reshaped([1, 1000])
        assertTensor(row.sum(axes: [1]), shape: [1], [499_500])
        assertTensor(row.max(axes: [1]), shape: [1], [999])
        assertTensor(row.min(axes: [1]), shape: [1], [0])
        var g = RandomGenerator(seed: 5)
        let m = Tensor.randn([300, 700], using: &g)
        let sums = m.sum(axes: [1]).scalars, values = m.scalars
        for r in stride(from: 0, to: 300, by: 37) {
            let expected = values[(r * 700)..<((r + 1) * 700)].reduce(Double(0)) { $0 + Double($1) }
            XCTAssertEqual(Double(sums[r]), expected, accuracy: 1e-3)
        }
    }

    func testGradients() {
        let a = random([3, 4, 2])
        for axes in [nil, [0], [1], [2], [0, 2], [1, 2], [0, 1, 2]] as [[Int]?] {
            for keep in [false, true] {
                checkGradients([a]) { $0[0].sum(axes: axes, keepDims: keep) }
                checkGradients([a]) { $0[0].mean(axes: axes, keepDims: keep) }
                checkGradients([a]) { $0[0].max(axes: axes, keepDims: keep) }
                checkGradients([a]) { $0[0].min(axes: axes, keepDims: keep) }
                checkGradients([a]) { $0[0].logSumExp(axes: axes, keepDims: keep) }
                checkGradients([a]) { $0[0].variance(axes: axes, keepDims: keep) }
                checkGradients([a]) { $0[0].variance(axes: axes, keepDims: keep, unbiased: true) }
            }
        }
        // A transposed input.
        let b = random([4, 3])
        checkGradients([b]) { $0[0].transposed(0, 1).logSumExp(axes: [1]) }
    }

    func testMaxSplitsTiesEqually() {
        let t = Tensor([[2, 5, 5], [1, 1, 1]], requiresGrad: true)
        t.max(axes: [1]).sum().backward()
        assertTensor(t.grad!, shape: [2, 3], [0, 0.5, 0.5, 1.0 / 3, 1.0 / 3, 1.0 / 3])
        let u = Tensor([3, 1, 3], requiresGrad: true)
        u.min().backward()
        assertTensor(u.grad!, shape: [3], [0, 1, 0])
    }
}
