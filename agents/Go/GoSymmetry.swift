/// The eight symmetries of the square board (rotations and reflections), which leave Go's
/// rules and the value of every position unchanged; training on a random one per sample gives
/// eight times the positions for free (Silver et al. 2016 augment the same way).
///
/// Symmetry `k` in 0..<8 maps (row, column) by: transpose when `k & 4`, then flip the rows
/// when `k & 1`, then flip the columns when `k & 2`. Pass is fixed.
public enum GoSymmetry {
    public static let count = 8

    /// Where point (row, column) of an n×n board goes under symmetry `k`.
    @inlinable
    public static func map(row: Int, column: Int, size n: Int, symmetry k: Int) -> (row: Int, column: Int) {
        var (r, c) = k & 4 != 0 ? (column, row) : (row, column)
        if k & 1 != 0 { r = n - 1 - r }
        if k & 2 != 0 { c = n - 1 - c }
        return (r, c)
    }

    /// An action (`row · n + column`, or `n²` for pass) under symmetry `k`.
    public static func map(action: Int, size n: Int, symmetry k: Int) -> Int {
        if action == n * n { return action }
        let (r, c) = map(row: action / n, column: action % n, size: n, symmetry: k)
        return r * n + c
    }

    /// Applies symmetry `k` in place to one stored position (every plane, and the points of
    /// the legal mask) laid out as `layout` says; `scratch` holds at least size² floats.
    public static func apply(
        _ k: Int, to position: UnsafeMutablePointer<Float>, layout: GoObservationLayout,
        scratch: UnsafeMutablePointer<Float>
    ) {
        if k == 0 { return }
        let n = layout.size, area = n * n
        var destination = [Int](repeating: 0, count: area)
        for r in 0..<n {
            for c in 0..<n {
                let (r2, c2) = map(row: r, column: c, size: n, symmetry: k)
                destination[r * n + c] = r2 * n + c2
            }
        }
        destination.withUnsafeBufferPointer { to in
            // The planes, then the mask's points (its pass entry stays last).
            for plane in 0...layout.planeCount {
                let base = position + plane * area
                for i in 0..<area { scratch[to[i]] = base[i] }
                base.update(from: scratch, count: area)
            }
        }
    }
}
