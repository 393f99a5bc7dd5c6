/// Embedding lookup: rows of a table gathered by integer index, as PyTorch's `F.embedding`.
///
/// `out[…, :] = weight[indices[…], :]`. Layout: `weight` is `[V, D]` (V rows of width D);
/// `indices` holds `shape.reduce(1, *)` row numbers in row-major order of `shape`; the result
/// is `shape + [D]`. Gradient: each output row's gradient is added into the row it was read
/// from (rows used several times sum their gradients; unused rows get zero).
public func embedding(_ weight: Tensor, indices: [Int], shape: [Int]) -> Tensor {
    precondition(weight.rank == 2, "embedding: weight must be [V, D], got shape \(weight.shape)")
    precondition(
        shape.reduce(1, *) == indices.count,
        "embedding: shape \(shape) needs \(shape.reduce(1, *)) indices, got \(indices.count)")
    let (rows, width) = (weight.shape[0], weight.shape[1])
    for index in indices {
        precondition(
            index >= 0 && index < rows,
            "embedding: index \(index) out of range for \(rows) rows (weight shape \(weight.shape))")
    }
    let output = TensorStorage(uninitializedCount: indices.count * width)
    let table = weight.storage.pointer
    for (position, index) in indices.enumerated() {
        (output.pointer + position * width).update(from: table + index * width, count: width)
    }
    return Tensor.record("embedding", shape: shape + [width], storage: output, inputs: [weight]) { gradOut in
        let grad = TensorStorage(count: rows * width, repeating: 0)
        let g = gradOut.storage.pointer
        for (position, index) in indices.enumerated() {
            let target = grad.pointer + index * width, source = g + position * width
            for j in 0..<width { target[j] += source[j] }
        }
        return [Tensor(shape: weight.shape, storage: grad)]
    }
}
