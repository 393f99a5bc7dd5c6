/// GIF's variable-code-size LZW (Welch 1984, as profiled in the GIF89a specification, §22 and
/// Appendix F).
///
/// Codes are written least-significant bit first. With minimum code size `m` (2…8): the clear
/// code is `2^m`, end-of-information `2^m + 1`, the first free code `2^m + 2`; codes start
/// `m + 1` bits wide and grow by one bit once the next free code reaches `2^width`, up to 12
/// bits. Like giflib, the encoder never assigns code 4095: when the next free code would be 4095
/// it emits a clear code instead, so no decoder has to handle a full table.
package enum LZW {
    /// The largest code width GIF allows.
    static let maxCodeWidth = 12
    /// The encoder clears the table instead of assigning this code (giflib's `LZ_MAX_CODE`).
    static let tableLimit = 4095

    /// Compresses `indices` (each below `2^minCodeSize`) into the raw code stream, not yet cut
    /// into sub-blocks: clear code, codes, end-of-information, padded to a whole byte.
    package static func encode(_ indices: UnsafeBufferPointer<UInt8>, minCodeSize m: Int) -> [UInt8] {
        precondition((2...8).contains(m), "LZW.encode: minimum code size \(m) outside 2…8")
        let clear = 1 << m, endOfInformation = clear + 1
        var output = [UInt8]()
        output.reserveCapacity(indices.count / 2 + 16)
        var bits = BitWriter()

        // Open-addressing table from (prefix code, next index) to code: 8192 slots keep the load
        // under one half (at most 4095 − 2^m − 2 entries between clears).
        let slotCount = 8192
        var keys = [Int32](repeating: -1, count: slotCount)
        var codes = [Int16](repeating: 0, count: slotCount)
        var nextCode = clear + 2
        var width = m + 1

        bits.write(clear, width: width, into: &output)
        guard !indices.isEmpty else {
            bits.write(endOfInformation, width: width, into: &output)
            bits.flush(into: &output)
            return output
        }
        keys.withUnsafeMutableBufferPointer { keys in
            codes.withUnsafeMutableBufferPointer { codes in
                var prefix = Int(indices[0])
                precondition(prefix < clear, "LZW.encode: index \(prefix) does not fit \(m) bits")
                for position in 1..<indices.count {
                    let k = Int(indices[position])
                    precondition(k < clear, "LZW.encode: index \(k) does not fit \(m) bits")
                    let key = Int32(prefix << 8 | k)
                    var slot = (prefix &* 5003 ^ k &* 131) & (slotCount - 1)
                    var found = -1
                    while keys[slot] != -1 {
                        if keys[slot] == key {
                            found = Int(codes[slot])
                            break
                        }
                        slot = (slot + 1) & (slotCount - 1)
                    }
                    if found >= 0 {
                        prefix = found
                        continue
                    }

                    bits.write(prefix, width: width, into: &output)
                    // The decoder adds its entry one code later; it widens once its next free
                    // code reaches 2^width, which is this moment on the encoder's side.
                    if nextCode >= 1 << width && width < maxCodeWidth { width += 1 }
                    if nextCode >= tableLimit {
                        bits.write(clear, width: width, into: &output)
                        for i in 0..<slotCount { keys[i] = -1 }
                        nextCode = clear + 2
                        width = m + 1
                    } else {
                        keys[slot] = key
                        codes[slot] = Int16(nextCode)
                        nextCode += 1
                    }
                    prefix = k
                }
                bits.write(prefix, width: width, into: &output)
                if nextCode >= 1 << width && width < maxCodeWidth { width += 1 }
            }
        }
        bits.write(endOfInformation, width: width, into: &output)
        bits.flush(into: &output)
        return output
    }

    /// The smallest minimum code size GIF allows for indices up to `maxIndex`: 2 for up to 4
    /// colours, else the bits needed.
    package static func minCodeSize(maxIndex: Int) -> Int {
        var m = 2
        while (1 << m) <= maxIndex { m += 1 }
        return m
    }
}

/// Packs codes least-significant bit first.
private struct BitWriter {
    private var buffer: UInt64 = 0
    private var count = 0

    mutating func write(_ code: Int, width: Int, into output: inout [UInt8]) {
        buffer |= UInt64(code) << UInt64(count)
        count += width
        while count >= 8 {
            output.append(UInt8(truncatingIfNeeded: buffer))
            buffer >>= 8
            count -= 8
        }
    }

    mutating func flush(into output: inout [UInt8]) {
        if count > 0 { output.append(UInt8(truncatingIfNeeded: buffer)) }
        buffer = 0
        count = 0
    }
}
