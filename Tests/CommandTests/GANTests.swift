import Cortex
import CortexTestSupport
import Data
import Foundation
import Models
import Recipes
import XCTest

final class GANTests: XCTestCase {
    override func setUp() { Runtime.configure(threads: 1) }

    func testAStepMovesBothLossesTheExpectedWay() {
        var generator = RandomGenerator(seed: 1)
        let sizes = DCGANConfig(latent: 8, generatorWidth: 8, discriminatorWidth: 4)
        let stepper = GANStepper(gan: DCGAN(sizes, generator: &generator), learningRate: 2e-3, beta1: 0.5)
        // A fixed batch: 8 "real" images (bright top half) and 8 latents.
        let real = Tensor(
            shape: [8, 1, 28, 28], data: (0..<(8 * 784)).map { ($0 % 784) < 392 ? 0.8 : -0.8 })
        let z = Tensor.randn([8, 8], using: &generator)
        // BatchNorm in evaluation mode makes every loss below a fixed function of the weights.
        stepper.gan.eval()
        let fake = withNoGrad { stepper.gan.generator(z) }
        let before = withNoGrad { stepper.discriminatorLoss(real: real, fake: fake).item }
        let reported = stepper.updateDiscriminator(real: real, fake: fake)
        XCTAssertEqual(reported, before, accuracy: 1e-6)
        let after = withNoGrad { stepper.discriminatorLoss(real: real, fake: fake).item }
        XCTAssertLessThan(after, before, "the discriminator step lowers its loss on the same batch")

        let discriminatorWeights = stepper.gan.discriminator.parameters().map(\.scalars)
        let generatorBefore = withNoGrad { stepper.generatorLoss(fake: stepper.gan.generator(z)).item }
        let dOnFakesBefore = withNoGrad { stepper.discriminatorLoss(real: real, fake: stepper.gan.generator(z)).item }
        stepper.updateGenerator(z: z)
        let generatorAfter = withNoGrad { stepper.generatorLoss(fake: stepper.gan.generator(z)).item }
        let dOnFakesAfter = withNoGrad { stepper.discriminatorLoss(real: real, fake: stepper.gan.generator(z)).item }
        XCTAssertLessThan(generatorAfter, generatorBefore, "the generator step lowers −log D(G(z))")
        XCTAssertGreaterThan(dOnFakesAfter, dOnFakesBefore, "…and so raises the discriminator's loss")
        XCTAssertEqual(
            stepper.gan.discriminator.parameters().map(\.scalars), discriminatorWeights,
            "the generator step leaves D alone")

        // The alternating step reports finite losses, D's first; the checkpoint keys follow PyTorch's Sequential.
        let losses = stepper.step(real: real, z: z)
        XCTAssertTrue(losses.discriminator.isFinite && losses.generator.isFinite)
        XCTAssertTrue(stepper.gan.stateDict().map(\.name).contains("generator.main.1.running_mean"))
        XCTAssertEqual(withNoGrad { stepper.gan.generator(z) }.shape, [8, 1, 28, 28])
    }
}

/// `train gan --resume` and the latent walks.
final class GANRunTests: XCTestCase {
    override func setUp() { Runtime.configure(threads: 1) }

    func smallConfig(epochs: Int) throws -> GANTrainConfig {
        guard FashionMNIST.isInstalled else {
            throw missingPrerequisite("Fashion-MNIST is not installed (scripts/setup installs dataset-fashion-mnist)")
        }
        var c = GANTrainConfig()
        c.limit = 128
        c.batchSize = 32
        c.epochs = epochs
        c.sizes = DCGANConfig(latent: 8, generatorWidth: 8, discriminatorWidth: 4)
        c.seed = 3
        return c
    }

    /// Two epochs in one run and one epoch resumed to two end in the same bits: both networks,
    /// BatchNorm's running statistics, both Adam states and the latent stream are restored.
    func testResumedRunEqualsAnUninterruptedOne() throws {
        let folder = NSTemporaryDirectory() + "cortex-gan-resume-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let straight = try GANTrainer(config: try smallConfig(epochs: 2), folder: folder + "/straight")
        straight.log = { _ in }
        XCTAssertEqual(try straight.run().epochs, 2)
        let first = try GANTrainer(config: try smallConfig(epochs: 1), folder: folder + "/resumed")
        first.log = { _ in }
        _ = try first.run()
        let second = try GANTrainer(config: try smallConfig(epochs: 2), folder: folder + "/resumed", resume: true)
        XCTAssertEqual(second.state.epoch, 1)
        second.log = { _ in }
        XCTAssertEqual(try second.run().epochs, 2)
        let a = try SafeTensors.read(from: folder + "/straight/last.safetensors").dictionary
        let b = try SafeTensors.read(from: folder + "/resumed/last.safetensors").dictionary
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        XCTAssertTrue(a.keys.contains("optimizer.g.generator.main.0.weight.exp_avg"), "\(a.keys.sorted().prefix(5))")
        for (name, tensor) in a { XCTAssertEqual(tensor.scalars, b[name]!.scalars, name) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/resumed/interpolation.png"))
        // A folder without a checkpoint cannot be resumed.
        XCTAssertThrowsError(try GANTrainer(config: try smallConfig(epochs: 2), folder: folder + "/none", resume: true))
    }

    /// A walk starts at G(a) and ends at G(b) for its two random ends, and its middle is the
    /// slerp of them: for orthogonal ends of equal length at t = ½, (a + b)/√2.
    func testLatentWalkEndsAtItsTwoEnds() {
        var generator = RandomGenerator(seed: 5)
        let gan = DCGAN(DCGANConfig(latent: 8, generatorWidth: 8, discriminatorWidth: 4), generator: &generator)
        gan.eval()
        var walk = RandomGenerator(seed: 9)
        let images = GANTrainer.interpolation(gan, rows: 1, steps: 5, using: &walk)
        XCTAssertEqual(images.shape, [5, 1, 28, 28])
        var same = RandomGenerator(seed: 9)
        let ends = Tensor.randn([2, 8], using: &same)
        let direct = withNoGrad { gan.generator(ends) }.scalars
        let walked = images.scalars
        assertClose(Array(walked[0..<784]), Array(direct[0..<784]), accuracy: 1e-5)
        assertClose(Array(walked[(4 * 784)..<(5 * 784)]), Array(direct[784..<1568]), accuracy: 1e-5)
        // slerp by hand: orthogonal unit ends meet at (1/√2, 1/√2) halfway and at (cos 30°, sin 30°)
        // a third of the way; parallel ends fall back to the straight line.
        let h = GANTrainer.slerp([1, 0], [0, 1], t: 0.5), third = GANTrainer.slerp([1, 0], [0, 1], t: 1.0 / 3)
        assertClose(h, [0.70710678, 0.70710678], accuracy: 1e-6)
        assertClose(third, [0.8660254, 0.5], accuracy: 1e-6)
        assertClose(GANTrainer.slerp([2, 0], [4, 0], t: 0.25), [2.5, 0], accuracy: 1e-6)
    }
}

final class FrechetDistanceTests: XCTestCase {
    func statistics(_ rows: [[Float]]) -> FeatureStatistics {
        FeatureStatistics(features: Tensor(shape: [rows.count, rows[0].count], data: rows.flatMap { $0 }))
    }

    func testASetAgainstItselfIsZeroAndAShiftAddsItsSquaredLength() {
        var generator = RandomGenerator(seed: 2)
        let rows = (0..<50).map { _ in (0..<6).map { _ in generator.nextNormal() } }
        let a = statistics(rows)
        XCTAssertEqual(frechetDistance(a, a), 0, accuracy: 1e-9)
        // Shifting every vector by c changes only the mean: distance ‖c‖² = 1 + 4 + 4 + 0.25 = 9.25.
        let shift: [Float] = [1, 2, -2, 0.5, 0, 0]
        let shifted = statistics(rows.map { zip($0, shift).map { $0 + $1 } })
        XCTAssertEqual(frechetDistance(a, shifted), 9.25, accuracy: 1e-4)
        XCTAssertEqual(frechetDistance(shifted, a), 9.25, accuracy: 1e-4)
    }

    func testDifferentCovariancesByHand() {
        // (±1, 0), (0, ±2): mean 0, unbiased covariance diag(2/3, 8/3); the other set swaps the axes.
        let a = statistics([[1, 0], [-1, 0], [0, 2], [0, -2]])
        let b = statistics([[2, 0], [-2, 0], [0, 1], [0, -1]])
        assertClose(a.covariance.map(Float.init), [2.0 / 3, 0, 0, 8.0 / 3])
        // Tr(Σ₁ + Σ₂) = 20/3; (Σ₁Σ₂)^½ = diag(4/3, 4/3), so the distance is 20/3 − 16/3 = 4/3.
        XCTAssertEqual(frechetDistance(a, b), 4.0 / 3, accuracy: 1e-9)
        // A copy of a rotated by 45° (same spectrum, other eigenvectors, so Σ₁Σ₂ is not symmetric):
        // Σ₂ = RΣ₁Rᵀ = [[5/3, −1], [−1, 5/3]], Σ₁Σ₂ = [[10/9, −2/3], [−8/3, 40/9]], trace 50/9,
        // determinant det Σ₁ · det Σ₂ = (16/9)².
        let r = Float(0.5).squareRoot()
        let rotated = statistics([[1, 0], [-1, 0], [0, 2], [0, -2]].map { [r * $0[0] - r * $0[1], r * $0[0] + r * $0[1]] })
        // For 2×2 M with eigenvalues λ₁, λ₂ ≥ 0: Tr √M = √(Tr M + 2√det M).
        let trace = 10.0 / 9 + 40.0 / 9, determinant = (2.0 / 3 * 8.0 / 3) * (2.0 / 3 * 8.0 / 3)
        let expected = 20.0 / 3 - 2 * (trace + 2 * determinant.squareRoot()).squareRoot()
        XCTAssertEqual(frechetDistance(a, rotated), expected, accuracy: 1e-5)
    }
}
