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

/// Why a match or an engine failed; one line each.
public enum GTPClientError: Error, CustomStringConvertible {
    case launch(command: String, reason: String)
    case engineExited(engine: String, command: String)
    case failure(engine: String, command: String, message: String)
    case badResponse(engine: String, command: String, response: String)

    public var description: String {
        switch self {
        case .launch(let command, let reason): return "cannot start engine '\(command)': \(reason)"
        case .engineExited(let engine, let command): return "engine '\(engine)' exited while answering '\(command)'"
        case .failure(let engine, let command, let message):
            return "engine '\(engine)' refused '\(command)': \(message)"
        case .badResponse(let engine, let command, let response):
            return "engine '\(engine)' answered '\(command)' with '\(response)', not a GTP response"
        }
    }
}

/// A GTP engine in a child process, talked to through pipes: one command line out, response
/// lines in until the empty line that ends every GTP response.
public final class GTPProcess: GoPlayer {
    public let commandLine: String
    public let name: String
    let process = Process()
    let input: FileHandle
    let output: FileHandle
    var buffer: [UInt8] = []
    var size = 19

    /// Starts `commandLine` through `/bin/sh -c`, so quoting works as in a shell.
    public init(commandLine: String, name: String? = nil) throws {
        self.commandLine = commandLine
        self.name = name ?? commandLine.split(separator: " ").first.map(String.init) ?? commandLine
        let toEngine = Pipe(), fromEngine = Pipe()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "exec " + commandLine]
        // Debian installs GnuGo in /usr/games, which non-login shells often leave off PATH.
        var environment = ProcessInfo.processInfo.environment
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        if !path.split(separator: ":").contains("/usr/games") { environment["PATH"] = path + ":/usr/games" }
        process.environment = environment
        process.standardInput = toEngine
        process.standardOutput = fromEngine
        input = toEngine.fileHandleForWriting
        output = fromEngine.fileHandleForReading
        do {
            try process.run()
        } catch {
            throw GTPClientError.launch(command: commandLine, reason: "\(error)")
        }
        // A shell that cannot find the program exits at once (status 127).
        do {
            _ = try send("protocol_version")
        } catch {
            process.waitUntilExit()
            throw GTPClientError.launch(
                command: commandLine, reason: "it exited with status \(process.terminationStatus) before answering")
        }
    }

    deinit { close() }

    /// Sends one command and returns the response text (after `= `), throwing on `?`.
    @discardableResult
    public func send(_ command: String) throws -> String {
        do {
            try input.write(contentsOf: Data((command + "\n").utf8))
        } catch {
            throw GTPClientError.engineExited(engine: name, command: command)
        }
        var lines: [String] = []
        while true {
            guard let line = readLine() else { throw GTPClientError.engineExited(engine: name, command: command) }
            if line.isEmpty {
                if lines.isEmpty { continue }  // stray blank lines before a response
                break
            }
            lines.append(line)
        }
        let first = lines[0]
        guard let status = first.first, status == "=" || status == "?" else {
            throw GTPClientError.badResponse(engine: name, command: command, response: first)
        }
        // Drop the status and an optional id, keep the rest.
        var head = first.dropFirst()
        while let c = head.first, c.isNumber { head = head.dropFirst() }
        let text = ([String(head)] + lines.dropFirst()).joined(separator: "\n").trimmingCharacters(in: .whitespaces)
        if status == "?" { throw GTPClientError.failure(engine: name, command: command, message: text) }
        return text
    }

    /// One line from the engine without its terminator (CR dropped), nil at end of output.
    func readLine() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 10) {
                var line = Array(buffer[..<newline])
                buffer.removeFirst(newline + 1)
                line.removeAll { $0 == 13 }
                return String(decoding: line, as: UTF8.self)
            }
            let data = output.availableData
            if data.isEmpty {
                if buffer.isEmpty { return nil }
                let line = String(decoding: buffer, as: UTF8.self)
                buffer = []
                return line
            }
            buffer += data
        }
    }

    public func newGame(size: Int, komi: Double) throws {
        self.size = size
        try send("boardsize \(size)")
        try send("clear_board")
        try send("komi \(formatNumber(komi))")
    }

    public func play(_ move: GoMove, color: GoColor) throws {
        try send("play \(color.letter) \(move.vertex(size: size))")
    }

    public func generateMove(for color: GoColor) throws -> GoMove {
        let answer = try send("genmove \(color.letter)")
        if answer.lowercased() == "resign" { return .resign }
        guard let move = GTP.move(answer, size: size) else {
            throw GTPClientError.badResponse(engine: name, command: "genmove \(color.letter)", response: answer)
        }
        return move
    }

    /// Whether the engine answers `kgs-genmove_cleanup` (asked once).
    public lazy var knowsCleanup: Bool = (try? send("known_command kgs-genmove_cleanup")) == "true"

    /// `kgs-genmove_cleanup` when the engine knows it, else `genmove`.
    public func generateCleanupMove(for color: GoColor) throws -> GoMove {
        guard knowsCleanup else { return try generateMove(for: color) }
        let command = "kgs-genmove_cleanup \(color.letter)"
        let answer = try send(command)
        if answer.lowercased() == "resign" { return .resign }
        guard let move = GTP.move(answer, size: size) else {
            throw GTPClientError.badResponse(engine: name, command: command, response: answer)
        }
        return move
    }

    /// Loads `game` (through an SGF file at `path`) and asks for the dead stones
    /// (`final_status_list dead`) and the engine's own count (`final_score`).
    public func judge(_ game: GoGame, path: String) throws -> (dead: [GoPoint], score: String) {
        try SGF.write(game.record).write(toFile: path, atomically: true, encoding: .utf8)
        try send("loadsgf \(path)")
        let list = try send("final_status_list dead")
        var dead: [GoPoint] = []
        for word in list.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            guard case .play(let point)? = GTP.move(String(word), size: game.size) else {
                throw GTPClientError.badResponse(engine: name, command: "final_status_list dead", response: list)
            }
            dead.append(point)
        }
        return (dead, try send("final_score"))
    }

    public func close() {
        guard process.isRunning else { return }
        _ = try? send("quit")
        try? input.close()
        process.waitUntilExit()
    }
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
public func playRefereedGame(
    black: GoPlayer, white: GoPlayer, size: Int, komi: Double, maxMoves: Int,
    cleanup: Bool = false
) throws -> GoMatchGame {
    let game = GoGame(size: size, komi: komi)
    game.blackPlayer = black.name
    game.whitePlayer = white.name
    try black.newGame(size: size, komi: komi)
    try white.newGame(size: size, komi: komi)
    var result = GoMatchGame(game: game, blackName: black.name, whiteName: white.name)
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
