// Shape ops: views that change no element (reshape, squeeze, unsqueeze) share storage and
// are still new graph nodes; ops that move elements copy with `stridedCopy`.

/// Copies the box `shape` read at `source` with `sourceStrides` to `destination` with
/// `destinationStrides`. Extent-1 axes are dropped and neighbouring axes merged where both
/// layouts allow; when the source's unit-stride axis is not the destination's innermost (a
/// transpose), `transposeTiles` moves tiles through a small buffer, on several threads when large.
func stridedCopy(
    shape: [Int], from source: UnsafePointer<Float>, strides sourceStrides: [Int],
    to destination: UnsafeMutablePointer<Float>, strides destinationStrides: [Int]
) {
    if shape.contains(0) { return }
    var extents: [Int] = [], src: [Int] = [], dst: [Int] = []
    for axis in 0..<shape.count where shape[axis] != 1 {
        if let last = extents.last, src.last! == sourceStrides[axis] * shape[axis],
            dst.last! == destinationStrides[axis] * shape[axis]
        {
            extents[extents.count - 1] = last * shape[axis]
            src[src.count - 1] = sourceStrides[axis]
            dst[dst.count - 1] = destinationStrides[axis]
        } else {
            extents.append(shape[axis])
            src.append(sourceStrides[axis])
            dst.append(destinationStrides[axis])
        }
    }
    if extents.isEmpty {
        destination[0] = source[0]
        return
    }
    // A transpose: tile over the destination's inner axis and the source's unit-stride axis.
    let last = extents.count - 1
    if src[last] != 1, dst[last] == 1, let tileAxis = src.firstIndex(of: 1), tileAxis != last {
        let rows = extents[tileAxis], columns = extents[last]
        let srcRow = src[last], dstRow = dst[tileAxis]
        var outerExtents = extents, outerSrc = src, outerDst = dst
        for axis in [last, tileAxis].sorted(by: >) {
            outerExtents.remove(at: axis)
            outerSrc.remove(at: axis)
            outerDst.remove(at: axis)
        }
        let total = outerExtents.reduce(1, *) * rows * columns
        // Threads split the rows (the source's unit-stride axis); each walks all outer indices.
        parallelRanges(rows, threshold: total >= parallelThreshold ? 32 : Int.max) { start, end in
            forEachOffset(outerExtents, outerSrc, outerDst) { s, d in
                transposeTiles(source + s, srcRow, destination + d, dstRow, rows: start..<end, columns: columns)
            }
        }
        return
    }
    let n = extents.removeLast(), si = src.removeLast(), di = dst.removeLast()
    forEachOffset(extents, src, dst) { s, d in
        let from = source + s, to = destination + d
        if si == 1 && di == 1 {
            to.update(from: from, count: n)
        } else {
            for j in 0..<n { to[j * di] = from[j * si] }
        }
    }
}

// MARK: - Views

extension Tensor {
    /// The same elements in a new shape (one extent may be −1: inferred). Shares storage;
    /// a new graph node whose gradient is reshaped back.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let hole = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().reduce(1) { $1.offset == hole ? $0 : $0 * $1.element }
            precondition(
                newShape.filter({ $0 == -1 }).count == 1 && known > 0 && count % known == 0,
                "reshaped: cannot reshape \(shape) to \(newShape)")
            target[hole] = count / known
        }
        precondition(
            target.allSatisfy { $0 >= 0 } && target.reduce(1, *) == count,
            "reshaped: cannot reshape \(shape) (\(count) elements) to \(newShape)")
        if target == shape && !requiresGrad { return self }
        let inputShape = shape
        return Tensor.record("reshape", shape: target, storage: storage, inputs: [self]) { g in
            [g.reshaped(inputShape)]
        }
    }

    /// Removes axis `axis` (which must have extent 1), or every extent-1 axis when `nil`.
    public func squeezed(axis: Int? = nil) -> Tensor {
        guard let axis else { return reshaped(shape.filter { $0 != 1 }) }
        let a = self.axis(axis, op: "squeezed")
        precondition(rank > 0 && shape[a] == 1, "squeezed: axis \(axis) of shape \(shape) is not 1")
        var target = shape
        target.remove(at: a)
        return reshaped(target)
    }

    /// Inserts an axis of extent 1 at `axis` (−1: last; valid range −rank−1…rank).
    public func unsqueezed(axis: Int) -> Tensor {
        let a = axis < 0 ? axis + rank + 1 : axis
        precondition(a >= 0 && a <= rank, "unsqueezed: axis \(axis) out of range for shape \(shape)")
        var target = shape
        target.insert(1, at: a)
        return reshaped(target)
    }
}

// MARK: - Moving elements

extension Tensor {
    /// Axes reordered: result axis i is input axis `axes[i]` (copied to contiguous storage
    /// with a tiled loop). Gradient: the inverse permutation.
    public func permuted(_ axes: [Int]) -> Tensor {
        precondition(axes.count == rank, "permuted: \(axes) does not name every axis of shape \(shape)")
        let order = axes.map { self.axis($0, op: "permuted") }
        precondition(Set(order).count == rank, "permuted: \(axes) repeats an axis of shape \(shape)")
        if order == Array(0..<rank) { return reshaped(shape) }
        let outShape = order.map { shape[$0] }
        let inStrides = strides
        let storage = TensorStorage(uninitializedCount: count)
        stridedCopy(
            shape: outShape, from: self.storage.pointer, strides: order.map { inStrides[$0] },
            to: storage.pointer, strides: Tensor.strides(for: outShape))
        var inverse = [Int](repeating: 0, count: rank)
        for (i, a) in order.enumerated() { inverse[a] = i }
        return Tensor.record("permute", shape: outShape, storage: storage, inputs: [self]) { g in
            [g.permuted(inverse)]
        }
    }

    /// Axes `axis0` and `axis1` swapped.
    public func transposed(_ axis0: Int, _ axis1: Int) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(self.axis(axis0, op: "transposed"), self.axis(axis1, op: "transposed"))
        return permuted(order)
    }

    /// The shape as (elements before `axis`, extent of `axis`, elements after).
    func axisBlocks(_ axis: Int) -> (outer: Int, extent: Int, inner: Int) {
        (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    /// Tensors joined along `axis`; all other extents must agree. Gradient: the matching slices.
    public static func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concat: no tensors")
        let first = tensors[0]
        let a = first.axis(axis, op: "concat")
        var outShape = first.shape
        outShape[a] = 0
        let offAxis = outShape
        for t in tensors {
            var probe = t.shape
            if t.rank == first.rank { probe[a] = 0 }
            precondition(probe == offAxis, "concat: shapes \(tensors.map { $0.shape }) differ off axis \(axis)")
            outShape[a] += t.shape[a]
        }
        let outer = first.axisBlocks(a).outer, inner = first.axisBlocks(a).inner
        let total = outShape[a] * inner
        let storage = TensorStorage(uninitializedCount: outShape.reduce(1, *))
        var offset = 0
        for t in tensors {
            let block = t.shape[a] * inner, src = t.storage.pointer
            for o in 0..<outer {
                (storage.pointer + o * total + offset).update(from: src + o * block, count: block)
            }
            offset += block
        }
        return record("concat", shape: outShape, storage: storage, inputs: tensors) { g in
            var start = 0
            return tensors.map { t in
                defer { start += t.shape[a] }
                return t.requiresGrad ? g.slice(axis: a, start: start, end: start + t.shape[a]) : nil
            }
        }
    }

    /// Tensors of one shape stacked along a new axis `axis`.
    public static func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        precondition(!tensors.isEmpty, "stack: no tensors")
        precondition(
            tensors.allSatisfy { $0.shape == tensors[0].shape }, "stack: shapes \(tensors.map { $0.shape }) differ")
        return concat(tensors.map { $0.unsqueezed(axis: axis) }, axis: axis < 0 ? axis + tensors[0].rank + 1 : axis)
    }

    /// Consecutive pieces along `axis` with the given extents (which must sum to the extent).
    public func split(sizes: [Int], axis: Int) -> [Tensor] {
        let a = self.axis(axis, op: "split")
        precondition(
            sizes.allSatisfy { $0 >= 0 } && sizes.reduce(0, +) == shape[a],
            "split: sizes \(sizes) do not add up to axis \(axis) of shape \(shape)")
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return slice(axis: a, start: start, end: start + size)
        }
    }

    /// Elements `start, start + step, …` below `end` along `axis` (negative `start`/`end`
    /// count from the end; both are clamped to the extent, as Python slicing).
    public func slice(axis: Int, start: Int, end: Int, step: Int = 1) -> Tensor {
        let a = self.axis(axis, op: "slice")
        precondition(rank > 0 && step > 0, "slice: step \(step) must be positive (shape \(shape))")
        let n = shape[a]
        let from = Swift.min(Swift.max(start < 0 ? start + n : start, 0), n)
        let to = Swift.min(Swift.max(end < 0 ? end + n : end, from), n)
        let extent = (to - from + step - 1) / step
        var outShape = shape
        outShape[a] = extent
        let (outer, _, inner) = axisBlocks(a)
        let storage = TensorStorage(uninitializedCount: outer * extent * inner)
        let x = self.storage.pointer, out = storage.pointer
        for o in 0..<outer {
            for j in 0..<extent {
                (out + (o * extent + j) * inner).update(from: x + (o * n + from + j * step) * inner, count: inner)
            }
        }
        let inputShape = shape
        return Tensor.record("slice", shape: outShape, storage: storage, inputs: [self]) { g in
            let grad = TensorStorage(count: outer * n * inner)
            let gp = g.storage.pointer
            for o in 0..<outer {
                for j in 0..<extent {
                    (grad.pointer + (o * n + from + j * step) * inner).update(
                        from: gp + (o * extent + j) * inner, count: inner)
                }
            }
            return [Tensor(shape: inputShape, storage: grad)]
        }
    }

    /// Each axis extended by `before` and `after` elements of `value` (zero padding by
    /// default). Gradient: the interior of `g`.
    public func padded(_ padding: [(before: Int, after: Int)], value: Float = 0) -> Tensor {
        precondition(
            padding.count == rank && padding.allSatisfy { $0.before >= 0 && $0.after >= 0 },
            "padded: padding \(padding) does not fit shape \(shape)")
        let outShape = zip(shape, padding).map { $0 + $1.before + $1.after }
        let outStrides = Tensor.strides(for: outShape)
        let start = zip(outStrides, padding).reduce(0) { $0 + $1.0 * $1.1.before }
        let storage = TensorStorage(count: outShape.reduce(1, *), repeating: value)
        stridedCopy(
            shape: shape, from: self.storage.pointer, strides: strides,
            to: storage.pointer + start, strides: outStrides)
        let inputShape = shape, inputStrides = strides
        return Tensor.record("pad", shape: outShape, storage: storage, inputs: [self]) { g in
            let grad = TensorStorage(uninitializedCount: inputShape.reduce(1, *))
            stridedCopy(
                shape: inputShape, from: g.storage.pointer + start, strides: outStrides,
                to: grad.pointer, strides: inputStrides)
            return [Tensor(shape: inputShape, storage: grad)]
        }
    }
}

/// `dst[i·dstRow + j] = src[i + j·srcRow]` for i in `rows`, j < `columns`.
///
/// Tiles of 128 source columns × 32 source rows (16 KB) go through a small contiguous buffer: each
/// source row segment is read in one sequential run and each destination row segment (one
/// or two cache lines) written in one run. Tiling straight from source to destination thrashed L1
/// when row strides are powers of two (every row of a tile falls into the same cache set).
private func transposeTiles(
    _ src: UnsafePointer<Float>, _ srcRow: Int, _ dst: UnsafeMutablePointer<Float>, _ dstRow: Int,
    rows: Range<Int>, columns: Int
) {
    let tileI = 128, tileJ = 32
    withUnsafeTemporaryAllocation(of: Float.self, capacity: tileI * tileJ) { buffer in
        let buf = buffer.baseAddress!
        var i0 = rows.lowerBound
        while i0 < rows.upperBound {
            let ni = Swift.min(tileI, rows.upperBound - i0)
            var j0 = 0
            while j0 < columns {
                let nj = Swift.min(tileJ, columns - j0)
                for jj in 0..<nj {
                    let row = src + i0 + (j0 + jj) * srcRow, slot = buf + jj * tileI
                    for ii in 0..<ni { slot[ii] = row[ii] }
                }
                for ii in 0..<ni {
                    let to = dst + (i0 + ii) * dstRow + j0, from = buf + ii
                    for jj in 0..<nj { to[jj] = from[jj * tileI] }
                }
                j0 += nj
            }
            i0 += ni
        }
    }
}
