import Envs
import Render
import XCTest

final class GameViewTests: XCTestCase {
    func testZoomRepeatsEveryPixel() {
        var small = Frame(width: 2, height: 2)
        small[0, 0] = RGB(1, 2, 3)
        small[1, 0] = RGB(4, 5, 6)
        small[0, 1] = RGB(7, 8, 9)
        small[1, 1] = RGB(10, 11, 12)
        let big = small.zoomed(by: 3)
        XCTAssertEqual(big.width, 6)
        XCTAssertEqual(big.height, 6)
        for y in 0..<6 { for x in 0..<6 { XCTAssertEqual(big[x, y], small[x / 3, y / 3], "(\(x), \(y))") } }
    }

    func testPanelSitsBesideTheGame() {
        let game = Frame(width: 10, height: 40, fill: RGB(9, 9, 9))
        let view = GameView(gameWidth: 10, gameHeight: 40, zoom: 4, panelWidth: 200)
        XCTAssertEqual(view.width, 240)
        XCTAssertEqual(view.height, 160)
        let picture = view.compose(game, panel: Panel(title: "TEST"))
        XCTAssertEqual(picture[39, 159], RGB(9, 9, 9))
        XCTAssertEqual(picture[40, 80], GameView.divider)
        XCTAssertEqual(picture[239, 159], GameView.background)
        // "T" at font scale 3 from (56, 16): its top bar is 15 pixels of title colour.
        for x in 56..<71 { XCTAssertEqual(picture[x, 17], GameView.titleColor, "x \(x)") }
        XCTAssertEqual(picture[71, 17], GameView.background)
    }

    /// Q-value bars: the largest value gets the longest bar, in the chosen colour when chosen.
    func testQValueBarsFollowTheValues() {
        let view = GameView(gameWidth: 20, gameHeight: 60, zoom: 4)
        let panel = Panel(title: "Q", actionNames: ["noop", "left", "right"], chosenAction: 2, qValues: [0.5, -1, 2])
        let picture = view.compose(Frame(width: 20, height: 60), panel: panel)
        func barLength(_ colour: RGB) -> [Int] {
            (0..<picture.height).map { y in (84..<picture.width).filter { picture[$0, y] == colour }.count }
        }
        let chosen = barLength(GameView.chosenColor).max()!
        let others = barLength(GameView.barColor).filter { $0 > 0 }
        XCTAssertGreaterThan(chosen, others.max() ?? 0, "the largest Q-value has the longest bar")
        XCTAssertTrue(others.contains(2), "the smallest Q-value keeps a 2-pixel stub")
    }

    func testKeysMapToTheGamesActionsByName() {
        let breakout = KeyMap(actionNames: ["noop", "left", "right"])
        XCTAssertEqual(breakout.activeKeys, [.left, .right])
        XCTAssertEqual(breakout.action(pressed: [], held: []), 0)
        XCTAssertEqual(breakout.action(pressed: [.left], held: []), 1)
        XCTAssertEqual(breakout.action(pressed: [], held: [.right]), 2)
        XCTAssertEqual(breakout.action(pressed: [.space], held: []), 0, "Breakout cannot fire")
        XCTAssertEqual(breakout.action(pressed: [.right, .left], held: [.right]), 1, "the last press wins")

        let seaquest = KeyMap(actionNames: ["noop", "left", "up", "right", "down", "fire"])
        XCTAssertEqual(seaquest.action(pressed: [.left, .space], held: []), 5)
        XCTAssertEqual(seaquest.action(pressed: [], held: [.space, .down]), 4, "a held arrow steers")
        XCTAssertEqual(seaquest.action(pressed: [], held: [.space]), 5)
        XCTAssertEqual(KeyMap(actionNames: ["up", "down"]).idle, 0)
    }
}
