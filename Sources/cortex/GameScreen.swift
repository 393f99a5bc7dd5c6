import ArgumentParser
import Envs
import Foundation
import Render

/// Something the user caused (a flag, a file, a missing display): one line, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a command's body; a `CommandFailure`, `RenderError` or `WindowError` is printed as one
/// line on stderr and ends the process with status 1 instead of a trace.
func reportingFailures(_ command: String, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch let error as CustomStringConvertible {
        printError("cortex \(command): \(error.description)")
        throw ExitCode.failure
    }
}

/// A game's name as a title: `space_invaders` → `SPACE INVADERS`.
func gameTitle(_ name: String) -> String {
    name.replacingOccurrences(of: "_", with: " ").replacingOccurrences(of: "-", with: " ").uppercased()
}

/// The picture options `play` and `watch` share.
struct ScreenOptions: ParsableArguments {
    @Option(
        help: "Write an animated GIF of what the window shows (watch: instead of opening it).",
        completion: .file(extensions: ["gif"]))
    var record: String?

    @Option(help: "Screen pixels per game pixel (the games draw 168 × 168).")
    var zoom = 3

    func validate() throws {
        guard (1...16).contains(zoom) else { throw ValidationError("--zoom must be in 1…16, got \(zoom)") }
    }
}

/// Where `play` and `watch` send their pictures: a window paced at the frame rate, a GIF, or
/// both. Every picture passes through one `GameView`, so the GIF holds what the window shows.
final class GameScreen {
    let view: GameView
    let framesPerSecond: Double
    /// Pictures recorded so far (or shown, when nothing is recorded).
    private(set) var frameCount = 0
    /// Stop after this many pictures (0: no limit).
    let frameLimit: Int
    private let recordPath: String?
    private let recorder: GIFWriter?
    private var clock: FrameClock?
    #if SDL
    private var window: Window?
    #endif

    /// - Parameters:
    ///   - window: open a window (else only record).
    ///   - noWindowAdvice: appended to the one-line error when no window can be opened.
    init(
        view: GameView, title: String, framesPerSecond: Double, record: String?, window wantsWindow: Bool,
        frameLimit: Int = 0, noWindowAdvice: String
    ) throws {
        self.view = view
        self.framesPerSecond = framesPerSecond
        self.frameLimit = frameLimit
        recordPath = record
        if record != nil {
            if framesPerSecond > 50 {
                printError("note: GIF delays are at least 2/100 s, so the recording plays at 50 frames/s")
            }
            recorder = GIFWriter(
                width: view.width, height: view.height,
                framesPerSecond: min(framesPerSecond, 50))
        } else {
            recorder = nil
        }
        guard wantsWindow else {
            // Recording only: Ctrl-C ends the run like Esc, so the GIF so far is still written.
            // (With a window SDL turns SIGINT into its quit event itself.)
            signal(SIGINT) { _ in GameScreen.interrupted = 1 }
            return
        }
        #if SDL
        do {
            window = try Window(title: title, width: view.width, height: view.height)
        } catch let error as WindowError {
            throw CommandFailure("\(error.description); \(noWindowAdvice)")
        }
        clock = FrameClock(framesPerSecond: framesPerSecond)
        #else
        throw CommandFailure(
            "this cortex was built without SDL (--disable-default-traits), so it has no window; \(noWindowAdvice)")
        #endif
    }

    /// Whether the frame limit has been reached.
    var isFull: Bool { frameLimit > 0 && frameCount >= frameLimit }

    /// Shows and records one picture of the game with its panel. `record: false` shows it only
    /// (a paused picture). Waits for the next tick when a window is open.
    func present(_ game: Frame, _ panel: Panel, record: Bool = true) {
        if record && isFull { return }
        let picture = view.compose(game, panel: panel)
        #if SDL
        window?.show(picture)
        #endif
        if record {
            // Key hints are for someone at the window; a recording has no keys to press.
            if let recorder {
                var quiet = panel
                quiet.hints = []
                recorder.add(panel.hints.isEmpty ? picture : view.compose(game, panel: quiet))
            }
            frameCount += 1
        }
        clock?.wait()
    }

    /// Set by the SIGINT handler (a plain flag: a signal handler may only store to memory).
    nonisolated(unsafe) static var interrupted: sig_atomic_t = 0

    /// Input since the last call: the window's, or `.quit` after Ctrl-C when recording only.
    func events() -> [WindowEvent] {
        if GameScreen.interrupted != 0 { return [.quit] }
        #if SDL
        return window?.pollEvents() ?? []
        #else
        return []
        #endif
    }

    /// The keys among `keys` held down now.
    func held(_ keys: [Key]) -> Set<Key> {
        #if SDL
        guard let window else { return [] }
        return Set(keys.filter { window.isDown($0) })
        #else
        return []
        #endif
    }

    /// Closes the window and writes the GIF, if any; returns the GIF's path.
    @discardableResult
    func finish() throws -> String? {
        #if SDL
        window?.close()
        window = nil
        #endif
        guard let recorder, let recordPath, recorder.frameCount > 0 else { return nil }
        try recorder.write(to: recordPath)
        return recordPath
    }
}
