/// Observation planes for a convolutional network, AlphaGo-style (Silver et al. 2016, 2017),
/// always from the point of view of the player to move ("own" = `toPlay`).
///
/// Layout: `planeCount × size × size` floats, channel-major (C, H, W), row 0 at the top,
/// values 0 or 1. Plane order:
///
/// | plane | meaning |
/// |---|---|
/// | 0 | own stones |
/// | 1 | opponent stones |
/// | 2 | empty points |
/// | 3, 4, 5 | own stones whose group has 1, 2, ≥ 3 liberties |
/// | 6, 7, 8 | opponent stones whose group has 1, 2, ≥ 3 liberties |
/// | 9 | the simple-ko point the player to move may not take |
/// | 10 | ones (lets convolutions see the board edge) |
/// | 11 + 2(t−1), 12 + 2(t−1) | own, opponent stones t moves ago, t = 1 … historyLength (zeros before the game's start) |
extension GoBoard {
    /// Planes written by `writePlanes` for a given history length: `11 + 2 · historyLength`.
    public static func planeCount(historyLength: Int) -> Int { 11 + 2 * historyLength }

    /// Planes written by `writePlanes` for this board.
    public var planeCount: Int { GoBoard.planeCount(historyLength: historyLength) }

    /// Writes the observation planes (see the type's table) into `buffer`, which must hold
    /// exactly `planeCount · size²` floats. Allocates nothing.
    public func writePlanes(into buffer: UnsafeMutableBufferPointer<Float>) {
        let n = size, plane = n * n
        precondition(
            buffer.count == planeCount * plane,
            "GoBoard.writePlanes: buffer holds \(buffer.count) floats, need \(planeCount)×\(n)×\(n)")
        guard let out = buffer.baseAddress else { return }
        out.update(repeating: 0, count: buffer.count)
        let own = toPlay.rawValue
        for row in 0..<n {
            let rowBase = (row + 1) * stride + 1
            for column in 0..<n {
                let p = rowBase + column
                let i = row * n + column
                let c = cells[p]
                if c == 0 {
                    out[2 * plane + i] = 1
                    continue
                }
                let libs = Int(liberties[Int(head[p])])
                let side = c == own ? 0 : 1
                out[side * plane + i] = 1
                out[(3 + 3 * side + (libs >= 3 ? 2 : libs - 1)) * plane + i] = 1
            }
        }
        if koIndex >= 0 { out[9 * plane + (koIndex / stride - 1) * n + koIndex % stride - 1] = 1 }
        (out + 10 * plane).update(repeating: 1, count: plane)
        for t in 0..<historyFilled {
            var slot = historyHead - t
            if slot < 0 { slot += historyLength }
            let past = history + slot * area
            let ownPlane = out + (11 + 2 * t) * plane, otherPlane = ownPlane + plane
            for row in 0..<n {
                let rowBase = (row + 1) * stride + 1
                for column in 0..<n {
                    let c = past[rowBase + column]
                    if c == 0 { continue }
                    if c == own { ownPlane[row * n + column] = 1 } else { otherPlane[row * n + column] = 1 }
                }
            }
        }
    }

    /// Writes 1 for each legal action of the player to move and 0 otherwise into `buffer`
    /// (`size² + 1` floats: points row-major from the top-left, then pass, always legal).
    public func writeLegalMask(into buffer: UnsafeMutableBufferPointer<Float>) {
        let n = size
        precondition(
            buffer.count == n * n + 1,
            "GoBoard.writeLegalMask: buffer holds \(buffer.count) floats, need \(n * n + 1)")
        for row in 0..<n {
            for column in 0..<n {
                buffer[row * n + column] = isLegal(index: (row + 1) * stride + column + 1, color: toPlay) ? 1 : 0
            }
        }
        buffer[n * n] = 1
    }

    /// The action number of a move: `row · size + column` for a point, `size²` for pass.
    public func action(for move: GoMove) -> Int {
        switch move {
        case .play(let point): return point.row * size + point.column
        case .pass, .resign: return size * size
        }
    }

    /// The move of an action number (`0 ... size²`).
    public func move(forAction action: Int) -> GoMove {
        precondition(
            (0...(size * size)).contains(action), "GoBoard.move(forAction:): \(action) out of 0...\(size * size)")
        return action == size * size ? .pass : .play(GoPoint(column: action % size, row: action / size))
    }
}
