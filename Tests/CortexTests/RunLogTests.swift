import Cortex
import CortexTestSupport
import Foundation
import XCTest

final class RunLogTests: XCTestCase {
    private var folder: String!

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "cortex-runlog-\(UUID().uuidString)"
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: folder)
    }

    func testCRC32CCheckValue() {
        // The standard check value of CRC-32C (RFC 3720, appendix B.4).
        XCTAssertEqual(CRC32C.checksum("123456789"), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
        // 32 bytes of zeros: RFC 3720 B.4 gives 0x8A9136AA.
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        // 32 bytes of 0xFF: 0x62A8AB43 (same appendix).
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
    }

    func testVersionEventEncodingMatchesHandEncodedProtobuf() {
        // Event { wall_time: 1.5, file_version: "brain.Event:2" }:
        // 0x09 (field 1, fixed64) + 1.5 as little-endian double (0x3FF8000000000000),
        // 0x1A (field 3, length-delimited), 13, "brain.Event:2".
        let encoded = TensorBoardEvent(wallTime: 1.5, step: 0, fileVersion: "brain.Event:2").encoded()
        XCTAssertEqual(encoded, [0x09, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F, 0x1A, 13] + Array("brain.Event:2".utf8))
        // Event { wall_time: 0, step: 300, summary { value { tag: "a", simple_value: 1.0 } } }:
        // step 300 = varint AC 02; Value = 0A 01 'a' 15 00 00 80 3F (8 bytes); Summary = 0A 08 Value;
        // Event field 5 = 2A 0A Summary.
        let scalar = TensorBoardEvent(wallTime: 0, step: 300, scalars: [.init(tag: "a", value: 1)]).encoded()
        XCTAssertEqual(
            scalar,
            [
                0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0xAC, 0x02,
                0x2A, 0x0A, 0x0A, 0x08, 0x0A, 0x01, 0x61, 0x15, 0, 0, 0x80, 0x3F
            ])
        XCTAssertEqual(
            TensorBoardEvent(decoding: scalar[...]),
            TensorBoardEvent(wallTime: 0, step: 300, scalars: [.init(tag: "a", value: 1)]))
    }

    func testRecordFramingAndCorruptionDetection() throws {
        let framed = TFRecord.frame(Array("hello".utf8))
        XCTAssertEqual(framed.count, 8 + 4 + 5 + 4)
        XCTAssertEqual(Array(framed[0..<8]), [5, 0, 0, 0, 0, 0, 0, 0])
        let lengthCRC = CRC32C.masked(CRC32C.checksum([5, 0, 0, 0, 0, 0, 0, 0]))
        XCTAssertEqual(Array(framed[8..<12]), (0..<4).map { UInt8(truncatingIfNeeded: lengthCRC >> (8 * UInt32($0))) })
        let records = try TFRecord.records(framed + framed)
        XCTAssertEqual(records.map { String(decoding: $0, as: UTF8.self) }, ["hello", "hello"])

        var flipped = framed
        flipped[14] ^= 1
        XCTAssertThrowsError(try TFRecord.records(flipped, path: "f")) {
            XCTAssertEqual("\($0)", "f: bad event record at byte 0: data checksum mismatch")
        }
        var badLength = framed
        badLength[0] = 6
        XCTAssertThrowsError(try TFRecord.records(badLength, path: "f")) {
            XCTAssertEqual("\($0)", "f: bad event record at byte 0: length checksum mismatch")
        }
        XCTAssertThrowsError(try TFRecord.records(framed + framed.dropLast(3), path: "f")) {
            XCTAssertEqual("\($0)", "f: bad event record at byte 21: record of 5 bytes runs past the end of the file")
        }
        XCTAssertEqual(try TFRecord.records(framed + framed.dropLast(3), allowTruncatedTail: true).count, 1)
    }

    struct Config: Codable, Equatable {
        var learningRate = 0.001
        var layers = [64, 64]
        var name = "demo, with comma"
    }

    func testLoggerWritesConfigCSVAndEventsThatReadBack() throws {
        let logger = try RunLogger(folder: folder, config: Config())
        try logger.log(step: 0, [("loss", 2.5), ("accuracy", 0.25)], wallTime: 100)
        try logger.log(step: 10, [("loss", 1.25)], wallTime: 101)
        try logger.log(step: 20, [("eval/return", -3), ("loss", 0.1)], wallTime: 102)

        let config = try JSONDecoder().decode(
            Config.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/config.json")))
        XCTAssertEqual(config, Config())

        // The CSV widened once when eval/return appeared; earlier rows gained an empty cell.
        let csv = try String(contentsOfFile: logger.csvPath, encoding: .utf8)
        XCTAssertEqual(
            csv,
            """
            step,wall_time,loss,accuracy,eval/return
            0,100.000,2.5,0.25,
            10,101.000,1.25,,
            20,102.000,0.1,,-3

            """)

        let files = try FileManager.default.contentsOfDirectory(atPath: folder)
        let eventFiles = files.filter { $0.hasPrefix("events.out.tfevents.") }
        XCTAssertEqual(eventFiles.count, 1)
        XCTAssertEqual(folder + "/" + eventFiles[0], logger.tensorBoard.path)
        XCTAssertTrue(eventFiles[0].hasSuffix("." + ProcessInfo.processInfo.hostName))

        let events = try TensorBoardReader.events(at: logger.tensorBoard.path)
        XCTAssertEqual(events.count, 4)
        XCTAssertEqual(events[0].fileVersion, "brain.Event:2")
        XCTAssertEqual(events[3].wallTime, 102)
        let scalars = try TensorBoardReader.scalars(at: logger.tensorBoard.path)
        XCTAssertEqual(scalars.map(\.tag), ["loss", "accuracy", "loss", "eval/return", "loss"])
        XCTAssertEqual(scalars.map(\.step), [0, 0, 10, 20, 20])
        XCTAssertEqual(scalars.map(\.value), [2.5, 0.25, 1.25, -3, 0.1])
    }

    func testReopeningARunContinuesItsCSV() throws {
        do {
            let logger = try RunLogger(folder: folder, config: Config())
            try logger.log(step: 1, [("loss", 1)], wallTime: 5)
        }
        let resumed = try RunLogger(folder: folder, config: Config())
        XCTAssertEqual(resumed.columns, ["loss"])
        try resumed.log(step: 2, [("loss", 0.5)], wallTime: 6)
        XCTAssertEqual(
            try String(contentsOfFile: resumed.csvPath, encoding: .utf8),
            "step,wall_time,loss\n1,5.000,1\n2,6.000,0.5\n")
    }

    /// A real `tensorboard --logdir` process (through scripts/python-interop; skipped without
    /// python3 and tensorboard) serves our scalars over HTTP with their steps and values.
    func testTensorBoardServesOurScalars() throws {
        let logger = try RunLogger(folder: folder + "/run-a", config: Config())
        for step in 0..<5 {
            try logger.log(step: step * 100, [("train/loss", 1 / Double(step + 1)), ("eval/return", Double(step))])
        }
        let output = try pythonInterop(["read-events", folder, "--server"])
        let json = try JSONSerialization.jsonObject(with: Data(output.utf8)) as! [String: Any]
        let runs = try XCTUnwrap(json["runs"] as? [String: [String: [[Double]]]])
        let tags = try XCTUnwrap(runs["run-a"], "runs seen: \(runs.keys.sorted())")
        XCTAssertEqual(Set(tags.keys), ["train/loss", "eval/return"])
        // TensorBoard gives the float32 value widened to a double.
        XCTAssertEqual(tags["train/loss"]?.map { Int($0[0]) }, [0, 100, 200, 300, 400])
        XCTAssertEqual(tags["train/loss"]?.map { Float($0[1]) }, (0..<5).map { Float(1 / Double($0 + 1)) })
        XCTAssertEqual(tags["eval/return"]?.map { Float($0[1]) }, [0, 1, 2, 3, 4])
    }

    // MARK: progress

    func testProgressPlainLines() {
        var written: [String] = []
        let progress = Progress(total: 100, label: "train", isTerminal: false, plainInterval: 10) { written.append($0) }
        var now = 1000.0
        progress.clock = { now }
        progress.update(0)
        now = 1005
        progress.update(50, metrics: [("loss", 0.123456)])  // within 10 s of the last line: silent
        now = 1010
        progress.update(60, metrics: [("loss", 0.1)])
        now = 1020
        progress.update(100, metrics: [("loss", 0.05)])
        progress.finish()  // same text as the last line: not repeated
        XCTAssertEqual(
            written,
            [
                "train  0/100  0.0%  elapsed 0:00\n",
                "train  60/100  60.0%  6.00 it/s  ETA 0:07  loss 0.1  elapsed 0:10\n",
                "train  100/100  100.0%  5.00 it/s  loss 0.05  elapsed 0:20\n"
            ])
    }

    func testProgressRedrawsOnATerminal() {
        var written: [String] = []
        let progress = Progress(total: nil, isTerminal: true) { written.append($0) }
        var now = 0.0
        progress.clock = { now }
        progress.update(0)
        now = 0.05
        progress.update(1)  // within the redraw interval
        now = 2
        progress.update(400)
        progress.finish()
        XCTAssertEqual(written.count, 4)
        XCTAssertEqual(written[1], "\r\u{1B}[2K400  200 it/s  elapsed 0:02")
        XCTAssertEqual(written.last, "\n")
        XCTAssertEqual(Progress.formatDuration(3725), "1:02:05")
        XCTAssertEqual(Progress.formatDuration(59.6), "1:00")
    }
}
