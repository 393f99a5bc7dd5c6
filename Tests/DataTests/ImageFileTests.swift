import CortexTestSupport
import Data
import XCTest

/// PNG (libpng), PGM/PPM, conversions and grids.
final class ImageFileTests: XCTestCase {
    /// 3×2 RGB: red, green, blue / (10, 20, 30), mid grey, white.
    let rgb = PixelImage(
        width: 3, height: 2, channels: 3,
        pixels: [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 128, 128, 128, 255, 255, 255])
    let grey = PixelImage(width: 3, height: 2, channels: 1, pixels: [0, 1, 2, 127, 254, 255])

    func testPNGRoundTrip() throws {
        let directory = try makeTemporaryDirectory(self)
        for image in [rgb, grey] {
            let path = "\(directory)/picture.png"
            try image.write(to: path)
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            XCTAssertEqual(Array(bytes[0..<8]), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            // IHDR colour type (byte 25): 0 grey, 2 RGB; bit depth (byte 24) 8.
            XCTAssertEqual(bytes[24], 8)
            XCTAssertEqual(bytes[25], image.channels == 1 ? 0 : 2)
            XCTAssertEqual(try PixelImage.read(path: path), image)
        }
    }

    func testPNMRoundTrip() throws {
        let directory = try makeTemporaryDirectory(self)
        for image in [rgb, grey] {
            for ascii in [false, true] {
                let path = "\(directory)/picture.pnm"
                try writeFile(image.pnmData(ascii: ascii), path)
                XCTAssertEqual(try PixelImage.read(path: path), image)
            }
            let path = "\(directory)/picture." + (image.channels == 1 ? "pgm" : "ppm")
            try image.write(to: path)
            XCTAssertEqual(try PixelImage.read(path: path), image)
        }
        XCTAssertEqual(Array(grey.pnmData().prefix(11)), Array("P5\n3 2\n255\n".utf8))
        XCTAssertEqual(String(decoding: grey.pnmData(ascii: true), as: UTF8.self), "P2\n3 2\n255\n0 1 2\n127 254 255\n")
    }

    func testPNMHandWritten() throws {
        let directory = try makeTemporaryDirectory(self)
        let path = "\(directory)/hand.pgm"
        // Comments anywhere in the header, maxval 15: 15 → 255, 7 → round(7·255/15) = 119.
        try writeFile(Array("P2 # grey\n# size next\n2 1\n15\n15 7\n".utf8), path)
        XCTAssertEqual(try PixelImage.read(path: path).pixels, [255, 119])
        // 16-bit binary PPM: big-endian words, maxval 65535; 0x8080 = 32896 → 128.
        try writeFile(Array("P6\n1 1\n65535\n".utf8) + [0xFF, 0xFF, 0x80, 0x80, 0x00, 0x00], path)
        XCTAssertEqual(try PixelImage.read(path: path).pixels, [255, 128, 0])
        try writeFile(Array("P5\n2 2\n255\n".utf8) + [1, 2, 3], path)
        XCTAssertThrowsError(try PixelImage.read(path: path)) { error in
            XCTAssertEqual(
                "\(error)",
                "\(path): not an image (PNG, PGM or PPM): bad PGM/PPM: the header announces 4 sample bytes, the file holds 3"
            )
        }
    }

    func testNonImagesAreRejected() throws {
        let directory = try makeTemporaryDirectory(self)
        let path = "\(directory)/notes.png"
        try writeFile(Array("hello, not a picture\n".utf8), path)
        XCTAssertThrowsError(try PixelImage.read(path: path)) { error in
            XCTAssertEqual("\(error)", "\(path): not an image (PNG, PGM or PPM): unrecognised file header")
        }
        // A PNG signature followed by garbage: libpng's own complaint.
        try writeFile([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3, 4, 5, 6, 7, 8, 9], path)
        XCTAssertThrowsError(try PixelImage.read(path: path)) { error in
            guard case .notAnImage = error as? DataError else { return XCTFail("\(error)") }
        }
        // A real PNG cut in half.
        let png = try rgb.pngData()
        try writeFile(Array(png.prefix(png.count / 2)), path)
        XCTAssertThrowsError(try PixelImage.read(path: path)) { error in
            guard case .notAnImage = error as? DataError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try PixelImage.read(path: "\(directory)/absent.png")) {
            XCTAssertEqual($0 as? DataError, .fileNotFound(path: "\(directory)/absent.png"))
        }
    }

    /// PNGs of every colour type written by ImageMagick's encoder from netpbm files the test writes.
    func testReadsPNGsMadeByImageMagick() throws {
        let directory = try makeTemporaryDirectory(self)
        try writeFile(
            Array("P3\n3 2\n255\n255 0 0  0 255 0  0 0 255\n10 20 30  128 128 128  255 255 255\n".utf8),
            "\(directory)/in.ppm")
        // 16-bit grey 1799 = 0x0707 and 51400 = 0xC8C8, i.e. 7 and 200 in 8 bits.
        try writeFile(Array("P2\n2 1\n65535\n1799 51400\n".utf8), "\(directory)/in16.pgm")
        // PAM with alpha: RGBA (100, 200, 50, opaque), (10, 11, 12, transparent); grey+alpha (7, opaque), (200, transparent).
        try writeFile(
            Array("P7\nWIDTH 2\nHEIGHT 1\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n".utf8)
                + [100, 200, 50, 255, 10, 11, 12, 0], "\(directory)/rgba.pam")
        try writeFile(
            Array("P7\nWIDTH 2\nHEIGHT 1\nDEPTH 2\nMAXVAL 255\nTUPLTYPE GRAYSCALE_ALPHA\nENDHDR\n".utf8)
                + [7, 255, 200, 0], "\(directory)/ga.pam")
        let d = directory
        let jobs: [[String]] = [
            ["\(d)/in.ppm", "PNG24:\(d)/rgb8.png"],
            ["\(d)/in.ppm", "PNG48:\(d)/rgb16.png"],
            ["\(d)/in.ppm", "PNG8:\(d)/palette.png"],
            ["\(d)/in16.pgm", "-define", "png:bit-depth=16", "-define", "png:color-type=0", "\(d)/grey16.png"],
            ["\(d)/rgba.pam", "PNG32:\(d)/rgba.png"],
            ["\(d)/ga.pam", "-define", "png:color-type=4", "\(d)/ga.png"]
        ]
        for arguments in jobs {
            guard let status = try runTool("convert", arguments) else {
                throw missingPrerequisite("ImageMagick's convert is not installed")
            }
            XCTAssertEqual(status, 0, "convert \(arguments)")
        }
        let expectedRGB: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 128, 128, 128, 255, 255, 255]
        for name in ["rgb8.png", "rgb16.png", "palette.png"] {
            let image = try PixelImage.read(path: "\(directory)/\(name)")
            XCTAssertEqual([image.width, image.height, image.channels], [3, 2, 3], name)
            XCTAssertEqual(image.pixels, expectedRGB, name)
        }
        XCTAssertEqual(
            try PixelImage.read(path: "\(directory)/grey16.png"),
            PixelImage(width: 2, height: 1, channels: 1, pixels: [7, 200]))
        XCTAssertEqual(try PixelImage.read(path: "\(directory)/rgba.png").pixels, [100, 200, 50, 0, 0, 0])
        let pngBytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(directory)/ga.png")))
        XCTAssertEqual(try PixelImage(png: pngBytes, path: "ga.png").pixels, [7, 0])
        XCTAssertEqual(try PixelImage(png: pngBytes, path: "ga.png", background: 255).pixels, [7, 255])
    }

    func testGrayscaleAndResize() {
        // BT.601: red → round(0.299·255) = 76, green → 150, blue → 29, (10, 20, 30) → 18.15 → 18.
        XCTAssertEqual(rgb.grayscale().pixels, [76, 150, 29, 18, 128, 255])
        XCTAssertEqual(grey.rgb().grayscale(), grey)
        // Area: 4×2 → 2×1 averages 2×2 blocks: (0+10+40+50)/4 = 25, (20+30+60+71)/4 = 45.25 → 45.
        let small = PixelImage(width: 4, height: 2, channels: 1, pixels: [0, 10, 20, 30, 40, 50, 60, 71])
        XCTAssertEqual(small.resized(width: 2, height: 1, method: .area).pixels, [25, 45])
        // Area 3 → 2: target 0 covers source 0 fully and half of 1: (0 + 0.5·90)/1.5 = 30; target 1: (0.5·90 + 180)/1.5 = 150.
        let row = PixelImage(width: 3, height: 1, channels: 1, pixels: [0, 90, 180])
        XCTAssertEqual(row.resized(width: 2, height: 1, method: .area).pixels, [30, 150])
        // Bilinear 2 → 4, centres aligned: x_src = −0.25, 0.25, 0.75, 1.25 → clamped 0, 0.25, 0.75, 1.
        let pair = PixelImage(width: 2, height: 1, channels: 1, pixels: [0, 100])
        XCTAssertEqual(pair.resized(width: 4, height: 1, method: .bilinear).pixels, [0, 25, 75, 100])
        XCTAssertEqual(rgb.resized(width: 28, height: 28).width, 28)
        let tensor = grey.tensor(normalization: ImageNormalization(mean: [0.5], std: [0.25]))
        XCTAssertEqual(tensor.shape, [1, 2, 3])
        XCTAssertEqual(tensor.scalars[5], (1 - 0.5) / 0.25, accuracy: 1e-6)
        XCTAssertEqual(rgb.tensor().scalars[6 + 3], 20 / 255, accuracy: 1e-6)  // green plane, pixel 3 = (10, 20, 30)
    }

    func testGridLayout() {
        var grid = ImageGrid(count: 5, columns: 3, cellWidth: 6, cellHeight: 4, captionHeight: 2, padding: 1)
        XCTAssertEqual([grid.canvas.width, grid.canvas.height], [1 + 3 * 7, 1 + 2 * 7])
        XCTAssertEqual(grid.cellRect(at: 4).x, 8)
        XCTAssertEqual(grid.cellRect(at: 4).y, 8)
        XCTAssertEqual(grid.captionRect(at: 4).y, 12)
        // A 3×2 grey image scales by 2 and is centred in the 6×4 cell: it fills it exactly.
        grid.place(grey, at: 4)
        XCTAssertEqual([grid.canvas[8, 8, 0], grid.canvas[13, 11, 1]], [0, 255])
        XCTAssertEqual(grid.canvas[10, 10, 2], 254)  // source (1, 1) → cell (2...3, 2...3)
        XCTAssertEqual(grid.canvas[7, 8, 0], 255)  // padding keeps the white background
        grid.canvas.strokeRect(x: 0, y: 0, width: 3, height: 3, color: [255, 0, 0])
        XCTAssertEqual([grid.canvas[1, 0, 1], grid.canvas[1, 1, 1]], [0, 255])
    }

    /// What `cortex classify` feeds a model from a PNG equals what training fed it from memory.
    func testModelInputFromFileMatchesTheLoader() throws {
        let directory = try makeTemporaryDirectory(self)
        let dataset = ImageDataset(
            channels: 1, height: 4, width: 4, pixels: (0..<64).map { UInt8($0 * 4) },
            labels: [0, 1, 0, 1], classNames: ["a", "b"])
        let normalization = ImageNormalization(mean: [0.2860], std: [0.3530])
        try dataset.image(at: 3).write(to: "\(directory)/three.png")
        let input = try PixelImage.read(path: "\(directory)/three.png")
            .modelInput(channels: 1, height: 4, width: 4, normalization: normalization)
        let loader = ImageLoader(dataset: dataset, batchSize: 1, normalization: normalization, seed: 0)
        let batch = loader.batch(indices: [3])
        XCTAssertEqual(input.shape, batch.images.shape)
        XCTAssertEqual(input.scalars, batch.images.scalars)
        // An RGB picture twice the size: grey by BT.601, then 2×2 areas averaged. All pixels
        // (200, 100, 0) → 0.299·200 + 0.587·100 = 118.5 → 119.
        let big = PixelImage(width: 8, height: 8, fill: [200, 100, 0])
        XCTAssertEqual(
            big.modelInput(channels: 1, height: 4, width: 4).scalars, [Float](repeating: 119 / 255, count: 16))
    }

    func testScalingAndHeatOverlay() {
        XCTAssertEqual(grey.scaled(by: 2).pixels[0..<6], [0, 0, 1, 1, 2, 2])
        XCTAssertEqual(grey.scaled(by: 2).pixels[6..<12], [0, 0, 1, 1, 2, 2])
        // Heat 0 and 1 over two black pixels, fully opaque: jet(0) = (0, 0, ½), jet(1) = (½, 0, 0).
        let black = PixelImage(width: 2, height: 1, channels: 1, pixels: [0, 0])
        XCTAssertEqual(
            black.overlaying(heat: [0, 1], heatWidth: 2, heatHeight: 1, opacity: 1).pixels, [0, 0, 128, 128, 0, 0])
        // Half opacity over white: jet(½) = (½, 1, ½) → (255 + 127.5)/2 = 191.25 → 191 and 255.
        let white = PixelImage(width: 3, height: 1, channels: 3, pixels: [UInt8](repeating: 255, count: 9))
        XCTAssertEqual(white.overlaying(heat: [0, 1, 2], heatWidth: 3, heatHeight: 1).pixels[3..<6], [191, 255, 191])
    }
}
