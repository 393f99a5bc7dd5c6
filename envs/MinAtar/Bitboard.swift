/// 10 × 10 boolean maps as the low 100 bits of a `UInt128`, bit `row · 10 + column`: the
/// NumPy `(10, 10)` 0/1 arrays of MinAtar with its `np.roll` moves as a few shifts.
enum Bitboard {
    /// All 100 cells.
    static let all: UInt128 = (UInt128(1) << 100) - 1
    /// Column 0 of every row.
    static let column0: UInt128 = {
        var mask: UInt128 = 0
        for row in 0..<10 { mask |= UInt128(1) << (row * 10) }
        return mask
    }()
    /// Column 9 of every row.
    static let column9: UInt128 = column0 << 9

    @inline(__always) static func bit(_ row: Int, _ column: Int) -> UInt128 { UInt128(1) << (row * 10 + column) }
    @inline(__always) static func row(_ row: Int) -> UInt128 { UInt128(0x3FF) << (row * 10) }
    @inline(__always) static func isSet(_ board: UInt128, _ row: Int, _ column: Int) -> Bool {
        board >> (row * 10 + column) & 1 != 0
    }
    /// Rectangle of rows `rows` and columns `columns`.
    static func rect(rows: Range<Int>, columns: Range<Int>) -> UInt128 {
        var mask: UInt128 = 0
        for r in rows { for c in columns { mask |= bit(r, c) } }
        return mask
    }

    /// `np.roll(map, 1, axis=0)`: every row moves down one, row 9 wraps to row 0.
    @inline(__always) static func rollDown(_ b: UInt128) -> UInt128 { ((b << 10) & all) | (b >> 90) }
    /// `np.roll(map, -1, axis=0)`: every row moves up one, row 0 wraps to row 9.
    @inline(__always) static func rollUp(_ b: UInt128) -> UInt128 { (b >> 10) | ((b & row(0)) << 90) }
    /// `np.roll(map, shift, axis=1)` for shift ±1: columns move right (+1) or left (−1), wrapping.
    @inline(__always) static func rollColumns(_ b: UInt128, by shift: Int) -> UInt128 {
        shift > 0
            ? ((b << 1) & ~column0 & all) | ((b & column9) >> 9)
            : ((b >> 1) & ~column9) | ((b & column0) << 9)
    }

    /// Calls `body(row, column)` for every set cell, in row-major order.
    @inline(__always) static func forEach(_ board: UInt128, _ body: (Int, Int) -> Void) {
        var rest = board
        while rest != 0 {
            let bit = rest.trailingZeroBitCount
            body(bit / 10, bit % 10)
            rest &= rest - 1
        }
    }

    /// Sets every cell of `board` to one in plane `channel` of a C × 10 × 10 buffer.
    @inline(__always) static func write<T: PlaneValue>(
        _ board: UInt128, channel: Int,
        into planes: UnsafeMutableBufferPointer<T>
    ) {
        var rest = board
        while rest != 0 {
            planes[channel * 100 + rest.trailingZeroBitCount] = .one
            rest &= rest - 1
        }
    }
}
