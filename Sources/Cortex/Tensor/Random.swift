import Foundation

/// A seedable pseudo-random generator: xoshiro256** (Blackman & Vigna 2018), its state
/// filled from the seed by SplitMix64 as the authors recommend.
///
/// Pure integer arithmetic, so the same seed gives the same stream on every run and machine.
/// Floats come from the top 24 bits; normals from the Box–Muller transform computed in Double.
public struct RandomGenerator: RandomNumberGenerator, Sendable, Codable, Equatable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64
    /// A second normal from the last Box–Muller pair, if not yet used.
    private var spareNormal: Double?

    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix()
        s1 = splitMix()
        s2 = splitMix()
        s3 = splitMix()
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in [0, 1).
    public mutating func nextFloat() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Uniform in [0, 1) with 53 bits.
    public mutating func nextDouble() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }

    /// Uniform integer in `0..<bound` (Lemire's unbiased method via the standard library).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "nextInt(below:): bound must be positive, got \(bound)")
        return Int(next(upperBound: UInt64(bound)))
    }

    /// Standard normal N(0, 1).
    public mutating func nextNormal() -> Float {
        if let spare = spareNormal {
            spareNormal = nil
            return Float(spare)
        }
        var u1 = nextDouble()
        while u1 <= .leastNormalMagnitude { u1 = nextDouble() }
        let u2 = nextDouble()
        let radius = (-2 * Foundation.log(u1)).squareRoot()
        spareNormal = radius * Foundation.sin(2 * .pi * u2)
        return Float(radius * Foundation.cos(2 * .pi * u2))
    }
}

// MARK: - Creation

extension Tensor {
    /// All elements `value`.
    public static func full(_ shape: [Int], _ value: Float, requiresGrad: Bool = false) -> Tensor {
        Tensor(
            shape: shape, storage: TensorStorage(count: shape.reduce(1, *), repeating: value),
            requiresGrad: requiresGrad)
    }

    /// All zeros.
    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        full(shape, 0, requiresGrad: requiresGrad)
    }

    /// All ones.
    public static func ones(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        full(shape, 1, requiresGrad: requiresGrad)
    }

    /// `[start, start + step, …]` below `end` (1-D), as NumPy's `arange`.
    public static func arange(_ start: Float = 0, _ end: Float, step: Float = 1) -> Tensor {
        precondition(step != 0, "arange: step must not be zero")
        let n = Swift.max(0, Int(((end - start) / step).rounded(.up)))
        let storage = TensorStorage(uninitializedCount: n)
        for i in 0..<n { storage.pointer[i] = start + Float(i) * step }
        return Tensor(shape: [n], storage: storage)
    }

    /// Independent N(mean, std²) samples.
    public static func randn(
        _ shape: [Int], mean: Float = 0, std: Float = 1,
        using generator: inout RandomGenerator, requiresGrad: Bool = false
    ) -> Tensor {
        let n = shape.reduce(1, *)
        let storage = TensorStorage(uninitializedCount: n)
        for i in 0..<n { storage.pointer[i] = mean + std * generator.nextNormal() }
        return Tensor(shape: shape, storage: storage, requiresGrad: requiresGrad)
    }

    /// Independent uniform samples in [low, high).
    public static func uniform(
        _ shape: [Int], low: Float = 0, high: Float = 1,
        using generator: inout RandomGenerator, requiresGrad: Bool = false
    ) -> Tensor {
        let n = shape.reduce(1, *)
        let storage = TensorStorage(uninitializedCount: n)
        let width = high - low
        for i in 0..<n { storage.pointer[i] = low + width * generator.nextFloat() }
        return Tensor(shape: shape, storage: storage, requiresGrad: requiresGrad)
    }
}

/// Weight initialisers (fan computed as PyTorch's `_calculate_fan_in_and_fan_out`:
/// `fanIn = shape[1] · receptive field`, `fanOut = shape[0] · receptive field`).
public enum Initializer {
    /// Fan-in and fan-out of a weight of shape (out, in, k…).
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        precondition(shape.count >= 2, "Initializer.fans: need at least 2 axes, got shape \(shape)")
        let receptive = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptive, shape[0] * receptive)
    }

    /// Kaiming/He uniform (He et al. 2015): U(−b, b), b = gain·√(3 / fanIn), gain √2 for ReLU.
    public static func kaimingUniform(
        _ shape: [Int], gain: Float = Float(2).squareRoot(),
        using generator: inout RandomGenerator
    ) -> Tensor {
        let bound = gain * (3 / Float(fans(shape).fanIn)).squareRoot()
        return Tensor.uniform(shape, low: -bound, high: bound, using: &generator, requiresGrad: true)
    }

    /// Kaiming/He normal: N(0, gain² / fanIn).
    public static func kaimingNormal(
        _ shape: [Int], gain: Float = Float(2).squareRoot(),
        using generator: inout RandomGenerator
    ) -> Tensor {
        Tensor.randn(shape, std: gain / Float(fans(shape).fanIn).squareRoot(), using: &generator, requiresGrad: true)
    }

    /// Xavier/Glorot uniform (Glorot & Bengio 2010): U(−b, b), b = gain·√(6 / (fanIn + fanOut)).
    public static func xavierUniform(
        _ shape: [Int], gain: Float = 1,
        using generator: inout RandomGenerator
    ) -> Tensor {
        let (fanIn, fanOut) = fans(shape)
        let bound = gain * (6 / Float(fanIn + fanOut)).squareRoot()
        return Tensor.uniform(shape, low: -bound, high: bound, using: &generator, requiresGrad: true)
    }

    /// Xavier/Glorot normal: N(0, gain² · 2 / (fanIn + fanOut)).
    public static func xavierNormal(
        _ shape: [Int], gain: Float = 1,
        using generator: inout RandomGenerator
    ) -> Tensor {
        let (fanIn, fanOut) = fans(shape)
        return Tensor.randn(
            shape, std: gain * (2 / Float(fanIn + fanOut)).squareRoot(), using: &generator, requiresGrad: true)
    }
}
