import Foundation

/// Why an SGF text cannot be read; each description is one line with the place of the fault.
public enum SGFError: Error, Equatable, CustomStringConvertible {
    case noGameTree
    case unexpectedEnd(expected: String)
    case unexpectedCharacter(Character, line: Int, expected: String)
    case notGo(gameType: String)
    case badValue(property: String, value: String, node: Int)
    case unreadableFile(path: String, reason: String)
    case game(GoGameError)

    public var description: String {
        switch self {
        case .noGameTree: return "SGF: no game tree (no '(' followed by ';')"
        case .unexpectedEnd(let expected): return "SGF: text ends where \(expected) was expected"
        case .unexpectedCharacter(let c, let line, let expected):
            return "SGF: line \(line): unexpected '\(c)' where \(expected) was expected"
        case .notGo(let gameType): return "SGF: game type GM[\(gameType)] is not Go (GM[1])"
        case .badValue(let property, let value, let node):
            return "SGF: node \(node): bad \(property) value '\(value)'"
        case .unreadableFile(let path, let reason): return "SGF: cannot read \(path): \(reason)"
        case .game(let error): return "SGF: \(error)"
        }
    }
}

/// Smart Game Format, FF[4] (Hollosi 2006), for Go (GM[1]).
///
/// Reading is tolerant of real files: any whitespace between tokens, several values per
/// property, escaped `\]` and line continuations in values, lower-case letters in old (FF[3])
/// property names, unknown properties (skipped), and variations, of which the main line (the
/// first child at every branch) is followed. Passes are `[]`, or `[tt]` on boards up to 19.
public enum SGF {
    /// One node: its properties in file order, each with all its values.
    public typealias Node = [(name: String, values: [String])]

    /// The main line of the first game tree in `text`: one property list per node.
    public static func mainLine(_ text: String) throws -> [Node] {
        var parser = Parser(bytes: Array(text.utf8))
        return try parser.firstTreeMainLine()
    }

    /// Reads the first game of `text` into a record.
    public static func parse(_ text: String) throws -> GoGameRecord {
        let nodes = try mainLine(text)
        var record = GoGameRecord(size: 19, komi: 0)
        // Size and game type first: points depend on the size.
        if let root = nodes.first {
            for (name, values) in root {
                let value = values.first ?? ""
                switch name {
                case "GM":
                    if value.trimmingCharacters(in: .whitespaces) != "1" { throw SGFError.notGo(gameType: value) }
                case "SZ":
                    let parts = value.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }
                    guard let n = Int(parts.first ?? ""), (2...25).contains(n), parts.count == 1 || parts[1] == parts[0]
                    else {
                        throw SGFError.badValue(property: "SZ", value: value, node: 1)
                    }
                    record.size = n
                default: break
                }
            }
        }
        for (i, node) in nodes.enumerated() {
            for (name, values) in node {
                let value = values.first ?? ""
                func points() throws -> [GoPoint] {
                    var out: [GoPoint] = []
                    for v in values { out += try pointList(v, size: record.size, property: name, node: i + 1) }
                    return out
                }
                switch name {
                case "KM":
                    guard let komi = Double(value.trimmingCharacters(in: .whitespaces)) else {
                        throw SGFError.badValue(property: "KM", value: value, node: i + 1)
                    }
                    record.komi = komi
                case "RU": record.rules = value
                case "PB": record.blackPlayer = value
                case "PW": record.whitePlayer = value
                case "RE": record.result = value
                case "AB": record.setupBlack += try points()
                case "AW": record.setupWhite += try points()
                case "PL":
                    switch value.trimmingCharacters(in: .whitespaces).uppercased() {
                    case "B", "1": record.firstPlayer = .black
                    case "W", "2": record.firstPlayer = .white
                    default: throw SGFError.badValue(property: "PL", value: value, node: i + 1)
                    }
                case "B", "W":
                    let color: GoColor = name == "B" ? .black : .white
                    record.moves.append(
                        GoTurn(color: color, move: try move(value, size: record.size, property: name, node: i + 1)))
                default: break
                }
            }
        }
        return record
    }

    /// Reads and replays the first game of `text`.
    public static func game(_ text: String, moveLimit: Int? = nil) throws -> GoGame {
        do {
            return try GoGame(record: parse(text), moveLimit: moveLimit)
        } catch let error as GoGameError {
            throw SGFError.game(error)
        }
    }

    /// Reads and replays the first game of the file at `path`.
    public static func game(contentsOf path: String, moveLimit: Int? = nil) throws -> GoGame {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw SGFError.unreadableFile(path: path, reason: "no such file or not readable")
            }
            // Old files are often Latin-1; the moves are ASCII either way.
            text = String(decoding: data, as: UTF8.self)
        }
        return try game(text, moveLimit: moveLimit)
    }

    /// The record as FF[4] text: a root node with the game information and setup, then one
    /// node per move.
    public static func write(_ record: GoGameRecord, application: String = "Cortex") -> String {
        var out = "(;GM[1]FF[4]CA[UTF-8]AP[\(escape(application))]SZ[\(record.size)]KM[\(formatNumber(record.komi))]"
        if let rules = record.rules { out += "RU[\(escape(rules))]" }
        if let black = record.blackPlayer { out += "PB[\(escape(black))]" }
        if let white = record.whitePlayer { out += "PW[\(escape(white))]" }
        if let result = record.result { out += "RE[\(escape(result))]" }
        if !record.setupBlack.isEmpty { out += "AB" + record.setupBlack.map { "[\(letters($0))]" }.joined() }
        if !record.setupWhite.isEmpty { out += "AW" + record.setupWhite.map { "[\(letters($0))]" }.joined() }
        if let first = record.firstPlayer { out += "PL[\(first.letter)]" }
        for (i, turn) in record.moves.enumerated() {
            out += i % 10 == 0 ? "\n" : ""
            switch turn.move {
            case .play(let point): out += ";\(turn.color.letter)[\(letters(point))]"
            case .pass, .resign: out += ";\(turn.color.letter)[]"
            }
        }
        return out + ")\n"
    }

    // MARK: - Values

    static func letters(_ point: GoPoint) -> String {
        let a = UInt8(ascii: "a")
        return String(decoding: [a + UInt8(point.column), a + UInt8(point.row)], as: UTF8.self)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "]", with: "\\]")
    }

    /// A point `"cd"`; nil for anything else.
    static func point(_ text: String, size: Int) -> GoPoint? {
        let b = Array(text.utf8)
        guard b.count == 2 else { return nil }
        func coordinate(_ x: UInt8) -> Int? {
            if x >= UInt8(ascii: "a") && x <= UInt8(ascii: "z") { return Int(x - UInt8(ascii: "a")) }
            if x >= UInt8(ascii: "A") && x <= UInt8(ascii: "Z") { return Int(x - UInt8(ascii: "A")) + 26 }
            return nil
        }
        guard let column = coordinate(b[0]), let row = coordinate(b[1]), column < size, row < size else { return nil }
        return GoPoint(column: column, row: row)
    }

    static func move(_ raw: String, size: Int, property: String, node: Int) throws -> GoMove {
        let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty || (text == "tt" && size <= 19) { return .pass }
        guard let p = point(text, size: size) else {
            throw SGFError.badValue(property: property, value: raw, node: node)
        }
        return .play(p)
    }

    /// A point or an FF[4] compressed rectangle `"aa:cc"`.
    static func pointList(_ raw: String, size: Int, property: String, node: Int) throws -> [GoPoint] {
        let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        let corners = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(corners.count), let a = point(corners[0], size: size),
            let b = corners.count == 2 ? point(corners[1], size: size) : a,
            a.column <= b.column, a.row <= b.row
        else {
            throw SGFError.badValue(property: property, value: raw, node: node)
        }
        var out: [GoPoint] = []
        for row in a.row...b.row { for column in a.column...b.column { out.append(GoPoint(column: column, row: row)) } }
        return out
    }

    // MARK: - Parser

    struct Parser {
        let bytes: [UInt8]
        var i = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        var line: Int { bytes[..<min(i, bytes.count)].reduce(1) { $0 + ($1 == 10 ? 1 : 0) } }

        mutating func skipSpace() {
            while i < bytes.count, bytes[i] == 32 || (bytes[i] >= 9 && bytes[i] <= 13) { i += 1 }
        }

        func fail(_ expected: String) -> SGFError {
            i < bytes.count
                ? .unexpectedCharacter(Character(UnicodeScalar(bytes[i])), line: line, expected: expected)
                : .unexpectedEnd(expected: expected)
        }

        mutating func firstTreeMainLine() throws -> [Node] {
            // Anything before the first "(;" is ignored (mail headers, BOMs).
            while i + 1 < bytes.count {
                if bytes[i] == UInt8(ascii: "(") {
                    var j = i + 1
                    while j < bytes.count, bytes[j] == 32 || (bytes[j] >= 9 && bytes[j] <= 13) { j += 1 }
                    if j < bytes.count, bytes[j] == UInt8(ascii: ";") { break }
                }
                i += 1
            }
            guard i + 1 < bytes.count else { throw SGFError.noGameTree }
            var nodes: [Node] = []
            try gameTree(into: &nodes, mainLine: true)
            return nodes
        }

        /// `( sequence subtree* )`; only the first subtree's nodes are kept on the main line.
        mutating func gameTree(into nodes: inout [Node], mainLine: Bool) throws {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "(") else { throw fail("'('") }
            i += 1
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ";") else { throw fail("';'") }
            while true {
                skipSpace()
                guard i < bytes.count else { throw SGFError.unexpectedEnd(expected: "')'") }
                if bytes[i] == UInt8(ascii: ";") {
                    i += 1
                    let node = try properties()
                    if mainLine { nodes.append(node) }
                } else {
                    break
                }
            }
            var first = true
            while true {
                skipSpace()
                guard i < bytes.count else { throw SGFError.unexpectedEnd(expected: "')'") }
                if bytes[i] == UInt8(ascii: ")") {
                    i += 1
                    return
                }
                guard bytes[i] == UInt8(ascii: "(") else { throw fail("'(', ';' or ')'") }
                try gameTree(into: &nodes, mainLine: mainLine && first)
                first = false
            }
        }

        mutating func properties() throws -> Node {
            var node: Node = []
            while true {
                skipSpace()
                guard i < bytes.count else { return node }
                let c = bytes[i]
                let isUpper = c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z")
                let isLower = c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")
                guard isUpper || isLower else { return node }
                // FF[3] names such as "AddBlack" keep only their capitals ("AB").
                var name: [UInt8] = []
                while i < bytes.count,
                    (bytes[i] >= UInt8(ascii: "A") && bytes[i] <= UInt8(ascii: "Z"))
                        || (bytes[i] >= UInt8(ascii: "a") && bytes[i] <= UInt8(ascii: "z"))
                {
                    if bytes[i] <= UInt8(ascii: "Z") { name.append(bytes[i]) }
                    i += 1
                }
                var values: [String] = []
                while true {
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "[") else { break }
                    i += 1
                    values.append(try value())
                }
                guard !values.isEmpty else { throw fail("'[' after property \(String(decoding: name, as: UTF8.self))") }
                node.append((String(decoding: name, as: UTF8.self), values))
            }
        }

        /// A value up to the unescaped `]`: `\` escapes the next character, and `\` before a
        /// line break removes the break (soft line break).
        mutating func value() throws -> String {
            var out: [UInt8] = []
            while i < bytes.count {
                let c = bytes[i]
                if c == UInt8(ascii: "]") {
                    i += 1
                    return String(decoding: out, as: UTF8.self)
                }
                if c == UInt8(ascii: "\\") && i + 1 < bytes.count {
                    let d = bytes[i + 1]
                    i += 2
                    if d == 10 || d == 13 {
                        if i < bytes.count, bytes[i] == (d == 10 ? 13 : 10) { i += 1 }
                    } else {
                        out.append(d)
                    }
                    continue
                }
                out.append(c)
                i += 1
            }
            throw SGFError.unexpectedEnd(expected: "']'")
        }
    }
}
