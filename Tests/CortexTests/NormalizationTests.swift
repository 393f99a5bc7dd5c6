import Cortex
import CortexTestSupport
import XCTest

/// Overwrites `tensor` with N(0, 1) samples (so affine parameters are not the trivial 1 and 0).
func randomize(_ tensor: Tensor, _ generator: inout RandomGenerator) {
    for i in 0..<tensor.count { tensor.storage.pointer[i] = generator.nextNormal() }
}

final class NormalizationTests: XCTestCase {
    func testLayerNormValuesAndGradients() {
        let norm = LayerNorm(4)
        // Row (1, 2, 3, 6): μ = 3, σ² = (4 + 1 + 0 + 9)/4 = 3.5, y = (x − 3)/√3.500001.
        let y = norm(Tensor(shape: [1, 4], data: [1, 2, 3, 6]))
        let s = (3.5 + 1e-5 as Float).squareRoot()
        assertTensor(y, shape: [1, 4], [-2 / s, -1 / s, 0, 3 / s])

        var generator = RandomGenerator(seed: 11)
        let x = Tensor.randn([3, 2, 5], using: &generator, requiresGrad: true)
        let affine = LayerNorm([2, 5])
        // Non-trivial affine parameters so their gradients matter.
        randomize(affine.weight!, &generator)
        randomize(affine.bias!, &generator)
        checkGradients([x, affine.weight!, affine.bias!], step: 1e-2, tolerance: 1e-2) { affine($0[0]) }
        let plain = LayerNorm(5, elementwiseAffine: false)
        XCTAssertTrue(plain.namedParameters().isEmpty)
        checkGradients([x]) { plain($0[0]) }
    }

    func testBatchNormRunningStatisticsAfterOneStep() {
        let bn = BatchNorm1d(2)
        // Channel 0 sees (1, 3): mean 2, biased variance 1, unbiased 2.
        // Channel 1 sees (4, 8): mean 6, biased variance 4, unbiased 8.
        let y = bn(Tensor([[1, 4], [3, 8]]))
        // Training output uses the batch statistics: (x − μ)/√(σ² + 1e-5).
        assertTensor(y, shape: [2, 2], [-0.99999500, -0.99999875, 0.99999500, 0.99999875])
        // running_mean = 0.9·0 + 0.1·(2, 6); running_var = 0.9·1 + 0.1·(2, 8).
        assertTensor(bn.runningMean, shape: [2], [0.2, 0.6])
        assertTensor(bn.runningVar, shape: [2], [1.1, 1.7])
        XCTAssertEqual(bn.batchesTracked.item, 1)
        XCTAssertEqual(
            bn.stateDict().map(\.name), ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"])

        // Evaluation uses the running statistics and leaves them alone:
        // (1 − 0.2)/√(1.1 + 1e-5) = 0.7627666, (4 − 0.6)/√(1.7 + 1e-5) = 2.6076733.
        bn.eval()
        assertTensor(bn(Tensor([[1, 4]])), shape: [1, 2], [0.7627666, 2.6076733])
        assertTensor(bn.runningMean, shape: [2], [0.2, 0.6])
        XCTAssertEqual(bn.batchesTracked.item, 1)
    }

    func testBatchNormCumulativeAverageWithoutMomentum() {
        let bn = BatchNorm1d(1, momentum: nil)
        _ = bn(Tensor([[1], [3]]))  // mean 2 → running 2 (factor 1/1)
        _ = bn(Tensor([[5], [7]]))  // mean 6 → running 2 + ½(6 − 2) = 4
        assertTensor(bn.runningMean, shape: [1], [4])
        // Unbiased variances 2 and 2: 1 → 2 → 2.
        assertTensor(bn.runningVar, shape: [1], [2])
    }

    func testBatchNormGradientsInTrainingAndEvaluation() {
        var generator = RandomGenerator(seed: 5)
        let bn = BatchNorm2d(3)
        randomize(bn.weight!, &generator)
        randomize(bn.bias!, &generator)
        let x = Tensor.randn([2, 3, 2, 3], using: &generator, requiresGrad: true)
        checkGradients([x, bn.weight!, bn.bias!]) { bn($0[0]) }
        bn.eval()
        checkGradients([x, bn.weight!, bn.bias!]) { bn($0[0]) }
        let sequence = BatchNorm1d(3)
        checkGradients([Tensor.randn([4, 3, 2], using: &generator, requiresGrad: true)]) { sequence($0[0]) }
    }

    func testBatchNormTrainAndEvalDiffer() {
        let bn = BatchNorm1d(1)
        let x = Tensor([[10], [20]])
        let train = bn(x).scalars
        bn.eval()
        let eval = bn(x).scalars
        // Train: normalised by the batch (±1); eval: by running stats (mean 1.5, var 0.9 + 5 = 5.9).
        assertClose(train, [-1, 1], accuracy: 1e-4)
        assertClose(
            eval, [(10 - 1.5) / (5.9 + 1e-5 as Float).squareRoot(), (20 - 1.5) / (5.9 + 1e-5 as Float).squareRoot()])
    }
}
