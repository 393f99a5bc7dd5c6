import Cortex
import CortexTestSupport
import XCTest

final class EmbeddingDropoutTests: XCTestCase {
    func testEmbeddingGathersRows() {
        let table = Tensor([[0, 1], [10, 11], [20, 21]])
        let out = embedding(table, indices: [2, 0, 2, 1], shape: [2, 2])
        assertTensor(out, shape: [2, 2, 2], [20, 21, 0, 1, 20, 21, 10, 11])
    }

    func testEmbeddingGradientScatterAdds() {
        let table = Tensor([[0, 1], [10, 11], [20, 21]], requiresGrad: true)
        let out = embedding(table, indices: [2, 0, 2], shape: [3])
        out.backward(gradient: Tensor([[1, 2], [3, 4], [5, 6]]))
        // Row 2 read twice: (1, 2) + (5, 6); row 1 never read.
        assertTensor(table.grad!, shape: [3, 2], [3, 4, 0, 0, 6, 8])
        var generator = RandomGenerator(seed: 10)
        let weight = Tensor.randn([5, 3], using: &generator, requiresGrad: true)
        checkGradients([weight]) { embedding($0[0], indices: [4, 1, 1, 0, 4, 4], shape: [2, 3]) }
    }

    func testDropoutInEvaluationIsIdentity() {
        var generator = RandomGenerator(seed: 11)
        let x = Tensor.randn([4, 5], using: &generator)
        XCTAssertTrue(dropout(x, probability: 0.5, training: false, generator: &generator) === x)
        XCTAssertTrue(dropout(x, probability: 0, training: true, generator: &generator) === x)
    }

    func testDropoutZeroesAboutPAndScalesTheRest() {
        var generator = RandomGenerator(seed: 12)
        let x = Tensor.full([100_000], 2)
        let y = dropout(x, probability: 0.3, training: true, generator: &generator)
        var zeros = 0
        for value in y.scalars {
            if value == 0 { zeros += 1 } else { XCTAssertEqual(value, 2 / 0.7, accuracy: 1e-5) }
        }
        // Binomial(100000, 0.3): standard deviation 145, so ±1000 is about 7σ.
        XCTAssertEqual(Double(zeros), 30_000, accuracy: 1_000)
        assertTensor(
            dropout(x, probability: 1, training: true, generator: &generator), shape: [100_000],
            [Float](repeating: 0, count: 100_000))
    }

    func testDropoutSameSeedSameMask() {
        var a = RandomGenerator(seed: 13), b = RandomGenerator(seed: 13), c = RandomGenerator(seed: 14)
        let x = Tensor.ones([1000])
        let ya = dropout(x, probability: 0.5, training: true, generator: &a)
        XCTAssertEqual(ya.scalars, dropout(x, probability: 0.5, training: true, generator: &b).scalars)
        XCTAssertNotEqual(ya.scalars, dropout(x, probability: 0.5, training: true, generator: &c).scalars)
    }

    func testDropoutGradientUsesTheMask() {
        var source = RandomGenerator(seed: 15)
        let x = Tensor.randn([3, 7], using: &source, requiresGrad: true)
        checkGradients([x]) {
            var generator = RandomGenerator(seed: 16)  // the same mask on every evaluation
            return dropout($0[0], probability: 0.4, training: true, generator: &generator)
        }
        x.zeroGrad()
        var generator = RandomGenerator(seed: 17)
        let y = dropout(x, probability: 0.4, training: true, generator: &generator)
        y.backward(gradient: Tensor.ones([3, 7]))
        // Gradient is the mask: 0 where dropped, 1/0.6 where kept.
        for (value, grad) in zip(y.scalars, x.grad!.scalars) {
            XCTAssertEqual(grad, value == 0 ? 0 : 1 / 0.6, accuracy: 1e-5)
        }
    }
}
