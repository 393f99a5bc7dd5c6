extension GoBoard {
    /// A uniformly random legal move for `color` as a padded index, or −1 for pass.
    ///
    /// Samples without building the legal list: draw among the empty points not yet refused
    /// (plus pass when `includePass`), and when the draw is illegal — or fills one of `color`'s
    /// own single-point eyes with `protectEyes` — swap it out of the draw range and draw again.
    /// Each draw is uniform over the remaining candidates, so the accepted move is uniform over
    /// the acceptable ones. Without `includePass`, pass comes only when nothing else is left.
    @inlinable
    public func randomMoveIndex(
        for color: GoColor, using random: inout GoRandom,
        includePass: Bool, protectEyes: Bool
    ) -> Int {
        var remaining = emptyCount
        while true {
            let choices = includePass ? remaining + 1 : remaining
            if choices == 0 { return -1 }
            let r = random.nextInt(below: choices)
            if r == remaining { return -1 }
            let p = Int(emptyList[r])
            if isLegal(index: p, color: color) && !(protectEyes && isEye(index: p, color: color)) { return p }
            remaining -= 1
            swapEmpty(r, remaining)
        }
    }

    /// A uniformly random legal move for `color` (see `randomMoveIndex`).
    public func randomMove(
        for color: GoColor, using random: inout GoRandom,
        includePass: Bool = false, protectEyes: Bool = true
    ) -> GoMove {
        let p = randomMoveIndex(for: color, using: &random, includePass: includePass, protectEyes: protectEyes)
        return p < 0 ? .pass : .play(point(at: p))
    }
}

/// Chooses a move for a game; GTP engines and matches plug one in. The random player is one;
/// a learning agent is another.
public protocol GoMoveGenerator: AnyObject {
    /// A short name for tables and GTP `name`.
    var name: String { get }
    /// The move `color` plays in `game`'s current position (must be legal, pass, or resign).
    func generateMove(in game: GoGame, for color: GoColor) -> GoMove
    /// Called when a new game starts, so a generator can reset per-game state.
    func startGame(size: Int, komi: Double)
    /// Stones this generator judges dead in `game`'s position (GTP `final_score`,
    /// `final_status_list`); none means every stone counts as alive (Tromp–Taylor).
    func deadStones(in game: GoGame) -> [GoPoint]
    /// The clock for both colours (GTP `time_settings`, `kgs-time_settings`).
    func setClock(_ clock: GoClock)
    /// GTP `time_left`: seconds and byo-yomi stones (0 in main time) left for `color`.
    func updateClock(color: GoColor, secondsLeft: Double, stonesLeft: Int)
}

extension GoMoveGenerator {
    public func startGame(size: Int, komi: Double) {}
    public func deadStones(in game: GoGame) -> [GoPoint] { [] }
    public func setClock(_ clock: GoClock) {}
    public func updateClock(color: GoColor, secondsLeft: Double, stonesLeft: Int) {}
}

/// The baseline: uniformly random among legal moves that do not fill one of its own
/// single-point eyes (`GoBoard.isEye`); passes only when no such move is left, so games run to
/// a position where every empty point is an eye or illegal, and end by two passes.
public final class GoRandomPlayer: GoMoveGenerator {
    public var random: GoRandom
    public let name = "random"

    public init(seed: UInt64) { random = GoRandom(seed: seed) }

    public func generateMove(in game: GoGame, for color: GoColor) -> GoMove {
        game.board.randomMove(for: color, using: &random, includePass: false, protectEyes: true)
    }
}
