import Foundation

/// Something a match can seat at the board: a GTP engine in another process, or a move
/// generator in this one.
public protocol GoPlayer: AnyObject {
    /// A short name for tables and SGF `PB`/`PW`.
    var name: String { get }
    /// Starts a new game: GTP `boardsize`, `clear_board`, `komi`.
    func newGame(size: Int, komi: Double) throws
    /// The opponent (or this player) played `move`.
    func play(_ move: GoMove, color: GoColor) throws
    /// This player's move as `color`.
    func generateMove(for color: GoColor) throws -> GoMove
    /// This player's move as `color` in the clean-up phase after two passes, where dead stones
    /// are captured rather than passed over (KGS's `kgs-genmove_cleanup`).
    func generateCleanupMove(for color: GoColor) throws -> GoMove
    /// Ends the player (GTP `quit`).
    func close()
}

extension GoPlayer {
    public func generateCleanupMove(for color: GoColor) throws -> GoMove { try generateMove(for: color) }
}

/// A move generator seated as a player: it keeps its own copy of the game.
public final class LocalPlayer: GoPlayer {
    public let generator: GoMoveGenerator
    public var name: String { generator.name }
    var game = GoGame(size: 19)

    public init(generator: GoMoveGenerator) { self.generator = generator }

    public func newGame(size: Int, komi: Double) throws {
        game = GoGame(size: size, komi: komi)
        generator.startGame(size: size, komi: komi)
    }

    public func play(_ move: GoMove, color: GoColor) throws {
        guard game.play(move, color: color) else {
            throw GTPClientError.failure(
                engine: name, command: "play \(color.letter) \(move.vertex(size: game.size))",
                message: "illegal move")
        }
    }

    public func generateMove(for color: GoColor) throws -> GoMove {
        let move = generator.generateMove(in: game, for: color)
        // An illegal move is the referee's to judge: it is returned unplayed.
        if move != .resign { game.play(move, color: color) }
        return move
    }

    public func close() {}
}

/// One refereed game between two players.
public struct GoMatchGame {
    public var game: GoGame
    public var blackName: String
    public var whiteName: String
    /// Why the game ended other than by two passes: resignation, an illegal move, the move cap.
    public var note: String?
    /// The game hit the move cap and was scored as it stood.
    public var capped = false
    /// Seconds each colour spent choosing its moves (black, white), and how many it chose.
    public var thinkingSeconds: (black: Double, white: Double) = (0, 0)
    public var movesChosen: (black: Int, white: Int) = (0, 0)
}

/// Plays one game: asks each player for moves in turn, referees every move with Cortex's
/// rules (an illegal move forfeits the game), tells the other player, and stops at two
/// passes, a resignation, a forfeit, or `maxMoves` moves.
///
/// With `cleanup`, two passes open a clean-up phase (as on KGS): the players move again through
/// `generateCleanupMove` until two more passes, so dead stones get captured before the count;
/// the phase may run to `maxMoves + size²` moves.
///
/// `openingMoves` first moves are uniformly random legal moves that fill no own eye, drawn by
/// the referee from `openingSeed` and told to both players: deterministic engines then play
/// varied games (a data set of GnuGo's games, say).
public func playRefereedGame(
    black: GoPlayer, white: GoPlayer, size: Int, komi: Double, maxMoves: Int,
    cleanup: Bool = false, openingMoves: Int = 0, openingSeed: UInt64 = 0
) throws -> GoMatchGame {
    let game = GoGame(size: size, komi: komi)
    game.blackPlayer = black.name
    game.whitePlayer = white.name
    try black.newGame(size: size, komi: komi)
    try white.newGame(size: size, komi: komi)
    var result = GoMatchGame(game: game, blackName: black.name, whiteName: white.name)
    var random = GoRandom(seed: openingSeed)
    for _ in 0..<min(openingMoves, maxMoves) {
        let color = game.board.toPlay
        let move = game.board.randomMove(for: color, using: &random)
        guard move != .pass, game.play(move, color: color) else { break }
        try black.play(move, color: color)
        try white.play(move, color: color)
    }
    var cap = maxMoves
    var cleaningUp = false
    var cleanupPasses = 0  // passes in a row within the clean-up phase
    while true {
        if game.decidedResult != nil { break }
        if cleaningUp {
            if cleanupPasses >= 2 { break }
        } else if game.isOver {
            guard cleanup else { break }
            cleaningUp = true
            cap = maxMoves + size * size
        }
        if game.moves.count >= cap {
            result.capped = true
            result.note = "stopped at the \(cap)-move cap, scored as it stood"
            break
        }
        let color = game.board.toPlay
        let (mover, other) = color == .black ? (black, white) : (white, black)
        let started = DispatchTime.now().uptimeNanoseconds
        let move = cleaningUp ? try mover.generateCleanupMove(for: color) : try mover.generateMove(for: color)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        if color == .black {
            result.thinkingSeconds.black += seconds
            result.movesChosen.black += 1
        } else {
            result.thinkingSeconds.white += seconds
            result.movesChosen.white += 1
        }
        if move == .resign {
            game.play(.resign, color: color)
            result.note = "\(color) (\(mover.name)) resigned"
            break
        }
        guard game.play(move, color: color) else {
            game.forfeit(by: color)
            result.note =
                "\(color) (\(mover.name)) played the illegal move \(move.vertex(size: size)) at move \(game.moves.count + 1)"
            break
        }
        if cleaningUp { cleanupPasses = move == .pass ? cleanupPasses + 1 : 0 }
        try other.play(move, color: color)
    }
    if cleaningUp && !result.capped && game.decidedResult == nil {
        result.note = "clean-up phase until two more passes"
    }
    return result
}

/// The 95% Wilson score interval of a proportion of `successes` in `trials` (Wilson 1927):
/// centre `(p + z²/2n) / (1 + z²/n)`, half-width `z √(p(1−p)/n + z²/4n²) / (1 + z²/n)`, z = 1.96.
public func wilsonInterval(successes: Double, trials: Int, z: Double = 1.96) -> (low: Double, high: Double) {
    guard trials > 0 else { return (0, 1) }
    let n = Double(trials), p = successes / n
    let denominator = 1 + z * z / n
    let centre = (p + z * z / (2 * n)) / denominator
    let half = z * (p * (1 - p) / n + z * z / (4 * n * n)).squareRoot() / denominator
    return (max(0, centre - half), min(1, centre + half))
}
