// Indexing ops: selecting, gathering and scattering entries along an axis, masks, one-hot.

extension Tensor {
    /// The entries `indices` (repeats allowed) along `axis`, in that order.
    /// Gradient: summed back into the selected positions.
    public func indexSelect(axis: Int, indices: [Int]) -> Tensor {
        let a = self.axis(axis, op: "indexSelect")
        let (outer, n, inner) = axisBlocks(a)
        precondition(
            indices.allSatisfy { $0 >= 0 && $0 < n },
            "indexSelect: index out of range 0..<\(n) on axis \(axis) of shape \(shape)")
        let k = indices.count
        var outShape = shape
        outShape[a] = k
        let storage = TensorStorage(uninitializedCount: outer * k * inner)
        let x = self.storage.pointer, out = storage.pointer
        indices.withUnsafeBufferPointer { idx in
            for o in 0..<outer {
                for j in 0..<k {
                    (out + (o * k + j) * inner).update(from: x + (o * n + idx[j]) * inner, count: inner)
                }
            }
        }
        let inputShape = shape
        return Tensor.record("indexSelect", shape: outShape, storage: storage, inputs: [self]) { g in
            let grad = TensorStorage(count: outer * n * inner)
            let gp = g.storage.pointer
            indices.withUnsafeBufferPointer { idx in
                for o in 0..<outer {
                    for j in 0..<k {
                        let to = grad.pointer + (o * n + idx[j]) * inner, from = gp + (o * k + j) * inner
                        for i in 0..<inner { to[i] += from[i] }
                    }
                }
            }
            return [Tensor(shape: inputShape, storage: grad)]
        }
    }

    /// Calls `body(position, offset)` for each element of `index` (shape ≤ `shape` off `axis`):
    /// its flat position in `index` and the offset in `self` it names along `axis`.
    private func forEachIndexed(_ axis: Int, _ index: Tensor, op: String, _ body: (Int, Int) -> Void) {
        precondition(
            index.rank == rank && (0..<rank).allSatisfy { $0 == axis || index.shape[$0] <= shape[$0] },
            "\(op): index shape \(index.shape) does not fit shape \(shape) off axis \(axis)")
        var selfStrides = strides
        let axisStride = rank > 0 ? selfStrides[axis] : 1
        if rank > 0 { selfStrides[axis] = 0 }
        let n = rank > 0 ? shape[axis] : 1
        let idx = index.storage.pointer
        var position = 0
        forEachOffset(index.shape, selfStrides, selfStrides) { base, _ in
            let i = Int(idx[position])
            precondition(i >= 0 && i < n, "\(op): index \(i) out of range 0..<\(n) on axis \(axis) of shape \(shape)")
            body(position, base + i * axisStride)
            position += 1
        }
    }

    /// `out[i][j][k] = self[index[i][j][k]][j][k]` along `axis` (for axis 0), as `torch.gather`;
    /// `index` holds integers as Float and has this tensor's rank. Gradient: scatter-added back.
    public func gather(axis: Int, index: Tensor) -> Tensor {
        let a = self.axis(axis, op: "gather")
        let storage = TensorStorage(uninitializedCount: index.count)
        let x = self.storage.pointer, out = storage.pointer
        forEachIndexed(a, index, op: "gather") { position, offset in out[position] = x[offset] }
        let inputShape = shape
        return Tensor.record("gather", shape: index.shape, storage: storage, inputs: [self]) { g in
            [Tensor.zeros(inputShape).scatterAdd(axis: a, index: index, source: g)]
        }
    }

    /// A copy with `source` added at the positions `index` names along `axis`:
    /// `out[index[i][j]][j] += source[i][j]` (axis 0), as `torch.scatter_add`. `source` has
    /// `index`'s shape. Gradients: `g` for `self`, `g.gather(axis, index)` for `source`.
    public func scatterAdd(axis: Int, index: Tensor, source: Tensor) -> Tensor {
        let a = self.axis(axis, op: "scatterAdd")
        precondition(source.shape == index.shape, "scatterAdd: source \(source.shape) and index \(index.shape) differ")
        let storage = TensorStorage(uninitializedCount: count)
        storage.pointer.update(from: self.storage.pointer, count: count)
        let src = source.storage.pointer, out = storage.pointer
        forEachIndexed(a, index, op: "scatterAdd") { position, offset in out[offset] += src[position] }
        return Tensor.record("scatterAdd", shape: shape, storage: storage, inputs: [self, source]) { g in
            [g, source.requiresGrad ? g.gather(axis: a, index: index) : nil]
        }
    }

    /// `a` where `mask` is non-zero, else `b`, all three broadcast together.
    /// Gradient: `g` masked to each side, summed back over broadcast axes.
    public static func `where`(_ mask: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        let shape = broadcastShape(broadcastShape(mask.shape, a.shape, op: "where"), b.shape, op: "where")
        let (m, x, y) = withNoGrad { (mask.expanded(to: shape), a.expanded(to: shape), b.expanded(to: shape)) }
        let selected = Tensor(shape: shape, storage: unaryMap(m, NonZero()))
        let storage = TensorStorage(uninitializedCount: selected.count)
        let s = selected.storage.pointer, xp = x.storage.pointer, yp = y.storage.pointer, out = storage.pointer
        for i in 0..<selected.count { out[i] = s[i] != 0 ? xp[i] : yp[i] }
        return record("where", shape: shape, storage: storage, inputs: [a, b]) { g in
            [
                a.requiresGrad ? zipMap(shape, g.storage, selected.storage, KeepWhere()).sumToShape(a.shape) : nil,
                b.requiresGrad ? zipMap(shape, g.storage, selected.storage, DropWhere()).sumToShape(b.shape) : nil
            ]
        }
    }

    /// `value` where `mask` (broadcast to this shape) is non-zero, else the element.
    public func maskedFill(_ mask: Tensor, value: Float) -> Tensor {
        precondition(
            Tensor.broadcastShape(mask.shape, shape, op: "maskedFill") == shape,
            "maskedFill: mask \(mask.shape) does not broadcast to \(shape)")
        return Tensor.where(mask, Tensor(scalar: value), self)
    }

    /// Rows of `classes` zeros with a 1 at each index: shape [indices.count, classes].
    public static func oneHot(_ indices: [Int], classes: Int) -> Tensor {
        let storage = TensorStorage(count: indices.count * classes)
        for (row, index) in indices.enumerated() {
            precondition(index >= 0 && index < classes, "oneHot: index \(index) out of range 0..<\(classes)")
            storage.pointer[row * classes + index] = 1
        }
        return Tensor(shape: [indices.count, classes], storage: storage)
    }
}
