import ArgumentParser
import Cortex
import Foundation

/// `cortex plot`: runs side by side, one metric against frames (steps) and against wall-clock.
struct PlotRuns: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw one metric of several runs against steps and against wall-clock, in one SVG.",
        discussion: """
            Reads each run folder's metrics.csv (step, wall_time and the logged columns) and writes \
            one picture with two panels: the metric against the step (frames for the game agents) \
            and against minutes since the run's first logged row. Each run is labelled with its \
            algorithm (from config.json) and folder name. Example: \
            cortex plot runs/pqn-breakout runs/dqn-breakout --out runs/breakout-compare.svg
            """)

    @Argument(help: "Run folders (each with metrics.csv).", completion: .directory) var runs: [String]
    @Option(help: "Where to write the picture (.svg).", completion: .file(extensions: ["svg"])) var out: String
    @Option(help: "Column of metrics.csv to draw.") var metric = "eval/return_mean"
    @Option(help: "Title above the panels (default: the game or the first run's folder).") var title: String?

    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]

    /// (step, minutes since the first row, value) of every row where `metric` has a value.
    static func points(csv text: String, metric: String, file: String) throws -> [(step: Float, minutes: Float, value: Float)] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        guard !lines.isEmpty else { throw CommandFailure("\(file) is empty") }
        let header = lines.removeFirst().map(String.init)
        guard let stepColumn = header.firstIndex(of: "step"), let timeColumn = header.firstIndex(of: "wall_time") else {
            throw CommandFailure("\(file) has no step and wall_time columns; is it a cortex metrics.csv?")
        }
        guard let column = header.firstIndex(of: metric) else {
            throw CommandFailure("\(file) has no column '\(metric)' (it has: \(header.dropFirst(2).joined(separator: ", ")))")
        }
        var start: Double?
        var result: [(Float, Float, Float)] = []
        for row in lines where row.count == header.count {
            guard let step = Float(row[stepColumn]), let time = Double(row[timeColumn]) else { continue }
            if start == nil { start = time }
            if let value = Float(row[column]), value.isFinite {
                result.append((step, Float((time - start!) / 60), value))
            }
        }
        return result
    }

    /// "pqn" or "dqn" or the model name, from the run's config.json.
    static func algorithm(folder: String) -> String? {
        guard let data = FileManager.default.contents(atPath: folder + "/config.json"),
            let config = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        if config["rolloutSteps"] != nil { return "pqn" }
        if config["replaySize"] != nil || config["nSteps"] != nil { return "dqn" }
        return config["model"] as? String
    }

    func run() throws {
        guard !runs.isEmpty else { throw CommandFailure("give at least one run folder") }
        var byFrames: [LinePlot.Series] = [], byTime: [LinePlot.Series] = []
        var game: String?
        for (index, folder) in runs.enumerated() {
            let file = folder + "/metrics.csv"
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CommandFailure("\(file) not found; is \(folder) a run folder?")
            }
            let points = try Self.points(csv: String(decoding: data, as: UTF8.self), metric: metric, file: file)
            if points.isEmpty { printError("plot: \(file) has no values of \(metric) yet") }
            let name = (Self.algorithm(folder: folder).map { $0 + " " } ?? "")
                + URL(fileURLWithPath: folder).lastPathComponent
            let color = Self.colors[index % Self.colors.count]
            byFrames.append(.init(name: name, points: points.map { ($0.step, $0.value) }, color: color, markers: true))
            byTime.append(.init(name: name, points: points.map { ($0.minutes, $0.value) }, color: color, markers: true))
            if game == nil, let config = FileManager.default.contents(atPath: folder + "/config.json"),
                let json = try? JSONSerialization.jsonObject(with: config) as? [String: Any]
            {
                game = json["game"] as? String
            }
        }
        let heading = (title ?? game ?? "runs") + ": \(metric)"
        let left = LinePlot(title: heading + " against steps", xLabel: "step (frames)", yLabel: metric, series: byFrames)
        let right = LinePlot(title: heading + " against wall-clock", xLabel: "minutes", yLabel: metric, series: byTime)
        try LinePlot.sideBySide([left, right]).write(toFile: out, atomically: true, encoding: .utf8)
        printError("wrote \(out): \(runs.count) run\(runs.count == 1 ? "" : "s"), \(metric) against steps and minutes")
    }
}
