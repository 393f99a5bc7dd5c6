import CortexTestSupport
import Envs
import Foundation
import Render
import XCTest

/// The built `cortex` executable beside the test bundle (`swift build --build-tests` builds it).
func cortexExecutable() throws -> String {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let candidates =
        [bundle.appendingPathComponent("cortex").path]
        + Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent().appendingPathComponent("cortex").path }
    guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw missingPrerequisite(
            "the cortex executable is not built next to the tests (run swift build --build-tests)")
    }
    return path
}

/// This process's environment without any display, so SDL cannot find one.
func environmentWithoutDisplay() -> [String: String] {
    var environment = ProcessInfo.processInfo.environment
    for key in ["DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"] { environment[key] = nil }
    return environment
}

/// The last stdout line of a `--json` run, parsed.
func lastJSONLine(_ stdout: [UInt8]) throws -> [String: Any] {
    let lines = String(decoding: stdout, as: UTF8.self).split(separator: "\n")
    guard let last = lines.last,
        let object = try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any]
    else {
        throw DecodedGIF.Malformed(description: "no JSON line in: \(String(decoding: stdout, as: UTF8.self))")
    }
    return object
}

/// Whether `frame` and `other` agree on every pixel of the rectangle.
func sameRegion(_ frame: Frame, _ other: Frame, x: Range<Int>, y: Range<Int>) -> Bool {
    for row in y { for column in x where frame[column, row] != other[column, row] { return false } }
    return true
}

/// A virtual X server (Xvfb) for window tests, with screenshots through ImageMagick. Skips the
/// test when Xvfb or ImageMagick is missing.
final class VirtualScreen {
    let display: String
    private let server: Process
    private let importTool: String
    private let convert: String

    init(directory: URL) throws {
        guard let xvfb = which("Xvfb") else {
            throw missingPrerequisite("Xvfb is not installed (apt-get install xvfb)")
        }
        guard let importTool = which("import"), let convert = which("convert") else {
            throw missingPrerequisite("ImageMagick's import/convert are not installed (apt-get install imagemagick)")
        }
        self.importTool = importTool
        self.convert = convert
        // A server that reported its display but refuses clients (seen once in CI: SDL's
        // XOpenDisplay failed on the display Xvfb had just written) is replaced by a new one.
        var lastProblem = ""
        for attempt in 1...3 {
            let (server, display) = try Self.startServer(xvfb, directory: directory, attempt: attempt)
            let probe = directory.appendingPathComponent("probe.png").path
            var environment = environmentWithoutDisplay()
            environment["DISPLAY"] = display
            let deadline = Date().addingTimeInterval(5)
            repeat {
                let captured = try runProgram(
                    importTool, ["-window", "root", probe], environment: environment, timeout: 10)
                if captured.status == 0 {
                    self.server = server
                    self.display = display
                    return
                }
                lastProblem = "import -window root on \(display): \(captured.stderr)"
                usleep(100_000)
            } while Date() < deadline && server.isRunning
            if server.isRunning { server.terminate() }
            server.waitUntilExit()
        }
        throw VirtualScreenError(description: "Xvfb accepted no clients in 3 tries: \(lastProblem)")
    }

    struct VirtualScreenError: Error, CustomStringConvertible { let description: String }

    /// Starts Xvfb on a free display and returns it with the display's name once Xvfb writes
    /// it (`-displayfd`). `-noreset`: the server does not reset when its last client (a
    /// screenshot) disconnects, so no client meets a server in the middle of a reset.
    private static func startServer(_ xvfb: String, directory: URL, attempt: Int) throws -> (Process, String) {
        let numberFile = directory.appendingPathComponent("display-\(attempt)")
        _ = FileManager.default.createFile(atPath: numberFile.path, contents: nil)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: xvfb)
        server.arguments = ["-displayfd", "1", "-screen", "0", "1024x768x24", "-nolisten", "tcp", "-noreset"]
        server.standardOutput = try FileHandle(forWritingTo: numberFile)
        server.standardError = FileHandle.nullDevice
        try server.run()
        var number = ""
        try waitFor("Xvfb to start") {
            let text = String(decoding: (try? Data(contentsOf: numberFile)) ?? Data(), as: UTF8.self)
            guard text.hasSuffix("\n") else { return false }
            number = text.trimmingCharacters(in: .whitespacesAndNewlines)
            return true
        }
        return (server, ":" + number)
    }

    /// This process's environment pointed at the virtual screen only.
    var environment: [String: String] {
        var environment = environmentWithoutDisplay()
        environment["DISPLAY"] = display
        return environment
    }

    func stop() {
        if server.isRunning { server.terminate() }
        server.waitUntilExit()
    }

    /// Takes screenshots of the whole screen until a window showing `view`'s layout is drawn
    /// and passes `accept` (or `running` turns false), and returns the window's picture.
    func waitForWindow(
        _ view: GameView, while running: () -> Bool, keepingScreenshotAt shot: String,
        accept: (Frame) -> Bool = { _ in true }
    ) throws -> Frame? {
        var window: Frame?
        try waitFor("the window to appear", seconds: 15) {
            guard running() else { return true }
            let captured = try runProgram(importTool, ["-window", "root", shot], environment: environment, timeout: 10)
            guard captured.status == 0 else { return false }
            let ppm = try runProgram(convert, [shot, "ppm:-"], timeout: 10)
            guard ppm.status == 0, let root = try? readPPM(ppm.stdout) else { return false }
            window = findWindow(in: root, view: view).flatMap { accept($0) ? $0 : nil }
            return window != nil
        }
        return window
    }

    /// The window's picture cut out of a screenshot of the whole screen, if it is there: with no
    /// window manager it has no frame, and the panel's divider is a column of its colour as tall
    /// as the window, `gameWidth · zoom` pixels from its left edge.
    func findWindow(in root: Frame, view: GameView) -> Frame? {
        let dividerX = view.gameWidth * view.zoom
        guard root.width >= view.width, root.height >= view.height else { return nil }
        for y in 0...(root.height - view.height) {
            for x in dividerX...(root.width - view.width + dividerX) where root[x, y] == GameView.divider {
                guard (y..<y + view.height).allSatisfy({ root[x, $0] == GameView.divider }),
                    y == 0 || root[x, y - 1] != GameView.divider
                else { continue }
                var window = Frame(width: view.width, height: view.height)
                for row in 0..<view.height {
                    let from = ((y + row) * root.width + x - dividerX) * 3
                    window.pixels.replaceSubrange(
                        row * view.width * 3..<(row + 1) * view.width * 3,
                        with: root.pixels[from..<from + view.width * 3])
                }
                return window
            }
        }
        return nil
    }
}

/// Polls `condition` every 0.1 s; fails the test after `seconds`.
func waitFor(_ what: String, seconds: Double = 5, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return }
        usleep(100_000)
    }
    XCTFail("timed out waiting for \(what)")
}

/// Starts a program without waiting; its stderr goes to `errorFile`.
func launch(
    _ executable: String, _ arguments: [String], environment: [String: String],
    errorFile: URL, outputFile: URL? = nil
) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = environment
    _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
    process.standardError = try FileHandle(forWritingTo: errorFile)
    if let outputFile {
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: outputFile)
    } else {
        process.standardOutput = FileHandle.nullDevice
    }
    try process.run()
    return process
}
