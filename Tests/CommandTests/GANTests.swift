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

/// The class-conditional option (Mirza & Osindero 2014): the label joins the latent as a
/// one-hot vector and the image as constant planes.
final class ConditionalGANTests: XCTestCase {
    override func setUp() { Runtime.configure(threads: 1) }

    func testLabelsEnterBothNetworksAndAStepMovesTheLosses() throws {
        var generator = RandomGenerator(seed: 4)
        let sizes = DCGANConfig(latent: 8, generatorWidth: 8, discriminatorWidth: 4, classes: 3)
        let stepper = GANStepper(gan: DCGAN(sizes, generator: &generator), learningRate: 2e-3, beta1: 0.5)
        let gan = stepper.gan
        let shapes = Dictionary(uniqueKeysWithValues: gan.stateDict().map { ($0.name, $0.tensor.shape) })
        XCTAssertEqual(shapes["generator.main.0.weight"], [8 + 3, 8, 7, 7], "latent + classes inputs (PyTorch's ConvTranspose2d layout)")
        XCTAssertEqual(shapes["discriminator.main.0.weight"], [4, 1 + 3, 4, 4], "image + classes planes")

        gan.eval()
        let labels = [0, 1, 2, 0, 1, 2]
        let z = Tensor.randn([6, 8], using: &generator)
        let images = withNoGrad { gan.generator(z, labels: labels) }
        XCTAssertEqual(images.shape, [6, 1, 28, 28])
        // The label changes the image: the same z as class 0 and as class 1.
        let asZero = withNoGrad { gan.generator(z, labels: [0, 0, 0, 0, 0, 0]) }.scalars
        let asOne = withNoGrad { gan.generator(z, labels: [1, 1, 1, 1, 1, 1]) }.scalars
        XCTAssertGreaterThan(zip(asZero, asOne).map { abs($0 - $1) }.max()!, 1e-4)
        // …and is the one-hot row the first layer sees: G(z, y) = main([z, e_y]) written out.
        var input: [Float] = []
        let zs = z.scalars
        for (row, label) in labels.enumerated() {
            input += Array(zs[(row * 8)..<(row * 8 + 8)]) + (0..<3).map { $0 == label ? 1 : 0 }
        }
        let byHand = withNoGrad { gan.generator.main(Tensor(shape: [6, 11, 1, 1], data: input)) }
        assertClose(images.scalars, byHand.scalars, accuracy: 1e-6)
        // D's planes written out: image channel, then plane k all ones when k is the label.
        var planes: [Float] = []
        let pixels = images.scalars
        for (row, label) in labels.enumerated() {
            planes += Array(pixels[(row * 784)..<((row + 1) * 784)])
            for k in 0..<3 { planes += [Float](repeating: k == label ? 1 : 0, count: 784) }
        }
        let judged = withNoGrad { gan.discriminator(images, labels: labels) }.scalars
        let judgedByHand = withNoGrad { gan.discriminator.main(Tensor(shape: [6, 4, 28, 28], data: planes)) }.scalars
        assertClose(judged, judgedByHand, accuracy: 1e-5)

        // One D update lowers D's loss on the same labelled batch; one G update lowers G's.
        let real = Tensor(shape: [6, 1, 28, 28], data: (0..<(6 * 784)).map { ($0 % 784) < 392 ? 0.8 : -0.8 })
        let fake = withNoGrad { gan.generator(z, labels: labels) }
        let before = withNoGrad { stepper.discriminatorLoss(real: real, fake: fake, labels: labels).item }
        XCTAssertEqual(stepper.updateDiscriminator(real: real, fake: fake, labels: labels), before, accuracy: 1e-6)
        XCTAssertLessThan(withNoGrad { stepper.discriminatorLoss(real: real, fake: fake, labels: labels).item }, before)
        let gBefore = withNoGrad { stepper.generatorLoss(fake: gan.generator(z, labels: labels), labels: labels).item }
        stepper.updateGenerator(z: z, labels: labels)
        XCTAssertLessThan(withNoGrad { stepper.generatorLoss(fake: gan.generator(z, labels: labels), labels: labels).item }, gBefore)
    }

    /// Checkpoints written before the option existed have no `classes` in their sizes: unconditional.
    func testOldSizesDecodeAsUnconditional() throws {
        let old = #"{"channels":1,"discriminatorWidth":64,"generatorWidth":128,"latent":100}"#
        let sizes = try JSONDecoder().decode(DCGANConfig.self, from: Data(old.utf8))
        XCTAssertEqual(sizes, DCGANConfig())
        XCTAssertEqual(sizes.classes, 0)
        XCTAssertNotNil(DCGANConfig(classes: -1).problem)
    }
}

/// The Fréchet distances of `train gan` and `generate-images`, for Cortex's GAN and for the
/// generator PyTorch's reference script (scripts/reference/dcgan.py) writes with Cortex's keys.
final class GANFrechetCommandTests: XCTestCase {
    func testDistancesOfCortexAndPyTorchGeneratorsAgainstTheFloor() throws {
        guard FashionMNIST.isInstalled else {
            throw missingPrerequisite("Fashion-MNIST is not installed (scripts/setup installs dataset-fashion-mnist)")
        }
        let folder = NSTemporaryDirectory() + "cortex-gan-fid-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let resnet = try runCortex([
            "train", "resnet", "--limit", "256", "--epochs", "1", "--batch", "64", "--blocks", "1,1,1",
            "--widths", "4,8,8", "--threads", "1", "--out", folder + "/resnet"
        ])
        XCTAssertEqual(resnet.status, 0, resnet.stderr)
        let features = folder + "/resnet/best.safetensors"
        // A conditional Cortex GAN after 4 steps: far from real images, much farther than real from real.
        let gan = try runCortex([
            "train", "gan", "--limit", "128", "--batch", "32", "--epochs", "1", "--latent", "8", "--conditional",
            "--threads", "1", "--out", folder + "/gan", "--fid-checkpoint", features, "--fid-samples", "300", "--json"
        ])
        XCTAssertEqual(gan.status, 0, gan.stderr)
        let trained = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(gan.stdout.split(separator: "\n").last!.utf8)) as? [String: Any])
        let fid = try XCTUnwrap(trained["fid_resnet"] as? Double), floor = try XCTUnwrap(trained["fid_floor"] as? Double)
        XCTAssertTrue(fid.isFinite && floor.isFinite && floor >= 0, "\(trained)")
        XCTAssertGreaterThan(fid, 2 * floor, "an untrained generator scores far above real images")
        // generate-images measures the same way: the floor is the same number.
        let again = try runCortex([
            "generate-images", "--checkpoint", folder + "/gan/last.safetensors", "--grid", folder + "/c.png", "--class", "2",
            "--fid-checkpoint", features, "--fid-samples", "300", "--json"
        ])
        XCTAssertEqual(again.status, 0, again.stderr)
        let measured = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(again.stdout.split(separator: "\n").last!.utf8)) as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(measured["fid_floor"] as? Double), floor, accuracy: 1e-9)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/c.png"))
        let badClass = try runCortex([
            "generate-images", "--checkpoint", folder + "/gan/last.safetensors", "--grid", folder + "/x.png", "--class", "12"
        ])
        XCTAssertNotEqual(badClass.status, 0)
        XCTAssertTrue(badClass.stderr.contains("--class must lie in 0…9"), badClass.stderr)

        // PyTorch's DCGAN, written by the reference script, loads strictly and is measured the same way.
        let torchFile = folder + "/torch.safetensors"
        let output = try pytorchDCGAN([
            "--limit", "256", "--batch", "64", "--epochs", "1", "--threads", "1", "--out", torchFile
        ])
        XCTAssertTrue(output.contains("s_per_epoch"), output)
        let torch = try runCortex([
            "generate-images", "--checkpoint", torchFile, "--grid", folder + "/t.png", "--fid-checkpoint", features,
            "--fid-samples", "300", "--json"
        ])
        XCTAssertEqual(torch.status, 0, torch.stderr)
        let torchJSON = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(torch.stdout.split(separator: "\n").last!.utf8)) as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(torchJSON["fid_floor"] as? Double), floor, accuracy: 1e-9)
        XCTAssertTrue(try XCTUnwrap(torchJSON["fid_resnet"] as? Double).isFinite)
        // A file without one of the generator's tensors is refused, not half loaded.
        var file = try SafeTensors.read(from: torchFile)
        file.tensors.removeAll { $0.name == "generator.main.3.weight" }
        try file.write(to: folder + "/partial.safetensors")
        let partial = try runCortex(["generate-images", "--checkpoint", folder + "/partial.safetensors", "--grid", folder + "/p.png"])
        XCTAssertNotEqual(partial.status, 0)
        XCTAssertTrue(partial.stderr.contains("generator.main.3.weight"), partial.stderr)
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
