/// An RGB picture: `height` rows of `width` pixels, 3 bytes each (R, G, B), row-major from
/// the top-left corner. Games render into it; the window, GIF and PNG writers read it.
public struct Frame: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// `width · height · 3` bytes.
    public var pixels: [UInt8]

    /// A frame filled with one colour.
    public init(width: Int, height: Int, fill: RGB = .black) {
        precondition(width >= 0 && height >= 0, "Frame: negative size \(width)×\(height)")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        if fill != .black { fillRect(x: 0, y: 0, width: width, height: height, color: fill) }
    }

    /// The colour at (x, y).
    public subscript(x: Int, y: Int) -> RGB {
        get {
            let i = (y * width + x) * 3
            return RGB(pixels[i], pixels[i + 1], pixels[i + 2])
        }
        set {
            let i = (y * width + x) * 3
            pixels[i] = newValue.r
            pixels[i + 1] = newValue.g
            pixels[i + 2] = newValue.b
        }
    }

    /// Paints the rectangle, clipped to the frame.
    public mutating func fillRect(x: Int, y: Int, width w: Int, height h: Int, color: RGB) {
        let x0 = max(0, x), y0 = max(0, y), x1 = min(width, x + w), y1 = min(height, y + h)
        guard x0 < x1, y0 < y1 else { return }
        let frameWidth = width
        pixels.withUnsafeMutableBufferPointer { p in
            for row in y0..<y1 {
                var i = (row * frameWidth + x0) * 3
                for _ in x0..<x1 {
                    p[i] = color.r
                    p[i + 1] = color.g
                    p[i + 2] = color.b
                    i += 3
                }
            }
        }
    }
}

/// A 24-bit colour.
public struct RGB: Equatable, Hashable, Sendable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }
    public static let black = RGB(0, 0, 0)
    public static let white = RGB(255, 255, 255)
}
