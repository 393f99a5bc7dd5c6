import CJPEG

/// JPEG through libjpeg-turbo (`Sources/CJPEG` catches libjpeg's fatal errors in C).
extension PixelImage {
    /// The three bytes every JPEG file starts with (SOI marker and the next marker's 0xFF).
    static let jpegSignature: [UInt8] = [0xFF, 0xD8, 0xFF]

    /// Decodes a baseline or progressive JPEG: grey files stay grey, every other colour space
    /// becomes RGB. Files over 2²⁸ pixels are refused before pixel memory is allocated.
    /// - Throws: `DataError.notAnImage` with libjpeg's message for a damaged or truncated file.
    public init(jpeg bytes: [UInt8], path: String) throws {
        var pixels: UnsafeMutablePointer<UInt8>?
        var width: Int32 = 0, height: Int32 = 0, channels: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = bytes.withUnsafeBufferPointer { data in
            message.withUnsafeMutableBufferPointer { text in
                cortex_jpeg_decode(
                    data.baseAddress, data.count, 1 << 28, &pixels, &width, &height, &channels,
                    text.baseAddress, text.count)
            }
        }
        guard status == 0, let pixels else {
            let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw DataError.notAnImage(path: path, reason: "damaged JPEG: \(reason)")
        }
        defer { cortex_jpeg_free(pixels) }
        let count = Int(width) * Int(height) * Int(channels)
        self.init(
            width: Int(width), height: Int(height), channels: Int(channels),
            pixels: Array(UnsafeBufferPointer(start: pixels, count: count)))
    }
}
