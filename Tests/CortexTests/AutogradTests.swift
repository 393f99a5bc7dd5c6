import Cortex
import CortexTestSupport
import XCTest

/// The engine itself, exercised through a hand-written op so these tests need nothing else.
final class AutogradTests: XCTestCase {
    /// y = x · c elementwise, recorded by hand.
    private func scale(_ x: Tensor, by c: Float) -> Tensor {
        let storage = TensorStorage(uninitializedCount: x.count)
        for i in 0..<x.count { storage.pointer[i] = x.storage.pointer[i] * c }
        return Tensor.record("scale", shape: x.shape, storage: storage, inputs: [x]) { g in
            let out = TensorStorage(uninitializedCount: g.count)
            for i in 0..<g.count { out.pointer[i] = g.storage.pointer[i] * c }
            return [Tensor(shape: g.shape, storage: out)]
        }
    }

    func testDiamondGraphSumsBothPaths() {
        let x = Tensor([1, 2, 3], requiresGrad: true)
        let a = scale(x, by: 2)
        let b = scale(a, by: 3)  // 6x
        let c = scale(a, by: 5)  // 10x
        // d = b + c, recorded by hand; gradient passes through unchanged to both.
        let storage = TensorStorage(uninitializedCount: 3)
        for i in 0..<3 { storage.pointer[i] = b.storage.pointer[i] + c.storage.pointer[i] }
        let d = Tensor.record("add", shape: [3], storage: storage, inputs: [b, c]) { g in [g, g] }
        d.backward(gradient: Tensor([1, 1, 1]))
        assertTensor(x.grad!, shape: [3], [16, 16, 16])
        // The graph is released after backward.
        XCTAssertTrue(d.isLeaf)
    }

    func testGradientsAccumulateUntilZeroed() {
        let x = Tensor([1, 2], requiresGrad: true)
        scale(x, by: 3).backward(gradient: Tensor([1, 1]))
        scale(x, by: 3).backward(gradient: Tensor([1, 2]))
        assertTensor(x.grad!, shape: [2], [6, 9])
        x.zeroGrad()
        XCTAssertNil(x.grad)
    }

    func testNoGradRecordsNothing() {
        let x = Tensor([1, 2], requiresGrad: true)
        let y = withNoGrad { scale(x, by: 2) }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertTrue(y.isLeaf)
        XCTAssertFalse(scale(x, by: 2).detached().requiresGrad)
    }

    func testSeededGeneratorIsReproducibleAndCentred() {
        var a = RandomGenerator(seed: 42), b = RandomGenerator(seed: 42), c = RandomGenerator(seed: 43)
        let xa = Tensor.randn([10_000], using: &a), xb = Tensor.randn([10_000], using: &b)
        XCTAssertEqual(xa.scalars, xb.scalars)
        XCTAssertNotEqual(Tensor.randn([4], using: &c).scalars, Array(xa.scalars.prefix(4)))
        let mean = xa.scalars.reduce(0, +) / 10_000
        let variance = xa.scalars.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 10_000
        XCTAssertEqual(mean, 0, accuracy: 0.05)
        XCTAssertEqual(variance, 1, accuracy: 0.05)
    }

    func testKaimingUniformBound() {
        var g = RandomGenerator(seed: 1)
        let w = Initializer.kaimingUniform([64, 27], using: &g)  // fanIn 27
        let bound = (2.0 as Float).squareRoot() * (3.0 / 27.0 as Float).squareRoot()
        XCTAssertLessThanOrEqual(w.scalars.map(abs).max()!, bound)
        XCTAssertGreaterThan(w.scalars.map(abs).max()!, 0.9 * bound)
    }

    func testGradientCheckerCatchesAWrongRule() {
        // A deliberately wrong backward (factor 2 instead of 3) must be caught…
        let x = Tensor([0.5, -1], requiresGrad: true)
        let wrong = gradientErrors([x]) { inputs in
            let v = inputs[0]
            let storage = TensorStorage(uninitializedCount: v.count)
            for i in 0..<v.count { storage.pointer[i] = v.storage.pointer[i] * 3 }
            return Tensor.record("bad", shape: v.shape, storage: storage, inputs: [v]) { g in [self.scale(g, by: 2)] }
        }
        XCTAssertGreaterThan(wrong[0].error, 0.1)
        // …and the right one passes.
        checkGradients([x]) { inputs in self.scale(inputs[0], by: 3) }
    }
}
