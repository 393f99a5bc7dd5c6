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

final class BatchNormCheckpointTests: XCTestCase {
    func testEvaluationUsesRunningStatisticsThatRoundTripThroughACheckpoint() throws {
        let bn = BatchNorm2d(2)
        // Two training batches of one 1×2 image per channel pair:
        // channel 0 sees (1, 3) then (5, 7), channel 1 sees (2, 2) then (0, 4).
        _ = bn(Tensor(shape: [1, 2, 1, 2], data: [1, 3, 2, 2]))
        _ = bn(Tensor(shape: [1, 2, 1, 2], data: [5, 7, 0, 4]))
        // running_mean: 0 → 0.1·2 = 0.2 → 0.9·0.2 + 0.1·6 = 0.78; channel 1: 0.2 → 0.18 + 0.2 = 0.38.
        // running_var (unbiased): 1 → 0.9 + 0.1·2 = 1.1 → 0.99 + 0.1·2 = 1.19; channel 1: 0.9 → 0.81 + 0.8 = 1.61.
        assertTensor(bn.runningMean, shape: [2], [0.78, 0.38])
        assertTensor(bn.runningVar, shape: [2], [1.19, 1.61])
        bn.weight!.storage.pointer[1] = 2
        bn.bias!.storage.pointer[0] = -1

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bn-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("bn.safetensors").path
        try Checkpoint.save(bn, to: path)
        let restored = BatchNorm2d(2)
        try Checkpoint.load(into: restored, from: path)
        XCTAssertEqual(restored.runningMean.scalars, bn.runningMean.scalars)
        XCTAssertEqual(restored.runningVar.scalars, bn.runningVar.scalars)
        XCTAssertEqual(restored.batchesTracked.item, 2)

        // Evaluation: (x − running_mean)/√(running_var + ε)·weight + bias, whatever the batch.
        restored.eval()
        let x = Tensor(shape: [1, 2, 1, 2], data: [10, 10, 10, 10])
        let e: Float = 1e-5
        let expected: [Float] = [
            (10 - 0.78) / (1.19 + e).squareRoot() - 1, (10 - 0.78) / (1.19 + e).squareRoot() - 1,
            2 * (10 - 0.38) / (1.61 + e).squareRoot(), 2 * (10 - 0.38) / (1.61 + e).squareRoot()
        ]
        assertTensor(restored(x), shape: [1, 2, 1, 2], expected, accuracy: 1e-4)
        // …and leaves the statistics alone.
        XCTAssertEqual(restored.runningMean.scalars, bn.runningMean.scalars)
        XCTAssertEqual(restored.batchesTracked.item, 2)
    }
}
