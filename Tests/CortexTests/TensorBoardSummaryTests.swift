import Cortex
import CortexTestSupport
import Foundation
import XCTest

/// Text, images, histograms and hyperparameters, read back by the real TensorBoard package
/// (EventAccumulator, through scripts/python-interop), plus PNG and histogram arithmetic by hand.
final class TensorBoardSummaryTests: XCTestCase {
    func testStoredPNGIsAValidPNG() {
        // One grey pixel: IHDR, IDAT and IEND with their CRCs; zlib with Adler-32 of [0, 7].
        let png = StoredPNG.encode(width: 1, height: 1, channels: 1, pixels: [7])
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        // CRC-32 of "IEND" is 0xAE426082 (every PNG ends with these bytes).
        XCTAssertEqual(Array(png.suffix(4)), [0xAE, 0x42, 0x60, 0x82])
        // Adler-32 of [0, 7]: a = 1 + 0 + 7 = 8, b = 1 + 8 = 9 → 0x00090008.
        let idat = png.firstRange(of: Array("IDAT".utf8))!
        let zlibEnd = idat.upperBound + 2 + 5 + 2
        XCTAssertEqual(Array(png[zlibEnd..<(zlibEnd + 4)]), [0x00, 0x09, 0x00, 0x08])
    }

    func testTensorBoardReadsEverySummary() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cortex-tb-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let writer = try TensorBoardWriter(folder: folder)
        try writer.addText("hyperparameters", "|param|value|\n|-|-|\n|lr|0.001|", step: 0)
        let pixels: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90]  // 3×2 RGB
        try writer.addImage("pictures/grid", width: 3, height: 2, channels: 3, pixels: pixels, step: 5)
        let values: [Float] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
        try values.withUnsafeBufferPointer { buffer in
            try writer.addHistograms([("layer.weight", buffer)], prefix: "weights", step: 7)
        }
        try writer.add(step: 9, scalars: [("final/accuracy", 0.75)])
        try writer.addHyperparameters(
            ["lr": .number(0.001), "model": .string("gpt"), "bias": .bool(true)],
            metricTags: ["final/accuracy"])
        writer.flush()

        let output = try pythonInterop(["read-summaries", folder])
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        let text = try XCTUnwrap(json["text"] as? [String: [[Any]]])
        XCTAssertEqual(text["hyperparameters"]?.first?[1] as? String, "|param|value|\n|-|-|\n|lr|0.001|")

        let image = try XCTUnwrap((json["images"] as? [String: [[Any]]])?["pictures/grid"]?.first)
        XCTAssertEqual(image[0] as? Int, 5)
        XCTAssertEqual([image[1] as? Int, image[2] as? Int], [3, 2])
        XCTAssertEqual((image[3] as? [Int])?.map(UInt8.init), pixels, "Pillow decodes the same pixels")

        let histogram = try XCTUnwrap(
            (json["histograms"] as? [String: [[Any]]])?["weights/layer.weight"]?.first?[1] as? [String: Any])
        XCTAssertEqual(histogram["min"] as? Double, 0)
        XCTAssertEqual(histogram["max"] as? Double, 9)
        XCTAssertEqual(histogram["num"] as? Double, 10)
        XCTAssertEqual(histogram["sum"] as? Double, 45)
        XCTAssertEqual(histogram["sum_squares"] as? Double, 285)
        let counts = try XCTUnwrap(histogram["bucket"] as? [Double])
        XCTAssertEqual(counts.count, 30)
        XCTAssertEqual(counts.reduce(0, +), 10)

        let hparams = try XCTUnwrap(json["hparams"] as? [String: [String: Any]])
        let start = try XCTUnwrap(hparams["_hparams_/session_start_info"]?["sessionStartInfo"] as? [String: Any])
        let values2 = try XCTUnwrap(start["hparams"] as? [String: Any])
        XCTAssertEqual(values2["lr"] as? Double, 0.001)
        XCTAssertEqual(values2["model"] as? String, "gpt")
        XCTAssertEqual(values2["bias"] as? Bool, true)
        let experiment = try XCTUnwrap(hparams["_hparams_/experiment"]?["experiment"] as? [String: Any])
        let infos = try XCTUnwrap(experiment["hparamInfos"] as? [[String: Any]])
        XCTAssertEqual(Set(infos.compactMap { $0["name"] as? String }), ["lr", "model", "bias"])
        let metrics = try XCTUnwrap(experiment["metricInfos"] as? [[String: Any]])
        XCTAssertEqual((metrics.first?["name"] as? [String: Any])?["tag"] as? String, "final/accuracy")
        XCTAssertEqual(
            (hparams["_hparams_/session_end_info"]?["sessionEndInfo"] as? [String: Any])?["status"] as? String,
            "STATUS_SUCCESS")
    }
}
