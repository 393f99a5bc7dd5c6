/// A stone colour, also the player who owns it. Raw values are the board's cell codes.
public enum GoColor: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case black = 1
    case white = 2

    /// The other player.
    @inlinable public var opponent: GoColor { self == .black ? .white : .black }

    /// `B` or `W`, as SGF and GTP write it.
    public var letter: String { self == .black ? "B" : "W" }

    public var description: String { self == .black ? "black" : "white" }
}

/// A point of the board: `column` 0 is the left edge (GTP `A`), `row` 0 the top edge (SGF `a`,
/// GTP row `size`). Both lie in `0..<size`.
public struct GoPoint: Hashable, Sendable, CustomStringConvertible {
    public var column: Int
    public var row: Int

    public init(column: Int, row: Int) {
        self.column = column
        self.row = row
    }

    /// Column letters of GTP and most boards: A–Z without I (so at most 25 columns).
    public static let columnLetters: [Character] = Array("ABCDEFGHJKLMNOPQRSTUVWXYZ")

    /// GTP's vertex for a board of `size`, e.g. `D4` (row 1 is the bottom edge).
    public func vertex(size: Int) -> String {
        "\(GoPoint.columnLetters[column])\(size - row)"
    }

    public var description: String { "(\(column), \(row))" }
}

/// What a player does on their turn.
public enum GoMove: Hashable, Sendable {
    case play(GoPoint)
    case pass
    case resign

    /// GTP's spelling: a vertex, `pass` or `resign`.
    public func vertex(size: Int) -> String {
        switch self {
        case .play(let point): return point.vertex(size: size)
        case .pass: return "pass"
        case .resign: return "resign"
        }
    }
}

/// A small seedable generator for the Go players and benchmarks: SplitMix64 (Steele, Lea &
/// Flood 2014), which passes BigCrush and costs one add and two multiplies per draw, so the
/// same seed gives the same games on every machine. (Envs cannot use Cortex's generator.)
public struct GoRandom: RandomNumberGenerator, Sendable {
    @usableFromInline var state: UInt64

    public init(seed: UInt64) { state = seed }

    @inlinable public mutating func next() -> UInt64 { splitMix64(&state) }

    /// Uniform in `0..<bound` by Lemire's multiply-shift; the bias (bound / 2⁶⁴) is far below
    /// anything a board of at most 626 choices can show.
    @inlinable public mutating func nextInt(below bound: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(bound)).high)
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014): one step of the seed expander.
@inlinable func splitMix64(_ x: inout UInt64) -> UInt64 {
    x &+= 0x9E37_79B9_7F4A_7C15
    var z = x
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
