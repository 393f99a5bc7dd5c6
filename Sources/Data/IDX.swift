/// One array from an IDX file, the format of MNIST and Fashion-MNIST (LeCun et al. 1998).
///
/// Layout on disk, all integers big-endian:
/// ```
/// 0x00 0x00 <dtype> <rank>          magic; 0x00000803 = unsigned bytes, rank 3 (images)
/// <extent 0> … <extent rank-1>      one UInt32 per axis
/// <data>                            row-major, extent product × dtype size bytes
/// ```
/// dtype: 0x08 UInt8, 0x09 Int8, 0x0B Int16, 0x0C Int32, 0x0D Float32, 0x0E Float64.
/// Files may be gzip-compressed (`.gz`), inflated by zlib.
public struct IDXArray: Equatable, Sendable {
    /// The element type named by the third magic byte.
    public enum ElementType: UInt8, Sendable {
        case uint8 = 0x08, int8 = 0x09, int16 = 0x0B, int32 = 0x0C, float32 = 0x0D, float64 = 0x0E

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .uint8, .int8: return 1
            case .int16: return 2
            case .int32, .float32: return 4
            case .float64: return 8
            }
        }
    }

    public var elementType: ElementType
    /// The extent of each axis, e.g. `[60000, 28, 28]`.
    public var shape: [Int]
    /// The data bytes as stored (big-endian for multi-byte types); for `.uint8` the values.
    public var bytes: [UInt8]

    public init(elementType: ElementType, shape: [Int], bytes: [UInt8]) {
        precondition(
            bytes.count == shape.reduce(1, *) * elementType.size,
            "IDXArray: shape \(shape) of \(elementType) needs \(shape.reduce(1, *) * elementType.size) bytes, got \(bytes.count)"
        )
        self.elementType = elementType
        self.shape = shape
        self.bytes = bytes
    }

    /// The magic number of an array of `elementType` and `rank`: `0x0000 <dtype> <rank>`.
    public static func magic(elementType: ElementType, rank: Int) -> UInt32 {
        UInt32(elementType.rawValue) << 8 | UInt32(rank)
    }

    /// Reads an IDX file (plain or gzip).
    ///
    /// - Parameters:
    ///   - expectedMagic: when given (0x00000803 for images, 0x00000801 for labels), any other
    ///     magic number is an error.
    /// - Throws: `DataError.badMagic` for a file that is not IDX (or not the expected array),
    ///   `truncated` when the data stops short of the header's extents, `invalidContents` for
    ///   bytes after the data.
    public static func read(path: String, expectedMagic: UInt32? = nil) throws -> IDXArray {
        let input = try FileInput(path: path)
        var header = [UInt8](repeating: 0, count: 4)
        let got = try header.withUnsafeMutableBytes { try input.read(into: $0.baseAddress!, count: 4) }
        if got == 0 { throw DataError.emptyFile(path: path) }
        if got < 4 { throw DataError.truncated(path: path, expectedBytes: 4, actualBytes: got) }
        let magic = bigEndianUInt32(header, at: 0)
        let expectedText = expectedMagic.map(hex) ?? "0x000008xx (IDX)"
        guard header[0] == 0, header[1] == 0, let elementType = ElementType(rawValue: header[2]),
            header[3] >= 1
        else {
            throw DataError.badMagic(path: path, found: hex(magic), expected: expectedText)
        }
        if let expectedMagic, magic != expectedMagic {
            throw DataError.badMagic(path: path, found: hex(magic), expected: expectedText)
        }
        let rank = Int(header[3])
        let headerSize = 4 + 4 * rank
        let extents = try input.readBytes(4 * rank, expectedTotal: headerSize)
        let shape = (0..<rank).map { Int(bigEndianUInt32(extents, at: 4 * $0)) }
        // Guard the product against overflow on a corrupt header before allocating.
        var count = 1
        for extent in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            if overflow || product > 1 << 40 {
                throw DataError.invalidContents(path: path, reason: "implausible IDX shape \(shape)")
            }
            count = product
        }
        let byteCount = count * elementType.size
        let bytes = try input.readBytes(byteCount, expectedTotal: headerSize + byteCount)
        let extra = try input.remainingByteCount()
        if extra > 0 {
            throw DataError.invalidContents(
                path: path, reason: "\(extra) bytes after the \(byteCount) data bytes of an IDX array of shape \(shape)"
            )
        }
        return IDXArray(elementType: elementType, shape: shape, bytes: bytes)
    }

    /// The file image: header then data (write it with `write(to:)` or gzip it yourself).
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4 + 4 * shape.count + bytes.count)
        appendBigEndian(IDXArray.magic(elementType: elementType, rank: shape.count), to: &out)
        for extent in shape { appendBigEndian(UInt32(extent), to: &out) }
        out.append(contentsOf: bytes)
        return out
    }

    /// Writes the uncompressed file atomically.
    public func write(to path: String) throws {
        try writeAtomically(encoded(), to: path)
    }
}

/// The magic numbers MNIST-style files use.
public enum IDXMagic {
    /// Unsigned bytes, rank 3: `[count, rows, columns]` images.
    public static let images: UInt32 = 0x0000_0803
    /// Unsigned bytes, rank 1: `[count]` labels.
    public static let labels: UInt32 = 0x0000_0801
}

func bigEndianUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
        | UInt32(bytes[offset + 3])
}

func appendBigEndian(_ value: UInt32, to out: inout [UInt8]) {
    out.append(UInt8(value >> 24))
    out.append(UInt8(value >> 16 & 0xFF))
    out.append(UInt8(value >> 8 & 0xFF))
    out.append(UInt8(value & 0xFF))
}

func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
