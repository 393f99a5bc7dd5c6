import Envs
import XCTest

final class PixelTests: XCTestCase {
    /// Y = 0.299 R + 0.587 G + 0.114 B, rounded: 76.245, 149.685, 29.07, 255.
    func testLuminance() {
        XCTAssertEqual(RGB(255, 0, 0).luminance, 76)
        XCTAssertEqual(RGB(0, 255, 0).luminance, 150)
        XCTAssertEqual(RGB(0, 0, 255).luminance, 29)
        XCTAssertEqual(RGB.white.luminance, 255)
        XCTAssertEqual(RGB.black.luminance, 0)
    }

    /// 3 → 2 pixels: output 0 covers [0, 1.5) = 0 · ⅔ + 90 · ⅓ = 30; output 1 covers
    /// [1.5, 3) = 90 · ⅓ + 180 · ⅔ = 150. 2 × 2 → 1: (10 + 20 + 30 + 41) / 4 = 25.25 → 25.
    func testAreaResizeByHand() {
        var row = GrayFrame(width: 3, height: 1)
        row.pixels = [0, 90, 180]
        XCTAssertEqual(PixelPreprocessing.resizeArea(row, width: 2, height: 1).pixels, [30, 150])
        var block = GrayFrame(width: 2, height: 2)
        block.pixels = [10, 20, 30, 41]
        XCTAssertEqual(PixelPreprocessing.resizeArea(block, width: 1, height: 1).pixels, [25])
    }

    /// The 2 × 2 fast path gives the general area resize's bytes.
    func testHalvingMatchesTheGeneralResize() {
        var random = MersenneTwister(seed: UInt64(5))
        var gray = GrayFrame(width: Screen.width, height: Screen.height)
        for i in 0..<gray.pixels.count { gray.pixels[i] = UInt8(random.nextInt(below: 256)) }
        var fast = [UInt8](repeating: 0, count: 84 * 84)
        fast.withUnsafeMutableBufferPointer { PixelPreprocessing.downsample(gray, into: $0) }
        XCTAssertEqual(fast, PixelPreprocessing.resizeArea(gray, width: 84, height: 84).pixels)
        XCTAssertEqual([Screen.width, Screen.height], [168, 168])
    }

    func testFontDrawsGlyphs() {
        var frame = Frame(width: 12, height: 7)
        let end = BitmapFont.draw("1", into: &frame, x: 0, y: 0, color: .white)
        XCTAssertEqual(end, 6)
        // "1": ..#.. / .##.. / ..#.. ×4 / .###.
        let lit = (0..<7).map { y in (0..<5).map { x in frame[x, y] == .white ? "#" : "." }.joined() }
        XCTAssertEqual(lit, ["..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."])
        XCTAssertEqual(BitmapFont.width(of: "12", scale: 2), 22)
    }

    func testNumbersMatchText() {
        var text = Frame(width: 60, height: 20), number = Frame(width: 60, height: 20)
        BitmapFont.draw("1203", into: &text, x: 1, y: 2, color: .white, scale: 2)
        BitmapFont.drawNumber(1203, into: &number, x: 1, y: 2, color: .white, scale: 2)
        XCTAssertEqual(text, number)
        var lower = Frame(width: 60, height: 20), upper = Frame(width: 60, height: 20)
        BitmapFont.draw("score", into: &lower, x: 0, y: 0, color: .white)
        BitmapFont.draw("SCORE", into: &upper, x: 0, y: 0, color: .white)
        XCTAssertEqual(lower, upper, "lower case is drawn as upper case")
    }
}
