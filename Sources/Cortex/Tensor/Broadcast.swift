/// NumPy broadcasting: shapes are aligned at their last axis; two extents agree when they
/// are equal or one of them is 1, and the result takes the larger.
extension Tensor {
    /// The shape two operands broadcast to; stops naming `op` when they do not agree.
    public static func broadcastShape(_ a: [Int], _ b: [Int], op: String = "broadcast") -> [Int] {
        let rank = Swift.max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            precondition(x == y || x == 1 || y == 1, "\(op): shapes \(a) and \(b) do not broadcast")
            result[i] = x == 1 ? y : x
        }
        return result
    }

    /// Sums a broadcast result back to `shape` (the gradient rule of broadcasting): leading
    /// axes `shape` lacks and axes where `shape` has extent 1 are summed away.
    public func sumToShape(_ target: [Int]) -> Tensor {
        if target == shape { return self }
        precondition(
            Tensor.broadcastShape(target, shape, op: "sumToShape") == shape,
            "sumToShape: shape \(shape) is not a broadcast of \(target)")
        let lead = rank - target.count
        var axes: [Int] = Array(0..<lead)
        for (i, extent) in target.enumerated() where extent == 1 && shape[lead + i] != 1 {
            axes.append(lead + i)
        }
        return sum(axes: axes, keepDims: false).reshaped(target)
    }

    /// The values repeated along axes of extent 1 (and new leading axes) to `shape`,
    /// as PyTorch's `expand` but materialised. Gradient: `sumToShape` back.
    public func expanded(to target: [Int]) -> Tensor {
        precondition(
            Tensor.broadcastShape(shape, target, op: "expanded(to:)") == target,
            "expanded(to:): shape \(shape) does not broadcast to \(target)")
        if target == shape { return self }
        let storage = TensorStorage(uninitializedCount: target.reduce(1, *))
        let plan = BroadcastPlan(shape, target, output: target)
        let x = self.storage.pointer, out = storage.pointer
        let n = plan.inner
        if plan.innerStrideA == 1 {
            plan.forEachRow { o, a, _ in (out + o).update(from: x + a, count: n) }
        } else {
            plan.forEachRow { o, a, _ in (out + o).update(repeating: x[a], count: n) }
        }
        let inputShape = shape
        return Tensor.record("expand", shape: target, storage: storage, inputs: [self]) { g in
            [g.sumToShape(inputShape)]
        }
    }
}

/// How to walk two operands broadcast to one contiguous output: the output shape with
/// extent-1 axes dropped and neighbouring axes merged wherever both operands allow, so
/// the last (inner) axis is as long as possible and each operand's step along it is 0 or 1.
/// `[N,C]+[C]` becomes N rows of C with steps (1, 1); `[N,C,H,W]+[1,C,1,1]` becomes N·C
/// rows of H·W with steps (1, 0).
@usableFromInline
struct BroadcastPlan {
    /// Extents, strides of `a` and of `b` along the outer (row) axes.
    var outer: [Int] = [], outerA: [Int] = [], outerB: [Int] = []
    /// Length of a row and the operands' steps along it (0 or 1).
    @usableFromInline var inner = 1, innerStrideA = 0, innerStrideB = 0
    /// Number of rows.
    @usableFromInline var rows = 1

    @usableFromInline
    init(_ a: [Int], _ b: [Int], output: [Int]) {
        let rank = output.count
        func strides(_ shape: [Int]) -> [Int] {
            let padded = [Int](repeating: 1, count: rank - shape.count) + shape
            var result = [Int](repeating: 0, count: rank)
            var running = 1
            for axis in stride(from: rank - 1, through: 0, by: -1) {
                result[axis] = padded[axis] == 1 ? 0 : running
                running *= padded[axis]
            }
            return result
        }
        let sa = strides(a), sb = strides(b)
        var extents: [Int] = [], stridesA: [Int] = [], stridesB: [Int] = []
        for axis in 0..<rank where output[axis] != 1 {
            if let last = extents.last, stridesA.last! == sa[axis] * output[axis],
                stridesB.last! == sb[axis] * output[axis]
            {
                extents[extents.count - 1] = last * output[axis]
                stridesA[stridesA.count - 1] = sa[axis]
                stridesB[stridesB.count - 1] = sb[axis]
            } else {
                extents.append(output[axis])
                stridesA.append(sa[axis])
                stridesB.append(sb[axis])
            }
        }
        if let n = extents.popLast() {
            inner = n
            innerStrideA = stridesA.removeLast()
            innerStrideB = stridesB.removeLast()
        }
        outer = extents
        outerA = stridesA
        outerB = stridesB
        rows = extents.reduce(1, *)
        if inner == 0 { rows = 0 }
    }

    /// Calls `body(outputOffset, offsetA, offsetB)` for each row in `range` (all rows when `nil`), in order.
    @inline(__always) @usableFromInline
    func forEachRow(in range: Range<Int>? = nil, _ body: (Int, Int, Int) -> Void) {
        let range = range ?? 0..<rows
        var o = range.lowerBound * inner
        forEachOffset(outer, outerA, outerB, in: range) { a, b in
            body(o, a, b)
            o += inner
        }
    }
}

/// Calls `body(offsetA, offsetB)` for every index of `extents` in row-major order (or for
/// the indices numbered `range`), the offsets being the index dotted with `stridesA` and `stridesB`.
@inline(__always) @usableFromInline
func forEachOffset(
    _ extents: [Int], _ stridesA: [Int], _ stridesB: [Int], in range: Range<Int>? = nil,
    _ body: (Int, Int) -> Void
) {
    let range = range ?? 0..<extents.reduce(1, *)
    if range.isEmpty { return }
    var index = [Int](repeating: 0, count: extents.count)
    var a = 0, b = 0, rest = range.lowerBound
    for axis in stride(from: extents.count - 1, through: 0, by: -1) {
        index[axis] = rest % extents[axis]
        rest /= extents[axis]
        a += index[axis] * stridesA[axis]
        b += index[axis] * stridesB[axis]
    }
    for _ in range {
        body(a, b)
        var axis = extents.count - 1
        while axis >= 0 {
            index[axis] += 1
            a += stridesA[axis]
            b += stridesB[axis]
            if index[axis] < extents[axis] { break }
            a -= stridesA[axis] * extents[axis]
            b -= stridesB[axis] * extents[axis]
            index[axis] = 0
            axis -= 1
        }
    }
}

// MARK: - Elementwise kernels

/// A scalar function of one value. Kernels are generic over the function's type (not
/// closures) so each op's loop is specialised and vectorised, also inside the closure that
/// runs on several threads, where a closure parameter would stay an indirect call.
@usableFromInline
protocol UnaryFunction {
    func callAsFunction(_ x: Float) -> Float
}

/// A scalar function of two values; see `UnaryFunction`.
@usableFromInline
protocol BinaryFunction {
    func callAsFunction(_ x: Float, _ y: Float) -> Float
}

/// `f(a, b)` elementwise over the broadcast of two tensors, into fresh storage.
/// Fast paths: equal shapes and a one-element operand run one flat loop; otherwise rows of
/// the `BroadcastPlan`, each a flat loop; both split over threads on large outputs.
@usableFromInline
func broadcastMap<F: BinaryFunction>(
    _ a: Tensor, _ b: Tensor, op: String, _ f: F
) -> (shape: [Int], storage: TensorStorage) {
    let shape = a.shape == b.shape ? a.shape : Tensor.broadcastShape(a.shape, b.shape, op: op)
    let count = shape.reduce(1, *)
    let storage = TensorStorage(uninitializedCount: count)
    let x = a.storage.pointer, y = b.storage.pointer, out = storage.pointer
    if a.count == count && b.count == count {
        parallelRanges(count) { start, end in
            for i in start..<end { out[i] = f(x[i], y[i]) }
        }
    } else if b.count == 1 && a.count == count {
        let s = y[0]
        parallelRanges(count) { start, end in
            for i in start..<end { out[i] = f(x[i], s) }
        }
    } else if a.count == 1 && b.count == count {
        let s = x[0]
        parallelRanges(count) { start, end in
            for i in start..<end { out[i] = f(s, y[i]) }
        }
    } else {
        let plan = BroadcastPlan(a.shape, b.shape, output: shape)
        let n = plan.inner
        let rowsPerChunk = max(1, parallelThreshold / max(n, 1))
        parallelRanges(plan.rows, threshold: 2 * rowsPerChunk) { start, end in
            switch (plan.innerStrideA, plan.innerStrideB) {
            case (1, 1):
                plan.forEachRow(in: start..<end) { o, ia, ib in
                    for j in 0..<n { out[o + j] = f(x[ia + j], y[ib + j]) }
                }
            case (1, _):
                plan.forEachRow(in: start..<end) { o, ia, ib in
                    let s = y[ib]
                    for j in 0..<n { out[o + j] = f(x[ia + j], s) }
                }
            default:
                plan.forEachRow(in: start..<end) { o, ia, ib in
                    let s = x[ia]
                    for j in 0..<n { out[o + j] = f(s, y[ib + j]) }
                }
            }
        }
    }
    return (shape, storage)
}

/// `f(x)` elementwise into fresh storage of the same count.
@usableFromInline
func unaryMap<F: UnaryFunction>(_ x: Tensor, _ f: F) -> TensorStorage {
    let count = x.count
    let storage = TensorStorage(uninitializedCount: count)
    let input = x.storage.pointer, out = storage.pointer
    parallelRanges(count) { start, end in
        for i in start..<end { out[i] = f(input[i]) }
    }
    return storage
}

/// `f(x, y)` elementwise over two equally long buffers into a new tensor of `shape`
/// (used by backward rules, where gradient and saved value have the same shape).
@usableFromInline
func zipMap<F: BinaryFunction>(_ shape: [Int], _ x: TensorStorage, _ y: TensorStorage, _ f: F) -> Tensor {
    let count = x.count
    let storage = TensorStorage(uninitializedCount: count)
    let a = x.pointer, b = y.pointer, out = storage.pointer
    parallelRanges(count) { start, end in
        for i in start..<end { out[i] = f(a[i], b[i]) }
    }
    return Tensor(shape: shape, storage: storage)
}
