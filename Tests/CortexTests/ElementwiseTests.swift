import Cortex
import CortexTestSupport
import Foundation
import XCTest

/// Elementwise ops and broadcasting: hand-computed values and finite-difference gradients.
final class ElementwiseTests: XCTestCase {
    private var generator = RandomGenerator(seed: 11)

    private func random(_ shape: [Int], low: Float = -2, high: Float = 2) -> Tensor {
        Tensor.uniform(shape, low: low, high: high, using: &generator, requiresGrad: true)
    }

    func testBroadcastShape() {
        XCTAssertEqual(Tensor.broadcastShape([2, 3], [3]), [2, 3])
        XCTAssertEqual(Tensor.broadcastShape([4, 1, 3], [2, 1]), [4, 2, 3])
        XCTAssertEqual(Tensor.broadcastShape([], [2, 2]), [2, 2])
        XCTAssertEqual(Tensor.broadcastShape([0, 1], [1, 5]), [0, 5])
    }

    func testBroadcastValues() {
        let a = Tensor([[1, 2, 3], [4, 5, 6]])
        assertTensor(a + Tensor([10, 20, 30]), shape: [2, 3], [11, 22, 33, 14, 25, 36])
        assertTensor(a - Tensor(shape: [2, 1], data: [1, 2]), shape: [2, 3], [0, 1, 2, 2, 3, 4])
        // Both ways: [2,1] ⊕ [1,3] → [2,3].
        assertTensor(
            Tensor(shape: [2, 1], data: [1, 2]) * Tensor(shape: [1, 3], data: [1, 10, 100]),
            shape: [2, 3], [1, 10, 100, 2, 20, 200])
        assertTensor(Tensor(scalar: 12) / Tensor([1, 2, 3, 4]), shape: [4], [12, 6, 4, 3])
        // Channel broadcast [N,C,H,W] + [1,C,1,1].
        let x = Tensor.zeros([2, 3, 2, 2])
        let bias = Tensor(shape: [1, 3, 1, 1], data: [1, 2, 3])
        XCTAssertEqual((x + bias).scalars, [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3])
        // A middle broadcast axis takes the general strided path: [2,1,2] + [2,3,1] → [2,3,2].
        let p = Tensor(shape: [2, 1, 2], data: [1, 2, 3, 4])
        let q = Tensor(shape: [2, 3, 1], data: [10, 20, 30, 40, 50, 60])
        XCTAssertEqual((p + q).scalars, [11, 12, 21, 22, 31, 32, 43, 44, 53, 54, 63, 64])
        // Empty and rank 0.
        XCTAssertEqual((Tensor.zeros([0, 3]) + Tensor([1, 2, 3])).shape, [0, 3])
        assertTensor(Tensor(scalar: 2) * Tensor(scalar: 3), shape: [], [6])
    }

    func testScalarOperators() {
        let x = Tensor([1, 2, 4])
        assertTensor(x + 1, shape: [3], [2, 3, 5])
        assertTensor(1 - x, shape: [3], [0, -1, -3])
        assertTensor(x - 1, shape: [3], [0, 1, 3])
        assertTensor(2 * x, shape: [3], [2, 4, 8])
        assertTensor(x / 2, shape: [3], [0.5, 1, 2])
        assertTensor(8 / x, shape: [3], [8, 4, 2])
        assertTensor(-x, shape: [3], [-1, -2, -4])
    }

    func testUnaryValues() {
        let x = Tensor([-1, 0, 2])
        assertTensor(x.exp(), shape: [3], [0.36787944, 1, 7.3890561])
        assertTensor(Tensor([1, 4]).log(), shape: [2], [0, 1.3862944])
        assertTensor(Tensor([4, 9]).sqrt(), shape: [2], [2, 3])
        assertTensor(x.abs(), shape: [3], [1, 0, 2])
        assertTensor(x.pow(3), shape: [3], [-1, 0, 8])
        assertTensor(Tensor([4]).pow(0.5), shape: [1], [2])
        assertTensor(x.tanh(), shape: [3], [-0.76159416, 0, 0.96402758])
        assertTensor(x.sigmoid(), shape: [3], [0.26894142, 0.5, 0.88079708])
        assertTensor(x.relu(), shape: [3], [0, 0, 2])
        assertTensor(x.leakyRelu(negativeSlope: 0.1), shape: [3], [-0.1, 0, 2])
        // torch.nn.functional.gelu(torch.tensor([-1., 0., 2.])) → [-0.1587, 0.0000, 1.9545]
        assertTensor(x.gelu(), shape: [3], [-0.15865525, 0, 1.9544997], accuracy: 1e-5)
        // F.gelu(torch.tensor([-1., 0., 2.]), approximate='tanh') → [-0.1588, 0.0000, 1.9546]
        assertTensor(x.gelu(approximate: true), shape: [3], [-0.15880801, 0, 1.9545977], accuracy: 1e-5)
        assertTensor(Tensor([-3, 0.5, 3]).clamp(min: -1, max: 1), shape: [3], [-1, 0.5, 1])
        assertTensor(Tensor([-3, 0.5, 3]).clamp(max: 1), shape: [3], [-3, 0.5, 1])
    }

    func testMaximumMinimumAndComparisons() {
        let a = Tensor([1, 5, 3]), b = Tensor([2, 5, 1])
        assertTensor(maximum(a, b), shape: [3], [2, 5, 3])
        assertTensor(minimum(a, b), shape: [3], [1, 5, 1])
        assertTensor(a.eq(b), shape: [3], [0, 1, 0])
        assertTensor(a.gt(b), shape: [3], [0, 0, 1])
        assertTensor(a.lt(b), shape: [3], [1, 0, 0])
        assertTensor(a.ge(b), shape: [3], [0, 1, 1])
        assertTensor(a.le(b), shape: [3], [1, 1, 0])
        assertTensor(a.gt(2), shape: [3], [0, 1, 1])
        assertTensor(a.le(3), shape: [3], [1, 0, 1])
        assertTensor(a.eq(5), shape: [3], [0, 1, 0])
        XCTAssertFalse(Tensor([1, 2], requiresGrad: true).gt(1).requiresGrad)
        // Ties split the gradient equally, as torch.maximum.
        let x = Tensor([1, 5, 3], requiresGrad: true), y = Tensor([2, 5, 1], requiresGrad: true)
        maximum(x, y).sum().backward()
        assertTensor(x.grad!, shape: [3], [0, 0.5, 1])
        assertTensor(y.grad!, shape: [3], [1, 0.5, 0])
    }

    func testBinaryGradientsWithBroadcasting() {
        // Same shape, trailing broadcast, broadcast both ways, channel broadcast, scalar.
        let pairs: [([Int], [Int])] = [
            ([3, 4], [3, 4]), ([3, 4], [4]), ([3, 1], [1, 4]),
            ([2, 3, 2, 2], [1, 3, 1, 1]), ([2, 3], []), ([2, 1, 3], [4, 1])
        ]
        for (sa, sb) in pairs {
            let a = random(sa), b = random(sb)
            checkGradients([a, b]) { $0[0] + $0[1] }
            checkGradients([a, b]) { $0[0] - $0[1] }
            checkGradients([a, b]) { $0[0] * $0[1] }
            checkGradients([b, a]) { $0[0] * $0[1] }
            let d = random(sb, low: 1, high: 2)
            checkGradients([a, d]) { $0[0] / $0[1] }
            checkGradients([a, b]) { maximum($0[0], $0[1]) }
            checkGradients([a, b]) { minimum($0[0], $0[1]) }
        }
    }

    func testUnaryGradients() {
        let x = random([3, 5])
        let positive = random([3, 5], low: 0.5, high: 2)
        // Inputs away from kinks (|x| ≥ 0.05) so finite differences do not straddle them.
        let awayFromZero = Tensor(
            shape: [3, 5], data: x.scalars.map { $0 >= 0 ? $0 + 0.05 : $0 - 0.05 }, requiresGrad: true)
        checkGradients([x]) { -$0[0] }
        checkGradients([x]) { $0[0].exp() }
        checkGradients([positive]) { $0[0].log() }
        checkGradients([positive]) { $0[0].sqrt() }
        checkGradients([awayFromZero]) { $0[0].abs() }
        checkGradients([x]) { $0[0].pow(2) }
        checkGradients([x]) { $0[0].pow(3) }
        checkGradients([positive]) { $0[0].pow(-1.5) }
        checkGradients([x]) { $0[0].tanh() }
        checkGradients([x]) { $0[0].sigmoid() }
        checkGradients([awayFromZero]) { $0[0].relu() }
        checkGradients([awayFromZero]) { $0[0].leakyRelu(negativeSlope: 0.2) }
        checkGradients([x]) { $0[0].gelu() }
        checkGradients([x]) { $0[0].gelu(approximate: true) }
        checkGradients([awayFromZero]) { $0[0].clamp(min: -1, max: 1) }
        checkGradients([x]) { 3 + $0[0] * 2 - 1 }
        checkGradients([x]) { 1 - $0[0] / 4 }
        checkGradients([positive]) { 2 / $0[0] }
    }

    func testSameTensorOnBothSides() {
        // Both gradient paths reach one leaf: d(x·x)/dx = 2x, d(x/x)/dx = 0.
        let x = random([2, 3])
        checkGradients([x]) { $0[0] * $0[0] }
        checkGradients([x]) { $0[0] + $0[0].exp() * $0[0] }
        let y = Tensor([1, 2], requiresGrad: true)
        (y * y).sum().backward()
        assertTensor(y.grad!, shape: [2], [2, 4])
    }

    func testRecycledLargeBuffersHoldFreshValues() {
        // Results above the cache threshold reuse freed blocks: values must not leak across.
        let n = 1 << 16
        for round in 0..<3 {
            let a = Tensor.full([n], Float(round)), b = Tensor.full([n], 1)
            let sum = a + b
            XCTAssertEqual(sum.scalars.min(), Float(round + 1))
            XCTAssertEqual(sum.scalars.max(), Float(round + 1))
        }
        let limit = Runtime.storageCacheBytes
        Runtime.storageCacheBytes = 0
        XCTAssertEqual((Tensor.ones([n]) * 3).sum().item, Float(3 * n))
        Runtime.storageCacheBytes = limit
    }

    func testGradientsThroughTransposedInputs() {
        // The input is permuted and made contiguous before the op, as a transposed operand would be.
        let a = random([4, 3]), b = random([3, 4])
        checkGradients([a, b]) { ($0[0].transposed(0, 1) * $0[1]).tanh() }
        let c = random([2, 3, 4])
        checkGradients([c]) { $0[0].permuted([2, 0, 1]).sigmoid() * Tensor([1, 2, 3]) }
    }

    func testSumToShape() {
        let g = Tensor([[1, 2, 3], [4, 5, 6]])
        assertTensor(g.sumToShape([3]), shape: [3], [5, 7, 9])
        assertTensor(g.sumToShape([2, 1]), shape: [2, 1], [6, 15])
        assertTensor(g.sumToShape([]), shape: [], [21])
        assertTensor(g.sumToShape([1, 3]), shape: [1, 3], [5, 7, 9])
        assertTensor(Tensor(shape: [1, 2], data: [1, 2]).expanded(to: [3, 2]), shape: [3, 2], [1, 2, 1, 2, 1, 2])
        let x = random([3, 1])
        checkGradients([x]) { $0[0].expanded(to: [2, 3, 4]) }
    }

    func testVectorisedTranscendentalsMatchLibm() {
        // exp, tanh, sigmoid and GELU use their own polynomial forms; compare with libm in
        // Double over a dense grid including the overflow and underflow edges (subnormal results
        // may flush to zero, as Float libm does for sigmoid).
        var grid = stride(from: -110.0 as Float, through: 95, by: 0.0173).map { $0 }
        grid += [0, -0, 1e-8, -1e-8, 0.6249, 0.6251, -0.625, 88.72, 88.73, -87.3, -103.9, .infinity, -.infinity]
        let x = Tensor(grid)
        let exp = x.exp().scalars, tanh = x.tanh().scalars, sigmoid = x.sigmoid().scalars
        let gelu = x.gelu().scalars
        for (i, v) in grid.enumerated() {
            let d = Double(v)
            let e = Foundation.exp(d)
            if e > Double(Float.greatestFiniteMagnitude) {
                XCTAssertEqual(exp[i], .infinity, "exp(\(v))")
            } else {
                XCTAssertEqual(Double(exp[i]), e, accuracy: 3e-7 * e + 1.2e-38, "exp(\(v))")
            }
            XCTAssertEqual(
                Double(tanh[i]), Foundation.tanh(d), accuracy: 3e-7 * Swift.abs(Foundation.tanh(d)) + 1e-30,
                "tanh(\(v))")
            let s = 1 / (1 + Foundation.exp(-d))
            XCTAssertEqual(Double(sigmoid[i]), s, accuracy: 3e-7 * s + 1.2e-38, "sigmoid(\(v))")
            if v.isFinite {
                let g = 0.5 * d * (1 + Foundation.erf(d / 2.0.squareRoot()))
                XCTAssertEqual(Double(gelu[i]), g, accuracy: 1e-6 * Swift.max(1, Swift.abs(g)), "gelu(\(v))")
            }
        }
        XCTAssertTrue(Tensor([.nan]).exp().item.isNaN)
    }

    func testLargeTensorsMatchSmallLoop() {
        // Above the parallel threshold the kernels split over threads; compare to plain Swift.
        var g = RandomGenerator(seed: 3)
        let a = Tensor.randn([300, 1000], using: &g), b = Tensor.randn([1000], using: &g)
        let sum = (a + b).scalars, product = (a * a).scalars, activated = a.relu().scalars
        let av = a.scalars, bv = b.scalars
        for i in stride(from: 0, to: av.count, by: 997) {
            XCTAssertEqual(sum[i], av[i] + bv[i % 1000])
            XCTAssertEqual(product[i], av[i] * av[i])
            XCTAssertEqual(activated[i], max(av[i], 0))
        }
    }
}
