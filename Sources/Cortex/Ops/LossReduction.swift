/// How a loss combines its per-element values, as PyTorch's `reduction=` argument.
public enum Reduction: Sendable {
    /// The average over the elements that count (for cross-entropy: targets not ignored).
    case mean
    /// The plain sum.
    case sum
    /// No reduction: one value per element.
    case none
}

extension Reduction {
    /// Combines per-element losses of shape `shape` (summed in Double); `.mean` divides by
    /// `counted`, the number of elements that take part.
    func combine(_ losses: TensorStorage, shape: [Int], counted: Int) -> (shape: [Int], storage: TensorStorage) {
        if self == .none { return (shape, losses) }
        var total: Double = 0
        for i in 0..<losses.count { total += Double(losses.pointer[i]) }
        if self == .mean { total /= Double(counted) }
        return ([], TensorStorage(count: 1, repeating: Float(total)))
    }

    /// The factor the upstream gradient of element `i` carries back: `g[i]` for `.none`,
    /// `g[0]` (÷ `counted` for `.mean`) otherwise.
    @inline(__always)
    func upstream(_ g: UnsafeMutablePointer<Float>, _ i: Int, counted: Int) -> Float {
        switch self {
        case .none: return g[i]
        case .sum: return g[0]
        case .mean: return g[0] / Float(counted)
        }
    }
}
