import Cortex

/// Sizes of a DCGAN for 28×28 images (PyTorch's DCGAN example scaled to MNIST's size).
public struct DCGANConfig: Codable, Equatable, Sendable {
    /// Length of the latent vector z ~ N(0, I).
    public var latent = 100
    /// Channels of the generator's 7×7 stage (the 14×14 stage has half).
    public var generatorWidth = 128
    /// Channels of the discriminator's 14×14 stage (the 7×7 stage has twice as many).
    public var discriminatorWidth = 64
    /// Image channels.
    public var channels = 1

    public init(latent: Int = 100, generatorWidth: Int = 128, discriminatorWidth: Int = 64, channels: Int = 1) {
        self.latent = latent
        self.generatorWidth = generatorWidth
        self.discriminatorWidth = discriminatorWidth
        self.channels = channels
    }

    /// Why these sizes cannot make a DCGAN, or nil.
    public var problem: String? {
        if latent < 1 || generatorWidth < 2 || discriminatorWidth < 1 || channels < 1 {
            return "DCGAN sizes must be positive (generator width at least 2)"
        }
        return nil
    }
}

/// DCGAN's generator (Radford, Metz & Chintala 2016): transposed convolutions with BatchNorm
/// and ReLU, tanh output in [−1, 1].
///
/// ```
/// z [B, latent] → view [B, latent, 1, 1] → convT 7×7 → bn → ReLU   [B, g, 7, 7]
///   → convT 4×4 stride 2 pad 1 → bn → ReLU                           [B, g/2, 14, 14]
///   → convT 4×4 stride 2 pad 1 → tanh                                [B, C, 28, 28]
/// ```
/// Keys as PyTorch's `nn.Sequential` in the DCGAN example: `main.0.weight` (convT),
/// `main.1.*` (BatchNorm), `main.3.weight`, `main.4.*`, `main.6.weight`. Weights N(0, 0.02),
/// BatchNorm gains N(1, 0.02) and shifts 0, as the paper.
public final class DCGANGenerator: UnaryLayer {
    public let config: DCGANConfig
    public let main: Sequential
    public var isTraining = true

    public init(_ config: DCGANConfig = DCGANConfig(), generator: inout RandomGenerator) {
        precondition(config.problem == nil, "DCGANGenerator: \(config.problem ?? "")")
        self.config = config
        let g = config.generatorWidth, normal = WeightInit.normal(std: 0.02)
        main = Sequential(
            ConvTranspose2d(
                inputChannels: config.latent, outputChannels: g, kernelSize: 7, bias: false, weightInit: normal,
                generator: &generator),
            BatchNorm2d(g), ReLU(),
            ConvTranspose2d(
                inputChannels: g, outputChannels: g / 2, kernelSize: 4, stride: 2, padding: 1, bias: false,
                weightInit: normal, generator: &generator),
            BatchNorm2d(g / 2), ReLU(),
            ConvTranspose2d(
                inputChannels: g / 2, outputChannels: config.channels, kernelSize: 4, stride: 2, padding: 1,
                bias: false, weightInit: normal, generator: &generator),
            Tanh())
        DCGANDiscriminator.initializeNormalizations(of: main, generator: &generator)
    }

    public var children: [(name: String, module: any Module)] { [("main", main)] }

    /// Images `[B, C, 28, 28]` in [−1, 1] from latents `[B, latent]`.
    public func callAsFunction(_ z: Tensor) -> Tensor {
        precondition(z.rank == 2 && z.shape[1] == config.latent, "DCGANGenerator: expected [B, \(config.latent)], got \(z.shape)")
        return main(z.reshaped([z.shape[0], config.latent, 1, 1]))
    }
}

/// DCGAN's discriminator: strided convolutions with LeakyReLU(0.2) and BatchNorm (none on the
/// first layer, as the paper), one logit per image.
///
/// ```
/// x [B, C, 28, 28] → conv 4×4 stride 2 pad 1 → LeakyReLU          [B, d, 14, 14]
///   → conv 4×4 stride 2 pad 1 → bn → LeakyReLU                     [B, 2d, 7, 7]
///   → conv 7×7 → view                                              [B] (logits)
/// ```
/// Keys `main.0.weight`, `main.2.weight`, `main.3.*`, `main.5.weight`; weights N(0, 0.02).
public final class DCGANDiscriminator: UnaryLayer {
    public let config: DCGANConfig
    public let main: Sequential
    public var isTraining = true

    public init(_ config: DCGANConfig = DCGANConfig(), generator: inout RandomGenerator) {
        precondition(config.problem == nil, "DCGANDiscriminator: \(config.problem ?? "")")
        self.config = config
        let d = config.discriminatorWidth, normal = WeightInit.normal(std: 0.02)
        main = Sequential(
            Conv2d(
                inputChannels: config.channels, outputChannels: d, kernelSize: 4, stride: 2, padding: 1, bias: false,
                weightInit: normal, generator: &generator),
            LeakyReLU(negativeSlope: 0.2),
            Conv2d(
                inputChannels: d, outputChannels: 2 * d, kernelSize: 4, stride: 2, padding: 1, bias: false,
                weightInit: normal, generator: &generator),
            BatchNorm2d(2 * d), LeakyReLU(negativeSlope: 0.2),
            Conv2d(
                inputChannels: 2 * d, outputChannels: 1, kernelSize: 7, bias: false, weightInit: normal,
                generator: &generator))
        Self.initializeNormalizations(of: main, generator: &generator)
    }

    /// BatchNorm gains N(1, 0.02), shifts 0 (the DCGAN example's `weights_init`).
    static func initializeNormalizations(of main: Sequential, generator: inout RandomGenerator) {
        for case let norm as BatchNorm in main.layers {
            guard let weight = norm.weight else { continue }
            for i in 0..<weight.count { weight.storage.pointer[i] = 1 + 0.02 * generator.nextNormal() }
        }
    }

    public var children: [(name: String, module: any Module)] { [("main", main)] }

    /// Logits `[B]` (real when positive) of images `[B, C, 28, 28]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(
            x.rank == 4 && Array(x.shape.dropFirst()) == [config.channels, 28, 28],
            "DCGANDiscriminator: expected [B, \(config.channels), 28, 28], got \(x.shape)")
        return main(x).reshaped([x.shape[0]])
    }
}

/// A generator and its discriminator under one root, so one checkpoint holds both
/// (`generator.main.0.weight`, `discriminator.main.0.weight`, …).
public final class DCGAN: Module {
    public let config: DCGANConfig
    public let generator: DCGANGenerator
    public let discriminator: DCGANDiscriminator
    public var isTraining = true

    public init(_ config: DCGANConfig = DCGANConfig(), generator random: inout RandomGenerator) {
        self.config = config
        generator = DCGANGenerator(config, generator: &random)
        discriminator = DCGANDiscriminator(config, generator: &random)
    }

    public var children: [(name: String, module: any Module)] {
        [("generator", generator), ("discriminator", discriminator)]
    }
}
