import Envs
import Foundation
import Render
import XCTest

final class GIFWriterTests: XCTestCase {
    // MARK: - LZW

    /// Matthew Flickinger's worked example ("What's in a GIF — LZW image data"): a 10×10 image
    /// of 4 colours, minimum code size 2. Its published code stream was checked independently:
    ///     python3 -c 'from PIL import Image; import io
    ///     h = bytes.fromhex("4749463839610A000A0091000" "0FFFFFFFF00000000FF00000021F904000000000" "02C000000000A000A0000")
    ///     d = bytes.fromhex("02168C2D99872A1CDC33A00275EC95FAA8DE608C04914C0100")
    ///     print(list(Image.open(io.BytesIO(h + d + b";")).getdata()))'
    /// prints exactly the rows below.
    func testLZWMatchesHandWorkedExample() {
        let rows: [[UInt8]] = [
            [1, 1, 1, 1, 1, 2, 2, 2, 2, 2], [1, 1, 1, 1, 1, 2, 2, 2, 2, 2], [1, 1, 1, 1, 1, 2, 2, 2, 2, 2],
            [1, 1, 1, 0, 0, 0, 0, 2, 2, 2], [1, 1, 1, 0, 0, 0, 0, 2, 2, 2], [2, 2, 2, 0, 0, 0, 0, 1, 1, 1],
            [2, 2, 2, 0, 0, 0, 0, 1, 1, 1], [2, 2, 2, 2, 2, 1, 1, 1, 1, 1], [2, 2, 2, 2, 2, 1, 1, 1, 1, 1],
            [2, 2, 2, 2, 2, 1, 1, 1, 1, 1]
        ]
        let pixels = rows.flatMap { $0 }
        let codes = pixels.withUnsafeBufferPointer { LZW.encode($0, minCodeSize: 2) }
        let expected: [UInt8] = [
            0x8C, 0x2D, 0x99, 0x87, 0x2A, 0x1C, 0xDC, 0x33, 0xA0, 0x02, 0x75,
            0xEC, 0x95, 0xFA, 0xA8, 0xDE, 0x60, 0x8C, 0x04, 0x91, 0x4C, 0x01
        ]
        XCTAssertEqual(codes, expected)
    }

    /// Random indices over 256 values fill the 4095-code table many times (clear codes, 12-bit
    /// codes); long runs over 4 values exercise the `KwKwK` case. An independent decoder must
    /// give back every index.
    func testLZWRoundTripThroughIndependentDecoder() throws {
        var state: UInt64 = 12345
        func nextRandom() -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(state >> 33)
        }
        let cases: [(count: Int, minCodeSize: Int, make: (Int) -> UInt8)] = [
            (60_000, 8, { _ in UInt8(nextRandom() & 255) }),
            (50_000, 2, { i in UInt8((i / 37 + i / 1000) & 3) }),
            (20_000, 3, { _ in UInt8(nextRandom() % 5) }),
            (1, 2, { _ in 3 }),
            (0, 5, { _ in 0 })
        ]
        for c in cases {
            let indices = (0..<c.count).map(c.make)
            let codes = indices.withUnsafeBufferPointer { LZW.encode($0, minCodeSize: c.minCodeSize) }
            let decoded = try decodeLZW(codes, minCodeSize: c.minCodeSize, count: c.count)
            XCTAssertEqual(decoded, indices, "count \(c.count), minimum code size \(c.minCodeSize)")
        }
    }

    // MARK: - Whole files

    /// A small "game": a moving ball over a static wall of bricks.
    static func sampleFrames(count: Int, width: Int = 40, height: Int = 30) -> [Frame] {
        (0..<count).map { t in
            var f = Frame(width: width, height: height, fill: RGB(20, 20, 40))
            for (row, colour) in [RGB(200, 72, 72), RGB(198, 108, 58), RGB(180, 122, 48)].enumerated() {
                f.fillRect(x: 2, y: 3 + row * 3, width: width - 4, height: 2, color: colour)
            }
            f.fillRect(x: (t * 3) % (width - 3), y: 15 + t % 10, width: 3, height: 2, color: .white)
            f.fillRect(x: 10 + t % 5, y: height - 3, width: 12, height: 2, color: RGB(66, 72, 200))
            return f
        }
    }

    func testFramesComeBackExactlyWithAndWithoutRegions() throws {
        let frames = Self.sampleFrames(count: 12)
        for optimize in [false, true] {
            let writer = GIFWriter(width: 40, height: 30, framesPerSecond: 15, optimizeRegions: optimize)
            frames.forEach(writer.add)
            let gif = try DecodedGIF(writer.data())
            XCTAssertEqual(gif.width, 40)
            XCTAssertEqual(gif.height, 30)
            XCTAssertEqual(gif.loopCount, 0)
            XCTAssertEqual(gif.globalTableSize, 8, "6 colours fit a table of 8")
            XCTAssertEqual(gif.localTables, Array(repeating: 0, count: 12))
            XCTAssertEqual(gif.frames.count, frames.count)
            for (i, (got, want)) in zip(gif.frames, frames).enumerated() {
                XCTAssertTrue(got == want, "frame \(i), regions \(optimize)")
            }
        }
    }

    /// 100/15 cs per frame: rounded end times 7, 13, 20, 27, 33, 40, … give delays 7, 6, 7, 7, 6, 7.
    func testDelaysKeepTheAverageRate() throws {
        let writer = GIFWriter(width: 4, height: 4, framesPerSecond: 15)
        for _ in 0..<15 { writer.add(Frame(width: 4, height: 4)) }
        let gif = try DecodedGIF(writer.data())
        XCTAssertEqual(Array(gif.delays.prefix(6)), [7, 6, 7, 7, 6, 7])
        XCTAssertEqual(gif.delays.reduce(0, +), 100)

        let fast = GIFWriter(width: 4, height: 4, framesPerSecond: 50, loopCount: 3)
        for _ in 0..<3 { fast.add(Frame(width: 4, height: 4)) }
        let fastGIF = try DecodedGIF(fast.data())
        XCTAssertEqual(fastGIF.delays, [2, 2, 2])
        XCTAssertEqual(fastGIF.loopCount, 3)
    }

    /// 200 colours, then 200 others (global table full → exact local table), then a gradient
    /// of 4096 colours (→ the 6×7×6 cube, each channel within half a level: 255/10 or 255/12).
    func testPalettesBeyond256Colours() throws {
        var a = Frame(width: 20, height: 10), b = Frame(width: 20, height: 10)
        for i in 0..<200 {
            a[i % 20, i / 20] = RGB(UInt8(i), 0, 0)
            b[i % 20, i / 20] = RGB(0, UInt8(i), 1)
        }
        var c = Frame(width: 64, height: 64)
        for y in 0..<64 { for x in 0..<64 { c[x, y] = RGB(UInt8(x * 4), UInt8(y * 4), UInt8((x + y) * 2)) } }

        let writer = GIFWriter(width: 20, height: 10, framesPerSecond: 10, optimizeRegions: false)
        writer.add(a)
        writer.add(b)
        let gif = try DecodedGIF(writer.data())
        XCTAssertEqual(gif.globalTableSize, 256)
        XCTAssertEqual(gif.localTables, [0, 256])
        XCTAssertTrue(gif.frames[0] == a)
        XCTAssertTrue(gif.frames[1] == b)

        let cube = GIFWriter(width: 64, height: 64, framesPerSecond: 10)
        cube.add(c)
        let cubeGIF = try DecodedGIF(cube.data())
        XCTAssertEqual(cubeGIF.localTables, [256])
        let got = cubeGIF.frames[0].pixels, want = c.pixels
        for i in 0..<want.count {
            let limit = i % 3 == 1 ? 255 / 12 + 1 : 255 / 10 + 1
            XCTAssertLessThanOrEqual(abs(Int(got[i]) - Int(want[i])), limit, "byte \(i)")
        }
    }

    // MARK: - Other decoders

    /// ImageMagick and Pillow read the file back with exactly the pixels written.
    func testImageMagickAndPillowReadTheFile() throws {
        let dir = try temporaryDirectory("gif-readers")
        defer { try? FileManager.default.removeItem(at: dir) }
        let frames = Self.sampleFrames(count: 8)
        for optimize in [false, true] {
            let writer = GIFWriter(width: 40, height: 30, framesPerSecond: 10, optimizeRegions: optimize)
            frames.forEach(writer.add)
            let path = dir.appendingPathComponent("sample-\(optimize).gif").path
            try writer.write(to: path)

            if let identify = which("identify"), let convert = which("convert") {
                let listing = try runProgram(identify, ["-format", "%w %h %T\n", path])
                XCTAssertEqual(listing.status, 0, listing.stderr)
                let lines = String(decoding: listing.stdout, as: UTF8.self).split(separator: "\n")
                XCTAssertEqual(lines.count, 8)
                XCTAssertEqual(lines.first.map(String.init), "40 30 10")
                // A plain frame read gives the stored picture; with regions it must be coalesced.
                let prefix = dir.appendingPathComponent("frame-\(optimize)").path
                let args = optimize ? [path, "-coalesce", prefix + "-%d.ppm"] : [path, prefix + "-%d.ppm"]
                let converted = try runProgram(convert, args)
                XCTAssertEqual(converted.status, 0, converted.stderr)
                for i in 0..<frames.count {
                    let frame = try readPPM(Array(try Data(contentsOf: URL(fileURLWithPath: "\(prefix)-\(i).ppm"))))
                    XCTAssertTrue(frame == frames[i], "ImageMagick frame \(i), regions \(optimize)")
                }
                let single = try runProgram(convert, ["\(path)[3]", "-coalesce", "ppm:-"])
                if !optimize { XCTAssertTrue(try readPPM(single.stdout) == frames[3], "convert x.gif[3]") }
            } else {
                print("skipped ImageMagick check: identify/convert not installed (apt-get install imagemagick)")
            }

            if let python = which("python3") {
                let script = """
                    import sys
                    from PIL import Image
                    im = Image.open(sys.argv[1])
                    out = sys.stdout.buffer
                    for i in range(im.n_frames):
                        im.seek(i)
                        out.write(im.convert("RGB").tobytes())
                    """
                let result = try runProgram(python, ["-c", script, path])
                if result.status != 0 && result.stderr.contains("No module named 'PIL'") {
                    if ProcessInfo.processInfo.environment["CORTEX_NO_SKIP"] == "1" {
                        XCTFail("Pillow is missing from the test venv (scripts/test installs it)")
                    } else {
                        print("skipped Pillow check: pip install pillow")
                    }
                } else {
                    XCTAssertEqual(result.status, 0, result.stderr)
                    XCTAssertEqual(result.stdout, frames.flatMap(\.pixels), "Pillow, regions \(optimize)")
                }
            } else {
                print("skipped Pillow check: python3 not installed")
            }
        }
    }
}
