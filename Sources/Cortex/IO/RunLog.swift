import Foundation

/// A problem writing a run's logs; one line.
public struct RunLogError: Error, CustomStringConvertible, LocalizedError {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}

/// Everything one training run writes, in one folder (`runs/<name>/` by default):
///
/// - `config.json`: the full configuration, written first (pretty, keys sorted);
/// - `metrics.csv`: one row per `log` call. Columns are `step`, `wall_time` (Unix seconds),
///   then every scalar key in the order it first appeared. A row leaves keys it does not log
///   empty. When a new key appears, the file is rewritten once with the wider header and
///   empty cells in the earlier rows (so every row always has the header's width). Opening a
///   folder that already has a `metrics.csv` continues it (a resumed run).
/// - `events.out.tfevents.<time>.<host>`: the same scalars for `tensorboard --logdir runs`;
/// - checkpoints, at paths from `path(_:)`.
public final class RunLogger {
    /// The run's folder.
    public let folder: String
    /// The TensorBoard event writer.
    public let tensorBoard: TensorBoardWriter
    /// `metrics.csv`.
    public let csvPath: String
    /// The CSV columns after `step` and `wall_time`.
    public private(set) var columns: [String] = []
    private var csv: FileHandle

    /// Creates (or reopens) `folder` and writes `config` to `config.json`.
    public init<Config: Encodable>(folder: String, config: Config) throws {
        self.folder = folder
        csvPath = folder + "/metrics.csv"
        do {
            try createFolder(folder)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let json = try encoder.encode(config) + Data("\n".utf8)
            try writeFileAtomically(folder + "/config.json") { try $0.write(Array(json)) }
        } catch let error as FileError {
            throw RunLogError(error.description)
        } catch let error as EncodingError {
            throw RunLogError("cannot encode the config of \(folder): \(error)")
        }
        tensorBoard = try TensorBoardWriter(folder: folder)
        if let existing = try? String(contentsOfFile: csvPath, encoding: .utf8),
            let header = existing.split(separator: "\n", maxSplits: 1).first
        {
            let names = RunLogger.parseCSVLine(String(header))
            guard names.starts(with: ["step", "wall_time"]) else {
                throw RunLogError("\(csvPath) exists but is not a Cortex metrics file (header '\(header)')")
            }
            columns = Array(names.dropFirst(2))
        } else {
            guard FileManager.default.createFile(atPath: csvPath, contents: Data("step,wall_time\n".utf8)) else {
                throw RunLogError("cannot create \(csvPath)")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: csvPath) else { throw RunLogError("cannot open \(csvPath)") }
        csv = handle
        _ = try? csv.seekToEnd()
    }

    /// Creates `root/name` (default `runs/<name>`) and writes `config` there.
    public convenience init<Config: Encodable>(name: String, root: String = "runs", config: Config) throws {
        try self.init(folder: root + "/" + name, config: config)
    }

    deinit { try? csv.close() }

    /// A file path inside the run's folder (for checkpoints and pictures).
    public func path(_ file: String) -> String { folder + "/" + file }

    /// Records `scalars` at `step` in the CSV and the event file.
    public func log(step: Int, _ scalars: [(String, Double)], wallTime: Double = Date().timeIntervalSince1970) throws {
        let newKeys = scalars.map(\.0).filter { !columns.contains($0) }
        if !newKeys.isEmpty {
            var seen = Set(columns)
            for key in newKeys where seen.insert(key).inserted { columns.append(key) }
            try widenCSV()
        }
        var cells = [String](repeating: "", count: columns.count)
        for (key, value) in scalars { cells[columns.firstIndex(of: key)!] = RunLogger.format(value) }
        let line = ([String(step), String(format: "%.3f", wallTime)] + cells).joined(separator: ",") + "\n"
        do {
            try csv.write(contentsOf: Data(line.utf8))
        } catch {
            throw RunLogError("cannot write \(csvPath): \(error.localizedDescription)")
        }
        do {
            try tensorBoard.add(step: step, scalars: scalars.map { (tag: $0.0, value: $0.1) }, wallTime: wallTime)
        } catch {
            throw RunLogError("\(error)")
        }
    }

    /// Records `scalars` at `step`, keys in sorted order.
    public func log(step: Int, _ scalars: [String: Double]) throws {
        try log(step: step, scalars.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }

    /// Rewrites the CSV with the current columns, padding earlier rows with empty cells.
    private func widenCSV() throws {
        do {
            try csv.close()
            let text = try String(contentsOfFile: csvPath, encoding: .utf8)
            let width = 2 + columns.count
            var lines = [(["step", "wall_time"] + columns).map(RunLogger.quote).joined(separator: ",")]
            for row in text.split(separator: "\n").dropFirst() {
                let cells = RunLogger.parseCSVLine(String(row))
                lines.append(String(row) + String(repeating: ",", count: max(0, width - cells.count)))
            }
            let bytes = Array((lines.joined(separator: "\n") + "\n").utf8)
            try writeFileAtomically(csvPath) { try $0.write(bytes) }
            guard let handle = FileHandle(forWritingAtPath: csvPath) else {
                throw RunLogError("cannot open \(csvPath)")
            }
            csv = handle
            _ = try csv.seekToEnd()
        } catch let error as RunLogError {
            throw error
        } catch {
            throw RunLogError("cannot rewrite \(csvPath): \(error)")
        }
    }

    /// Shortest text that reads back as the same Float, for CSV cells.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(Float(value))"
    }

    /// A CSV cell, quoted when it holds a comma, quote or line break (RFC 4180).
    static func quote(_ cell: String) -> String {
        guard cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return cell }
        return "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The cells of one CSV line (RFC 4180 quoting).
    static func parseCSVLine(_ line: String) -> [String] {
        var cells: [String] = []
        var cell = ""
        var quoted = false
        var iterator = Array(line).makeIterator()
        var pending: Character? = nil
        while let character = pending ?? iterator.next() {
            pending = nil
            if quoted {
                if character == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" {
                            cell.append("\"")
                        } else {
                            quoted = false
                            pending = next
                        }
                    } else {
                        quoted = false
                    }
                } else {
                    cell.append(character)
                }
            } else if character == "\"" {
                quoted = true
            } else if character == "," {
                cells.append(cell)
                cell = ""
            } else {
                cell.append(character)
            }
        }
        cells.append(cell)
        return cells
    }
}
