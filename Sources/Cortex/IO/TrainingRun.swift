import Foundation

/// A problem with a training run that its user caused (a missing checkpoint, a config that
/// cannot work, data too small for it): one line, printed by the command.
public struct TrainingError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}

/// What every training loop repeats, in one place: the run folder with its logged config,
/// CSV and TensorBoard events (`RunLogger`), the `last.safetensors` / `best.safetensors`
/// paths, the checkpoint a `--resume` continues from, the best score so far, and the lines a
/// run prints when it starts. DQN, PQN, Go, text and vision trainers all hold one.
///
/// A fresh run into a folder that holds an earlier run's logs starts them anew (the old
/// `metrics.csv` and event files are removed), so two runs never show as one curve; a resumed
/// run appends to them.
public final class TrainingRun {
    public let folder: String
    public let logger: RunLogger
    /// The checkpoint this run continues from, when resuming.
    public let resumeCheckpoint: String?
    /// Where the latest state and the best one so far are written (atomically).
    public var lastCheckpoint: String { logger.path("last.safetensors") }
    public var bestCheckpoint: String { logger.path("best.safetensors") }

    /// - Parameters:
    ///   - resume: continue from `resumeFrom`, or from the folder's `last.safetensors`.
    ///   - resumeFrom: a checkpoint to resume from (implies `resume`).
    public init<Config: Encodable>(
        folder: String, config: Config, resume: Bool = false,
        resumeFrom: String? = nil
    ) throws {
        self.folder = folder
        let checkpoint = resumeFrom ?? (resume ? folder + "/last.safetensors" : nil)
        if let checkpoint, !FileManager.default.fileExists(atPath: checkpoint) {
            throw TrainingError("no checkpoint to resume from at \(checkpoint)")
        }
        resumeCheckpoint = checkpoint
        if checkpoint == nil { TrainingRun.removeLogs(in: folder) }
        TrainingRun.removeStaleTemporaries(in: folder)
        logger = try RunLogger(folder: folder, config: config)
        hyperparameters = TrainingRun.hyperparameters(of: config)
        try logger.tensorBoard.addText("hyperparameters", TrainingRun.markdownTable(hyperparameters))
    }

    /// The config's fields, flattened (`gpt.layers`), for TensorBoard's text and HPARAMS tabs.
    public let hyperparameters: [String: TensorBoardSummary.HParam]

    static func hyperparameters<Config: Encodable>(of config: Config) -> [String: TensorBoardSummary.HParam] {
        guard let data = try? JSONEncoder().encode(config),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return [:] }
        return TensorBoardSummary.HParam.flatten(json: object)
    }

    /// CleanRL's `add_text("hyperparameters", …)`: a markdown table of every setting.
    static func markdownTable(_ hparams: [String: TensorBoardSummary.HParam]) -> String {
        var text = "|param|value|\n|-|-|\n"
        for name in hparams.keys.sorted() {
            switch hparams[name]! {
            case .number(let x): text += "|\(name)|\(x)|\n"
            case .string(let s): text += "|\(name)|\(s)|\n"
            case .bool(let b): text += "|\(name)|\(b)|\n"
            }
        }
        return text
    }

    /// Histograms of a module's weights and, where they exist, their gradients
    /// (`weights/<name>`, `gradients/<name>`).
    public func logHistograms(of module: any Module, step: Int) throws {
        let parameters = module.namedParameters()
        var weights: [(name: String, values: UnsafeBufferPointer<Float>)] = []
        var gradients: [(name: String, values: UnsafeBufferPointer<Float>)] = []
        for (name, tensor) in parameters {
            weights.append((name, UnsafeBufferPointer(start: tensor.storage.pointer, count: tensor.count)))
            if let grad = tensor.grad {
                gradients.append((name, UnsafeBufferPointer(start: grad.storage.pointer, count: grad.count)))
            }
        }
        // The tensors stay alive in `parameters` while the pointers are read.
        try withExtendedLifetime(parameters) {
            try logger.tensorBoard.addHistograms(weights, prefix: "weights", step: step)
            try logger.tensorBoard.addHistograms(gradients, prefix: "gradients", step: step)
        }
    }

    /// Records the run's final metrics (as `final/<name>` scalars) with its hyperparameters, so
    /// TensorBoard's HPARAMS tab compares runs.
    public func finish(metrics: [(name: String, value: Double)], step: Int) throws {
        let finite = metrics.filter { $0.value.isFinite }
        try logger.log(step: step, finite.map { ("final/" + $0.name, $0.value) })
        try logger.tensorBoard.addHyperparameters(hyperparameters, metricTags: finite.map { "final/" + $0.name })
    }

    /// Removes the metrics and TensorBoard events an earlier run left in `folder`.
    static func removeLogs(in folder: String) {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: folder) else { return }
        for name in names where name == "metrics.csv" || name.hasPrefix("events.out.tfevents.") {
            try? manager.removeItem(atPath: folder + "/" + name)
        }
    }

    /// Removes the half-written files (`.<name>.tmp-<pid>-<n>`) that a run killed during an
    /// atomic write leaves behind; files of a writer that is still running are kept.
    static func removeStaleTemporaries(in folder: String) {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: folder) else { return }
        for name in names where name.hasPrefix(".") {
            guard let marker = name.range(of: ".tmp-") else { continue }
            let pid = name[marker.upperBound...].split(separator: "-").first.flatMap { Int32($0) }
            if let pid, pid != getpid(), kill(pid, 0) == 0 { continue }
            try? manager.removeItem(atPath: folder + "/" + name)
        }
    }

    /// The folder that holds `path`, "." for a bare name. (Foundation's `deletingLastPathComponent`
    /// traps on Linux for a path without a slash, such as `--out run`.)
    public static func parentFolder(of path: String) -> String {
        var path = path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The lines a run prints first: its config as one line of JSON (keys sorted) and where
    /// its logs go.
    public func startLines<Config: Encodable>(config: Config) -> [String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = (try? encoder.encode(config)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        var lines = [
            "config: \(json)",
            "run folder: \(folder) (TensorBoard: tensorboard --logdir \(Self.parentFolder(of: folder)))"
        ]
        if let resumeCheckpoint { lines.append("resuming from \(resumeCheckpoint)") }
        return lines
    }

    /// Whether `score` beats `best` (strictly, so a tie keeps the earlier checkpoint); when it
    /// does, `best` becomes `score`.
    public static func improves(_ score: Double, on best: inout Double?, higherIsBetter: Bool = true) -> Bool {
        guard !score.isNaN else { return false }
        if let current = best, higherIsBetter ? score <= current : score >= current { return false }
        best = score
        return true
    }
}
