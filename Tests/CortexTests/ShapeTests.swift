import Cortex
import CortexTestSupport
import XCTest

/// Shape ops: element placement by hand and finite-difference gradients.
final class ShapeTests: XCTestCase {
    private var generator = RandomGenerator(seed: 41)

    private func random(_ shape: [Int]) -> Tensor {
        Tensor.uniform(shape, low: -2, high: 2, using: &generator, requiresGrad: true)
    }

    /// 0, 1, 2, … in `shape`.
    private func iota(_ shape: [Int]) -> Tensor { Tensor.arange(0, Float(shape.reduce(1, *))).reshaped(shape) }

    func testReshapeSqueezeUnsqueeze() {
        let t = iota([2, 3])
        assertTensor(t.reshaped([3, -1]), shape: [3, 2], [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(t.reshaped([-1]).shape, [6])
        XCTAssertEqual(t.unsqueezed(axis: 0).shape, [1, 2, 3])
        XCTAssertEqual(t.unsqueezed(axis: -1).shape, [2, 3, 1])
        XCTAssertEqual(iota([1, 3, 1]).squeezed().shape, [3])
        XCTAssertEqual(iota([1, 3, 1]).squeezed(axis: -1).shape, [1, 3])
        XCTAssertEqual(Tensor.zeros([0, 4]).reshaped([4, -1]).shape, [4, 0])
        XCTAssertEqual(Tensor(scalar: 1).reshaped([1, 1]).shape, [1, 1])
        let x = random([2, 6])
        checkGradients([x]) { $0[0].reshaped([3, 2, 2]).unsqueezed(axis: 1).squeezed(axis: 1) * Tensor([1, 2]) }
    }

    func testPermuteAndTranspose() {
        let t = iota([2, 3])
        assertTensor(t.transposed(0, 1), shape: [3, 2], [0, 3, 1, 4, 2, 5])
        // u[i][j][k] = t3[j][k][i] for t3 of shape [2,3,4].
        let t3 = iota([2, 3, 4])
        let u = t3.permuted([2, 0, 1])
        XCTAssertEqual(u.shape, [4, 2, 3])
        for i in 0..<4 { for j in 0..<2 { for k in 0..<3 { XCTAssertEqual(u[i, j, k], t3[j, k, i]) } } }
        // A large transpose exercises the tiled path across tile borders.
        let big = iota([70, 45])
        let bt = big.transposed(0, 1)
        for (i, j) in [(0, 0), (44, 69), (33, 31), (32, 32), (10, 64)] { XCTAssertEqual(bt[i, j], big[j, i]) }
        // Large enough to split over threads, with partial tiles at every border.
        let batch = iota([3, 300, 257])
        let swapped = batch.permuted([0, 2, 1])
        XCTAssertEqual(swapped.shape, [3, 257, 300])
        for (b, i, j) in [(0, 0, 0), (2, 256, 299), (1, 63, 64), (1, 64, 63), (2, 200, 31), (0, 128, 150)] {
            XCTAssertEqual(swapped[b, i, j], batch[b, j, i])
        }
        let values = swapped.scalars
        var mismatches = 0
        for b in 0..<3 {
            for i in 0..<257 {
                for j in 0..<300 where values[(b * 257 + i) * 300 + j] != Float((b * 300 + j) * 257 + i) {
                    mismatches += 1
                }
            }
        }
        XCTAssertEqual(mismatches, 0)
        let x = random([2, 3, 4])
        checkGradients([x]) { $0[0].permuted([1, 2, 0]) }
        checkGradients([x]) { $0[0].transposed(0, 2) }
        checkGradients([x]) { $0[0].permuted([0, 2, 1]).transposed(0, 1) }
    }

    func testConcatStackSplit() {
        let a = iota([2, 2]), b = iota([2, 1]) + 10
        assertTensor(Tensor.concat([a, b], axis: 1), shape: [2, 3], [0, 1, 10, 2, 3, 11])
        assertTensor(Tensor.concat([a, a], axis: 0), shape: [4, 2], [0, 1, 2, 3, 0, 1, 2, 3])
        assertTensor(Tensor.stack([Tensor([1, 2]), Tensor([3, 4])], axis: 1), shape: [2, 2], [1, 3, 2, 4])
        assertTensor(Tensor.stack([Tensor([1, 2]), Tensor([3, 4])]), shape: [2, 2], [1, 2, 3, 4])
        let parts = iota([2, 5]).split(sizes: [2, 0, 3], axis: 1)
        assertTensor(parts[0], shape: [2, 2], [0, 1, 5, 6])
        XCTAssertEqual(parts[1].shape, [2, 0])
        assertTensor(parts[2], shape: [2, 3], [2, 3, 4, 7, 8, 9])
        let x = random([2, 3]), y = random([2, 2])
        checkGradients([x, y]) { Tensor.concat([$0[0], $0[1], $0[0]], axis: 1) }
        checkGradients([x]) { Tensor.stack([$0[0], $0[0] * 2], axis: 2) }
        checkGradients([x]) { inputs in
            let p = inputs[0].split(sizes: [1, 2], axis: 1)
            return p[0] * p[1]
        }
    }

    func testSliceWithSteps() {
        let t = iota([2, 7])
        assertTensor(t.slice(axis: 1, start: 1, end: 6, step: 2), shape: [2, 3], [1, 3, 5, 8, 10, 12])
        assertTensor(t.slice(axis: 1, start: -2, end: 7), shape: [2, 2], [5, 6, 12, 13])
        assertTensor(t.slice(axis: 0, start: 1, end: 100), shape: [1, 7], [7, 8, 9, 10, 11, 12, 13])
        XCTAssertEqual(t.slice(axis: 1, start: 5, end: 2).shape, [2, 0])
        let x = random([3, 7])
        checkGradients([x]) { $0[0].slice(axis: 1, start: 0, end: 7, step: 3) }
        checkGradients([x]) { $0[0].slice(axis: 0, start: 1, end: 3) }
    }

    func testIndexSelectGatherScatter() {
        let t = iota([3, 2])
        assertTensor(t.indexSelect(axis: 0, indices: [2, 0, 2]), shape: [3, 2], [4, 5, 0, 1, 4, 5])
        assertTensor(t.indexSelect(axis: 1, indices: [1]), shape: [3, 1], [1, 3, 5])
        // torch.gather(t, 1, [[1,0],[0,0],[1,1]]) → [[1,0],[2,2],[5,5]]
        let index = Tensor([[1, 0], [0, 0], [1, 1]])
        assertTensor(t.gather(axis: 1, index: index), shape: [3, 2], [1, 0, 2, 2, 5, 5])
        // Q-value pick: gather along axis 1 with a [N, 1] index.
        assertTensor(t.gather(axis: 1, index: Tensor(shape: [3, 1], data: [1, 0, 1])), shape: [3, 1], [1, 2, 5])
        // torch.zeros(2,3).scatter_add(1, [[0,2,0]], [[1,2,3]]) → [[4,0,2],[0,0,0]]
        let s = Tensor.zeros([2, 3]).scatterAdd(axis: 1, index: Tensor([[0, 2, 0]]), source: Tensor([[1, 2, 3]]))
        assertTensor(s, shape: [2, 3], [4, 0, 2, 0, 0, 0])
        let x = random([3, 4]), src = random([2, 4])
        checkGradients([x]) { $0[0].indexSelect(axis: 1, indices: [3, 3, 0]) }
        let gatherIndex = Tensor([[2, 0, 1, 2], [0, 0, 2, 1]])
        checkGradients([x]) { $0[0].gather(axis: 0, index: gatherIndex) }
        checkGradients([x, src]) { $0[0].scatterAdd(axis: 0, index: gatherIndex, source: $0[1]) }
    }

    func testWhereMaskedFillOneHotPad() {
        let mask = Tensor([1, 0, 1])
        assertTensor(Tensor.where(mask, Tensor([1, 2, 3]), Tensor(scalar: -1)), shape: [3], [1, -1, 3])
        assertTensor(
            Tensor.where(Tensor(shape: [2, 1], data: [1, 0]), Tensor([1, 2]), Tensor([5, 6])),
            shape: [2, 2], [1, 2, 5, 6])
        assertTensor(Tensor([[1, 2, 3], [4, 5, 6]]).maskedFill(mask, value: 0), shape: [2, 3], [0, 2, 0, 0, 5, 0])
        assertTensor(Tensor.oneHot([2, 0], classes: 3), shape: [2, 3], [0, 0, 1, 1, 0, 0])
        assertTensor(Tensor([[1, 2]]).padded([(1, 0), (0, 2)]), shape: [2, 4], [0, 0, 0, 0, 1, 2, 0, 0])
        assertTensor(Tensor([1]).padded([(1, 1)], value: 9), shape: [3], [9, 1, 9])
        let a = random([2, 3]), b = random([3])
        let m = Tensor([[1, 0, 0], [0, 1, 1]])
        checkGradients([a, b]) { Tensor.where(m, $0[0], $0[1]) }
        checkGradients([a]) { $0[0].maskedFill(Tensor([0, 1, 0]), value: 5) }
        let c = random([2, 3, 2])
        checkGradients([c]) { $0[0].padded([(0, 1), (2, 1), (1, 0)]) }
    }
}
