import Cortex
import CortexTestSupport
import XCTest

/// Matrix products: values by hand, against a naive triple loop, and gradients for every
/// combination of transpose flags and batch broadcasting.
final class MatmulTests: XCTestCase {
    private var generator = RandomGenerator(seed: 31)

    private func random(_ shape: [Int]) -> Tensor {
        Tensor.uniform(shape, low: -1, high: 1, using: &generator, requiresGrad: true)
    }

    /// Σₖ a[t][i][k] · b[t][k][j] by plain loops, the batch axes expanded first.
    private func naive(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool) -> [Float] {
        var a2 = transposeA ? a.transposed(-1, -2) : a, b2 = transposeB ? b.transposed(-1, -2) : b
        let m = a2.shape[a2.rank - 2], k = a2.shape[a2.rank - 1], n = b2.shape[b2.rank - 1]
        let batchShape = Tensor.broadcastShape(Array(a2.shape.dropLast(2)), Array(b2.shape.dropLast(2)))
        a2 = a2.expanded(to: batchShape + [m, k])
        b2 = b2.expanded(to: batchShape + [k, n])
        let x = a2.scalars, y = b2.scalars
        var out: [Float] = []
        for t in 0..<batchShape.reduce(1, *) {
            for i in 0..<m {
                for j in 0..<n {
                    var s: Float = 0
                    for p in 0..<k { s += x[t * m * k + i * k + p] * y[t * k * n + p * n + j] }
                    out.append(s)
                }
            }
        }
        return out
    }

    func testHandComputed() {
        let a = Tensor([[1, 2], [3, 4]]), b = Tensor([[5, 6], [7, 8]])
        assertTensor(matmul(a, b), shape: [2, 2], [19, 22, 43, 50])
        assertTensor(matmul(a, b, transposeA: true), shape: [2, 2], [26, 30, 38, 44])
        assertTensor(matmul(a, b, transposeB: true), shape: [2, 2], [17, 23, 39, 53])
        assertTensor(a.matmul(b, transposeA: true, transposeB: true), shape: [2, 2], [23, 31, 34, 46])
        assertTensor(matmul(Tensor([[1, 2, 3]]), Tensor(shape: [3, 1], data: [4, 5, 6])), shape: [1, 1], [32])
    }

    func testAgainstNaiveLoops() {
        let cases: [([Int], [Int], Bool, Bool)] = [
            ([3, 4], [4, 5], false, false), ([4, 3], [4, 5], true, false), ([3, 4], [5, 4], false, true),
            ([2, 3, 4], [4, 5], false, false), ([2, 3, 4], [5, 4], false, true),
            ([2, 2, 3, 4], [2, 2, 4, 3], false, false), ([2, 1, 3, 4], [3, 4, 2], false, false),
            ([3, 4], [2, 4, 5], false, false), ([2, 4, 3], [1, 5, 4], true, true)
        ]
        for (sa, sb, ta, tb) in cases {
            let a = random(sa), b = random(sb)
            let c = matmul(a, b, transposeA: ta, transposeB: tb)
            assertClose(
                c.scalars, naive(a, b, transposeA: ta, transposeB: tb), accuracy: 1e-5, "\(sa) × \(sb) \(ta) \(tb)")
        }
        XCTAssertEqual(matmul(random([2, 1, 3, 4]), random([3, 4, 2])).shape, [2, 3, 3, 2])
    }

    func testGradients() {
        for ta in [false, true] {
            for tb in [false, true] {
                // 2-D, batched, batch broadcast on either side, batched × 2-D (folded).
                let shapes: [([Int], [Int])] = [
                    ([3, 4], [4, 2]), ([2, 3, 4], [2, 4, 2]),
                    ([1, 3, 4], [3, 4, 2]), ([2, 2, 3, 4], [4, 2]), ([3, 4], [2, 4, 2])
                ]
                for (sa, sb) in shapes {
                    var shapeA = sa, shapeB = sb
                    if ta { shapeA.swapAt(sa.count - 1, sa.count - 2) }
                    if tb { shapeB.swapAt(sb.count - 1, sb.count - 2) }
                    let a = random(shapeA), b = random(shapeB)
                    checkGradients([a, b]) { matmul($0[0], $0[1], transposeA: ta, transposeB: tb) }
                }
            }
        }
        // Transposed (permuted, then contiguous) operands.
        let a = random([4, 3]), b = random([2, 4])
        checkGradients([a, b]) { matmul($0[0].transposed(0, 1), $0[1].transposed(0, 1)) }
    }

    func testVectorOperands() {
        let m = Tensor([[1, 2], [3, 4]]), v = Tensor([5, 6])
        assertTensor(matmul(v, m), shape: [2], [23, 34])
        assertTensor(matmul(m, v), shape: [2], [17, 39])
        assertTensor(matmul(v, v), shape: [], [61])
        assertTensor(matmul(v, m, transposeB: true), shape: [2], [17, 39])
        XCTAssertEqual(matmul(Tensor.zeros([3, 2, 4]), Tensor.zeros([4])).shape, [3, 2])
        let a = random([3]), b = random([2, 3, 4])
        checkGradients([a, b]) { matmul($0[0], $0[1]) }
        checkGradients([b, a]) { matmul($0[0], $0[1], transposeA: true) }
    }

    func testLinear() {
        let x = Tensor([[1, 2]]), w = Tensor([[1, 0], [0, 1], [1, 1]]), bias = Tensor([10, 20, 30])
        assertTensor(linear(x, weight: w, bias: bias), shape: [1, 3], [11, 22, 33])
        assertTensor(linear(x, weight: w), shape: [1, 3], [1, 2, 3])
        let xs = random([2, 3, 4]), ws = random([5, 4]), bs = random([5])
        checkGradients([xs, ws, bs]) { linear($0[0], weight: $0[1], bias: $0[2]) }
        checkGradients([xs, ws]) { linear($0[0], weight: $0[1]) }
        assertClose(linear(xs, weight: ws, bias: bs).scalars, (matmul(xs, ws, transposeB: true) + bs).scalars)
    }

    func testEmptyAndUnitDimensions() {
        XCTAssertEqual(matmul(Tensor.zeros([0, 3]), Tensor.zeros([3, 2])).shape, [0, 2])
        assertTensor(matmul(Tensor.zeros([2, 0]), Tensor.zeros([0, 2])), shape: [2, 2], [0, 0, 0, 0])
        let a = random([1, 1]), b = random([1, 3])
        checkGradients([a, b]) { matmul($0[0], $0[1]) }
    }
}
