/// Inverted dropout (Srivastava et al. 2014, "Dropout: A Simple Way to Prevent Neural
/// Networks from Overfitting"; inverted scaling as in PyTorch).
///
/// In training each element is zeroed with probability `p` and the survivors are scaled by
/// `1 / (1 − p)`, so the expected value is unchanged and evaluation needs no rescaling:
/// `out = x ⊙ m / (1 − p)`, `m ~ Bernoulli(1 − p)` drawn from `generator` (one draw per
/// element in row-major order, so the same seed gives the same mask). With `training` false
/// or `p = 0` it returns `input` itself; with `p = 1` every element is zeroed.
/// Gradient: `∂x = g ⊙ m / (1 − p)`, the same mask.
public func dropout(_ input: Tensor, probability: Float, training: Bool, generator: inout RandomGenerator) -> Tensor {
    precondition(probability >= 0 && probability <= 1, "dropout: probability \(probability) outside [0, 1]")
    if !training || probability == 0 { return input }
    let scale: Float = probability < 1 ? 1 / (1 - probability) : 0
    let count = input.count
    // The mask already holds 0 or 1/(1 − p): forward and backward are one multiply each.
    let mask = TensorStorage(uninitializedCount: count)
    for i in 0..<count { mask.pointer[i] = generator.nextFloat() < probability ? 0 : scale }
    let output = TensorStorage(uninitializedCount: count)
    let x = input.storage.pointer, m = mask.pointer, y = output.pointer
    for i in 0..<count { y[i] = x[i] * m[i] }
    return Tensor.record("dropout", shape: input.shape, storage: output, inputs: [input]) { gradOut in
        let grad = TensorStorage(uninitializedCount: count)
        // Read the mask through its storage so the closure keeps it alive.
        let g = gradOut.storage.pointer, dx = grad.pointer, m = mask.pointer
        for i in 0..<count { dx[i] = g[i] * m[i] }
        return [Tensor(shape: input.shape, storage: grad)]
    }
}
