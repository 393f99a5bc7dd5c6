import CPNG

/// PNG through libpng's simplified API (`png_image`, libpng 1.6), which reports errors in
/// `message` instead of `longjmp`, so Swift can call it safely.
extension PixelImage {
    /// The eight bytes every PNG file starts with.
    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    /// `PNG_FORMAT_GRAY` and `PNG_FORMAT_RGB` (8-bit, no alpha), macros Swift does not import.
    static let pngGray: UInt32 = 0, pngRGB = UInt32(PNG_FORMAT_FLAG_COLOR)

    /// Decodes a PNG of any kind libpng reads — grey, grey+alpha, RGB, RGBA, palette, 1 to 16 bits.
    ///
    /// Colour images become RGB, grey ones grey. 16-bit samples are scaled to 8 bits as stored
    /// (`v · 255 / 65535`, the file taken as sRGB-encoded as most tools write it); alpha is removed
    /// by compositing onto `background` (black by default, the background of MNIST-style data).
    /// - Throws: `DataError.notAnImage` with libpng's message for a damaged or non-PNG file.
    public init(png bytes: [UInt8], path: String, background: UInt8 = 0) throws {
        // libpng keeps the memory pointer from `begin_read` until `finish_read`, so both calls run
        // inside one `withUnsafeBytes`: outside it the optimiser may free `bytes` after its last
        // use, and libpng then inflates whatever reused that memory ("IDAT: CRC error").
        self = try bytes.withUnsafeBytes { raw in
            try PixelImage.decodePNG(raw, path: path, background: background)
        }
    }

    private static func decodePNG(_ raw: UnsafeRawBufferPointer, path: String, background: UInt8) throws -> PixelImage {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        guard png_image_begin_read_from_memory(&image, raw.baseAddress, raw.count) != 0 else {
            throw DataError.notAnImage(path: path, reason: PixelImage.message(of: &image))
        }
        let width = Int(image.width), height = Int(image.height)
        guard width > 0, height > 0, width * height <= 1 << 28 else {
            png_image_free(&image)
            throw DataError.notAnImage(path: path, reason: "implausible size \(width)x\(height)")
        }
        image.flags |= UInt32(PNG_IMAGE_FLAG_16BIT_sRGB)
        let isColor = image.format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0
        let channels = isColor ? 3 : 1
        image.format = isColor ? PixelImage.pngRGB : PixelImage.pngGray
        // With no background colour given, libpng composites alpha onto the buffer's contents.
        var pixels = [UInt8](repeating: background, count: width * height * channels)
        let finished = pixels.withUnsafeMutableBytes {
            png_image_finish_read(&image, nil, $0.baseAddress, Int32(width * channels), nil)
        }
        guard finished != 0 else { throw DataError.notAnImage(path: path, reason: PixelImage.message(of: &image)) }
        return PixelImage(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// The picture encoded as an 8-bit grey or RGB PNG (`path` is for messages).
    public func pngData(path: String = "PNG") throws -> [UInt8] {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = channels == 3 ? PixelImage.pngRGB : PixelImage.pngGray
        let stride = Int32(width * channels)
        var size: png_alloc_size_t = 0
        // First call with no memory asks for the size; the second encodes.
        var ok = pixels.withUnsafeBytes {
            png_image_write_to_memory(&image, nil, &size, 0, $0.baseAddress, stride, nil)
        }
        guard ok != 0 else { throw DataError.writeFailed(path: path, reason: PixelImage.message(of: &image)) }
        var out = [UInt8](repeating: 0, count: Int(size))
        ok = pixels.withUnsafeBytes { source in
            out.withUnsafeMutableBytes {
                png_image_write_to_memory(&image, $0.baseAddress, &size, 0, source.baseAddress, stride, nil)
            }
        }
        guard ok != 0 else { throw DataError.writeFailed(path: path, reason: PixelImage.message(of: &image)) }
        return Array(out[0..<Int(size)])
    }

    /// libpng's error text (a NUL-terminated `char[64]` inside `png_image`).
    private static func message(of image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            let text = String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            return text.isEmpty ? "libpng could not decode it" : text
        }
    }
}
