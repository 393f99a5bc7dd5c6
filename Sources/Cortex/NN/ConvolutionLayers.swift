/// 2-D convolution layer on NCHW tensors, as `torch.nn.Conv2d` (groups = 1); see `conv2d`.
///
/// `weight` `[outputChannels, inputChannels, kH, kW]`, `bias` `[outputChannels]`.
/// PyTorch's default initialisation: weight by `kaiming_uniform_(a = √5)`, i.e.
/// U(±1/√fanIn) with fanIn = inputChannels·kH·kW; bias U(±1/√fanIn).
public final class Conv2d: UnaryLayer {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: (Int, Int)
    public let padding: (Int, Int)
    public let dilation: (Int, Int)
    public var isTraining = true

    public init(
        inputChannels: Int, outputChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
        padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), bias: Bool = true,
        weightInit: WeightInit = .pytorchDefault, biasInit: WeightInit = .pytorchDefault,
        generator: inout RandomGenerator
    ) {
        precondition(
            inputChannels > 0 && outputChannels > 0 && kernelSize.0 > 0 && kernelSize.1 > 0,
            "Conv2d: channels and kernel size must be positive, got \(inputChannels) → \(outputChannels), \(kernelSize)"
        )
        let bound = 1 / Float(inputChannels * kernelSize.0 * kernelSize.1).squareRoot()
        weight = weightInit.make(
            [outputChannels, inputChannels, kernelSize.0, kernelSize.1],
            fallback: .uniform(bound: bound), generator: &generator)
        self.bias =
            bias ? biasInit.make([outputChannels], fallback: .uniform(bound: bound), generator: &generator) : nil
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
    }

    /// Square kernel, stride, padding and dilation.
    public convenience init(
        inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
        dilation: Int = 1, bias: Bool = true, weightInit: WeightInit = .pytorchDefault,
        biasInit: WeightInit = .pytorchDefault, generator: inout RandomGenerator
    ) {
        self.init(
            inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: (kernelSize, kernelSize),
            stride: (stride, stride), padding: (padding, padding), dilation: (dilation, dilation), bias: bias,
            weightInit: weightInit, biasInit: biasInit, generator: &generator)
    }

    public var localParameters: [NamedTensor] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation)
    }
}

/// 2-D transposed convolution layer on NCHW tensors, as `torch.nn.ConvTranspose2d` (groups = 1);
/// see `convTranspose2d`. A stride-2 layer with kernel 4 and padding 1 doubles the image size
/// (DCGAN's generator).
///
/// `weight` `[inputChannels, outputChannels, kH, kW]`, `bias` `[outputChannels]`.
/// PyTorch's default initialisation: U(±1/√fanIn) for both, with PyTorch's fan-in of this
/// layout, `outputChannels·kH·kW`.
public final class ConvTranspose2d: UnaryLayer {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: (Int, Int)
    public let padding: (Int, Int)
    public let outputPadding: (Int, Int)
    public var isTraining = true

    public init(
        inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
        outputPadding: Int = 0, bias: Bool = true, weightInit: WeightInit = .pytorchDefault,
        generator: inout RandomGenerator
    ) {
        precondition(
            inputChannels > 0 && outputChannels > 0 && kernelSize > 0,
            "ConvTranspose2d: channels and kernel size must be positive, got \(inputChannels) → \(outputChannels), \(kernelSize)"
        )
        let bound = 1 / Float(outputChannels * kernelSize * kernelSize).squareRoot()
        weight = weightInit.make(
            [inputChannels, outputChannels, kernelSize, kernelSize], fallback: .uniform(bound: bound),
            generator: &generator)
        self.bias = bias ? WeightInit.uniform(bound: bound).make([outputChannels], fallback: .constant(0), generator: &generator) : nil
        self.stride = (stride, stride)
        self.padding = (padding, padding)
        self.outputPadding = (outputPadding, outputPadding)
    }

    public var localParameters: [NamedTensor] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        convTranspose2d(x, weight: weight, bias: bias, stride: stride, padding: padding, outputPadding: outputPadding)
    }
}

/// Max pooling over `kernelSize` windows, as `torch.nn.MaxPool2d` (stride defaults to the kernel).
public final class MaxPool2d: StatelessLayer, UnaryLayer {
    public let kernelSize: (Int, Int)
    public let stride: (Int, Int)
    public let padding: (Int, Int)

    public init(kernelSize: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0)) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
    }

    public convenience init(kernelSize: Int, stride: Int? = nil, padding: Int = 0) {
        self.init(kernelSize: (kernelSize, kernelSize), stride: stride.map { ($0, $0) }, padding: (padding, padding))
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        maxPool2d(x, kernelSize: kernelSize, stride: stride, padding: padding)
    }
}

/// Nearest-neighbour upsampling by an integer factor, as
/// `torch.nn.Upsample(scale_factor=scale, mode="nearest")`; see `upsampleNearest2d`. No parameters.
public final class Upsample: StatelessLayer, UnaryLayer {
    public let scale: Int

    public init(scale: Int) {
        precondition(scale >= 1, "Upsample: the scale must be at least 1, got \(scale)")
        self.scale = scale
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { upsampleNearest2d(x, scale: scale) }
}

/// Average pooling over `kernelSize` windows, as `torch.nn.AvgPool2d` (stride defaults to the
/// kernel; padded zeros count in the divisor unless `countIncludePad` is false).
public final class AvgPool2d: StatelessLayer, UnaryLayer {
    public let kernelSize: (Int, Int)
    public let stride: (Int, Int)
    public let padding: (Int, Int)
    public let countIncludePad: Bool

    public init(
        kernelSize: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0), countIncludePad: Bool = true
    ) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
        self.countIncludePad = countIncludePad
    }

    public convenience init(kernelSize: Int, stride: Int? = nil, padding: Int = 0, countIncludePad: Bool = true) {
        self.init(
            kernelSize: (kernelSize, kernelSize), stride: stride.map { ($0, $0) }, padding: (padding, padding),
            countIncludePad: countIncludePad)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        avgPool2d(x, kernelSize: kernelSize, stride: stride, padding: padding, countIncludePad: countIncludePad)
    }
}

/// ResNet's basic block (He et al. 2016, "Deep Residual Learning"), with torchvision's names:
/// `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`, 3×3 convolutions without bias,
/// `conv1` with `stride`; the shortcut is the identity, or `downsample` (1×1 convolution with
/// `stride` + BatchNorm, keys `downsample.0`, `downsample.1`) when the shape changes.
/// `weightInit` starts all three convolutions (PyTorch's default, or Kaiming normal as torchvision's ResNet).
public final class BasicBlock: UnaryLayer {
    public let conv1: Conv2d
    public let bn1: BatchNorm2d
    public let conv2: Conv2d
    public let bn2: BatchNorm2d
    public let downsample: Sequential?
    public var isTraining = true

    public init(
        inputChannels: Int, outputChannels: Int, stride: Int = 1, weightInit: WeightInit = .pytorchDefault,
        generator: inout RandomGenerator
    ) {
        conv1 = Conv2d(
            inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: 3, stride: stride,
            padding: 1, bias: false, weightInit: weightInit, generator: &generator)
        bn1 = BatchNorm2d(outputChannels)
        conv2 = Conv2d(
            inputChannels: outputChannels, outputChannels: outputChannels, kernelSize: 3, padding: 1,
            bias: false, weightInit: weightInit, generator: &generator)
        bn2 = BatchNorm2d(outputChannels)
        if stride != 1 || inputChannels != outputChannels {
            downsample = Sequential(
                Conv2d(
                    inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: 1,
                    stride: stride, bias: false, weightInit: weightInit, generator: &generator),
                BatchNorm2d(outputChannels))
        } else {
            downsample = nil
        }
    }

    public var children: [(name: String, module: any Module)] {
        [("conv1", conv1), ("bn1", bn1), ("conv2", conv2), ("bn2", bn2)]
            + (downsample.map { [("downsample", $0)] } ?? [])
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = bn2(conv2(bn1(conv1(x)).relu()))
        return (y + (downsample?(x) ?? x)).relu()
    }
}
