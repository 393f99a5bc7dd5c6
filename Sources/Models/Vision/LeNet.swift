import Cortex

/// Sizes of a LeNet-5.
public struct LeNetConfig: Codable, Equatable, Sendable {
    /// Image channels (1 for Fashion-MNIST, 3 for CIFAR-10).
    public var channels = 1
    /// Height and width of the (square) input images.
    public var imageSize = 28
    /// Number of classes.
    public var classes = 10

    public init(channels: Int = 1, imageSize: Int = 28, classes: Int = 10) {
        self.channels = channels
        self.imageSize = imageSize
        self.classes = classes
    }

    /// Side of the feature maps after the second pooling: `((s + 4 − 4) / 2 − 4) / 2`.
    public var featureSize: Int { (imageSize / 2 - 4) / 2 }
}

/// LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998, "Gradient-Based Learning Applied to Document
/// Recognition") in its modern ReLU + max-pool form.
///
/// ```
/// x [B, C, 28, 28] → conv1 6@5×5 pad 2 → ReLU → maxpool 2 → [B, 6, 14, 14]
///                  → conv2 16@5×5      → ReLU → maxpool 2 → [B, 16, 5, 5] → flatten [B, 400]
///                  → fc1 120 → ReLU → fc2 84 → ReLU → fc3 classes            (logits)
/// ```
/// Keys: `conv1.weight [6, C, 5, 5]`, `conv1.bias`, `conv2.weight [16, 6, 5, 5]`, `conv2.bias`,
/// `fc1.weight [120, 400]`, `fc2.weight [84, 120]`, `fc3.weight [classes, 84]` and their biases;
/// PyTorch's default initialisation. 61,706 parameters for 28×28 grey images and 10 classes.
public final class LeNet5: UnaryLayer {
    public let config: LeNetConfig
    public let conv1: Conv2d
    public let conv2: Conv2d
    public let fc1: Linear
    public let fc2: Linear
    public let fc3: Linear
    public var isTraining = true

    public init(_ config: LeNetConfig = LeNetConfig(), generator: inout RandomGenerator) {
        precondition(
            config.featureSize >= 1 && config.channels >= 1 && config.classes >= 2,
            "LeNet5: images of \(config.imageSize) pixels are too small (need at least 12), or bad channels/classes")
        self.config = config
        conv1 = Conv2d(
            inputChannels: config.channels, outputChannels: 6, kernelSize: 5, padding: 2, generator: &generator)
        conv2 = Conv2d(inputChannels: 6, outputChannels: 16, kernelSize: 5, generator: &generator)
        fc1 = Linear(
            inputFeatures: 16 * config.featureSize * config.featureSize, outputFeatures: 120, generator: &generator)
        fc2 = Linear(inputFeatures: 120, outputFeatures: 84, generator: &generator)
        fc3 = Linear(inputFeatures: 84, outputFeatures: config.classes, generator: &generator)
    }

    public var children: [(name: String, module: any Module)] {
        [("conv1", conv1), ("conv2", conv2), ("fc1", fc1), ("fc2", fc2), ("fc3", fc3)]
    }

    /// Logits `[B, classes]` of images `[B, C, H, W]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(
            x.rank == 4 && Array(x.shape.dropFirst()) == [config.channels, config.imageSize, config.imageSize],
            "LeNet5: expected [B, \(config.channels), \(config.imageSize), \(config.imageSize)], got \(x.shape)")
        let B = x.shape[0]
        var h = maxPool2d(conv1(x).relu(), kernelSize: (2, 2), stride: (2, 2))  // (B, 6, 14, 14)
        h = maxPool2d(conv2(h).relu(), kernelSize: (2, 2), stride: (2, 2))  // (B, 16, 5, 5)
        h = h.reshaped([B, -1])  // (B, 400)
        return fc3(fc2(fc1(h).relu()).relu())  // (B, classes)
    }
}
