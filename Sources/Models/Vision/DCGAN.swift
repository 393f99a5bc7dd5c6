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
    /// Classes of a class-conditional GAN (Mirza & Osindero 2014: the label, one-hot, joins the
    /// latent as `classes` more inputs of the generator and the image as `classes` constant
    /// planes of the discriminator); 0: unconditional.
    public var classes = 0

    public init(latent: Int = 100, generatorWidth: Int = 128, discriminatorWidth: Int = 64, channels: Int = 1, classes: Int = 0) {
        self.latent = latent
        self.generatorWidth = generatorWidth
        self.discriminatorWidth = discriminatorWidth
        self.channels = channels
        self.classes = classes
    }

    private enum CodingKeys: String, CodingKey { case latent, generatorWidth, discriminatorWidth, channels, classes }

    /// Checkpoints written before `classes` existed are unconditional.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        latent = try c.decode(Int.self, forKey: .latent)
        generatorWidth = try c.decode(Int.self, forKey: .generatorWidth)
        discriminatorWidth = try c.decode(Int.self, forKey: .discriminatorWidth)
        channels = try c.decode(Int.self, forKey: .channels)
        classes = try c.decodeIfPresent(Int.self, forKey: .classes) ?? 0
    }

    /// Why these sizes cannot make a DCGAN, or nil.
    public var problem: String? {
        if latent < 1 || generatorWidth < 2 || discriminatorWidth < 1 || channels < 1 {
            return "DCGAN sizes must be positive (generator width at least 2)"
        }
        if classes < 0 || classes > 1000 { return "a conditional DCGAN takes 0 (unconditional) to 1000 classes, got \(classes)" }
        return nil
    }

    /// `labels` one-hot, `[B, classes]`.
    public func oneHot(_ labels: [Int]) -> Tensor {
        precondition(labels.allSatisfy { (0..<classes).contains($0) }, "DCGAN: labels must lie in 0..<\(classes)")
        var data = [Float](repeating: 0, count: labels.count * classes)
        for (row, label) in labels.enumerated() { data[row * classes + label] = 1 }
        return Tensor(shape: [labels.count, classes], data: data)
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
                inputChannels: config.latent + config.classes, outputChannels: g, kernelSize: 7, bias: false,
                weightInit: normal,
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

    /// Images `[B, C, 28, 28]` in [−1, 1] from latents `[B, latent]` (an unconditional GAN).
    public func callAsFunction(_ z: Tensor) -> Tensor {
        precondition(config.classes == 0, "DCGANGenerator: a conditional generator needs labels")
        return generate(z)
    }

    /// Images of the classes `labels` (a conditional GAN) from latents `[B, latent]`.
    public func callAsFunction(_ z: Tensor, labels: [Int]) -> Tensor {
        precondition(labels.count == z.shape[0], "DCGANGenerator: \(labels.count) labels for \(z.shape[0]) latents")
        return generate(Tensor.concat([z, config.oneHot(labels)], axis: 1))
    }

    private func generate(_ input: Tensor) -> Tensor {
        let width = config.latent + config.classes
        precondition(
            input.rank == 2 && input.shape[1] == width, "DCGANGenerator: expected [B, \(config.latent)] latents, got \(input.shape)")
        return main(input.reshaped([input.shape[0], width, 1, 1]))
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
                inputChannels: config.channels + config.classes, outputChannels: d, kernelSize: 4, stride: 2, padding: 1,
                bias: false,
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

    /// Logits `[B]` (real when positive) of images `[B, C, 28, 28]` (an unconditional GAN).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(config.classes == 0, "DCGANDiscriminator: a conditional discriminator needs labels")
        return judge(x)
    }

    /// Logits of images that claim to show the classes `labels`: each label joins the image
    /// as `classes` constant planes (one-hot), so the first convolution sees both.
    public func callAsFunction(_ x: Tensor, labels: [Int]) -> Tensor {
        precondition(x.rank == 4 && labels.count == x.shape[0], "DCGANDiscriminator: \(labels.count) labels for \(x.shape)")
        let K = config.classes, plane = x.shape[2] * x.shape[3]
        let hot = config.oneHot(labels).scalars
        var data = [Float](repeating: 0, count: labels.count * K * plane)
        for b in 0..<labels.count {
            for k in 0..<K where hot[b * K + k] != 0 {
                let start = (b * K + k) * plane
                data.replaceSubrange(start..<(start + plane), with: repeatElement(Float(1), count: plane))
            }
        }
        return judge(Tensor.concat([x, Tensor(shape: [labels.count, K, x.shape[2], x.shape[3]], data: data)], axis: 1))
    }

    private func judge(_ x: Tensor) -> Tensor {
        let width = config.channels + config.classes
        precondition(
            x.rank == 4 && Array(x.shape.dropFirst()) == [width, 28, 28],
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
