import Envs
import Foundation
import Render
import XCTest

/// The SDL window for real: `cortex watch` on a virtual X server (Xvfb), captured with
/// ImageMagick's `import`, compared pixel for pixel with what the window should show.
final class WindowTests: XCTestCase {
    func testWindowShowsTheGameUnderXvfb() throws {
        guard let xvfb = which("Xvfb") else { throw XCTSkip("Xvfb is not installed (apt-get install xvfb)") }
        guard let importTool = which("import"), let convert = which("convert") else {
            throw XCTSkip("ImageMagick's import/convert are not installed (apt-get install imagemagick)")
        }
        let cortex = try cortexExecutable()
        let dir = try temporaryDirectory("window")
        defer { try? FileManager.default.removeItem(at: dir) }

        // Xvfb picks a free display number and writes it once it accepts clients (-displayfd).
        let numberFile = dir.appendingPathComponent("display")
        _ = FileManager.default.createFile(atPath: numberFile.path, contents: nil)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: xvfb)
        server.arguments = ["-displayfd", "1", "-screen", "0", "1024x768x24", "-nolisten", "tcp"]
        server.standardOutput = try FileHandle(forWritingTo: numberFile)
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { server.terminate(); server.waitUntilExit() }
        var display = ""
        try waitFor("Xvfb to start") {
            let text = String(decoding: (try? Data(contentsOf: numberFile)) ?? Data(), as: UTF8.self)
            guard text.hasSuffix("\n") else { return false }
            display = text.trimmingCharacters(in: .whitespacesAndNewlines)
            return true
        }
        guard !display.isEmpty else { return }

        var environment = environmentWithoutDisplay()
        environment["DISPLAY"] = ":\(display)"
        // 2 steps a second: the ball needs 6 steps to fall and as many to rise again, so the
        // bricks are untouched for the first few seconds.
        let watch = Process()
        watch.executableURL = URL(fileURLWithPath: cortex)
        watch.arguments = ["watch", "breakout", "--fps", "2", "--max-frames", "30", "--seed", "0"]
        watch.environment = environment
        let errorFile = dir.appendingPathComponent("watch.err")
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        watch.standardError = try FileHandle(forWritingTo: errorFile)
        watch.standardOutput = FileHandle.nullDevice
        try watch.run()
        defer { if watch.isRunning { watch.terminate() }; watch.waitUntilExit() }

        // Capture the whole screen until the window has been drawn, then find it: with no window
        // manager it has no frame, and the panel's divider is a column of its colour as tall as
        // the window, 440 pixels from its left edge.
        let view = GameView(gameWidth: Screen.width, gameHeight: Screen.height, zoom: 5)
        let shot = dir.appendingPathComponent("shot.png").path
        var screenshot: Frame?
        try waitFor("the window to appear", seconds: 15) {
            guard watch.isRunning else { return true }
            let captured = try runProgram(importTool, ["-window", "root", shot], environment: environment, timeout: 10)
            guard captured.status == 0 else { return false }
            let ppm = try runProgram(convert, [shot, "ppm:-"], timeout: 10)
            guard ppm.status == 0, let root = try? readPPM(ppm.stdout) else { return false }
            screenshot = findWindow(in: root, view: view)
            return screenshot != nil
        }
        let picture = try XCTUnwrap(screenshot, "cortex watch ended early: \(String(decoding: (try? Data(contentsOf: errorFile)) ?? Data(), as: UTF8.self))")
        if let keep = ProcessInfo.processInfo.environment["CORTEX_KEEP_SCREENSHOT"] {
            try? FileManager.default.removeItem(atPath: keep)
            try? FileManager.default.copyItem(atPath: shot, toPath: keep)
        }

        XCTAssertEqual(picture.width, view.width)
        XCTAssertEqual(picture.height, view.height)
        let expected = view.compose(Breakout(observation: .grid, seed: 0).render(), panel: Panel(title: "BREAKOUT"))
        // The wall and the first two brick rows (rows 1 and 2; the ball starts in row 3).
        let wallAndBricks = 0..<(Screen.y(3) * 5)
        XCTAssertTrue(sameRegion(picture, expected, x: Screen.border * 5..<(Screen.width - Screen.border) * 5,
                                 y: Screen.hudHeight * 5..<wallAndBricks.upperBound),
                      "wall and bricks as Breakout draws them, zoomed 5 times")
        for (row, colour) in [(1, RGB(200, 72, 72)), (2, RGB(198, 108, 58))] {
            for column in 0..<10 {
                let x = (Screen.x(column) + 3) * 5, y = (Screen.y(row) + 4) * 5
                XCTAssertEqual(picture[x, y], colour, "brick at row \(row), column \(column)")
            }
        }
        XCTAssertEqual(picture[(Screen.x(0) + 3) * 5, (Screen.y(5) + 4) * 5], .black, "empty playfield")
        XCTAssertEqual(picture[2, (Screen.y(5)) * 5], RGB(142, 142, 142), "left wall")
        // The panel's title and its stripe.
        XCTAssertTrue(sameRegion(picture, expected, x: 440..<view.width, y: 0..<60), "panel title")
    }

    /// The window's picture cut out of a screenshot of the whole screen, if it is there.
    private func findWindow(in root: Frame, view: GameView) -> Frame? {
        let dividerX = view.gameWidth * view.zoom
        for y in 0...(root.height - view.height) {
            for x in dividerX...(root.width - view.width + dividerX) where root[x, y] == GameView.divider {
                guard (y..<y + view.height).allSatisfy({ root[x, $0] == GameView.divider }),
                      y == 0 || root[x, y - 1] != GameView.divider else { continue }
                var window = Frame(width: view.width, height: view.height)
                for row in 0..<view.height {
                    let from = ((y + row) * root.width + x - dividerX) * 3
                    window.pixels.replaceSubrange(row * view.width * 3..<(row + 1) * view.width * 3,
                                                  with: root.pixels[from..<from + view.width * 3])
                }
                return window
            }
        }
        return nil
    }

    private func waitFor(_ what: String, seconds: Double = 5, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return }
            usleep(100_000)
        }
        XCTFail("timed out waiting for \(what)")
    }
}
