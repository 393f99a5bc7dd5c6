import Foundation

// Reductions over any set of axes. One kernel serves sum, max and min: the input's axes are
// merged into alternating runs of kept and reduced axes, then each run of the innermost
// axis is either folded to one value (reduced inner axis: a SIMD row fold) or combined
// elementwise into an output row (kept inner axis: a vector loop).

/// A commutative, associative fold with an identity.
@usableFromInline
protocol Reducer {
    static var identity: Float { get }
    static func combine(_ a: Float, _ b: Float) -> Float
}

@usableFromInline enum SumReducer: Reducer {
    @inlinable static var identity: Float { 0 }
    @inlinable static func combine(_ a: Float, _ b: Float) -> Float { a + b }
}

@usableFromInline enum MaxReducer: Reducer {
    @inlinable static var identity: Float { -.infinity }
    @inlinable static func combine(_ a: Float, _ b: Float) -> Float { b > a ? b : a }
}

@usableFromInline enum MinReducer: Reducer {
    @inlinable static var identity: Float { .infinity }
    @inlinable static func combine(_ a: Float, _ b: Float) -> Float { b < a ? b : a }
}

/// Folds `n` contiguous floats into 16 running lanes, `lane[j] = combine(lane[j], p[i + j])`:
/// an elementwise loop LLVM vectorises, where a written-out reduction would stay scalar
/// (strict floating-point order) and `SIMD4`/`SIMD8` accumulators came out as shuffles on
/// the portable x86-64 target. Sixteen partial sums also grow rounding error more slowly.
@inline(__always)
func foldRow<R: Reducer>(_ p: UnsafePointer<Float>, _ n: Int, _: R.Type) -> Float {
    var i = 0
    var result = R.identity
    if n >= 32 {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { buffer in
            let lane = buffer.baseAddress!
            lane.initialize(repeating: R.identity, count: 16)
            while i + 16 <= n {
                for j in 0..<16 { lane[j] = R.combine(lane[j], p[i + j]) }
                i += 16
            }
            for j in 0..<16 { result = R.combine(result, lane[j]) }
        }
    }
    while i < n {
        result = R.combine(result, p[i])
        i += 1
    }
    return result
}

/// The layout of a reduction: merged runs of the input's axes and where each lands.
struct ReductionPlan {
    /// Output shape with and without the reduced axes kept as 1.
    var keptShape: [Int], droppedShape: [Int]
    /// Merged runs, outermost first, without the innermost: extent, input stride, output stride (0 if reduced).
    var outer: [(extent: Int, input: Int, output: Int)] = []
    /// The innermost run: its length and whether it is reduced.
    var inner = 1, innerReduced = false
    var outputCount: Int

    init(shape: [Int], reduced: [Bool]) {
        keptShape = zip(shape, reduced).map { $1 ? 1 : $0 }
        droppedShape = zip(shape, reduced).filter { !$1 }.map { $0.0 }
        outputCount = keptShape.reduce(1, *)
        let inputStrides = Tensor.strides(for: shape), outputStrides = Tensor.strides(for: keptShape)
        var runs: [(extent: Int, input: Int, output: Int, reduced: Bool)] = []
        for axis in 0..<shape.count where shape[axis] != 1 {
            let out = reduced[axis] ? 0 : outputStrides[axis]
            if let last = runs.last, last.reduced == reduced[axis] {
                runs[runs.count - 1] = (last.extent * shape[axis], inputStrides[axis], out, last.reduced)
            } else {
                runs.append((shape[axis], inputStrides[axis], out, reduced[axis]))
            }
        }
        if let last = runs.popLast() {
            inner = last.extent
            innerReduced = last.reduced
        }
        outer = runs.map { ($0.extent, $0.input, $0.output) }
    }

    /// Folds `input` into `output` (which the caller filled with the identity).
    func run<R: Reducer>(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ reducer: R.Type) {
        let n = inner
        if n == 0 { return }
        let rows = outer.reduce(1) { $0 * $1.extent }
        let extents = outer.map { $0.extent }, inStrides = outer.map { $0.input }, outStrides = outer.map { $0.output }
        if innerReduced && outer.allSatisfy({ $0.output != 0 }) {
            // Each output element is one contiguous row: split rows over threads.
            parallelRanges(rows * n) { start, end in
                let first = start / n, last = end / n
                for row in first..<last { output[row] = foldRow(input + row * n, n, R.self) }
            }
            return
        }
        forEachOffset(extents, inStrides, outStrides) { i, o in
            if innerReduced {
                output[o] = R.combine(output[o], foldRow(input + i, n, R.self))
            } else {
                let src = input + i, dst = output + o
                for j in 0..<n { dst[j] = R.combine(dst[j], src[j]) }
            }
        }
    }
}

extension Tensor {
    /// Normalised, sorted, distinct axes as a mask (`nil`: every axis).
    func reductionMask(_ axes: [Int]?, op: String) -> [Bool] {
        guard let axes else { return [Bool](repeating: true, count: rank) }
        var mask = [Bool](repeating: false, count: rank)
        for axis in axes {
            let a = self.axis(axis, op: op)
            precondition(rank > 0 && !mask[a], "\(op): axis \(axis) repeated or out of range for shape \(shape)")
            mask[a] = true
        }
        return mask
    }

    /// The raw fold, no graph: values of shape `plan.keptShape`.
    func reduced<R: Reducer>(_ plan: ReductionPlan, _ reducer: R.Type) -> TensorStorage {
        let storage = TensorStorage(count: plan.outputCount, repeating: R.identity)
        plan.run(self.storage.pointer, storage.pointer, R.self)
        return storage
    }

    /// Σ over `axes` (all when `nil`, giving rank 0). ∂ = g broadcast back.
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let plan = ReductionPlan(shape: shape, reduced: reductionMask(axes, op: "sum"))
        let storage = reduced(plan, SumReducer.self)
        let inputShape = shape
        return Tensor.record(
            "sum", shape: keepDims ? plan.keptShape : plan.droppedShape, storage: storage,
            inputs: [self]
        ) { g in
            [g.reshaped(plan.keptShape).expanded(to: inputShape)]
        }
    }

    /// Arithmetic mean over `axes` (all when `nil`).
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let mask = reductionMask(axes, op: "mean")
        let n = zip(shape, mask).reduce(1) { $1.1 ? $0 * $1.0 : $0 }
        return sum(axes: axes, keepDims: keepDims) * (1 / Float(Swift.max(n, 1)))
    }

    /// Largest value over `axes`. The gradient goes to the positions holding the maximum,
    /// split equally among ties (as PyTorch's `amax`).
    public func max(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        extremum(axes: axes, keepDims: keepDims, "max", MaxReducer.self)
    }

    /// Smallest value over `axes`; gradient as for `max`.
    public func min(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        extremum(axes: axes, keepDims: keepDims, "min", MinReducer.self)
    }

    private func extremum<R: Reducer>(axes: [Int]?, keepDims: Bool, _ name: String, _ reducer: R.Type) -> Tensor {
        let mask = reductionMask(axes, op: name)
        precondition(zip(shape, mask).allSatisfy { !$1 || $0 > 0 }, "\(name): empty axis in shape \(shape)")
        let plan = ReductionPlan(shape: shape, reduced: mask)
        let storage = reduced(plan, R.self)
        return Tensor.record(
            name, shape: keepDims ? plan.keptShape : plan.droppedShape, storage: storage,
            inputs: [self]
        ) { [self] g in
            let value = Tensor(shape: plan.keptShape, storage: storage)
            let hits = self.eq(value)
            let ties = Tensor(shape: plan.keptShape, storage: hits.reduced(plan, SumReducer.self))
            return [hits * (g.reshaped(plan.keptShape) / ties)]
        }
    }

    /// log Σ exp(x) over `axes`, computed stably as m + log Σ exp(x − m) with m the maximum
    /// (m treated as a constant: the gradient is the softmax either way).
    public func logSumExp(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let mask = reductionMask(axes, op: "logSumExp")
        let plan = ReductionPlan(shape: shape, reduced: mask)
        let m = Tensor(shape: plan.keptShape, storage: reduced(plan, MaxReducer.self))
        // A slice of all −∞ (or ±∞) has no finite shift; shift by 0 there.
        let shift = Tensor(shape: m.shape, storage: unaryMap(m, FiniteOrZero()))
        let result = (self - shift).exp().sum(axes: axes, keepDims: true).log() + shift
        return keepDims ? result : result.reshaped(plan.droppedShape)
    }

    /// Variance over `axes`: mean of squared deviations, divided by n − 1 when `unbiased`.
    public func variance(axes: [Int]? = nil, keepDims: Bool = false, unbiased: Bool = false) -> Tensor {
        let mask = reductionMask(axes, op: "variance")
        let n = zip(shape, mask).reduce(1) { $1.1 ? $0 * $1.0 : $0 }
        let deviation = self - mean(axes: axes, keepDims: true)
        let divisor = Float(Swift.max(unbiased ? n - 1 : n, 1))
        return (deviation * deviation).sum(axes: axes, keepDims: keepDims) * (1 / divisor)
    }

    /// Index of the (first) largest value along `axis`, as Float values; no gradient.
    public func argmax(axis: Int, keepDims: Bool = false) -> Tensor {
        let a = self.axis(axis, op: "argmax")
        let indices = argmaxIndices(axis: a)
        var outShape = shape
        if keepDims { outShape[a] = 1 } else { outShape.remove(at: a) }
        let storage = TensorStorage(uninitializedCount: indices.count)
        for (i, index) in indices.enumerated() { storage.pointer[i] = Float(index) }
        return Tensor(shape: outShape, storage: storage)
    }

    /// Indices of the (first) largest value along `axis`, in row-major order of the other axes.
    public func argmaxIndices(axis: Int) -> [Int] {
        let a = self.axis(axis, op: "argmaxIndices")
        precondition(rank > 0 && shape[a] > 0, "argmaxIndices: empty axis \(axis) in shape \(shape)")
        let n = shape[a], inner = shape[(a + 1)...].reduce(1, *), outer = shape[..<a].reduce(1, *)
        let x = storage.pointer
        return [Int](unsafeUninitializedCapacity: outer * inner) { buffer, initialized in
            for o in 0..<outer {
                for j in 0..<inner {
                    let base = x + o * n * inner + j
                    var best = base[0], bestIndex = 0
                    for k in 1..<n where base[k * inner] > best {
                        best = base[k * inner]
                        bestIndex = k
                    }
                    buffer[o * inner + j] = bestIndex
                }
            }
            initialized = outer * inner
        }
    }
}
