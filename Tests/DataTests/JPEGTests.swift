import Cortex
import CortexTestSupport
import Data
import Foundation
import XCTest

/// JPEG input: decoded as ImageMagick (an independent program on the same library) decodes
/// it, grey stays grey, damaged files are one error, not a crash.
final class JPEGTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws { directory = try makeTemporaryDirectory(self) }

    /// A 24×16 picture with edges and gradients, so the DCT has real work.
    private func pattern(channels: Int) -> PixelImage {
        var pixels: [UInt8] = []
        for y in 0..<16 {
            for x in 0..<24 {
                let values = [UInt8((x * 10) % 256), UInt8((y * 15) % 256), x < 12 ? 30 : 220]
                pixels += channels == 1 ? [values[0] / 2 + values[1] / 2] : values
            }
        }
        return PixelImage(width: 24, height: 16, channels: channels, pixels: pixels)
    }

    func testDecodesAsImageMagickDoes() throws {
        for channels in [1, 3] {
            let source = "\(directory)/in\(channels).\(channels == 1 ? "pgm" : "ppm")"
            try pattern(channels: channels).write(to: source)
            let jpeg = "\(directory)/picture\(channels).jpg",
                reference = "\(directory)/back\(channels).\(channels == 1 ? "pgm" : "ppm")"
            for arguments in [[source, "-quality", "90", jpeg], [jpeg, reference]] {
                guard let status = try runTool("convert", arguments) else {
                    throw missingPrerequisite("ImageMagick's convert is not installed")
                }
                XCTAssertEqual(status, 0, "convert \(arguments)")
            }
            let ours = try PixelImage.read(path: jpeg), theirs = try PixelImage.read(path: reference)
            XCTAssertEqual([ours.width, ours.height, ours.channels], [24, 16, channels])
            let largest = zip(ours.pixels, theirs.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 99
            XCTAssertLessThanOrEqual(largest, 1, "channels \(channels): the same decode up to rounding")
            // Lossy, but close to the original picture.
            let error = zip(ours.pixels, pattern(channels: channels).pixels).map { abs(Int($0) - Int($1)) }
            XCTAssertLessThan(Double(error.reduce(0, +)) / Double(error.count), 8)
        }
    }

    func testDamagedJPEGsAreOneError() throws {
        let source = "\(directory)/in.ppm", jpeg = "\(directory)/ok.jpg"
        try pattern(channels: 3).write(to: source)
        guard try runTool("convert", [source, jpeg]) == 0 else {
            throw missingPrerequisite("ImageMagick's convert is not installed")
        }
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: jpeg)))
        var generator = RandomGenerator(seed: 7)
        let cases: [[UInt8]] =
            [
                Array(bytes.prefix(3)), Array(bytes.prefix(40)), [0xFF, 0xD8, 0xFF, 0xE0, 0, 16],
                bytes.enumerated().map { $0.offset > 2 && $0.offset < 200 ? $0.element ^ 0x5A : $0.element }
            ]
            + (0..<20).map { _ in
                var mutated = bytes
                for _ in 0..<4 {
                    mutated[3 + generator.nextInt(below: mutated.count - 3)] = UInt8(generator.nextInt(below: 256))
                }
                return Array(mutated.prefix(3 + generator.nextInt(below: mutated.count - 2)))
            }
        for (index, data) in cases.enumerated() {
            do {
                _ = try PixelImage(jpeg: data, path: "case\(index).jpg")
            } catch let error as DataError {
                XCTAssertTrue("\(error)".hasPrefix("case\(index).jpg"), "\(error)")
                XCTAssertFalse("\(error)".contains("\n"))
            }
        }
        // A header that claims 65,500 × 65,500 pixels is refused before allocating them.
        var huge = bytes
        if let sof = (0..<(huge.count - 9)).first(where: { huge[$0] == 0xFF && huge[$0 + 1] == 0xC0 }) {
            huge[sof + 5] = 0xFF
            huge[sof + 6] = 0xDC
            huge[sof + 7] = 0xFF
            huge[sof + 8] = 0xDC
            XCTAssertThrowsError(try PixelImage(jpeg: huge, path: "huge.jpg")) {
                XCTAssertTrue("\($0)".contains("implausible"), "\($0)")
            }
        } else {
            XCTFail("no baseline SOF0 marker in ImageMagick's JPEG")
        }
    }
}
