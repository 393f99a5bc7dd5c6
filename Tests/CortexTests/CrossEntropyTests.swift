import Cortex
import CortexTestSupport
import XCTest

final class CrossEntropyTests: XCTestCase {
    func testHandComputedLoss() {
        // log(e¹ + e² + e³) − 3 = log(30.19287485) − 3 = 0.40760596
        let loss = crossEntropy(logits: Tensor([[1, 2, 3]]), targets: [2])
        XCTAssertEqual(loss.shape, [])
        XCTAssertEqual(loss.item, 0.40760596, accuracy: 1e-6)
    }

    func testLabelSmoothing() {
        // ε = 0.1, C = 3: log p = [1, 2, 3] − 3.40760596 = [−2.40760596, −1.40760596, −0.40760596],
        // Σ log p = −4.22281788. loss = 0.9 · 0.40760596 + (0.1 / 3) · 4.22281788
        //                              = 0.36684536 + 0.14076060 = 0.50760596.
        let loss = crossEntropy(logits: Tensor([[1, 2, 3]]), targets: [2], labelSmoothing: 0.1)
        XCTAssertEqual(loss.item, 0.50760596, accuracy: 1e-6)
    }

    func testIgnoreIndexLeavesTheMean() {
        // Row 3: log(e⁵ + 2e) − 5 = log(153.84972277) − 5 = 0.03597630; row 2 is ignored,
        // so the mean is (0.40760596 + 0.03597630) / 2 = 0.22179113.
        let logits = Tensor([[1, 2, 3], [0, 0, 0], [5, 1, 1]])
        let mean = crossEntropy(logits: logits, targets: [2, -100, 0], ignoreIndex: -100)
        XCTAssertEqual(mean.item, 0.22179113, accuracy: 1e-6)
        let sum = crossEntropy(logits: logits, targets: [2, -100, 0], ignoreIndex: -100, reduction: .sum)
        XCTAssertEqual(sum.item, 0.44358226, accuracy: 1e-6)
        let each = crossEntropy(logits: logits, targets: [2, -100, 0], ignoreIndex: -100, reduction: .none)
        assertTensor(each, shape: [3], [0.40760596, 0, 0.03597630])
        // ε = 0.2 on row 3: −0.8 · log p₀ − (0.2 / 3) · Σ log p, log p = [5, 1, 1] − 5.03597630
        // = 0.8 · 0.03597630 + (0.2 / 3) · 8.10792890 = 0.02878104 + 0.54052859 = 0.56930963.
        let smoothed = crossEntropy(
            logits: logits, targets: [2, -100, 0], labelSmoothing: 0.2,
            ignoreIndex: -100, reduction: .none)
        XCTAssertEqual(smoothed[2], 0.56930963, accuracy: 1e-5)
        XCTAssertEqual(smoothed[1], 0)
    }

    func testEveryRowIgnored() {
        // PyTorch's rule: the mean over zero counted rows is 0/0 = NaN; the sum is 0.
        let logits = Tensor([[1, 2], [3, 4]], requiresGrad: true)
        XCTAssertTrue(crossEntropy(logits: logits, targets: [-1, -1], ignoreIndex: -1).item.isNaN)
        let sum = crossEntropy(logits: logits, targets: [-1, -1], ignoreIndex: -1, reduction: .sum)
        XCTAssertEqual(sum.item, 0)
        sum.backward()
        assertTensor(logits.grad!, shape: [2, 2], [0, 0, 0, 0])
    }

    func testLeadingAxesAreFlattened() {
        let logits = Tensor(shape: [2, 1, 3], data: [1, 2, 3, 5, 1, 1])
        let each = crossEntropy(logits: logits, targets: [2, 0], reduction: .none)
        assertTensor(each, shape: [2, 1], [0.40760596, 0.03597630])
    }

    func testLargeLogitsStayFinite() {
        let loss = crossEntropy(logits: Tensor([[1000, 1001]]), targets: [0])
        XCTAssertEqual(loss.item, 1.31326169, accuracy: 1e-5)  // log(1 + e)
    }

    func testGradients() {
        var generator = RandomGenerator(seed: 3)
        let logits = Tensor.randn([5, 4], using: &generator, requiresGrad: true)
        let targets = [3, 0, 1, 3, 2]
        for reduction in [Reduction.mean, .sum, .none] {
            checkGradients([logits]) { crossEntropy(logits: $0[0], targets: targets, reduction: reduction) }
            checkGradients([logits]) {
                crossEntropy(
                    logits: $0[0], targets: [3, -1, 1, -1, 2], labelSmoothing: 0.1, ignoreIndex: -1,
                    reduction: reduction)
            }
        }
        let sequence = Tensor.randn([2, 3, 5], using: &generator, requiresGrad: true)
        checkGradients([sequence]) {
            crossEntropy(logits: $0[0], targets: [0, 4, 2, 2, 1, 3], labelSmoothing: 0.3)
        }
    }

    func testIgnoredRowsGetNoGradient() {
        let logits = Tensor([[1, 2, 3], [4, 5, 6]], requiresGrad: true)
        crossEntropy(logits: logits, targets: [7, 1], ignoreIndex: 7).backward()
        assertClose(Array(logits.grad!.scalars.prefix(3)), [0, 0, 0])
    }

    func testNLLLossMatchesCrossEntropy() {
        var generator = RandomGenerator(seed: 4)
        let logits = Tensor.randn([4, 6], using: &generator, requiresGrad: true)
        let targets = [5, 0, 2, 2]
        let fused = crossEntropy(logits: logits, targets: targets, ignoreIndex: 2)
        let split = nllLoss(logProbs: logits.logSoftmax(), targets: targets, ignoreIndex: 2)
        XCTAssertEqual(fused.item, split.item, accuracy: 1e-6)
        // −logProbs at the targets: −(−1.5) and −(−0.5), mean 1.
        XCTAssertEqual(nllLoss(logProbs: Tensor([[-1.5, -0.2], [-0.9, -0.5]]), targets: [0, 1]).item, 1, accuracy: 1e-6)
        checkGradients([logits]) { nllLoss(logProbs: $0[0], targets: targets, ignoreIndex: 0, reduction: .none) }
        checkGradients([logits]) { nllLoss(logProbs: $0[0].logSoftmax(), targets: targets) }
    }
}
