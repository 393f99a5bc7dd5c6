import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A progress display for long work, on standard error:
/// `train  1200/5000  24.0%  310.5 it/s  ETA 0:00:12  loss 0.4132  acc 0.912`.
///
/// On a terminal the line redraws in place (carriage return + erase line, at most every
/// `redrawInterval` seconds, cut to the terminal's width so it never wraps). When standard
/// error is not a terminal (CI, a log file) it prints a plain line every `plainInterval`
/// seconds instead. The rate is the average since the first update; the ETA assumes it holds.
public final class Progress {
    public let total: Int?
    public let label: String
    /// Whether the output redraws in place (default: `isatty(2)`).
    public let isTerminal: Bool
    /// Seconds between redraws on a terminal.
    public var redrawInterval: Double = 0.1
    /// Seconds between plain lines when not on a terminal.
    public var plainInterval: Double

    private let output: (String) -> Void
    /// The time source in seconds (replaceable for tests).
    public var clock: () -> Double = { Date().timeIntervalSince1970 }
    private var start: (time: Double, step: Int)?
    private var lastDraw = -Double.infinity
    /// The step the last drawn line showed (a plain line is not printed twice for one step).
    private var lastDrawnStep: Int?
    private var lastLine = ""
    private var latest: (step: Int, metrics: [(String, Double)]) = (0, [])

    /// - Parameters:
    ///   - total: the step count at completion, or nil when unknown (no percentage or ETA).
    ///   - isTerminal: force redrawing (true) or plain lines (false); nil asks `isatty(2)`.
    ///   - output: where text goes (default: standard error).
    public init(
        total: Int?, label: String = "", isTerminal: Bool? = nil, plainInterval: Double = 10,
        output: ((String) -> Void)? = nil
    ) {
        self.total = total
        self.label = label
        self.isTerminal = isTerminal ?? (isatty(2) == 1)
        self.plainInterval = plainInterval
        self.output = output ?? { FileHandle.standardError.write(Data($0.utf8)) }
    }

    /// Reports that `step` steps are done, with the latest metrics (shown in the given order).
    public func update(_ step: Int, metrics: [(String, Double)] = []) {
        let now = clock()
        if start == nil { start = (now, step) }
        latest = (step, metrics)
        let interval = isTerminal ? redrawInterval : plainInterval
        let done = total.map { step >= $0 } ?? false
        guard now - lastDraw >= interval || done else { return }
        draw(now: now)
    }

    /// Draws the final state and ends the line.
    public func finish() {
        if isTerminal || lastDrawnStep != latest.step { draw(now: clock()) }
        if isTerminal { output("\n") }
    }

    /// Prints a line of its own (an evaluation result, a checkpoint) without breaking the
    /// progress line: on a terminal the line is cleared, the message printed, the line redrawn.
    public func message(_ text: String) {
        if isTerminal {
            output("\r\u{1B}[2K" + text + "\n")
            if start != nil { draw(now: clock()) }
        } else {
            output(text + "\n")
        }
    }

    /// The text of the progress line at `now` (no control characters).
    func line(now: Double) -> String {
        var parts: [String] = []
        if !label.isEmpty { parts.append(label) }
        let step = latest.step
        if let total {
            parts.append("\(step)/\(total)")
            if total > 0 { parts.append(String(format: "%.1f%%", 100 * Double(step) / Double(total))) }
        } else {
            parts.append("\(step)")
        }
        if let start, now > start.time, step > start.step {
            let rate = Double(step - start.step) / (now - start.time)
            parts.append(rate >= 100 ? String(format: "%.0f it/s", rate) : String(format: "%.2f it/s", rate))
            if let total, total > step {
                parts.append("ETA " + Progress.formatDuration(Double(total - step) / rate))
            }
        }
        for (name, value) in latest.metrics { parts.append(name + " " + String(format: "%.4g", value)) }
        parts.append("elapsed " + Progress.formatDuration(now - (start?.time ?? now)))
        return parts.joined(separator: "  ")
    }

    private func draw(now: Double) {
        lastDraw = now
        lastDrawnStep = latest.step
        let text = line(now: now)
        if isTerminal {
            let width = Progress.terminalWidth()
            let shown = text.count >= width ? String(text.prefix(max(0, width - 1))) : text
            output("\r\u{1B}[2K" + shown)
        } else if text != lastLine {
            output(text + "\n")
        }
        lastLine = text
    }

    /// `h:mm:ss`, or `m:ss` under an hour.
    public static func formatDuration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let total = Int(seconds.rounded())
        let (h, m, s) = (total / 3600, total / 60 % 60, total % 60)
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, s) : String(format: "%d:%02d", m, s)
    }

    /// Columns of the terminal on standard error (80 if unknown).
    static func terminalWidth() -> Int {
        var size = winsize()
        if ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }
}
