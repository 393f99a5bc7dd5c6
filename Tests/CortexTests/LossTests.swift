import Cortex
import CortexTestSupport
import XCTest

final class LossTests: XCTestCase {
    func testMSEValues() {
        // d = (0, 2, −2): squares (0, 4, 4), sum 8, mean 8/3.
        let x = Tensor([1, 2, 3]), t = Tensor([1, 0, 5])
        XCTAssertEqual(mseLoss(x, t).item, 8.0 / 3, accuracy: 1e-6)
        XCTAssertEqual(mseLoss(x, t, reduction: .sum).item, 8)
        assertTensor(mseLoss(x, t, reduction: .none), shape: [3], [0, 4, 4])
    }

    func testHuberAndSmoothL1Values() {
        // d = (0.5, 2, −3), δ = 1: ½·0.25 = 0.125; 1·(2 − 0.5) = 1.5; 1·(3 − 0.5) = 2.5. Mean 4.125/3 = 1.375.
        let x = Tensor([1.5, 2, -3]), t = Tensor([1, 0, 0])
        assertTensor(huberLoss(x, t, reduction: .none), shape: [3], [0.125, 1.5, 2.5])
        XCTAssertEqual(huberLoss(x, t).item, 1.375, accuracy: 1e-6)
        // δ = 2: ½·0.25 = 0.125; |2| is not < 2: 2·(2 − 1) = 2; 2·(3 − 1) = 4.
        assertTensor(huberLoss(x, t, delta: 2, reduction: .none), shape: [3], [0.125, 2, 4])
        // Smooth L1, β = 2: ½·0.25/2 = 0.0625; 2 − 1 = 1; 3 − 1 = 2 (Huber/β).
        assertTensor(smoothL1Loss(x, t, beta: 2, reduction: .none), shape: [3], [0.0625, 1, 2])
        // δ = β = 1: the same loss.
        XCTAssertEqual(smoothL1Loss(x, t).item, huberLoss(x, t).item)
    }

    func testBinaryCrossEntropyWithLogitsIsStable() {
        // x = 0, t = 1: log 2 = 0.6931472. x = 100, t = 0: 100 (no overflow). x = −100, t = 0:
        // log(1 + e⁻¹⁰⁰) ≈ 3.7e−44. x = 2, t = 0.25: 2 − 0.5 + log(1 + e⁻²) = 1.6269280.
        let loss = binaryCrossEntropyWithLogits(Tensor([0, 100, -100, 2]), Tensor([1, 0, 0, 0.25]), reduction: .none)
        assertTensor(loss, shape: [4], [0.6931472, 100, 0, 1.6269280])
        // Gradient σ(x) − t: σ(2) − 0.25 = 0.6307971.
        let x = Tensor([2], requiresGrad: true)
        binaryCrossEntropyWithLogits(x, Tensor([0.25]), reduction: .sum).backward()
        assertClose(x.grad!.scalars, [0.6307971])
    }

    func testLossGradients() {
        var generator = RandomGenerator(seed: 9)
        let x = Tensor.randn([3, 4], std: 2, using: &generator, requiresGrad: true)
        let t = Tensor.randn([3, 4], using: &generator, requiresGrad: true)
        // Keep |x − t| away from the Huber/smooth-L1 switch points (1 and 0.5) where the second derivative jumps.
        for i in 0..<x.count {
            let d = x.storage.pointer[i] - t.storage.pointer[i]
            if abs(abs(d) - 1) < 0.05 || abs(abs(d) - 0.5) < 0.05 { x.storage.pointer[i] += 0.2 }
        }
        let probabilities = Tensor.uniform([3, 4], using: &generator, requiresGrad: true)
        for reduction in [Reduction.mean, .sum, .none] {
            checkGradients([x, t]) { mseLoss($0[0], $0[1], reduction: reduction) }
            checkGradients([x, t]) { huberLoss($0[0], $0[1], reduction: reduction) }
            checkGradients([x, t]) { smoothL1Loss($0[0], $0[1], beta: 0.5, reduction: reduction) }
            checkGradients([x, probabilities]) { binaryCrossEntropyWithLogits($0[0], $0[1], reduction: reduction) }
        }
    }
}
