/// Something rectangles can be painted on: the RGB `Frame` a person sees, or the `GrayFrame`
/// an agent's pixel observation is made from. Drawing code is generic over it, so the gray image
/// is exactly the luminance of the colour one, without drawing in colour first.
public protocol Canvas {
    var width: Int { get }
    var height: Int { get }
    /// Paints the rectangle, clipped to the canvas.
    mutating func fillRect(x: Int, y: Int, width: Int, height: Int, color: RGB)
}

extension Frame: Canvas {}

extension RGB {
    /// ITU-R BT.601 luma as OpenCV's `RGB2GRAY` computes it for DQN preprocessing:
    /// `Y = 0.299 R + 0.587 G + 0.114 B`, rounded to the nearest byte.
    public var luminance: UInt8 {
        // Fixed point with 14 fractional bits, as OpenCV does (weights 4899, 9617, 1868).
        let y = 4899 * Int(r) + 9617 * Int(g) + 1868 * Int(b)
        return UInt8((y + 8192) >> 14)
    }
}

/// A one-byte-per-pixel luminance picture, row-major from the top-left corner.
public struct GrayFrame: Canvas, Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// `width · height` bytes.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, fill: UInt8 = 0) {
        precondition(width >= 0 && height >= 0, "GrayFrame: negative size \(width)×\(height)")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: fill, count: width * height)
    }

    /// A frame whose pixels are left unset, for a caller that paints every one of them.
    init(uninitializedWidth width: Int, height: Int) {
        self.width = width
        self.height = height
        pixels = [UInt8](unsafeUninitializedCapacity: width * height) { _, count in count = width * height }
    }

    /// The luminance of every pixel of `frame`.
    public init(luminanceOf frame: Frame) {
        self.init(width: frame.width, height: frame.height)
        frame.pixels.withUnsafeBufferPointer { rgb in
            pixels.withUnsafeMutableBufferPointer { gray in
                for i in 0..<gray.count {
                    gray[i] = RGB(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]).luminance
                }
            }
        }
    }

    public subscript(x: Int, y: Int) -> UInt8 {
        get { pixels[y * width + x] }
        set { pixels[y * width + x] = newValue }
    }

    public mutating func fillRect(x: Int, y: Int, width w: Int, height h: Int, color: RGB) {
        let x0 = max(0, x), y0 = max(0, y), x1 = min(width, x + w), y1 = min(height, y + h)
        guard x0 < x1, y0 < y1 else { return }
        let value = color.luminance, frameWidth = width
        pixels.withUnsafeMutableBufferPointer { p in
            for row in y0..<y1 {
                let start = row * frameWidth
                for i in (start + x0)..<(start + x1) { p[i] = value }
            }
        }
    }
}
