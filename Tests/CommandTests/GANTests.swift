import Cortex
import CortexTestSupport
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
