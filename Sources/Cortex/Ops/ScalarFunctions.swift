import Foundation

// The scalar functions the elementwise kernels are specialised on (see `UnaryFunction`):
// each op's value and, for differentiable unary ops, its derivative.

/// A differentiable scalar function y = f(x) whose derivative is computed from one saved
/// value: the output y when `derivativeFromOutput`, else the input x.
@usableFromInline
protocol UnaryRule: UnaryFunction {
    static var derivativeFromOutput: Bool { get }
    /// f′ as a function of the saved value.
    func derivative(_ saved: Float) -> Float
}

/// g · f′(saved): the backward map of a `UnaryRule`.
struct ChainRule<R: UnaryRule>: BinaryFunction {
    let rule: R
    @inline(__always) func callAsFunction(_ g: Float, _ saved: Float) -> Float { g * rule.derivative(saved) }
}

/// f(x, y) with y fixed.
struct BindSecond<F: BinaryFunction>: UnaryFunction {
    let f: F, y: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { f(x, y) }
}

// MARK: - Binary

struct Add: BinaryFunction { @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x + y } }
struct Subtract: BinaryFunction { @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x - y } }
struct Multiply: BinaryFunction { @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x * y } }
struct Divide: BinaryFunction { @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x / y } }
struct Maximum: BinaryFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x >= y ? x : y }
}
struct Minimum: BinaryFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x <= y ? x : y }
}
/// The share of the gradient `maximum` sends to x: 1, ½ on a tie, or 0.
struct MaximumShare: BinaryFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x > y ? 1 : (x == y ? 0.5 : 0) }
}
struct MinimumShare: BinaryFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x < y ? 1 : (x == y ? 0.5 : 0) }
}
struct Equal: BinaryFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x == y ? 1 : 0 }
}
struct Greater: BinaryFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x > y ? 1 : 0 }
}
struct Less: BinaryFunction { @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x < y ? 1 : 0 } }
struct GreaterOrEqual: BinaryFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x >= y ? 1 : 0 }
}
struct LessOrEqual: BinaryFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x <= y ? 1 : 0 }
}
/// x where the mask y is non-zero, else 0 (and the complement).
struct KeepWhere: BinaryFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { y != 0 ? x : 0 }
}
struct DropWhere: BinaryFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { y != 0 ? 0 : x }
}

// MARK: - Unary without gradient rule

struct AddScalar: UnaryFunction {
    let s: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x + s }
}
struct MultiplyScalar: UnaryFunction {
    let s: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x * s }
}
/// 1 for non-zero, 0 for zero.
struct NonZero: UnaryFunction { @inline(__always) func callAsFunction(_ x: Float) -> Float { x != 0 ? 1 : 0 } }
/// x when finite, else 0.
struct FiniteOrZero: UnaryFunction { @inline(__always) func callAsFunction(_ x: Float) -> Float { x.isFinite ? x : 0 } }

// MARK: - Unary with gradient rule

struct Negate: UnaryRule {
    static let derivativeFromOutput = false
    @inline(__always) func callAsFunction(_ x: Float) -> Float { -x }
    @inline(__always) func derivative(_ x: Float) -> Float { -1 }
}

/// s − x.
struct ScalarMinus: UnaryRule {
    let s: Float
    static let derivativeFromOutput = false
    @inline(__always) func callAsFunction(_ x: Float) -> Float { s - x }
    @inline(__always) func derivative(_ x: Float) -> Float { -1 }
}

/// s / x; f′ = −s / x².
struct ScalarOver: UnaryRule {
    let s: Float
    static let derivativeFromOutput = false
    @inline(__always) func callAsFunction(_ x: Float) -> Float { s / x }
    @inline(__always) func derivative(_ x: Float) -> Float { -s / (x * x) }
}

struct Exp: UnaryRule {
    static let derivativeFromOutput = true
    @inline(__always) func callAsFunction(_ x: Float) -> Float { fastExp(x) }
    @inline(__always) func derivative(_ y: Float) -> Float { y }
}

struct Log: UnaryRule {
    static let derivativeFromOutput = false
    @inline(__always) func callAsFunction(_ x: Float) -> Float { Foundation.log(x) }
    @inline(__always) func derivative(_ x: Float) -> Float { 1 / x }
}

struct SquareRoot: UnaryRule {
    static let derivativeFromOutput = true
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x.squareRoot() }
    @inline(__always) func derivative(_ y: Float) -> Float { 0.5 / y }
}

/// |x|; f′ = sign(x), 0 at 0.
struct Absolute: UnaryRule {
    static let derivativeFromOutput = false
    @inline(__always) func callAsFunction(_ x: Float) -> Float { Swift.abs(x) }
    @inline(__always) func derivative(_ x: Float) -> Float { x > 0 ? 1 : (x < 0 ? -1 : 0) }
}

struct Square: UnaryRule {
    static let derivativeFromOutput = false
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x * x }
    @inline(__always) func derivative(_ x: Float) -> Float { 2 * x }
}

struct Power: UnaryRule {
    let p: Float
    static let derivativeFromOutput = false
    @inline(__always) func callAsFunction(_ x: Float) -> Float { Foundation.pow(x, p) }
    @inline(__always) func derivative(_ x: Float) -> Float { p * Foundation.pow(x, p - 1) }
}

struct HyperbolicTangent: UnaryRule {
    static let derivativeFromOutput = true
    @inline(__always) func callAsFunction(_ x: Float) -> Float { fastTanh(x) }
    @inline(__always) func derivative(_ y: Float) -> Float { 1 - y * y }
}

struct SigmoidRule: UnaryRule {
    static let derivativeFromOutput = true
    @inline(__always) func callAsFunction(_ x: Float) -> Float { 1 / (1 + fastExp(-x)) }
    @inline(__always) func derivative(_ y: Float) -> Float { y * (1 - y) }
}

struct ReLURule: UnaryRule {
    static let derivativeFromOutput = true
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x > 0 ? x : 0 }
    @inline(__always) func derivative(_ y: Float) -> Float { y > 0 ? 1 : 0 }
}

struct LeakyReLURule: UnaryRule {
    let slope: Float
    static let derivativeFromOutput = false
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x > 0 ? x : slope * x }
    @inline(__always) func derivative(_ x: Float) -> Float { x > 0 ? 1 : slope }
}

/// ½x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³).
struct GELUTanhRule: UnaryRule {
    static let derivativeFromOutput = false
    @inline(__always) func callAsFunction(_ x: Float) -> Float {
        0.5 * x * (1 + fastTanh(0.79788456 * (x + 0.044715 * x * x * x)))
    }
    @inline(__always) func derivative(_ x: Float) -> Float {
        let t = fastTanh(0.79788456 * (x + 0.044715 * x * x * x))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * 0.79788456 * (1 + 3 * 0.044715 * x * x)
    }
}

/// min(max(x, low), high); f′ = 1 inside [low, high], bounds included.
struct Clamp: UnaryRule {
    let low: Float, high: Float
    static let derivativeFromOutput = false
    @inline(__always) func callAsFunction(_ x: Float) -> Float { Swift.min(Swift.max(x, low), high) }
    @inline(__always) func derivative(_ x: Float) -> Float { x >= low && x <= high ? 1 : 0 }
}
