import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Why a match or an engine failed; one line each. `engine` is the engine as a user knows it,
/// e.g. `black engine "gnugo --mode gtp"`.
public enum GTPClientError: Error, CustomStringConvertible {
    case launch(engine: String, reason: String)
    case engineExited(engine: String, command: String, lastLine: String?)
    case timeout(engine: String, command: String, seconds: Double, lastLine: String?)
    case failure(engine: String, command: String, message: String)
    case badResponse(engine: String, command: String, response: String)

    public var description: String {
        switch self {
        case .launch(let engine, let reason): return "cannot start \(engine): \(reason)"
        case .engineExited(let engine, let command, let lastLine):
            return "\(engine) exited while answering '\(command)'\(Self.last(lastLine))"
        case .timeout(let engine, let command, let seconds, let lastLine):
            return
                "\(engine) sent no GTP response to '\(command)' within \(formatNumber(seconds)) s\(Self.last(lastLine))"
        case .failure(let engine, let command, let message):
            return "\(engine) refused '\(command)': \(message)"
        case .badResponse(let engine, let command, let response):
            return "\(engine) answered '\(command)' with \"\(Self.shown(response))\", not a GTP response"
        }
    }

    /// Whether the engine is beyond use after this error (killed, exited, out of step); a refusal
    /// (`?`) leaves it answering.
    public var breaksEngine: Bool {
        if case .failure = self { return false }
        return true
    }

    static func last(_ line: String?) -> String {
        guard let line else { return " (no output)" }
        return " (last line: \"\(shown(line))\")"
    }

    /// At most 60 characters, control characters and invalid UTF-8 shown as `?`, so any bytes
    /// an engine sends make a one-line message.
    static func shown(_ line: String) -> String {
        let printable = String(
            String.UnicodeScalarView(
                line.unicodeScalars.map { $0.properties.generalCategory == .control || $0 == "\u{FFFD}" ? "?" : $0 }))
        return printable.count > 60 ? printable.prefix(60) + "…" : printable
    }
}

/// A GTP engine in a child process, talked to through pipes: one command line out, response
/// lines in until the empty line that ends every GTP response.
///
/// Every exchange has a deadline: `startupTimeout` for the first answer (`protocol_version`),
/// `commandTimeout` for each later one. An engine that misses it, exits, or answers with
/// something that is not GTP is killed with its whole process group and the error names it and
/// the last line it sent; it never hangs the caller.
public final class GTPProcess: GoPlayer {
    public let commandLine: String
    public let name: String
    /// The engine as messages name it, e.g. `black engine "gnugo --mode gtp"`.
    public let label: String
    public let startupTimeout: Double
    public let commandTimeout: Double
    let process = Process()
    let input: FileHandle
    let output: FileHandle
    var buffer: [UInt8] = []
    /// The last non-empty line the engine sent, for error messages.
    public private(set) var lastLine: String?
    /// Set once the engine failed beyond use; it has been killed.
    public private(set) var isBroken = false
    var size = 19

    /// The longest response accepted (a board with comments is a few kilobytes).
    static let maximumResponseBytes = 1 << 20

    /// Starts `commandLine` through `/bin/sh -c`, so quoting works as in a shell. `role` names
    /// the engine in messages ("black engine", "referee").
    public init(
        commandLine: String, name: String? = nil, role: String = "engine", startupTimeout: Double = 10,
        commandTimeout: Double = 30
    ) throws {
        self.commandLine = commandLine
        self.name = name ?? commandLine.split(separator: " ").first.map(String.init) ?? commandLine
        self.label = "\(role) \"\(commandLine)\""
        self.startupTimeout = startupTimeout
        self.commandTimeout = commandTimeout
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
            throw GTPClientError.launch(engine: label, reason: "\(error)")
        }
        do {
            _ = try send("protocol_version", timeout: startupTimeout)
        } catch let error as GTPClientError {
            // A shell that cannot find the program exits at once (status 127).
            if case .engineExited = error, process.terminationReason == .exit {
                throw GTPClientError.launch(
                    engine: label,
                    reason:
                        "it exited with status \(process.terminationStatus) before answering\(GTPClientError.last(lastLine))"
                )
            }
            throw error
        }
    }

    deinit { close() }

    /// Sends one command and returns the response text (after `= `), throwing on `?`, on a
    /// response that is not GTP, and when no response comes within `timeout` seconds (default
    /// `commandTimeout`).
    @discardableResult
    public func send(_ command: String, timeout: Double? = nil) throws -> String {
        guard !isBroken else { throw GTPClientError.engineExited(engine: label, command: command, lastLine: lastLine) }
        do {
            try input.write(contentsOf: Data((command + "\n").utf8))
        } catch {
            throw fail(.engineExited(engine: label, command: command, lastLine: lastLine))
        }
        let seconds = timeout ?? commandTimeout
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, seconds) * 1e9)
        var lines: [String] = []
        var bytes = 0
        while true {
            let line: String
            switch readLine(deadline: deadline) {
            case .line(let text): line = text
            case .end: throw fail(.engineExited(engine: label, command: command, lastLine: lastLine), grace: 1)
            case .timeout:
                throw fail(.timeout(engine: label, command: command, seconds: seconds, lastLine: lastLine))
            }
            if line.isEmpty {
                if lines.isEmpty { continue }  // stray blank lines before a response
                break
            }
            lastLine = line
            // Anything but `=` or `?` first is not GTP: fail now rather than wait for a blank line.
            guard lines.isEmpty ? line.first == "=" || line.first == "?" : true else {
                throw fail(.badResponse(engine: label, command: command, response: line))
            }
            bytes += line.utf8.count
            guard bytes <= Self.maximumResponseBytes else {
                throw fail(
                    .badResponse(engine: label, command: command, response: "more than 1 MB without an empty line"))
            }
            lines.append(line)
        }
        let first = lines[0]
        let status = first.first
        // Drop the status and an optional id (ASCII digits), keep the rest.
        var head = first.dropFirst()
        while let c = head.first, c.isASCII, c.isNumber { head = head.dropFirst() }
        let text = ([String(head)] + lines.dropFirst()).joined(separator: "\n").trimmingCharacters(in: .whitespaces)
        if status == "?" { throw GTPClientError.failure(engine: label, command: command, message: text) }
        return text
    }

    /// Kills the engine after an error that leaves it out of step (after `grace` seconds for one
    /// that is already on its way out), and hands the error back.
    func fail(_ error: GTPClientError, grace: Double = 0) -> GTPClientError {
        isBroken = true
        kill(grace: grace)
        return error
    }

    enum ReadOutcome { case line(String), end, timeout }

    /// One line from the engine without its terminator (CR dropped), `.end` at end of output,
    /// `.timeout` when nothing completes a line before `deadline` (uptime nanoseconds).
    func readLine(deadline: UInt64) -> ReadOutcome {
        while true {
            if let newline = buffer.firstIndex(of: 10) {
                var line = Array(buffer[..<newline])
                buffer.removeFirst(newline + 1)
                line.removeAll { $0 == 13 }
                return .line(String(decoding: line, as: UTF8.self))
            }
            // A line longer than any response is cut, so the buffer stays bounded.
            if buffer.count > Self.maximumResponseBytes {
                let line = String(decoding: buffer.prefix(200), as: UTF8.self)
                buffer = []
                return .line(line)
            }
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else { return .timeout }
            var descriptor = pollfd(fd: output.fileDescriptor, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(min(UInt64(Int32.max), (deadline - now + 999_999) / 1_000_000))
            let ready = poll(&descriptor, 1, milliseconds)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { return ready == 0 ? .timeout : .end }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let count = chunk.withUnsafeMutableBytes { read(output.fileDescriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 {
                if buffer.isEmpty { return .end }
                let line = String(decoding: buffer, as: UTF8.self)
                buffer = []
                return .line(line)
            }
            buffer += chunk.prefix(count)
        }
    }

    /// Kills the engine and every process it started (its process group when it leads one),
    /// and reaps it, so no zombie or orphan is left; it first gets `grace` seconds to exit.
    public func kill(grace: Double = 0) {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(grace * 1e9)
        while process.isRunning && DispatchTime.now().uptimeNanoseconds < deadline { usleep(10_000) }
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        if getpgid(pid) == pid { Glibc.kill(-pid, SIGKILL) }
        Glibc.kill(pid, SIGKILL)
        process.waitUntilExit()
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
        try parseMove(try send("genmove \(color.letter)"), command: "genmove \(color.letter)")
    }

    func parseMove(_ answer: String, command: String) throws -> GoMove {
        if answer.lowercased() == "resign" { return .resign }
        guard let move = GTP.move(answer, size: size) else {
            throw fail(.badResponse(engine: label, command: command, response: answer))
        }
        return move
    }

    /// Whether the engine answers `kgs-genmove_cleanup` (asked once).
    public lazy var knowsCleanup: Bool = (try? send("known_command kgs-genmove_cleanup")) == "true"

    /// `kgs-genmove_cleanup` when the engine knows it, else `genmove`.
    public func generateCleanupMove(for color: GoColor) throws -> GoMove {
        guard knowsCleanup else { return try generateMove(for: color) }
        let command = "kgs-genmove_cleanup \(color.letter)"
        return try parseMove(try send(command), command: command)
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
                throw GTPClientError.badResponse(engine: label, command: "final_status_list dead", response: list)
            }
            dead.append(point)
        }
        return (dead, try send("final_score"))
    }

    /// Ends the engine: `quit`, then end of input; one that is still running a few seconds
    /// later is killed.
    public func close() {
        guard process.isRunning else { return }
        if !isBroken { _ = try? send("quit", timeout: min(commandTimeout, 5)) }
        try? input.close()
        kill(grace: 5)
    }
}
