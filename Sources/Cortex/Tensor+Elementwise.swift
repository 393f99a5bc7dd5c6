import Foundation

// Elementwise ops. Each computes its value in one loop and records one backward rule.
// Backward closures keep the storage of a saved result, never the result tensor itself,
// so a graph holds no reference cycle.

// MARK: - Binary arithmetic with broadcasting

extension Tensor {
    /// a + b with broadcasting. ∂/∂a = g, ∂/∂b = g (summed over broadcast axes).
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let (shape, storage) = broadcastMap(a, b, op: "add", +)
        return record("add", shape: shape, storage: storage, inputs: [a, b]) { g in
            [a.requiresGrad ? g.sumToShape(a.shape) : nil, b.requiresGrad ? g.sumToShape(b.shape) : nil]
        }
    }

    /// a − b with broadcasting. ∂/∂a = g, ∂/∂b = −g.
    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let (shape, storage) = broadcastMap(a, b, op: "sub", -)
        return record("sub", shape: shape, storage: storage, inputs: [a, b]) { g in
            [a.requiresGrad ? g.sumToShape(a.shape) : nil, b.requiresGrad ? (-g).sumToShape(b.shape) : nil]
        }
    }

    /// a · b elementwise with broadcasting. ∂/∂a = g·b, ∂/∂b = g·a.
    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let (shape, storage) = broadcastMap(a, b, op: "mul", *)
        return record("mul", shape: shape, storage: storage, inputs: [a, b]) { g in
            [a.requiresGrad ? (g * b).sumToShape(a.shape) : nil, b.requiresGrad ? (g * a).sumToShape(b.shape) : nil]
        }
    }

    /// a / b elementwise with broadcasting. ∂/∂a = g / b, ∂/∂b = −g·a / b².
    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let (shape, storage) = broadcastMap(a, b, op: "div", /)
        return record("div", shape: shape, storage: storage, inputs: [a, b]) { g in
            let gradA = a.requiresGrad ? (g / b).sumToShape(a.shape) : nil
            var gradB: Tensor? = nil
            if b.requiresGrad {
                let quotient = Tensor(shape: shape, storage: storage)
                gradB = (-(g * quotient) / b).sumToShape(b.shape)
            }
            return [gradA, gradB]
        }
    }

    /// −x.
    public static prefix func - (x: Tensor) -> Tensor {
        record("neg", shape: x.shape, storage: unaryMap(x) { -$0 }, inputs: [x]) { g in [-g] }
    }
}

// MARK: - Arithmetic with a scalar

extension Tensor {
    public static func + (a: Tensor, s: Float) -> Tensor {
        record("addScalar", shape: a.shape, storage: unaryMap(a) { $0 + s }, inputs: [a]) { g in [g] }
    }

    public static func + (s: Float, a: Tensor) -> Tensor { a + s }

    public static func - (a: Tensor, s: Float) -> Tensor { a + (-s) }

    public static func - (s: Float, a: Tensor) -> Tensor {
        record("rsubScalar", shape: a.shape, storage: unaryMap(a) { s - $0 }, inputs: [a]) { g in [-g] }
    }

    public static func * (a: Tensor, s: Float) -> Tensor {
        record("mulScalar", shape: a.shape, storage: unaryMap(a) { $0 * s }, inputs: [a]) { g in [g * s] }
    }

    public static func * (s: Float, a: Tensor) -> Tensor { a * s }

    public static func / (a: Tensor, s: Float) -> Tensor { a * (1 / s) }

    /// s / x. ∂/∂x = −g·s / x².
    public static func / (s: Float, a: Tensor) -> Tensor {
        record("rdivScalar", shape: a.shape, storage: unaryMap(a) { s / $0 }, inputs: [a]) { g in
            [zipMap(a.shape, g.storage, a.storage) { g, x in -g * s / (x * x) }]
        }
    }
}

// MARK: - Unary functions

extension Tensor {
    /// A unary op whose derivative is a function of the input: ∂/∂x = g · derivative(x).
    @inline(__always)
    private func unary(_ name: String, _ f: (Float) -> Float,
                       derivative: @escaping (Float) -> Float) -> Tensor {
        Tensor.record(name, shape: shape, storage: unaryMap(self, f), inputs: [self]) { [self] g in
            [zipMap(shape, g.storage, storage) { g, x in g * derivative(x) }]
        }
    }

    /// A unary op whose derivative is a function of the output: ∂/∂x = g · derivative(y).
    @inline(__always)
    private func unaryFromOutput(_ name: String, _ f: (Float) -> Float,
                                 derivative: @escaping (Float) -> Float) -> Tensor {
        let output = unaryMap(self, f)
        return Tensor.record(name, shape: shape, storage: output, inputs: [self]) { [shape] g in
            [zipMap(shape, g.storage, output) { g, y in g * derivative(y) }]
        }
    }

    /// eˣ. ∂ = g·y.
    public func exp() -> Tensor { unaryFromOutput("exp", Foundation.exp) { $0 } }

    /// Natural logarithm. ∂ = g / x.
    public func log() -> Tensor { unary("log", Foundation.log) { 1 / $0 } }

    /// √x. ∂ = g / (2y).
    public func sqrt() -> Tensor { unaryFromOutput("sqrt", { $0.squareRoot() }) { 0.5 / $0 } }

    /// |x|. ∂ = g·sign(x), 0 at 0 (as PyTorch).
    public func abs() -> Tensor { unary("abs", Swift.abs) { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) } }

    /// xᵖ for a scalar exponent. ∂ = g·p·xᵖ⁻¹.
    public func pow(_ exponent: Float) -> Tensor {
        if exponent == 2 { return unary("square", { $0 * $0 }) { 2 * $0 } }
        if exponent == 1 { return unary("pow", { $0 }) { _ in 1 } }
        return unary("pow", { Foundation.pow($0, exponent) }) { exponent * Foundation.pow($0, exponent - 1) }
    }

    /// Hyperbolic tangent. ∂ = g·(1 − y²).
    public func tanh() -> Tensor { unaryFromOutput("tanh", Foundation.tanh) { 1 - $0 * $0 } }

    /// Logistic sigmoid σ(x) = 1 / (1 + e⁻ˣ). ∂ = g·y·(1 − y).
    public func sigmoid() -> Tensor {
        unaryFromOutput("sigmoid", { 1 / (1 + Foundation.exp(-$0)) }) { $0 * (1 - $0) }
    }

    /// max(x, 0). ∂ = g where x > 0, else 0.
    public func relu() -> Tensor {
        unaryFromOutput("relu", { $0 > 0 ? $0 : 0 }) { $0 > 0 ? 1 : 0 }
    }

    /// x for x > 0, slope·x otherwise (Maas et al. 2013). ∂ = g or g·slope.
    public func leakyRelu(negativeSlope: Float = 0.01) -> Tensor {
        unary("leakyRelu", { $0 > 0 ? $0 : negativeSlope * $0 }) { $0 > 0 ? 1 : negativeSlope }
    }

    /// GELU (Hendrycks & Gimpel 2016): x·Φ(x) with Φ the standard normal CDF, or with
    /// `approximate` its tanh form 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) as GPT-2 uses.
    public func gelu(approximate: Bool = false) -> Tensor {
        let c = Float(0.7978845608028654)  // √(2/π)
        if approximate {
            return unary("gelu", { x in 0.5 * x * (1 + Foundation.tanh(c * (x + 0.044715 * x * x * x))) }) { x in
                let t = Foundation.tanh(c * (x + 0.044715 * x * x * x))
                return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
            }
        }
        let invSqrt2 = Float(0.7071067811865476), invSqrt2Pi = Float(0.3989422804014327)
        return unary("gelu", { x in 0.5 * x * (1 + Foundation.erf(x * invSqrt2)) }) { x in
            0.5 * (1 + Foundation.erf(x * invSqrt2)) + x * invSqrt2Pi * Foundation.exp(-0.5 * x * x)
        }
    }

    /// Values limited to [min, max] (either bound optional). ∂ = g inside the bounds
    /// (bounds included, as PyTorch), 0 outside.
    public func clamp(min low: Float? = nil, max high: Float? = nil) -> Tensor {
        let lo = low ?? -.infinity, hi = high ?? .infinity
        return unary("clamp", { Swift.min(Swift.max($0, lo), hi) }) { $0 >= lo && $0 <= hi ? 1 : 0 }
    }
}

// MARK: - Maximum, minimum, comparisons

/// Elementwise larger of two tensors with broadcasting. The gradient goes to the larger
/// side; on ties it is split equally (as PyTorch's `maximum`).
public func maximum(_ a: Tensor, _ b: Tensor) -> Tensor {
    let (shape, storage) = broadcastMap(a, b, op: "maximum") { $0 >= $1 ? $0 : $1 }
    return Tensor.record("maximum", shape: shape, storage: storage, inputs: [a, b]) { g in
        selectionGradients(g, a, b) { x, y in x > y ? 1 : (x == y ? 0.5 : 0) }
    }
}

/// Elementwise smaller of two tensors with broadcasting; ties split the gradient equally.
public func minimum(_ a: Tensor, _ b: Tensor) -> Tensor {
    let (shape, storage) = broadcastMap(a, b, op: "minimum") { $0 <= $1 ? $0 : $1 }
    return Tensor.record("minimum", shape: shape, storage: storage, inputs: [a, b]) { g in
        selectionGradients(g, a, b) { x, y in x < y ? 1 : (x == y ? 0.5 : 0) }
    }
}

/// Gradients of an op that picks `a` with weight `share(a, b)` and `b` with the rest.
private func selectionGradients(_ g: Tensor, _ a: Tensor, _ b: Tensor,
                                _ share: (Float, Float) -> Float) -> [Tensor?] {
    let weight = Tensor(shape: g.shape, storage: broadcastMap(a, b, op: "select", share).storage)
    return [a.requiresGrad ? (g * weight).sumToShape(a.shape) : nil,
            b.requiresGrad ? (g * (1 - weight)).sumToShape(b.shape) : nil]
}

extension Tensor {
    private func compare(_ other: Tensor, _ name: String, _ test: (Float, Float) -> Bool) -> Tensor {
        let (shape, storage) = broadcastMap(self, other, op: name) { test($0, $1) ? 1 : 0 }
        return Tensor(shape: shape, storage: storage)
    }

    /// 1 where `self == other` (broadcasting), else 0; no gradient.
    public func eq(_ other: Tensor) -> Tensor { compare(other, "eq", ==) }
    /// 1 where `self > other`, else 0; no gradient.
    public func gt(_ other: Tensor) -> Tensor { compare(other, "gt", >) }
    /// 1 where `self < other`, else 0; no gradient.
    public func lt(_ other: Tensor) -> Tensor { compare(other, "lt", <) }
    /// 1 where `self >= other`, else 0; no gradient.
    public func ge(_ other: Tensor) -> Tensor { compare(other, "ge", >=) }
    /// 1 where `self <= other`, else 0; no gradient.
    public func le(_ other: Tensor) -> Tensor { compare(other, "le", <=) }

    public func eq(_ value: Float) -> Tensor { Tensor(shape: shape, storage: unaryMap(self) { $0 == value ? 1 : 0 }) }
    public func gt(_ value: Float) -> Tensor { Tensor(shape: shape, storage: unaryMap(self) { $0 > value ? 1 : 0 }) }
    public func lt(_ value: Float) -> Tensor { Tensor(shape: shape, storage: unaryMap(self) { $0 < value ? 1 : 0 }) }
    public func ge(_ value: Float) -> Tensor { Tensor(shape: shape, storage: unaryMap(self) { $0 >= value ? 1 : 0 }) }
    public func le(_ value: Float) -> Tensor { Tensor(shape: shape, storage: unaryMap(self) { $0 <= value ? 1 : 0 }) }
}
