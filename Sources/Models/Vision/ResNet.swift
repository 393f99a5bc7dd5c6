import Cortex

/// Sizes of a ResNet for small images; defaults are He et al.'s CIFAR ResNet-20 (three stages
/// of widths 16, 32, 64 with three basic blocks each).
public struct ResNetConfig: Codable, Equatable, Sendable {
    /// Image channels.
    public var channels = 1
    /// Height and width of the (square) input images.
    public var imageSize = 28
    /// Number of classes.
    public var classes = 10
    /// Channels of each stage; every stage after the first halves the resolution.
    public var widths = [16, 32, 64]
    /// Basic blocks in each stage (as many entries as `widths`).
    public var blocks = [3, 3, 3]

    public init(
        channels: Int = 1, imageSize: Int = 28, classes: Int = 10, widths: [Int] = [16, 32, 64],
        blocks: [Int] = [3, 3, 3]
    ) {
        self.channels = channels
        self.imageSize = imageSize
        self.classes = classes
        self.widths = widths
        self.blocks = blocks
    }

    /// Convolutions and the linear head: 1 + 2·Σblocks + 1 (ResNet-20 for 3 × 3 blocks).
    public var depth: Int { 2 + 2 * blocks.reduce(0, +) }

    /// Why these sizes cannot make a ResNet, or nil.
    public var problem: String? {
        if channels < 1 || imageSize < 1 || classes < 2 { return "ResNet sizes must be positive (and at least 2 classes)" }
        if widths.isEmpty || widths.count != blocks.count {
            return "ResNet needs one block count per stage width, got widths \(widths) and blocks \(blocks)"
        }
        if widths.contains(where: { $0 < 1 || $0 > 4096 }) || blocks.contains(where: { $0 < 1 || $0 > 64 }) {
            return "ResNet widths must lie in 1…4096 and block counts in 1…64, got \(widths) and \(blocks)"
        }
        if imageSize >> (widths.count - 1) < 1 {
            return "\(widths.count) stages halve \(imageSize)-pixel images below one pixel"
        }
        return nil
    }
}

/// A residual network for small images (He et al. 2016, "Deep Residual Learning for Image
/// Recognition", §4.2 CIFAR variant): a 3×3 stem without pooling, stages of `BasicBlock`s
/// (each stage after the first starts with stride 2), global average pooling and a linear head.
///
/// ```
/// x [B, C, 28, 28] → conv1 3×3 w₀ → bn1 → ReLU            [B, w₀, 28, 28]
///   → layer1: blocks × BasicBlock(w₀)                      [B, w₀, 28, 28]
///   → layer2: BasicBlock(w₁, stride 2), …                  [B, w₁, 14, 14]
///   → layer3: BasicBlock(w₂, stride 2), …                  [B, w₂, 7, 7]
///   → mean over H, W → fc                                  [B, classes]
/// ```
/// Keys are torchvision's: `conv1.weight`, `bn1.{weight,bias,running_mean,running_var,num_batches_tracked}`,
/// `layer<s>.<b>.conv1.weight`, `.bn1.*`, `.conv2.weight`, `.bn2.*`, `.downsample.0.weight`,
/// `.downsample.1.*`, `fc.weight [classes, w_last]`, `fc.bias`. Convolutions start from Kaiming
/// normal (He et al. 2015, gain √2 on the fan-in); BatchNorm gains 1, shifts 0; the head PyTorch's
/// default. Everything but `fc` is the backbone that transfer learning keeps.
public final class ResNet: UnaryLayer {
    public let config: ResNetConfig
    public let conv1: Conv2d
    public let bn1: BatchNorm2d
    public let stages: [Sequential]
    public let fc: Linear
    public var isTraining = true

    public init(_ config: ResNetConfig = ResNetConfig(), generator: inout RandomGenerator) {
        precondition(config.problem == nil, "ResNet: \(config.problem ?? "")")
        self.config = config
        let kaiming = WeightInit.kaimingNormal(gain: Float(2).squareRoot())
        conv1 = Conv2d(
            inputChannels: config.channels, outputChannels: config.widths[0], kernelSize: 3, padding: 1, bias: false,
            weightInit: kaiming, generator: &generator)
        bn1 = BatchNorm2d(config.widths[0])
        var stages: [Sequential] = []
        var inputChannels = config.widths[0]
        for (stage, (width, count)) in zip(config.widths, config.blocks).enumerated() {
            var blocks: [any UnaryLayer] = []
            for index in 0..<count {
                blocks.append(
                    BasicBlock(
                        inputChannels: inputChannels, outputChannels: width,
                        stride: stage > 0 && index == 0 ? 2 : 1, weightInit: kaiming, generator: &generator))
                inputChannels = width
            }
            stages.append(Sequential(blocks))
        }
        self.stages = stages
        fc = Linear(inputFeatures: inputChannels, outputFeatures: config.classes, generator: &generator)
    }

    public var children: [(name: String, module: any Module)] {
        [("conv1", conv1), ("bn1", bn1)] + stages.enumerated().map { ("layer\($0.offset + 1)", $0.element) }
            + [("fc", fc)]
    }

    /// Pooled features `[B, w_last]` of images `[B, C, H, W]` (everything before the head).
    public func features(_ x: Tensor) -> Tensor {
        precondition(
            x.rank == 4 && Array(x.shape.dropFirst()) == [config.channels, config.imageSize, config.imageSize],
            "ResNet: expected [B, \(config.channels), \(config.imageSize), \(config.imageSize)], got \(x.shape)")
        var h = bn1(conv1(x)).relu()  // (B, w₀, H, W)
        for stage in stages { h = stage(h) }  // (B, w_last, H/2^(s−1), W/2^(s−1))
        return h.mean(axes: [2, 3])  // (B, w_last)
    }

    /// Logits `[B, classes]`.
    public func callAsFunction(_ x: Tensor) -> Tensor { fc(features(x)) }
}
