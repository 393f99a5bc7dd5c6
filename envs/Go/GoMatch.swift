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
    /// Ends the player (GTP `quit`).
    func close()
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
        case .failure(let engine, let command, let message): return "engine '\(engine)' refused '\(command)': \(message)"
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
            throw GTPClientError.launch(command: commandLine, reason: "it exited with status \(process.terminationStatus) before answering")
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
            throw GTPClientError.failure(engine: name, command: "play \(color.letter) \(move.vertex(size: game.size))",
                                         message: "illegal move")
        }
    }

    public func generateMove(for color: GoColor) throws -> GoMove {
        let move = generator.generateMove(in: game, for: color)
        if move != .resign { try play(move, color: color) }
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
}

/// Plays one game: asks each player for moves in turn, referees every move with Cortex's
/// rules (an illegal move forfeits the game), tells the other player, and stops at two
/// passes, a resignation, a forfeit, or `maxMoves` moves.
public func playRefereedGame(black: GoPlayer, white: GoPlayer, size: Int, komi: Double, maxMoves: Int) throws -> GoMatchGame {
    let game = GoGame(size: size, komi: komi)
    game.blackPlayer = black.name
    game.whitePlayer = white.name
    try black.newGame(size: size, komi: komi)
    try white.newGame(size: size, komi: komi)
    var result = GoMatchGame(game: game, blackName: black.name, whiteName: white.name)
    while !game.isOver {
        if game.moves.count >= maxMoves {
            result.capped = true
            result.note = "stopped at the \(maxMoves)-move cap, scored as it stood"
            break
        }
        let color = game.board.toPlay
        let (mover, other) = color == .black ? (black, white) : (white, black)
        let move = try mover.generateMove(for: color)
        if move == .resign {
            game.play(.resign, color: color)
            result.note = "\(color) (\(mover.name)) resigned"
            break
        }
        guard game.play(move, color: color) else {
            game.forfeit(by: color)
            result.note = "\(color) (\(mover.name)) played the illegal move \(move.vertex(size: size)) at move \(game.moves.count + 1)"
            break
        }
        try other.play(move, color: color)
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
