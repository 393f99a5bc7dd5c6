import CortexTestSupport
import Envs
import Foundation
import Render
import XCTest

/// The SDL window for real: `cortex watch` and `cortex play` on a virtual X server (Xvfb),
/// captured with ImageMagick's `import` and compared pixel for pixel with what the window should
/// show; keys typed with xdotool.
final class WindowTests: XCTestCase {
    func testWindowShowsTheGameUnderXvfb() throws {
        let cortex = try cortexExecutable()
        let dir = try temporaryDirectory("window")
        defer { try? FileManager.default.removeItem(at: dir) }

        let screen = try VirtualScreen(directory: dir)
        defer { screen.stop() }

        // 2 steps a second: the ball needs 6 steps to fall and as many to rise again, so the
        // bricks are untouched for the first few seconds.
        let errorFile = dir.appendingPathComponent("watch.err")
        let watch = try launch(
            cortex, ["watch", "breakout", "--fps", "2", "--max-frames", "30", "--seed", "0"],
            environment: screen.environment, errorFile: errorFile)
        defer {
            if watch.isRunning { watch.terminate() }
            watch.waitUntilExit()
        }

        let view = GameView(gameWidth: Screen.width, gameHeight: Screen.height, zoom: 3)  // cortex's default zoom
        let z = view.zoom, panelX = view.gameWidth * z
        let shot = dir.appendingPathComponent("shot.png").path
        let screenshot = try screen.waitForWindow(view, while: { watch.isRunning }, keepingScreenshotAt: shot)
        if let keep = ProcessInfo.processInfo.environment["CORTEX_KEEP_SCREENSHOT"] {
            try? FileManager.default.removeItem(atPath: keep)
            try? FileManager.default.copyItem(atPath: shot, toPath: keep)
        }
        let errors = String(decoding: (try? Data(contentsOf: errorFile)) ?? Data(), as: UTF8.self)
        if screenshot == nil && errors.contains("built without SDL") {
            throw missingPrerequisite("cortex was built without the SDL trait: no window to test")
        }
        let picture = try XCTUnwrap(screenshot, "cortex watch ended early: \(errors)")

        XCTAssertEqual(picture.width, view.width)
        XCTAssertEqual(picture.height, view.height)
        let expected = view.compose(Breakout(observation: .grid, seed: 0).render(), panel: Panel(title: "BREAKOUT"))
        // The wall and the first two brick rows (rows 1 and 2; the ball starts in row 3).
        XCTAssertTrue(
            sameRegion(
                picture, expected, x: Screen.sideWall * z..<(Screen.width - Screen.sideWall) * z,
                y: Screen.hudHeight * z..<Screen.y(3) * z),
            "wall and bricks as Breakout draws them, zoomed \(z) times")
        for (row, colour) in [(1, RGB(200, 72, 72)), (2, RGB(198, 108, 58))] {
            for column in 0..<10 {
                let x = (Screen.x(column) + Screen.cell / 2) * z, y = (Screen.y(row) + Screen.cell / 2) * z
                XCTAssertEqual(picture[x, y], colour, "brick at row \(row), column \(column)")
            }
        }
        XCTAssertEqual(picture[(Screen.x(0) + 3) * z, (Screen.y(5) + 4) * z], .black, "empty playfield")
        XCTAssertEqual(picture[2, Screen.y(5) * z], RGB(142, 142, 142), "left wall")
        // The panel's title and its stripe.
        XCTAssertTrue(sameRegion(picture, expected, x: panelX..<view.width, y: 0..<60), "panel title")
    }

    /// A person's keys: Right starts the game and, held, moves the paddle one column a step
    /// (4 → 9 in five steps); Esc after GAME OVER quits cleanly, writing the GIF of the game.
    func testPlayFollowsTheKeyboard() throws {
        let cortex = try cortexExecutable()
        guard let xdotool = which("xdotool") else {
            throw missingPrerequisite("xdotool is not installed (apt-get install xdotool)")
        }
        let dir = try temporaryDirectory("play")
        defer { try? FileManager.default.removeItem(at: dir) }
        let screen = try VirtualScreen(directory: dir)
        defer { screen.stop() }

        let gif = dir.appendingPathComponent("play.gif").path
        let errorFile = dir.appendingPathComponent("play.err"), outputFile = dir.appendingPathComponent("play.out")
        let play = try launch(
            cortex, ["play", "breakout", "--fps", "5", "--seed", "0", "--record", gif, "--json"],
            environment: screen.environment, errorFile: errorFile, outputFile: outputFile)
        defer {
            if play.isRunning { play.terminate() }
            play.waitUntilExit()
        }
        let view = GameView(gameWidth: Screen.width, gameHeight: Screen.height, zoom: 3)
        let ready = try screen.waitForWindow(
            view, while: { play.isRunning },
            keepingScreenshotAt: dir.appendingPathComponent("ready.png").path)
        let errors = String(decoding: (try? Data(contentsOf: errorFile)) ?? Data(), as: UTF8.self)
        if ready == nil && errors.contains("built without SDL") {
            throw missingPrerequisite("cortex was built without the SDL trait: no window to test")
        }
        XCTAssertNotNil(ready, "cortex play ended early: \(errors)")

        // The pointer rests on the centred window, so without a window manager it has the focus.
        func type(_ arguments: [String]) throws {
            let result = try runProgram(xdotool, arguments, environment: screen.environment, timeout: 10)
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        try type(["key", "Right"])
        try type(["keydown", "Right"])
        // The ball is lost after 6 steps; wait for the GAME OVER banner. A banner's top edge is
        // the only line of the divider's colour across the whole game; GAME OVER (not READY) has
        // text starting where its centred width puts it (banner text is drawn at font scale 3).
        let panelX = view.gameWidth * view.zoom
        let textLeft = (panelX - BitmapFont.width(of: "GAME OVER", scale: 3)) / 2
        let over = try screen.waitForWindow(
            view, while: { play.isRunning },
            keepingScreenshotAt: dir.appendingPathComponent("over.png").path
        ) { picture in
            guard
                let top = (0..<picture.height).first(where: { y in
                    (0..<panelX).allSatisfy { picture[$0, y] == GameView.divider }
                })
            else { return false }
            return (top..<min(picture.height, top + 60)).contains { y in
                (textLeft..<textLeft + 3).contains { picture[$0, y] == GameView.scoreColor }
            }
        }
        XCTAssertNotNil(over, "no GAME OVER banner")
        try type(["keyup", "Right"])
        try type(["key", "Escape"])
        try waitFor("cortex play to quit") { !play.isRunning }
        XCTAssertEqual(play.terminationStatus, 0, errors)

        let summary = try lastJSONLine(Array(try Data(contentsOf: outputFile)))
        XCTAssertEqual(summary["games"] as? Int, 1)
        let recording = try DecodedGIF(Array(try Data(contentsOf: URL(fileURLWithPath: gif))))
        XCTAssertGreaterThanOrEqual(recording.frames.count, 6)
        // The paddle is the only paddle-coloured run of a full cell's width in the paddle's rows
        // while the ball is still above row 9 (pictures 0…5).
        func paddleColumn(_ picture: Frame) -> Int? {
            let z = view.zoom, y = (Screen.y(9) + 5) * z
            guard let x = (0..<Screen.width * z).first(where: { picture[$0, y] == RGB(200, 72, 72) }) else {
                return nil
            }
            return (x / z - Screen.playfieldX) / Screen.cell
        }
        XCTAssertEqual(recording.frames.prefix(6).map(paddleColumn), [4, 5, 6, 7, 8, 9])
    }
}
