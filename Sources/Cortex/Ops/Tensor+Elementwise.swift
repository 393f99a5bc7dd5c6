import Foundation

// Elementwise ops. Each computes its value in one loop and records one backward rule.
// Backward closures keep the storage of a saved result, never the result tensor itself,
// so a graph holds no reference cycle.

// MARK: - Binary arithmetic with broadcasting

extension Tensor {
    /// a + b with broadcasting. ∂/∂a = g, ∂/∂b = g (summed over broadcast axes).
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let (shape, storage) = broadcastMap(a, b, op: "add", Add())
        return record("add", shape: shape, storage: storage, inputs: [a, b]) { g in
            [a.requiresGrad ? g.sumToShape(a.shape) : nil, b.requiresGrad ? g.sumToShape(b.shape) : nil]
        }
    }

    /// a − b with broadcasting. ∂/∂a = g, ∂/∂b = −g.
    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let (shape, storage) = broadcastMap(a, b, op: "sub", Subtract())
        return record("sub", shape: shape, storage: storage, inputs: [a, b]) { g in
            [a.requiresGrad ? g.sumToShape(a.shape) : nil, b.requiresGrad ? (-g).sumToShape(b.shape) : nil]
        }
    }

    /// a · b elementwise with broadcasting. ∂/∂a = g·b, ∂/∂b = g·a.
    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let (shape, storage) = broadcastMap(a, b, op: "mul", Multiply())
        return record("mul", shape: shape, storage: storage, inputs: [a, b]) { g in
            [a.requiresGrad ? (g * b).sumToShape(a.shape) : nil, b.requiresGrad ? (g * a).sumToShape(b.shape) : nil]
        }
    }

    /// a / b elementwise with broadcasting. ∂/∂a = g / b, ∂/∂b = −g·a / b².
    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let (shape, storage) = broadcastMap(a, b, op: "div", Divide())
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
    public static prefix func - (x: Tensor) -> Tensor { x.apply("neg", Negate()) }
}

// MARK: - Arithmetic with a scalar

// x ⊕ s and s ⊕ x for a Float s: one loop without broadcasting machinery; the gradient
// reaches only the tensor.
extension Tensor {
    /// x + s. ∂/∂x = g.
    public static func + (a: Tensor, s: Float) -> Tensor {
        record("addScalar", shape: a.shape, storage: unaryMap(a, AddScalar(s: s)), inputs: [a]) { g in [g] }
    }

    public static func + (s: Float, a: Tensor) -> Tensor { a + s }

    public static func - (a: Tensor, s: Float) -> Tensor { a + (-s) }

    /// s − x. ∂/∂x = −g.
    public static func - (s: Float, a: Tensor) -> Tensor { a.apply("rsubScalar", ScalarMinus(s: s)) }

    /// x · s. ∂/∂x = g·s.
    public static func * (a: Tensor, s: Float) -> Tensor {
        record("mulScalar", shape: a.shape, storage: unaryMap(a, MultiplyScalar(s: s)), inputs: [a]) { g in [g * s] }
    }

    public static func * (s: Float, a: Tensor) -> Tensor { a * s }

    public static func / (a: Tensor, s: Float) -> Tensor { a * (1 / s) }

    /// s / x. ∂/∂x = −g·s / x².
    public static func / (s: Float, a: Tensor) -> Tensor { a.apply("rdivScalar", ScalarOver(s: s)) }
}

// MARK: - Unary functions

extension Tensor {
    /// Applies a differentiable scalar function: y = f(x), ∂/∂x = g · f′, with f′ computed
    /// from the saved output or input (see `UnaryRule`).
    func apply<R: UnaryRule>(_ name: String, _ rule: R) -> Tensor {
        let output = unaryMap(self, rule)
        let saved = R.derivativeFromOutput ? output : storage
        return Tensor.record(name, shape: shape, storage: output, inputs: [self]) { [shape] g in
            [zipMap(shape, g.storage, saved, ChainRule(rule: rule))]
        }
    }

    /// eˣ. ∂ = g·y.
    public func exp() -> Tensor { apply("exp", Exp()) }

    /// Natural logarithm. ∂ = g / x.
    public func log() -> Tensor { apply("log", Log()) }

    /// √x. ∂ = g / (2y).
    public func sqrt() -> Tensor { apply("sqrt", SquareRoot()) }

    /// |x|. ∂ = g·sign(x), 0 at 0 (as PyTorch).
    public func abs() -> Tensor { apply("abs", Absolute()) }

    /// xᵖ for a scalar exponent. ∂ = g·p·xᵖ⁻¹.
    public func pow(_ exponent: Float) -> Tensor {
        exponent == 2 ? apply("square", Square()) : apply("pow", Power(p: exponent))
    }

    /// Hyperbolic tangent. ∂ = g·(1 − y²).
    public func tanh() -> Tensor { apply("tanh", HyperbolicTangent()) }

    /// Logistic sigmoid σ(x) = 1 / (1 + e⁻ˣ). ∂ = g·y·(1 − y).
    public func sigmoid() -> Tensor { apply("sigmoid", SigmoidRule()) }

    /// max(x, 0). ∂ = g where x > 0, else 0.
    public func relu() -> Tensor { apply("relu", ReLURule()) }

    /// x for x > 0, slope·x otherwise (Maas et al. 2013). ∂ = g or g·slope.
    public func leakyRelu(negativeSlope: Float = 0.01) -> Tensor {
        apply("leakyRelu", LeakyReLURule(slope: negativeSlope))
    }

    /// GELU (Hendrycks & Gimpel 2016): x·Φ(x) with Φ the standard normal CDF, or with
    /// `approximate` its tanh form 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) as GPT-2 uses.
    public func gelu(approximate: Bool = false) -> Tensor {
        approximate ? apply("gelu", GELUTanhRule()) : geluSavingSlope(self)
    }

    /// Values limited to [min, max] (either bound optional). ∂ = g inside the bounds
    /// (bounds included, as PyTorch), 0 outside.
    public func clamp(min low: Float? = nil, max high: Float? = nil) -> Tensor {
        apply("clamp", Clamp(low: low ?? -.infinity, high: high ?? .infinity))
    }
}

// MARK: - Maximum, minimum, comparisons

/// Elementwise larger of two tensors with broadcasting. The gradient goes to the larger
/// side; on ties it is split equally (as PyTorch's `maximum`).
public func maximum(_ a: Tensor, _ b: Tensor) -> Tensor {
    let (shape, storage) = broadcastMap(a, b, op: "maximum", Maximum())
    return Tensor.record("maximum", shape: shape, storage: storage, inputs: [a, b]) { g in
        selectionGradients(g, a, b, MaximumShare())
    }
}

/// Elementwise smaller of two tensors with broadcasting; ties split the gradient equally.
public func minimum(_ a: Tensor, _ b: Tensor) -> Tensor {
    let (shape, storage) = broadcastMap(a, b, op: "minimum", Minimum())
    return Tensor.record("minimum", shape: shape, storage: storage, inputs: [a, b]) { g in
        selectionGradients(g, a, b, MinimumShare())
    }
}

/// Gradients of an op that picks `a` with weight `share(a, b)` and `b` with the rest.
private func selectionGradients<F: BinaryFunction>(_ g: Tensor, _ a: Tensor, _ b: Tensor, _ share: F) -> [Tensor?] {
    let weight = Tensor(shape: g.shape, storage: broadcastMap(a, b, op: "select", share).storage)
    return [
        a.requiresGrad ? (g * weight).sumToShape(a.shape) : nil,
        b.requiresGrad ? (g * (1 - weight)).sumToShape(b.shape) : nil
    ]
}

extension Tensor {
    private func compare<C: BinaryFunction>(_ other: Tensor, _ name: String, _ test: C) -> Tensor {
        let (shape, storage) = broadcastMap(self, other, op: name, test)
        return Tensor(shape: shape, storage: storage)
    }

    private func compare<C: BinaryFunction>(_ value: Float, _ test: C) -> Tensor {
        Tensor(shape: shape, storage: unaryMap(self, BindSecond(f: test, y: value)))
    }

    /// 1 where `self == other` (broadcasting), else 0; no gradient.
    public func eq(_ other: Tensor) -> Tensor { compare(other, "eq", Equal()) }
    /// 1 where `self > other`, else 0; no gradient.
    public func gt(_ other: Tensor) -> Tensor { compare(other, "gt", Greater()) }
    /// 1 where `self < other`, else 0; no gradient.
    public func lt(_ other: Tensor) -> Tensor { compare(other, "lt", Less()) }
    /// 1 where `self >= other`, else 0; no gradient.
    public func ge(_ other: Tensor) -> Tensor { compare(other, "ge", GreaterOrEqual()) }
    /// 1 where `self <= other`, else 0; no gradient.
    public func le(_ other: Tensor) -> Tensor { compare(other, "le", LessOrEqual()) }

    /// 1 where `self == value`, else 0; no gradient (likewise `gt`, `lt`, `ge`, `le`).
    public func eq(_ value: Float) -> Tensor { compare(value, Equal()) }
    public func gt(_ value: Float) -> Tensor { compare(value, Greater()) }
    public func lt(_ value: Float) -> Tensor { compare(value, Less()) }
    public func ge(_ value: Float) -> Tensor { compare(value, GreaterOrEqual()) }
    public func le(_ value: Float) -> Tensor { compare(value, LessOrEqual()) }
}
