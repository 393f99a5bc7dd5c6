import Cortex

/// How a U-Net decoder doubles the resolution.
public enum UNetUpsampling: String, Codable, CaseIterable, Sendable {
    /// A 2×2 transposed convolution with stride 2 (Ronneberger et al.'s "up-convolution").
    case transposed
    /// Nearest-neighbour upsampling by 2, then a 3×3 convolution (Odena et al. 2016, no
    /// checkerboard artefacts).
    case nearest
}

/// Sizes of a U-Net; every default is in one place here (chosen by measurement for 64×64
/// Fashion-MNIST scenes, docs/vision.md "Segmentation").
public struct UNetConfig: Codable, Equatable, Sendable {
    /// Input channels (1: grey scenes).
    public var inputChannels = 1
    /// Output classes per pixel (background + the ten Fashion-MNIST classes).
    public var classes = 11
    /// Channels of each encoder level; every level after the first halves the resolution, and
    /// the bottleneck below the last level has twice its width.
    public var widths = [16, 32, 64]
    public var upsampling = UNetUpsampling.transposed

    public init(inputChannels: Int = 1, classes: Int = 11, widths: [Int] = [16, 32, 64], upsampling: UNetUpsampling = .transposed) {
        self.inputChannels = inputChannels
        self.classes = classes
        self.widths = widths
        self.upsampling = upsampling
    }

    /// Channels of the bottleneck.
    public var bottleneckWidth: Int { 2 * (widths.last ?? 1) }

    /// The input side must be a multiple of this (one halving per level).
    public var sizeMultiple: Int { 1 << widths.count }

    /// Why these sizes cannot make a U-Net, or nil.
    public var problem: String? {
        if inputChannels < 1 || inputChannels > 64 { return "U-Net input channels must lie in 1…64, got \(inputChannels)" }
        if classes < 2 || classes > 1024 { return "U-Net classes must lie in 2…1024, got \(classes)" }
        if widths.isEmpty || widths.count > 6 { return "U-Net needs 1…6 levels, got widths \(widths)" }
        if widths.contains(where: { $0 < 1 || $0 > 1024 }) { return "U-Net widths must lie in 1…1024, got \(widths)" }
        return nil
    }
}

/// Two 3×3 convolutions (padding 1, no bias), each followed by BatchNorm and ReLU: the unit of
/// every U-Net level. Keys `conv1.weight`, `bn1.*`, `conv2.weight`, `bn2.*`.
public final class DoubleConv: UnaryLayer {
    public let conv1: Conv2d
    public let bn1: BatchNorm2d
    public let conv2: Conv2d
    public let bn2: BatchNorm2d
    public var isTraining = true

    public init(inputChannels: Int, outputChannels: Int, generator: inout RandomGenerator) {
        conv1 = Conv2d(
            inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: 3, padding: 1, bias: false,
            generator: &generator)
        bn1 = BatchNorm2d(outputChannels)
        conv2 = Conv2d(
            inputChannels: outputChannels, outputChannels: outputChannels, kernelSize: 3, padding: 1, bias: false,
            generator: &generator)
        bn2 = BatchNorm2d(outputChannels)
    }

    public var children: [(name: String, module: any Module)] {
        [("conv1", conv1), ("bn1", bn1), ("conv2", conv2), ("bn2", bn2)]
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        bn2(conv2(bn1(conv1(x)).relu())).relu()
    }
}

/// A small U-Net (Ronneberger, Fischer & Brox 2015, "U-Net: Convolutional Networks for
/// Biomedical Image Segmentation") with padded convolutions, so the output has the input's size.
///
/// ```
/// x [B, 1, S, S]
///   encoders.0: DoubleConv(1 → w₀)                 e₀ [B, w₀, S, S]      → maxpool 2
///   encoders.1: DoubleConv(w₀ → w₁)                e₁ [B, w₁, S/2, S/2]  → maxpool 2
///   …
///   bottleneck: DoubleConv(w_L−1 → 2·w_L−1)        [B, 2w_L−1, S/2^L, S/2^L]
///   for i = L−1 … 0:
///     upsamples.i: ×2 to w_i channels              [B, w_i, S/2^i, S/2^i]
///     concat with e_i along channels               [B, 2w_i, …]
///     decoders.i: DoubleConv(2w_i → w_i)           [B, w_i, …]
///   head: 1×1 convolution w₀ → classes             logits [B, classes, S, S]
/// ```
/// Keys (shapes for the defaults w = 16, 32, 64): `encoders.<i>.conv1.weight`, `.bn1.{weight,
/// bias,running_mean,running_var,num_batches_tracked}`, `.conv2.weight`, `.bn2.*`; the same under
/// `bottleneck.` and `decoders.<i>.`; `upsamples.<i>.weight [w_(i+1) or 2w_L−1, w_i, 2, 2]` and
/// `.bias [w_i]` (a `ConvTranspose2d`) or, with nearest upsampling, `upsamples.<i>.1.weight
/// [w_i, w_below, 3, 3]` and `.1.bias` (`nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(…, 3,
/// padding=1))`); `head.weight [classes, w₀, 1, 1]`, `head.bias [classes]`. A PyTorch module with
/// `nn.ModuleList`s of these names, `DoubleConv` as `conv1/bn1/conv2/bn2` attributes, loads them
/// unchanged. Convolutions start from PyTorch's default initialisation.
public final class UNet: UnaryLayer {
    public let config: UNetConfig
    public let encoders: ModuleList<DoubleConv>
    public let bottleneck: DoubleConv
    /// One upsampling layer per level, kept as a list (its layers are called one at a time,
    /// never in a chain) so the keys read `upsamples.<i>.…` as PyTorch's `nn.ModuleList`.
    public let upsamples: Sequential
    public let decoders: ModuleList<DoubleConv>
    public let head: Conv2d
    public var isTraining = true

    public init(_ config: UNetConfig, generator: inout RandomGenerator) {
        precondition(config.problem == nil, "UNet: \(config.problem ?? "")")
        self.config = config
        let w = config.widths
        var encoders: [DoubleConv] = []
        var channels = config.inputChannels
        for width in w {
            encoders.append(DoubleConv(inputChannels: channels, outputChannels: width, generator: &generator))
            channels = width
        }
        self.encoders = ModuleList(encoders)
        bottleneck = DoubleConv(inputChannels: channels, outputChannels: config.bottleneckWidth, generator: &generator)
        var upsamples: [any UnaryLayer] = [], decoders: [DoubleConv] = []
        for i in 0..<w.count {
            let below = i + 1 < w.count ? w[i + 1] : config.bottleneckWidth
            switch config.upsampling {
            case .transposed:
                upsamples.append(
                    ConvTranspose2d(
                        inputChannels: below, outputChannels: w[i], kernelSize: 2, stride: 2, generator: &generator))
            case .nearest:
                upsamples.append(
                    Sequential(
                        Upsample(scale: 2),
                        Conv2d(inputChannels: below, outputChannels: w[i], kernelSize: 3, padding: 1, generator: &generator)))
            }
            decoders.append(DoubleConv(inputChannels: 2 * w[i], outputChannels: w[i], generator: &generator))
        }
        self.upsamples = Sequential(upsamples)
        self.decoders = ModuleList(decoders)
        head = Conv2d(inputChannels: w[0], outputChannels: config.classes, kernelSize: 1, generator: &generator)
    }

    public var children: [(name: String, module: any Module)] {
        [
            ("encoders", encoders), ("bottleneck", bottleneck), ("upsamples", upsamples), ("decoders", decoders),
            ("head", head)
        ]
    }

    /// Per-pixel class logits `[B, classes, S, S]` of images `[B, inputChannels, S, S]`, S a
    /// multiple of `config.sizeMultiple`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(
            x.rank == 4 && x.shape[1] == config.inputChannels && x.shape[2] % config.sizeMultiple == 0
                && x.shape[3] % config.sizeMultiple == 0,
            "UNet: input \(x.shape) must be [B, \(config.inputChannels), S, S'] with sides multiples of \(config.sizeMultiple)")
        var skips: [Tensor] = []
        var h = x
        for encoder in encoders.modules {
            h = encoder(h)
            skips.append(h)
            h = maxPool2d(h, kernelSize: (2, 2))
        }
        h = bottleneck(h)
        for i in stride(from: encoders.count - 1, through: 0, by: -1) {
            h = upsamples.layers[i](h)
            h = decoders[i](Tensor.concat([h, skips[i]], axis: 1))
        }
        return head(h)
    }
}
