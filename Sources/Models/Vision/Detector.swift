import Cortex

/// Sizes of the one-stage detector. Defaults fit 64×64 Fashion-MNIST scenes (items 20–40
/// pixels): four stages down to an 8×8 grid of 8-pixel cells, three anchors.
public struct DetectorNetworkConfig: Codable, Equatable, Sendable {
    /// Image channels.
    public var channels = 1
    /// Height and width of the (square) input images; a multiple of the grid's stride.
    public var imageSize = 64
    /// Number of classes.
    public var classes = 10
    /// Channels of each stage; a 2×2 max pooling separates two stages, so the grid is
    /// `imageSize / 2^(stages − 1)`.
    public var widths = [16, 32, 64, 128]
    /// 3×3 conv-BN-ReLU layers in each stage (as many entries as `widths`).
    public var convolutions = [1, 2, 2, 2]
    /// Anchor (prior) boxes as `[width, height]` in pixels: YOLOv2's dimension clusters, k-means
    /// with distance 1 − IoU (medians) over the 12,435 boxes of the first 5,000 default training
    /// scenes (seed 0); mean best IoU 0.59 with one anchor, 0.66 with two, 0.72 with three.
    public var anchors: [[Double]] = [[16, 24], [25, 14], [28, 32]]

    public init() {}

    /// The side of the output grid.
    public var gridSize: Int { imageSize >> (widths.count - 1) }
    /// Pixels per grid cell.
    public var stride: Int { 1 << (widths.count - 1) }
    /// Channels per anchor in the output: tx, ty, tw, th, objectness, class logits.
    public var valuesPerAnchor: Int { 5 + classes }

    /// Why these sizes cannot make a detector, or nil.
    public var problem: String? {
        if channels < 1 || classes < 1 || imageSize < 1 { return "detector sizes must be positive" }
        if widths.isEmpty || widths.count != convolutions.count {
            return "the detector needs one convolution count per stage width, got widths \(widths) and convolutions \(convolutions)"
        }
        if widths.contains(where: { $0 < 1 || $0 > 4096 }) || convolutions.contains(where: { $0 < 1 || $0 > 16 }) {
            return "detector widths must lie in 1…4096 and convolutions per stage in 1…16, got \(widths) and \(convolutions)"
        }
        if imageSize % stride != 0 || gridSize < 1 {
            return "the image size \(imageSize) must be a multiple of the detector's stride \(stride)"
        }
        if anchors.isEmpty || anchors.count > 16
            || anchors.contains(where: { $0.count != 2 || !($0[0] > 0) || !($0[1] > 0) })
        {
            return "anchors must be 1…16 positive [width, height] pairs, got \(anchors)"
        }
        return nil
    }
}

/// A one-stage detector in the spirit of YOLO (Redmon et al. 2016, "You Only Look Once") with
/// YOLOv2's anchors (Redmon & Farhadi 2017, "YOLO9000"): a small conv-BN-ReLU backbone pools
/// the image down to an S×S grid, and a 1×1 convolution predicts, for every cell and anchor,
/// a box (tx, ty, tw, th), an objectness logit and class logits.
///
/// ```
/// x [B, C, 64, 64] → stage 0: 3×3 conv → BN → ReLU                    [B, w₀, 64, 64]
///   → max pool 2 → stage 1: (3×3 conv → BN → ReLU) × n₁                [B, w₁, 32, 32]
///   → … → stage L−1                                                    [B, w_L−1, S, S]
///   → head: 1×1 conv                                                   [B, A·(5 + K), S, S]
/// ```
/// Output channel `a·(5 + K) + k` of cell (i, j) holds, for anchor a: k = 0, 1 → tx, ty;
/// 2, 3 → tw, th; 4 → objectness logit; 5… → class logits. A box decodes as YOLOv2's
/// `cx = (j + σ(tx))·stride`, `cy = (i + σ(ty))·stride`, `w = p_w·e^tw`, `h = p_h·e^th`.
///
/// Keys are those of `nn.Sequential`s in PyTorch: `backbone.<n>.weight` (conv, no bias),
/// `backbone.<n+1>.{weight,bias,running_mean,running_var,num_batches_tracked}` (BatchNorm2d),
/// ReLU and MaxPool2d taking indices without keys, then `head.weight [A·(5+K), w_L−1, 1, 1]`,
/// `head.bias`. Convolutions start from Kaiming normal (gain √2), the head from PyTorch's
/// default with its objectness biases at −4 (a prior of about 2% objects per anchor, as
/// RetinaNet's, so the first steps are not spent unlearning objects everywhere).
public final class Detector: UnaryLayer {
    public let config: DetectorNetworkConfig
    public let backbone: Sequential
    public let head: Conv2d
    public var isTraining = true

    public init(_ config: DetectorNetworkConfig = DetectorNetworkConfig(), generator: inout RandomGenerator) {
        precondition(config.problem == nil, "Detector: \(config.problem ?? "")")
        self.config = config
        backbone = convolutionStages(
            inputChannels: config.channels, widths: config.widths, convolutions: config.convolutions,
            generator: &generator)
        head = Conv2d(
            inputChannels: config.widths.last!, outputChannels: config.anchors.count * config.valuesPerAnchor,
            kernelSize: 1, generator: &generator)
        let bias = head.bias!.storage.pointer
        for a in 0..<config.anchors.count { bias[a * config.valuesPerAnchor + 4] = -4 }
    }

    public var children: [(name: String, module: any Module)] { [("backbone", backbone), ("head", head)] }

    /// Raw predictions `[B, A·(5 + K), S, S]` of images `[B, C, H, W]` (pixels in 0…1).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(
            x.rank == 4 && Array(x.shape.dropFirst()) == [config.channels, config.imageSize, config.imageSize],
            "Detector: expected [B, \(config.channels), \(config.imageSize), \(config.imageSize)], got \(x.shape)")
        return head(backbone(x))
    }
}

/// The conv-BN-ReLU backbone the detector and the captioner share: stage `s` holds
/// `convolutions[s]` layers of 3×3 convolution (padding 1, no bias, Kaiming normal with gain √2)
/// → BatchNorm2d → ReLU of `widths[s]` channels, and a 2×2 max pooling separates two stages, so
/// `[B, C, H, W]` becomes `[B, widths.last, H / 2^(L−1), W / 2^(L−1)]`.
///
/// Keys are `nn.Sequential`'s: `<n>.weight` for a convolution, `<n+1>.{weight,bias,running_mean,
/// running_var,num_batches_tracked}` for its BatchNorm2d; ReLU and MaxPool2d take indices without keys.
public func convolutionStages(
    inputChannels: Int, widths: [Int], convolutions: [Int], generator: inout RandomGenerator
) -> Sequential {
    precondition(
        !widths.isEmpty && widths.count == convolutions.count,
        "convolutionStages: one convolution count per width, got \(widths) and \(convolutions)")
    let kaiming = WeightInit.kaimingNormal(gain: Float(2).squareRoot())
    var layers: [any UnaryLayer] = []
    var channels = inputChannels
    for (stage, (width, count)) in zip(widths, convolutions).enumerated() {
        if stage > 0 { layers.append(MaxPool2d(kernelSize: 2)) }
        for _ in 0..<count {
            layers.append(
                Conv2d(
                    inputChannels: channels, outputChannels: width, kernelSize: 3, padding: 1, bias: false,
                    weightInit: kaiming, generator: &generator))
            layers.append(BatchNorm2d(width))
            layers.append(ReLU())
            channels = width
        }
    }
    return Sequential(layers)
}
