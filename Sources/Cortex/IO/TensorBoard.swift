import Foundation

/// CRC-32C (Castagnoli polynomial, reflected 0x82F63B78; init and final xor 0xFFFFFFFF), the
/// checksum of TFRecord files. Table-driven, one byte at a time. `CRC32C.checksum("123456789")`
/// is 0xE3069283.
public enum CRC32C {
    static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    /// The CRC of `bytes`.
    public static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { table in
            for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        }
        return crc ^ 0xFFFF_FFFF
    }

    /// The CRC of a string's UTF-8 bytes.
    public static func checksum(_ text: String) -> UInt32 { checksum(Array(text.utf8)) }

    /// TFRecord's masked CRC: rotate right by 15 bits and add 0xA282EAD8, so that a CRC stored
    /// inside checksummed data does not checksum trivially.
    public static func masked(_ crc: UInt32) -> UInt32 { ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8 }
}

/// One record of a TensorBoard event file: a `tensorflow.Event` reduced to what Cortex writes.
public struct TensorBoardEvent: Equatable {
    public var wallTime: Double
    public var step: Int64
    /// Set on the first event of a file (`brain.Event:2`).
    public var fileVersion: String?
    /// `Summary.value` entries that carry a `simple_value`, as (tag, value).
    public var scalars: [ScalarValue]
    /// Other `Summary.value` entries, already encoded (`TensorBoardSummary`): written after
    /// the scalars; not decoded back.
    public var encodedValues: [[UInt8]] = []

    public struct ScalarValue: Equatable {
        public var tag: String
        public var value: Float
        public init(tag: String, value: Float) {
            self.tag = tag
            self.value = value
        }
    }

    public init(wallTime: Double, step: Int64, fileVersion: String? = nil, scalars: [ScalarValue] = []) {
        self.wallTime = wallTime
        self.step = step
        self.fileVersion = fileVersion
        self.scalars = scalars
    }

    // Field numbers from tensorflow/core/util/event.proto and core/framework/summary.proto:
    // Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
    // Summary { repeated Value value = 1; }  Value { string tag = 1; float simple_value = 2; }

    /// The protobuf encoding.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        Protobuf.appendKey(1, wireType: 1, to: &out)
        Protobuf.appendFixed64(wallTime.bitPattern, to: &out)
        if step != 0 {
            Protobuf.appendKey(2, wireType: 0, to: &out)
            Protobuf.appendVarint(UInt64(bitPattern: step), to: &out)
        }
        if let fileVersion {
            Protobuf.appendBytes(3, Array(fileVersion.utf8), to: &out)
        }
        if !scalars.isEmpty || !encodedValues.isEmpty {
            var summary: [UInt8] = []
            for scalar in scalars {
                var value: [UInt8] = []
                Protobuf.appendBytes(1, Array(scalar.tag.utf8), to: &value)
                Protobuf.appendKey(2, wireType: 5, to: &value)
                Protobuf.appendFixed32(scalar.value.bitPattern, to: &value)
                Protobuf.appendBytes(1, value, to: &summary)
            }
            for value in encodedValues { Protobuf.appendBytes(1, value, to: &summary) }
            Protobuf.appendBytes(5, summary, to: &out)
        }
        return out
    }

    /// Decodes an `Event`, skipping fields Cortex does not use; nil if the bytes are not
    /// well-formed protobuf.
    public init?(decoding bytes: ArraySlice<UInt8>) {
        self.init(wallTime: 0, step: 0)
        var reader = Protobuf.Reader(bytes)
        while !reader.isAtEnd {
            guard let (field, wireType) = reader.key() else { return nil }
            switch (field, wireType) {
            case (1, 1):
                guard let bits = reader.fixed64() else { return nil }
                wallTime = Double(bitPattern: bits)
            case (2, 0):
                guard let raw = reader.varint() else { return nil }
                step = Int64(bitPattern: raw)
            case (3, 2):
                guard let text = reader.lengthDelimited() else { return nil }
                fileVersion = String(decoding: text, as: UTF8.self)
            case (5, 2):
                guard let summary = reader.lengthDelimited(), let values = Self.decodeSummary(summary) else {
                    return nil
                }
                scalars += values
            default:
                guard reader.skip(wireType: wireType) else { return nil }
            }
        }
    }

    private static func decodeSummary(_ bytes: ArraySlice<UInt8>) -> [ScalarValue]? {
        var result: [ScalarValue] = []
        var reader = Protobuf.Reader(bytes)
        while !reader.isAtEnd {
            guard let (field, wireType) = reader.key() else { return nil }
            guard field == 1, wireType == 2 else {
                guard reader.skip(wireType: wireType) else { return nil }
                continue
            }
            guard let valueBytes = reader.lengthDelimited() else { return nil }
            var inner = Protobuf.Reader(valueBytes)
            var tag = "", value: Float?
            while !inner.isAtEnd {
                guard let (innerField, innerType) = inner.key() else { return nil }
                switch (innerField, innerType) {
                case (1, 2):
                    guard let text = inner.lengthDelimited() else { return nil }
                    tag = String(decoding: text, as: UTF8.self)
                case (2, 5):
                    guard let bits = inner.fixed32() else { return nil }
                    value = Float(bitPattern: bits)
                default:
                    guard inner.skip(wireType: innerType) else { return nil }
                }
            }
            if let value { result.append(ScalarValue(tag: tag, value: value)) }
        }
        return result
    }
}

/// The few protobuf wire-format pieces an event file needs (varint, fixed32/64, bytes).
enum Protobuf {
    static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func appendKey(_ field: Int, wireType: Int, to out: inout [UInt8]) {
        appendVarint(UInt64(field << 3 | wireType), to: &out)
    }

    static func appendFixed32(_ value: UInt32, to out: inout [UInt8]) {
        for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt32(i)))) }
    }

    static func appendFixed64(_ value: UInt64, to out: inout [UInt8]) {
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }

    static func appendBytes(_ field: Int, _ bytes: [UInt8], to out: inout [UInt8]) {
        appendKey(field, wireType: 2, to: &out)
        appendVarint(UInt64(bytes.count), to: &out)
        out += bytes
    }

    /// A cursor over protobuf bytes; every read returns nil rather than run past the end.
    struct Reader {
        var bytes: ArraySlice<UInt8>
        var position: Int

        init(_ bytes: ArraySlice<UInt8>) {
            self.bytes = bytes
            position = bytes.startIndex
        }

        var isAtEnd: Bool { position >= bytes.endIndex }

        mutating func varint() -> UInt64? {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while position < bytes.endIndex, shift < 64 {
                let byte = bytes[position]
                position += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return result }
                shift += 7
            }
            return nil
        }

        mutating func key() -> (field: Int, wireType: Int)? {
            guard let raw = varint(), raw >> 3 > 0, raw >> 3 < 1 << 29 else { return nil }
            return (Int(raw >> 3), Int(raw & 7))
        }

        mutating func fixed(_ width: Int) -> UInt64? {
            guard bytes.endIndex - position >= width else { return nil }
            var value: UInt64 = 0
            for i in 0..<width { value |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
            position += width
            return value
        }

        mutating func fixed32() -> UInt32? { fixed(4).map { UInt32($0) } }
        mutating func fixed64() -> UInt64? { fixed(8) }

        mutating func lengthDelimited() -> ArraySlice<UInt8>? {
            guard let length = varint(), length <= UInt64(bytes.endIndex - position) else { return nil }
            let slice = bytes[position..<(position + Int(length))]
            position += Int(length)
            return slice
        }

        mutating func skip(wireType: Int) -> Bool {
            switch wireType {
            case 0: return varint() != nil
            case 1: return fixed(8) != nil
            case 2: return lengthDelimited() != nil
            case 5: return fixed(4) != nil
            default: return false
            }
        }
    }
}

/// A problem in an event file; one line.
public enum EventFileError: Error, CustomStringConvertible, LocalizedError, Equatable {
    case io(String)
    case corrupt(path: String, offset: Int, reason: String)

    public var description: String {
        switch self {
        case .io(let text): return text
        case let .corrupt(path, offset, reason): return "\(path): bad event record at byte \(offset): \(reason)"
        }
    }

    public var errorDescription: String? { description }
}

/// TFRecord framing, as TensorFlow's `RecordWriter`:
/// ```
/// uint64 length (little-endian) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
/// ```
public enum TFRecord {
    /// One framed record.
    public static func frame(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count + 16)
        Protobuf.appendFixed64(UInt64(data.count), to: &out)
        Protobuf.appendFixed32(CRC32C.masked(CRC32C.checksum(out[0..<8])), to: &out)
        out += data
        Protobuf.appendFixed32(CRC32C.masked(CRC32C.checksum(data)), to: &out)
        return out
    }

    /// The records of `bytes`, every checksum verified. A file that ends in the middle of a
    /// record (a writer still running) is an error only when `allowTruncatedTail` is false.
    public static func records(
        _ bytes: [UInt8], path: String = "<memory>",
        allowTruncatedTail: Bool = false
    ) throws -> [ArraySlice<UInt8>] {
        var records: [ArraySlice<UInt8>] = []
        var position = 0
        func little(_ at: Int, _ width: Int) -> UInt64 {
            var value: UInt64 = 0
            for i in 0..<width { value |= UInt64(bytes[at + i]) << (8 * UInt64(i)) }
            return value
        }
        while position < bytes.count {
            func fail(_ reason: String) -> EventFileError { .corrupt(path: path, offset: position, reason: reason) }
            guard bytes.count - position >= 12 else {
                if allowTruncatedTail { break }
                throw fail("\(bytes.count - position) trailing bytes, too few for a record header")
            }
            let length = little(position, 8)
            guard UInt32(little(position + 8, 4)) == CRC32C.masked(CRC32C.checksum(bytes[position..<(position + 8)]))
            else {
                throw fail("length checksum mismatch")
            }
            guard length <= UInt64(bytes.count - position - 16) else {
                if allowTruncatedTail { break }
                throw fail("record of \(length) bytes runs past the end of the file")
            }
            let start = position + 12, end = start + Int(length)
            let data = bytes[start..<end]
            guard UInt32(little(end, 4)) == CRC32C.masked(CRC32C.checksum(data)) else {
                throw fail("data checksum mismatch")
            }
            records.append(data)
            position = end + 4
        }
        return records
    }
}

/// Writes TensorBoard scalars to `events.out.tfevents.<unix time>.<host>` in `folder`, the
/// file `tensorboard --logdir` reads. The first record is the version event
/// (`file_version: "brain.Event:2"`); each `add` appends one `Event` whose `Summary` holds
/// `simple_value`s. Records are written straight to the file (no buffering), so TensorBoard
/// sees them while the run goes on.
public final class TensorBoardWriter {
    /// The event file.
    public let path: String
    private let handle: FileHandle

    public init(folder: String, wallTime: Double = Date().timeIntervalSince1970) throws {
        do { try createFolder(folder) } catch let error as FileError { throw EventFileError.io(error.description) }
        let seconds = Int(wallTime)
        let host = ProcessInfo.processInfo.hostName
        var name = "events.out.tfevents." + String(format: "%010d", seconds) + "." + host
        // Two writers started in the same second in one folder must not share a file.
        var suffix = 1
        while FileManager.default.fileExists(atPath: folder + "/" + name) {
            suffix += 1
            name = "events.out.tfevents." + String(format: "%010d", seconds) + "." + host + ".\(suffix)"
        }
        path = folder + "/" + name
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else {
            throw EventFileError.io("cannot create \(path)")
        }
        self.handle = handle
        try write(TensorBoardEvent(wallTime: wallTime, step: 0, fileVersion: "brain.Event:2"))
    }

    deinit { try? handle.close() }

    /// Appends one event.
    public func write(_ event: TensorBoardEvent) throws {
        do {
            try handle.write(contentsOf: TFRecord.frame(event.encoded()))
        } catch {
            throw EventFileError.io("cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// Appends the scalars of one step as one event.
    public func add(
        step: Int, scalars: [(tag: String, value: Double)], wallTime: Double = Date().timeIntervalSince1970
    ) throws {
        try write(
            TensorBoardEvent(
                wallTime: wallTime, step: Int64(step),
                scalars: scalars.map { .init(tag: $0.tag, value: Float($0.value)) }))
    }

    /// Appends summaries from `TensorBoardSummary` (text, images, histograms, hparams) as one event.
    public func add(step: Int, encodedValues: [[UInt8]], wallTime: Double = Date().timeIntervalSince1970) throws {
        var event = TensorBoardEvent(wallTime: wallTime, step: Int64(step))
        event.encodedValues = encodedValues
        try write(event)
    }

    /// A text summary (markdown).
    public func addText(_ tag: String, _ text: String, step: Int = 0) throws {
        try add(step: step, encodedValues: [TensorBoardSummary.text(tag: tag, text)])
    }

    /// An image summary of 8-bit pixels, row-major, `channels` (1, 3 or 4) per pixel.
    public func addImage(_ tag: String, width: Int, height: Int, channels: Int, pixels: [UInt8], step: Int) throws {
        try add(
            step: step,
            encodedValues: [
                TensorBoardSummary.image(
                    tag: tag, width: width, height: height,
                    channels: channels, pixels: pixels)
            ])
    }

    /// Histograms of every named tensor's values under `prefix/name` (weights, or gradients).
    public func addHistograms(
        _ tensors: [(name: String, values: UnsafeBufferPointer<Float>)], prefix: String, step: Int
    ) throws {
        guard !tensors.isEmpty else { return }
        try add(
            step: step,
            encodedValues: tensors.map { TensorBoardSummary.histogram(tag: prefix + "/" + $0.name, values: $0.values) })
    }

    /// The run's hyperparameters and the tags of its final metrics, for the HPARAMS tab
    /// (write the metrics themselves as scalars).
    public func addHyperparameters(_ hparams: [String: TensorBoardSummary.HParam], metricTags: [String]) throws {
        try add(step: 0, encodedValues: TensorBoardSummary.hyperparameters(hparams, metricTags: metricTags))
    }

    /// Forces the written records to disk.
    public func flush() { try? handle.synchronize() }
}

/// Reads an event file back: every record's checksums are checked and every event decoded.
public enum TensorBoardReader {
    /// The events of the file at `path`, in order.
    public static func events(at path: String, allowTruncatedTail: Bool = false) throws -> [TensorBoardEvent] {
        let bytes: [UInt8]
        do { bytes = try readWholeFile(path) } catch let error as FileError {
            throw EventFileError.io(error.description)
        }
        return try events(in: bytes, path: path, allowTruncatedTail: allowTruncatedTail)
    }

    /// The events of an event file's bytes.
    public static func events(
        in bytes: [UInt8], path: String = "<memory>",
        allowTruncatedTail: Bool = false
    ) throws -> [TensorBoardEvent] {
        try TFRecord.records(bytes, path: path, allowTruncatedTail: allowTruncatedTail).map { record in
            guard let event = TensorBoardEvent(decoding: record) else {
                throw EventFileError.corrupt(
                    path: path, offset: record.startIndex - 12, reason: "not an Event protobuf")
            }
            return event
        }
    }

    /// Every scalar as (tag, step, value), in file order.
    public static func scalars(at path: String) throws -> [(tag: String, step: Int, value: Float)] {
        try events(at: path).flatMap { event in event.scalars.map { ($0.tag, Int(event.step), $0.value) } }
    }
}
