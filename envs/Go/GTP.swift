import Foundation

/// Go Text Protocol version 2 (Farnebäck 2002) vocabulary: colours and vertices.
public enum GTP {
    /// `b`, `black`, `w`, `white`, any case.
    public static func color(_ text: String) -> GoColor? {
        switch text.lowercased() {
        case "b", "black": return .black
        case "w", "white": return .white
        default: return nil
        }
    }

    /// A vertex (`D4`, `j10`, `pass`), any case, columns A–Z without I; nil when malformed or
    /// off a board of `size`. `resign` is not a vertex.
    public static func move(_ text: String, size: Int) -> GoMove? {
        let t = text.uppercased()
        if t == "PASS" { return .pass }
        guard let letter = t.first, let column = GoPoint.columnLetters.firstIndex(of: letter),
            let number = Int(t.dropFirst()), column < size, number >= 1, number <= size
        else { return nil }
        return .play(GoPoint(column: column, row: size - number))
    }

    /// Standard handicap points (the GTP spec's `fixed_handicap` table), or nil when the board
    /// has no such placement for `count` stones.
    public static func handicapPoints(count: Int, size: Int) -> [GoPoint]? {
        guard size >= 7, count >= 2, count <= (size % 2 == 1 ? 9 : 4), size >= 9 || count <= 4 else { return nil }
        let lo = size >= 13 ? 3 : 2, hi = size - 1 - lo, mid = size / 2
        let corners = [
            GoPoint(column: lo, row: hi), GoPoint(column: hi, row: lo),
            GoPoint(column: hi, row: hi), GoPoint(column: lo, row: lo)
        ]
        let center = GoPoint(column: mid, row: mid)
        let leftRight = [GoPoint(column: lo, row: mid), GoPoint(column: hi, row: mid)]
        let topBottom = [GoPoint(column: mid, row: lo), GoPoint(column: mid, row: hi)]
        switch count {
        case 2, 3, 4: return Array(corners.prefix(count))
        case 5: return corners + [center]
        case 6: return corners + leftRight
        case 7: return corners + leftRight + [center]
        case 8: return corners + leftRight + topBottom
        default: return corners + leftRight + topBottom + [center]
        }
    }

    /// The board as text: columns lettered, rows numbered from the bottom, `X` black, `O`
    /// white, `.` empty, `#` the ko point, the last move in parentheses.
    public static func boardText(_ board: GoBoard) -> String {
        let n = board.size
        let letters = GoPoint.columnLetters.prefix(n).map { String($0) }.joined(separator: " ")
        var lines = ["   " + letters]
        let last: GoPoint? = { if case .play(let p)? = board.lastMove { return p } else { return nil } }()
        for row in 0..<n {
            let number = n - row
            var line = number < 10 ? " \(number) " : "\(number) "
            for column in 0..<n {
                let p = GoPoint(column: column, row: row)
                let mark: String
                switch board[p] {
                case .black: mark = "X"
                case .white: mark = "O"
                case nil: mark = board.koPoint == p ? "#" : "."
                }
                if p == last {
                    line.removeLast()
                    line += "(\(mark))"
                } else {
                    line += mark + " "
                }
            }
            line += number < 10 ? " \(number)" : "\(number)"
            if row == 0 { line += "   \(board.toPlay) to play" }
            if row == 1 { line += "   captured by black \(board.capturedBy.black), by white \(board.capturedBy.white)" }
            lines.append(line)
        }
        lines.append("   " + letters)
        return lines.joined(separator: "\n")
    }
}

/// A GTP v2 engine: parses command lines, keeps the game, answers. Moves come from a pluggable
/// `GoMoveGenerator` (the random player now, a trained agent later).
///
/// Input handling per the spec: control characters other than tab and line feed (so CR) are
/// dropped, tabs become spaces, `#` starts a comment, empty lines are ignored, an optional
/// numeric id is echoed as `=id` / `?id`; every response ends with an empty line.
public final class GTPEngine {
    public let name: String
    public let version: String
    public var generator: GoMoveGenerator
    /// The game being played.
    public private(set) var game: GoGame
    /// Set by `quit`: the driver loop stops after sending the answer.
    public private(set) var quitRequested = false

    /// Every command this engine knows with any generator, in `list_commands` order.
    public static let commands = [
        "protocol_version", "name", "version", "known_command", "list_commands", "quit",
        "boardsize", "clear_board", "komi", "play", "genmove", "reg_genmove", "kgs-genmove_cleanup", "undo",
        "showboard",
        "final_score", "final_status_list", "time_settings", "time_left", "kgs-time_settings",
        "fixed_handicap", "place_free_handicap", "set_free_handicap", "loadsgf", "printsgf"
    ]

    /// Commands that show the generator's thinking; known only when it is a `GoAnalyzer`.
    public static let analysisCommands = [
        "lz-analyze", "kata-analyze", "gogui-analyze_commands", "cortex-policy", "cortex-winrates"
    ]

    /// The commands this engine answers with its current generator.
    public var knownCommands: [String] {
        generator is GoAnalyzer ? GTPEngine.commands + GTPEngine.analysisCommands : GTPEngine.commands
    }

    public init(
        size: Int = 19, komi: Double = 7.5, generator: GoMoveGenerator,
        name: String = "Cortex", version: String = "0.1.0"
    ) {
        precondition((2...25).contains(size), "GTPEngine: size must be in 2...25, got \(size)")
        self.name = name
        self.version = version
        self.generator = generator
        game = GoGame(size: size, komi: komi)
        generator.startGame(size: size, komi: komi)
    }

    /// A failed command: the text after `?`.
    struct Failure: Error {
        let message: String
        init(_ message: String) { self.message = message }
        static let syntax = Failure("syntax error")
    }

    /// A command line split into its id (empty when none), command and arguments; nil for a line
    /// the protocol says to ignore (empty or comment only).
    func parse(_ rawLine: String) -> (id: String, command: String, args: [String])? {
        var cleaned = ""
        for scalar in rawLine.unicodeScalars {
            if scalar == "#" { break }
            if scalar == "\t" {
                cleaned.unicodeScalars.append(" ")
                continue
            }
            if scalar.value < 32 || scalar.value == 127 { continue }
            cleaned.unicodeScalars.append(scalar)
        }
        var words = cleaned.split(separator: " ").map(String.init)
        guard !words.isEmpty else { return nil }
        var id = ""
        // GTP ids are ASCII digits; `٣` or `½` is a command word, never echoed as an id.
        if words[0].allSatisfy({ $0.isASCII && $0.isNumber }) {
            id = words.removeFirst()
            guard !words.isEmpty else { return (id, "", []) }
        }
        let command = words.removeFirst().lowercased()
        return (id, command, words)
    }

    /// The full response to one input line (ending with the empty line), or nil for a line the
    /// protocol says to ignore (empty or comment only). An analysis command answers with a
    /// single `info` line here: only `run` streams.
    public func respond(to rawLine: String) -> String? {
        guard let (id, command, args) = parse(rawLine) else { return nil }
        var streamed = ""
        return answer(id: id, command: command, args: args, write: { streamed += $0 }, nextLine: { _ in true })
            ?? streamed
    }

    /// Answers one parsed command: the response, or nil when an analysis has already written
    /// its response through `write`, streaming until `nextLine(seconds)` says a line has come.
    func answer(
        id: String, command: String, args: [String], write: (String) -> Void, nextLine: (Double) -> Bool
    ) -> String? {
        guard !command.isEmpty else { return "?\(id) syntax error\n\n" }
        do {
            if command == "lz-analyze" || command == "kata-analyze", let analyzer = generator as? GoAnalyzer {
                let request = try AnalysisRequest(args, toPlay: game.board.toPlay)
                stream(
                    request, format: command == "lz-analyze" ? .leelaZero : .kataGo, analyzer: analyzer, id: id,
                    write: write, nextLine: nextLine)
                return nil
            }
            let text = try execute(command, args)
            return "=\(id)" + (text.isEmpty ? "" : " " + text) + "\n\n"
        } catch let failure as Failure {
            return "?\(id) \(failure.message)\n\n"
        } catch {
            return "?\(id) \(error)\n\n"
        }
    }

    /// Reads lines from `readLine` and writes responses through `write` until `quit` or end of
    /// input. Analyses answer with one `info` line, since nothing can tell when a line waits.
    public func run(readLine: () -> String?, write: (String) -> Void) {
        while !quitRequested, let line = readLine() {
            if let response = respond(to: line) { write(response) }
        }
    }

    /// Reads commands from `input` and writes responses through `write` until `quit` or end of
    /// input; `lz-analyze` and `kata-analyze` stream until the next line arrives.
    public func run(input: GTPInput, write: (String) -> Void) {
        while !quitRequested, let line = input.readLine() {
            guard let (id, command, args) = parse(line) else { continue }
            if let response = answer(
                id: id, command: command, args: args, write: write, nextLine: { input.hasLine(within: $0) })
            {
                write(response)
            }
        }
    }

    // MARK: - Analysis

    /// The arguments of `lz-analyze` / `kata-analyze`: `[color] [interval]`, then `interval N`,
    /// `maxmoves N`, and KataGo's `minmoves`, `ownership`, `ownershipStdev`, `movesOwnership`,
    /// `rootInfo`, `pvVisits`, `pvEdgeVisits` pairs, which are accepted and ignored (this engine
    /// has no ownership or score to give).
    struct AnalysisRequest {
        var color: GoColor
        /// Seconds between `info` lines (0: one line when the analysis stops).
        var interval = 0.0
        var maxMoves = Int.max

        init(_ args: [String], toPlay: GoColor) throws {
            color = toPlay
            var rest = args[...]
            if let first = rest.first, let color = GTP.color(first) {
                self.color = color
                rest = rest.dropFirst()
            }
            if let first = rest.first, let centiseconds = Int(first) {
                guard centiseconds >= 0 else { throw Failure("cannot parse analyze tags") }
                interval = Double(centiseconds) / 100
                rest = rest.dropFirst()
            }
            let ignored: Set<String> = [
                "minmoves", "ownership", "ownershipstdev", "movesownership", "rootinfo", "pvvisits", "pvedgevisits"
            ]
            while let key = rest.first?.lowercased() {
                guard rest.count >= 2 else { throw Failure("cannot parse analyze tags") }
                let value = rest[rest.startIndex + 1]
                rest = rest.dropFirst(2)
                switch key {
                case "interval":
                    guard let centiseconds = Int(value), centiseconds >= 0 else {
                        throw Failure("cannot parse analyze tags")
                    }
                    interval = Double(centiseconds) / 100
                case "maxmoves":
                    guard let count = Int(value), count >= 1 else { throw Failure("cannot parse analyze tags") }
                    maxMoves = count
                case _ where ignored.contains(key): continue
                default: throw Failure("cannot parse analyze tags")
                }
            }
        }
    }

    /// How long a search thinks between two looks at the input: the latency of `stop`.
    static let analysisSlice = 0.05

    /// Writes `=id`, then an `info` line every interval while `analyzer` thinks, until
    /// `nextLine` reports the next command (which `run` then reads and answers), then the
    /// empty line. At least one `info` line is written, even when the next command was waiting.
    func stream(
        _ request: AnalysisRequest, format: GTP.AnalysisFormat, analyzer: GoAnalyzer, id: String,
        write: (String) -> Void, nextLine: (Double) -> Bool
    ) {
        write("=\(id)\n")
        let size = game.size
        var nextReport = Date().addingTimeInterval(request.interval)
        var analysis = analyzer.analyze(
            game, for: request.color, seconds: min(GTPEngine.analysisSlice, max(request.interval, 0.001)))
        var reported = false
        while true {
            if request.interval > 0 && Date() >= nextReport {
                write(GTP.analysisLine(analysis, size: size, format: format, maxMoves: request.maxMoves) + "\n")
                reported = true
                nextReport = max(nextReport.addingTimeInterval(request.interval), Date())
            }
            // A network has nothing to add by thinking: it sleeps until the next report is due.
            let wait =
                analyzer.searches ? 0 : request.interval > 0 ? max(0, nextReport.timeIntervalSinceNow) : .infinity
            if nextLine(wait) { break }
            if analyzer.searches {
                let slice = request.interval > 0 ? max(0.001, nextReport.timeIntervalSinceNow) : .infinity
                analysis = analyzer.analyze(game, for: request.color, seconds: min(GTPEngine.analysisSlice, slice))
            }
        }
        if !reported {
            write(GTP.analysisLine(analysis, size: size, format: format, maxMoves: request.maxMoves) + "\n")
        }
        write("\n")
    }

    // MARK: - Commands

    func execute(_ command: String, _ args: [String]) throws -> String {
        switch command {
        case "protocol_version": return "2"
        case "name": return name
        case "version": return version
        case "known_command":
            guard args.count == 1 else { throw Failure.syntax }
            return knownCommands.contains(args[0].lowercased()) ? "true" : "false"
        case "list_commands": return knownCommands.joined(separator: "\n")
        case "quit":
            quitRequested = true
            return ""
        case "boardsize":
            guard args.count == 1, let n = Int(args[0]) else { throw Failure.syntax }
            guard (2...25).contains(n) else { throw Failure("unacceptable size") }
            game.resize(n)
            generator.startGame(size: n, komi: game.komi)
            return ""
        case "clear_board":
            game.clear()
            generator.startGame(size: game.size, komi: game.komi)
            return ""
        case "komi":
            guard args.count == 1, let komi = Double(args[0]), komi.isFinite else { throw Failure.syntax }
            game.komi = komi
            return ""
        case "play":
            guard args.count == 2, let color = GTP.color(args[0]) else { throw Failure.syntax }
            guard let move = GTP.move(args[1], size: game.size) else {
                // A well-formed vertex off this board is an illegal move; anything else is syntax.
                if GTP.move(args[1], size: 25) != nil { throw Failure("illegal move") }
                throw Failure.syntax
            }
            guard game.play(move, color: color) else { throw Failure("illegal move") }
            return ""
        // Generators here play on until every dead stone is captured when that wins (the random
        // player always does; the tree search values passing by playouts that capture them), so
        // clean-up is plain genmove.
        case "genmove", "reg_genmove", "kgs-genmove_cleanup":
            guard args.count == 1, let color = GTP.color(args[0]) else { throw Failure.syntax }
            var move = generator.generateMove(in: game, for: color)
            if case .play = move, !game.board.isLegal(move, color: color) { move = .pass }
            if command != "reg_genmove" && move != .resign { game.play(move, color: color) }
            return move.vertex(size: game.size)
        case "undo":
            guard args.isEmpty else { throw Failure.syntax }
            guard game.undo() else { throw Failure("cannot undo") }
            return ""
        case "showboard": return "\n" + GTP.boardText(game.board)
        // Counted by area after the generator's dead stones come off (none: Tromp–Taylor).
        case "final_score":
            let dead = generator.deadStones(in: game)
            return GoResult.score(margin: game.board.areaScore(removing: dead).margin(komi: game.komi)).description
        case "final_status_list":
            guard args.count == 1 else { throw Failure.syntax }
            let status = args[0].lowercased()
            guard ["alive", "dead", "seki"].contains(status) else { throw Failure.syntax }
            if status == "seki" { return "" }
            let dead = Set(generator.deadStones(in: game))
            var vertices: [String] = []
            for row in 0..<game.size {
                for column in 0..<game.size {
                    let point = GoPoint(column: column, row: row)
                    if game.board[point] != nil && dead.contains(point) == (status == "dead") {
                        vertices.append(point.vertex(size: game.size))
                    }
                }
            }
            return vertices.joined(separator: " ")
        case "time_settings":
            guard args.count == 3, let main = Int(args[0]), let byoYomi = Int(args[1]), let stones = Int(args[2]),
                main >= 0, byoYomi >= 0, stones >= 0
            else { throw Failure.syntax }
            generator.setClock(
                GoClock(mainSeconds: Double(main), byoYomiSeconds: Double(byoYomi), byoYomiStones: stones))
            return ""
        case "time_left":
            guard args.count == 3, let color = GTP.color(args[0]), let seconds = Int(args[1]),
                let stones = Int(args[2]),
                seconds >= 0, stones >= 0
            else { throw Failure.syntax }
            generator.updateClock(color: color, secondsLeft: Double(seconds), stonesLeft: stones)
            return ""
        case "kgs-time_settings":
            guard let system = args.first?.lowercased() else { throw Failure.syntax }
            let numbers = args.dropFirst().map { Int($0) }
            guard numbers.allSatisfy({ $0 != nil && $0! >= 0 }) else { throw Failure.syntax }
            let v = numbers.map { Double($0!) }
            switch (system, v.count) {
            case ("none", 0): generator.setClock(GoClock())
            case ("absolute", 1): generator.setClock(GoClock(mainSeconds: v[0]))
            // Japanese byo-yomi: each period covers one move, so it is Canadian with one stone.
            case ("byoyomi", 3): generator.setClock(GoClock(mainSeconds: v[0], byoYomiSeconds: v[1], byoYomiStones: 1))
            case ("canadian", 3):
                generator.setClock(GoClock(mainSeconds: v[0], byoYomiSeconds: v[1], byoYomiStones: Int(v[2])))
            default: throw Failure.syntax
            }
            return ""
        case "fixed_handicap", "place_free_handicap":
            guard args.count == 1, let count = Int(args[0]) else { throw Failure.syntax }
            guard game.moves.isEmpty, game.setupBlack.isEmpty, game.setupWhite.isEmpty else {
                throw Failure("board not empty")
            }
            guard let points = GTP.handicapPoints(count: count, size: game.size) else {
                throw Failure("invalid number of stones")
            }
            for point in points { try game.place(.black, at: point) }
            return points.map { $0.vertex(size: game.size) }.joined(separator: " ")
        case "set_free_handicap":
            guard args.count >= 2 else { throw Failure("invalid number of stones") }
            guard game.moves.isEmpty, game.setupBlack.isEmpty, game.setupWhite.isEmpty else {
                throw Failure("board not empty")
            }
            var points: [GoPoint] = []
            for arg in args {
                guard case .play(let p)? = GTP.move(arg, size: game.size), !points.contains(p) else {
                    throw Failure("bad vertex list")
                }
                points.append(p)
            }
            for point in points { try game.place(.black, at: point) }
            return ""
        case "loadsgf":
            guard (1...2).contains(args.count) else { throw Failure.syntax }
            var limit: Int?
            if args.count == 2 {
                guard let n = Int(args[1]), n >= 1 else { throw Failure.syntax }
                limit = n - 1
            }
            do {
                let loaded = try SGF.game(contentsOf: args[0], moveLimit: limit)
                game = loaded
                generator.startGame(size: loaded.size, komi: loaded.komi)
                return loaded.board.toPlay.letter.lowercased() == "b" ? "black" : "white"
            } catch {
                throw Failure("cannot load file")
            }
        // GnuGo's form: with a file name the record goes there and the answer is empty.
        case "printsgf":
            guard args.count <= 1 else { throw Failure.syntax }
            let record = SGF.write(game.record).trimmingCharacters(in: .newlines)
            guard let path = args.first else { return "\n" + record }
            do {
                try (record + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                throw Failure("cannot write \(path)")
            }
            return ""
        case "gogui-analyze_commands" where generator is GoAnalyzer:
            return GTP.goGuiAnalyzeCommands.joined(separator: "\n")
        case "cortex-policy", "cortex-winrates":
            guard let analyzer = generator as? GoAnalyzer, args.count <= 1 else {
                throw generator is GoAnalyzer ? Failure.syntax : Failure("unknown command")
            }
            var color = game.board.toPlay
            if let word = args.first {
                guard let given = GTP.color(word) else { throw Failure.syntax }
                color = given
            }
            let analysis = analyzer.analyze(game, for: color, seconds: analyzer.searches ? 1 : 0)
            return
                (command == "cortex-policy"
                ? GTP.policyGfx(analysis, size: game.size) : GTP.winRatesGfx(analysis, size: game.size))
        default:
            throw Failure("unknown command")
        }
    }
}
