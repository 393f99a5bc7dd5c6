import Foundation

/// How a layer fills a parameter at construction. `.pytorchDefault` is what PyTorch does for
/// that layer (documented on each layer); the others override it.
public enum WeightInit {
    /// The layer's PyTorch default.
    case pytorchDefault
    /// U(−bound, bound).
    case uniform(bound: Float)
    /// N(0, std²).
    case normal(std: Float)
    /// Kaiming/He uniform with `gain` (√2 for ReLU), on the weight's fan-in.
    case kaimingUniform(gain: Float)
    /// Kaiming/He normal with `gain`, on the weight's fan-in.
    case kaimingNormal(gain: Float)
    /// Xavier/Glorot uniform with `gain`.
    case xavierUniform(gain: Float)
    /// Xavier/Glorot normal with `gain`.
    case xavierNormal(gain: Float)
    /// Every element `value` (zeros for `0`).
    case constant(Float)
    /// Any other rule: given the shape and the generator, return the values.
    case custom(([Int], inout RandomGenerator) -> Tensor)

    /// A new trainable tensor of `shape`; `fallback` is used for `.pytorchDefault`.
    func make(_ shape: [Int], fallback: WeightInit, generator: inout RandomGenerator) -> Tensor {
        let tensor: Tensor
        switch self {
        case .pytorchDefault: return fallback.make(shape, fallback: .constant(0), generator: &generator)
        case .uniform(let bound): tensor = Tensor.uniform(shape, low: -bound, high: bound, using: &generator)
        case .normal(let std): tensor = Tensor.randn(shape, std: std, using: &generator)
        case .kaimingUniform(let gain): tensor = Initializer.kaimingUniform(shape, gain: gain, using: &generator)
        case .kaimingNormal(let gain): tensor = Initializer.kaimingNormal(shape, gain: gain, using: &generator)
        case .xavierUniform(let gain): tensor = Initializer.xavierUniform(shape, gain: gain, using: &generator)
        case .xavierNormal(let gain): tensor = Initializer.xavierNormal(shape, gain: gain, using: &generator)
        case .constant(let value): tensor = Tensor.full(shape, value)
        case .custom(let rule):
            tensor = rule(shape, &generator)
            precondition(tensor.shape == shape, "WeightInit.custom: made shape \(tensor.shape), expected \(shape)")
        }
        tensor.requiresGrad = true
        return tensor
    }
}

/// A stateless layer: no parameters, nothing that differs between training and evaluation.
/// Subclasses give only `callAsFunction`.
public class StatelessLayer {
    public var isTraining = true
    public init() {}
}

// MARK: - Linear

/// Fully connected layer, as `torch.nn.Linear`: `y = x·Wᵀ + b`.
///
/// Layout: x `[…, inputFeatures]` → y `[…, outputFeatures]`; `weight` `[outputFeatures, inputFeatures]`,
/// `bias` `[outputFeatures]`. PyTorch's default initialisation: weight by
/// `kaiming_uniform_(a = √5)`, i.e. gain √(2/(1 + 5)) = √(1/3), bound gain·√(3/fanIn) = 1/√fanIn,
/// so W ~ U(±1/√fanIn); bias ~ U(±1/√fanIn) too.
public final class Linear: UnaryLayer {
    public let weight: Tensor
    public let bias: Tensor?
    public var isTraining = true

    public init(
        inputFeatures: Int, outputFeatures: Int, bias: Bool = true,
        weightInit: WeightInit = .pytorchDefault, biasInit: WeightInit = .pytorchDefault,
        generator: inout RandomGenerator
    ) {
        precondition(
            inputFeatures > 0 && outputFeatures > 0,
            "Linear: sizes must be positive, got \(inputFeatures) → \(outputFeatures)")
        let bound = 1 / Float(inputFeatures).squareRoot()
        weight = weightInit.make(
            [outputFeatures, inputFeatures], fallback: .uniform(bound: bound), generator: &generator)
        self.bias =
            bias ? biasInit.make([outputFeatures], fallback: .uniform(bound: bound), generator: &generator) : nil
    }

    public var localParameters: [NamedTensor] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }

    public func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias) }
}

// MARK: - Embedding

/// A table of learned vectors looked up by index, as `torch.nn.Embedding`.
///
/// `weight` `[count, dimension]`, PyTorch's default initialisation N(0, 1). Indices of shape
/// S give `S + [dimension]`.
public final class Embedding: UnaryLayer {
    public let weight: Tensor
    public var isTraining = true

    public init(count: Int, dimension: Int, weightInit: WeightInit = .pytorchDefault, generator: inout RandomGenerator)
    {
        precondition(count > 0 && dimension > 0, "Embedding: sizes must be positive, got \(count) × \(dimension)")
        weight = weightInit.make([count, dimension], fallback: .normal(std: 1), generator: &generator)
    }

    public var localParameters: [NamedTensor] { [("weight", weight)] }

    /// The rows of `indices`, laid out as `shape + [dimension]`.
    public func callAsFunction(_ indices: [Int], shape: [Int]) -> Tensor {
        embedding(weight, indices: indices, shape: shape)
    }

    /// The rows named by a tensor of whole numbers (so the layer can sit in a `Sequential`).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let values = x.storage.pointer
        let indices = (0..<x.count).map { Int(values[$0]) }
        return embedding(weight, indices: indices, shape: x.shape)
    }
}

// MARK: - Shape and activations

/// Flattens axes `startAxis…endAxis` into one, as `torch.nn.Flatten` (default: all but the batch axis).
public final class Flatten: StatelessLayer, UnaryLayer {
    public let startAxis: Int
    public let endAxis: Int

    public init(startAxis: Int = 1, endAxis: Int = -1) {
        self.startAxis = startAxis
        self.endAxis = endAxis
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let start = x.axis(startAxis, op: "Flatten"), end = x.axis(endAxis, op: "Flatten")
        precondition(start <= end, "Flatten: start axis \(startAxis) after end axis \(endAxis) for shape \(x.shape)")
        let merged = x.shape[start...end].reduce(1, *)
        return x.reshaped(Array(x.shape[..<start]) + [merged] + Array(x.shape[(end + 1)...]))
    }
}

/// max(x, 0) (Nair & Hinton 2010).
public final class ReLU: StatelessLayer, UnaryLayer {
    public func callAsFunction(_ x: Tensor) -> Tensor { x.relu() }
}

/// x for x ≥ 0, `negativeSlope`·x below (Maas et al. 2013); PyTorch's default slope 0.01.
public final class LeakyReLU: StatelessLayer, UnaryLayer {
    public let negativeSlope: Float
    public init(negativeSlope: Float = 0.01) { self.negativeSlope = negativeSlope }
    public func callAsFunction(_ x: Tensor) -> Tensor { x.leakyRelu(negativeSlope: negativeSlope) }
}

/// Gaussian error linear unit x·Φ(x) (Hendrycks & Gimpel 2016); `approximate` uses the tanh
/// form of GPT-2, ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
public final class GELU: StatelessLayer, UnaryLayer {
    public let approximate: Bool
    public init(approximate: Bool = false) { self.approximate = approximate }
    public func callAsFunction(_ x: Tensor) -> Tensor { x.gelu(approximate: approximate) }
}

/// Hyperbolic tangent.
public final class Tanh: StatelessLayer, UnaryLayer {
    public func callAsFunction(_ x: Tensor) -> Tensor { x.tanh() }
}

/// Logistic sigmoid 1 / (1 + e⁻ˣ).
public final class Sigmoid: StatelessLayer, UnaryLayer {
    public func callAsFunction(_ x: Tensor) -> Tensor { x.sigmoid() }
}

// MARK: - Dropout

/// Inverted dropout (Srivastava et al. 2014) in training mode, identity in evaluation mode,
/// as `torch.nn.Dropout`. Owns its generator (seeded from the one given at construction), so
/// a seeded model drops the same units on every run.
public final class Dropout: UnaryLayer {
    public var probability: Float
    public var isTraining = true
    public var generator: RandomGenerator

    public init(probability: Float = 0.5, generator: inout RandomGenerator) {
        precondition(probability >= 0 && probability <= 1, "Dropout: probability \(probability) outside [0, 1]")
        self.probability = probability
        self.generator = RandomGenerator(seed: generator.next())
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        dropout(x, probability: probability, training: isTraining, generator: &generator)
    }
}

// MARK: - Residual

/// `y = x + body(x)` (He et al. 2016, identity shortcut); the body's keys are prefixed `body.`.
public final class Residual: UnaryLayer {
    public let body: any UnaryLayer
    public var isTraining = true

    public init(_ body: any UnaryLayer) { self.body = body }

    public var children: [(name: String, module: any Module)] { [("body", body)] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = body(x)
        precondition(
            y.shape == x.shape, "Residual: body maps \(x.shape) to \(y.shape); the shortcut needs the same shape")
        return x + y
    }
}
