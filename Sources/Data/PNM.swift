/// Netpbm grey and colour maps (PGM, PPM; Poskanzer 1988): a text header
/// `P<kind> <width> <height> <maxval>` (whitespace-separated, `#` comments), then the samples,
/// row-major, interleaved. P2 (grey) and P3 (RGB) write samples as decimal text; P5 and P6 as
/// bytes, or as big-endian 16-bit words when maxval > 255.
extension PixelImage {
    /// Decodes a P2, P3, P5 or P6 file; samples are scaled to 0…255 (`round(v · 255 / maxval)`).
    /// - Throws: `DataError.notAnImage` for a bad header, a bitmap (P1/P4) or too few samples.
    public init(pnm bytes: [UInt8], path: String) throws {
        var parser = PNMParser(bytes: bytes, path: path)
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "P") else { throw parser.failure("no P1-P7 header") }
        let kind = bytes[1]
        parser.offset = 2
        let channels: Int, binary: Bool
        switch kind {
        case UInt8(ascii: "2"): (channels, binary) = (1, false)
        case UInt8(ascii: "5"): (channels, binary) = (1, true)
        case UInt8(ascii: "3"): (channels, binary) = (3, false)
        case UInt8(ascii: "6"): (channels, binary) = (3, true)
        default: throw parser.failure("netpbm type P\(UnicodeScalar(kind)) is not supported (only P2, P3, P5, P6)")
        }
        let width = try parser.headerNumber("width"), height = try parser.headerNumber("height")
        let maxValue = try parser.headerNumber("maxval")
        guard width > 0, height > 0, width * height <= 1 << 28 else {
            throw parser.failure("implausible size \(width)x\(height)")
        }
        guard maxValue > 0, maxValue < 65536 else { throw parser.failure("maxval \(maxValue) outside 1...65535") }
        let count = width * height * channels
        var pixels = [UInt8](repeating: 0, count: count)
        func scaled(_ value: Int) -> UInt8 { UInt8((min(value, maxValue) * 255 + maxValue / 2) / maxValue) }
        if binary {
            parser.offset += 1  // the single whitespace byte that ends the header
            let wide = maxValue > 255
            let needed = count * (wide ? 2 : 1)
            guard bytes.count - parser.offset >= needed else {
                throw parser.failure(
                    "the header announces \(needed) sample bytes, the file holds \(max(0, bytes.count - parser.offset))"
                )
            }
            for i in 0..<count {
                let at = parser.offset + (wide ? 2 * i : i)
                pixels[i] = scaled(wide ? Int(bytes[at]) << 8 | Int(bytes[at + 1]) : Int(bytes[at]))
            }
        } else {
            for i in 0..<count {
                guard let value = try parser.number() else {
                    throw parser.failure("the header announces \(count) samples, the file holds \(i)")
                }
                pixels[i] = scaled(value)
            }
        }
        self.init(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// The picture as PGM (grey) or PPM (RGB), binary (P5/P6) or, with `ascii`, text (P2/P3); maxval 255.
    public func pnmData(ascii: Bool = false) -> [UInt8] {
        let kind = channels == 1 ? (ascii ? "P2" : "P5") : (ascii ? "P3" : "P6")
        var out = Array("\(kind)\n\(width) \(height)\n255\n".utf8)
        if !ascii { return out + pixels }
        let samplesPerRow = width * channels
        for row in 0..<height {
            let line = pixels[row * samplesPerRow..<(row + 1) * samplesPerRow].map(String.init).joined(separator: " ")
            out += Array(line.utf8) + [UInt8(ascii: "\n")]
        }
        return out
    }
}

/// Reads the whitespace- and comment-separated decimal numbers of a netpbm file.
private struct PNMParser {
    let bytes: [UInt8]
    let path: String
    var offset = 0

    func failure(_ reason: String) -> DataError { .notAnImage(path: path, reason: "bad PGM/PPM: \(reason)") }

    /// The next decimal number, or nil at the end of the file.
    mutating func number() throws -> Int? {
        while offset < bytes.count {
            let byte = bytes[offset]
            if byte == UInt8(ascii: "#") {
                while offset < bytes.count && bytes[offset] != UInt8(ascii: "\n") { offset += 1 }
            } else if byte == 0x20 || (0x09...0x0D).contains(byte) {
                offset += 1
            } else {
                break
            }
        }
        guard offset < bytes.count else { return nil }
        var value = 0, digits = 0
        while offset < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[offset]) {
            value = value * 10 + Int(bytes[offset] - UInt8(ascii: "0"))
            guard value < 1 << 31 else { throw failure("number too large") }
            offset += 1
            digits += 1
        }
        guard digits > 0 else {
            throw failure("unexpected byte 0x\(String(bytes[offset], radix: 16)) at offset \(offset)")
        }
        return value
    }

    mutating func headerNumber(_ name: String) throws -> Int {
        guard let value = try number() else { throw failure("the header ends before the \(name)") }
        return value
    }
}
