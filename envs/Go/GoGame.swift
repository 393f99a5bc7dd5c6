import Foundation

/// How a game ended.
public enum GoResult: Equatable, Sendable, CustomStringConvertible {
    /// Counted: `black − white − komi` (positive: black wins; 0: a draw).
    case score(margin: Double)
    /// The loser resigned.
    case resignation(winner: GoColor)
    /// The loser forfeited (an illegal move, or an engine that failed).
    case forfeit(winner: GoColor)

    /// The winner, nil for a draw.
    public var winner: GoColor? {
        switch self {
        case .score(let margin): return margin > 0 ? .black : margin < 0 ? .white : nil
        case .resignation(let winner), .forfeit(let winner): return winner
        }
    }

    /// SGF's `RE` value: `B+3.5`, `W+R`, `B+F`, `0` for a draw. GTP's `final_score` uses the same.
    public var description: String {
        switch self {
        case .score(let margin):
            if margin == 0 { return "0" }
            return (margin > 0 ? "B+" : "W+") + formatNumber(abs(margin))
        case .resignation(let winner): return winner.letter + "+R"
        case .forfeit(let winner): return winner.letter + "+F"
        }
    }

    /// Parses an `RE` value; nil for anything else (`?`, `Void`, time results are kept as text only).
    public init?(sgf text: String) {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        if t == "0" || t == "DRAW" || t == "JIGO" {
            self = .score(margin: 0)
            return
        }
        guard t.count >= 3, let first = t.first, first == "B" || first == "W",
            t.dropFirst().first == "+"
        else { return nil }
        let winner: GoColor = first == "B" ? .black : .white
        let rest = String(t.dropFirst(2))
        if rest == "R" || rest == "RESIGN" {
            self = .resignation(winner: winner)
            return
        }
        if rest == "F" || rest == "FORFEIT" {
            self = .forfeit(winner: winner)
            return
        }
        guard let value = Double(rest) else { return nil }
        self = .score(margin: winner == .black ? value : -value)
    }
}

/// `7.5` rather than `7.500000`, `3` rather than `3.0`.
func formatNumber(_ x: Double) -> String {
    x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
}

/// One recorded turn.
public struct GoTurn: Equatable, Sendable {
    public var color: GoColor
    public var move: GoMove

    public init(color: GoColor, move: GoMove) {
        self.color = color
        self.move = move
    }
}

/// A game record without a board: what SGF stores.
public struct GoGameRecord: Equatable, Sendable {
    public var size: Int
    public var komi: Double
    /// SGF `RU`, e.g. `Chinese`.
    public var rules: String?
    public var blackPlayer: String?
    public var whitePlayer: String?
    /// SGF `RE` as written.
    public var result: String?
    /// Setup stones (`AB`, `AW`) placed before the first move.
    public var setupBlack: [GoPoint]
    public var setupWhite: [GoPoint]
    /// SGF `PL`: who moves first after the setup.
    public var firstPlayer: GoColor?
    /// The main line's moves.
    public var moves: [GoTurn]

    public init(
        size: Int = 19, komi: Double = 7.5, rules: String? = nil, blackPlayer: String? = nil,
        whitePlayer: String? = nil, result: String? = nil, setupBlack: [GoPoint] = [],
        setupWhite: [GoPoint] = [], firstPlayer: GoColor? = nil, moves: [GoTurn] = []
    ) {
        self.size = size
        self.komi = komi
        self.rules = rules
        self.blackPlayer = blackPlayer
        self.whitePlayer = whitePlayer
        self.result = result
        self.setupBlack = setupBlack
        self.setupWhite = setupWhite
        self.firstPlayer = firstPlayer
        self.moves = moves
    }
}

/// Why a record cannot be replayed.
public enum GoGameError: Error, Equatable, CustomStringConvertible {
    case unsupportedSize(Int)
    case badSetupStone(GoColor, GoPoint)
    case illegalMove(number: Int, color: GoColor, vertex: String)

    public var description: String {
        switch self {
        case .unsupportedSize(let n): return "board size \(n) is not supported (2 to 25)"
        case .badSetupStone(let color, let point):
            return "setup stone \(color) at \(point) lands on a stone or has no liberty"
        case .illegalMove(let number, let color, let vertex):
            return "move \(number) (\(color) \(vertex)) is illegal"
        }
    }
}

/// A game: the board, its setup and moves (so it can be undone and saved), and its result.
/// Rules: area scoring (Tromp–Taylor), positional superko, suicide forbidden, two passes end it.
public final class GoGame {
    public var size: Int { board.size }
    public var komi: Double
    public var rules = "Chinese"
    public var blackPlayer: String?
    public var whitePlayer: String?
    /// The position.
    public private(set) var board: GoBoard
    public private(set) var setupBlack: [GoPoint] = []
    public private(set) var setupWhite: [GoPoint] = []
    public private(set) var firstPlayer: GoColor = .black
    /// Every move played (passes included), in order.
    public private(set) var moves: [GoTurn] = []
    /// Set by a resignation or forfeit; a game ended by two passes is scored on demand.
    public private(set) var decidedResult: GoResult?
    /// Stones agreed dead at the end (by a referee or the players): they count as empty points,
    /// and `rules` should then say so (`Chinese`); with none, the count is Tromp–Taylor's.
    public var deadStones: [GoPoint] = []

    public init(size: Int = 19, komi: Double = 7.5, historyLength: Int = 3) {
        self.komi = komi
        board = GoBoard(size: size, historyLength: historyLength)
    }

    /// Replays a record: setup, then its moves (all of them, or the first `moveLimit`).
    public convenience init(record: GoGameRecord, moveLimit: Int? = nil, historyLength: Int = 3) throws {
        guard (2...25).contains(record.size) else { throw GoGameError.unsupportedSize(record.size) }
        self.init(size: record.size, komi: record.komi, historyLength: historyLength)
        rules = record.rules ?? rules
        blackPlayer = record.blackPlayer
        whitePlayer = record.whitePlayer
        for point in record.setupBlack { try place(.black, at: point) }
        for point in record.setupWhite { try place(.white, at: point) }
        if let first = record.firstPlayer {
            firstPlayer = first
        } else if let firstMove = record.moves.first {
            firstPlayer = firstMove.color
        } else {
            firstPlayer = record.setupBlack.isEmpty || !record.setupWhite.isEmpty ? .black : .white
        }
        board.setToPlay(firstPlayer)
        for (i, turn) in record.moves.prefix(moveLimit ?? record.moves.count).enumerated() {
            guard play(turn.move, color: turn.color) else {
                throw GoGameError.illegalMove(number: i + 1, color: turn.color, vertex: turn.move.vertex(size: size))
            }
        }
        if moveLimit == nil || moveLimit! >= record.moves.count, let re = record.result, let result = GoResult(sgf: re)
        {
            switch result {
            case .resignation, .forfeit: decidedResult = result
            case .score: break
            }
        }
    }

    /// Puts a setup stone (handicap, SGF `AB`/`AW`); only before the first move.
    public func place(_ color: GoColor, at point: GoPoint) throws {
        precondition(moves.isEmpty, "GoGame.place: setup stones only before the first move")
        guard board.setStone(color, at: point) else { throw GoGameError.badSetupStone(color, point) }
        if color == .black { setupBlack.append(point) } else { setupWhite.append(point) }
        if color == .black && setupWhite.isEmpty {
            firstPlayer = .white
            board.setToPlay(.white)
        }
    }

    /// Plays `move` for `color` (default: the player to move). Returns false, changing nothing,
    /// for an illegal move or a move after the game ended. `resign` ends the game.
    @discardableResult
    public func play(_ move: GoMove, color: GoColor? = nil) -> Bool {
        let color = color ?? board.toPlay
        guard decidedResult == nil else { return false }
        if move == .resign {
            decidedResult = .resignation(winner: color.opponent)
            moves.append(GoTurn(color: color, move: move))
            return true
        }
        guard board.play(move, color: color) else { return false }
        moves.append(GoTurn(color: color, move: move))
        if move != .pass { deadStones = [] }
        return true
    }

    /// Ends the game with a forfeit by `loser` (an illegal move or a failed engine).
    public func forfeit(by loser: GoColor) {
        decidedResult = .forfeit(winner: loser.opponent)
    }

    /// Takes back the last move by replaying the game without it. False when there is none.
    @discardableResult
    public func undo() -> Bool {
        guard !moves.isEmpty else { return false }
        let kept = moves.dropLast()
        board.clear()
        for point in setupBlack { board.setStone(.black, at: point) }
        for point in setupWhite { board.setStone(.white, at: point) }
        board.setToPlay(firstPlayer)
        moves = []
        decidedResult = nil
        deadStones = []
        for turn in kept { play(turn.move, color: turn.color) }
        return true
    }

    /// An empty board of the same size; komi and names are kept.
    public func clear() {
        board.clear()
        setupBlack = []
        setupWhite = []
        firstPlayer = .black
        moves = []
        decidedResult = nil
        deadStones = []
    }

    /// A fresh empty board of another size.
    public func resize(_ newSize: Int) {
        board = GoBoard(size: newSize, historyLength: board.historyLength)
        clear()
    }

    /// Over by resignation, forfeit, or two passes in a row.
    public var isOver: Bool { decidedResult != nil || board.isOver }

    /// The result: the recorded resignation or forfeit, otherwise the area count of the position
    /// as it stands without `deadStones` (final when two passes ended the game).
    public var result: GoResult {
        decidedResult ?? .score(margin: board.areaScore(removing: deadStones).margin(komi: komi))
    }

    /// The game as a record for SGF.
    public var record: GoGameRecord {
        GoGameRecord(
            size: size, komi: komi, rules: rules, blackPlayer: blackPlayer, whitePlayer: whitePlayer,
            result: isOver ? result.description : nil, setupBlack: setupBlack, setupWhite: setupWhite,
            firstPlayer: setupBlack.isEmpty && setupWhite.isEmpty ? nil : firstPlayer,
            moves: moves.filter { $0.move != .resign })
    }
}
