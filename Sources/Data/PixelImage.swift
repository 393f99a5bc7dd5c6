import Cortex
import Foundation

/// An 8-bit picture in memory: grey (1 channel) or RGB (3 channels).
///
/// Layout: `pixels` is `[height, width, channels]` row-major (interleaved, as PNG and PPM store
/// it); `(x, y)` = (column, row) with `(0, 0)` top left.
public struct PixelImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public let channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(
            channels == 1 || channels == 3, "PixelImage: channels must be 1 (grey) or 3 (RGB), got \(channels)")
        precondition(
            width >= 0 && height >= 0 && pixels.count == width * height * channels,
            "PixelImage: \(width)x\(height)x\(channels) needs \(width * height * channels) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// A picture filled with one value per channel (`fill.count == channels`).
    public init(width: Int, height: Int, fill: [UInt8]) {
        var pixels = [UInt8](repeating: 0, count: width * height * fill.count)
        for i in 0..<pixels.count { pixels[i] = fill[i % fill.count] }
        self.init(width: width, height: height, channels: fill.count, pixels: pixels)
    }

    /// Channel `channel` of the pixel at column `x`, row `y`.
    public subscript(x: Int, y: Int, channel: Int = 0) -> UInt8 {
        get { pixels[(y * width + x) * channels + channel] }
        set { pixels[(y * width + x) * channels + channel] = newValue }
    }

    // MARK: files

    /// Reads a PNG, JPEG, PGM or PPM file, recognised by its first bytes, not its name.
    /// - Throws: `DataError.fileNotFound`, or `notAnImage` for anything else.
    public static func read(path: String) throws -> PixelImage {
        let bytes = try FileInput.readRaw(path)
        if bytes.starts(with: PixelImage.pngSignature) { return try PixelImage(png: bytes, path: path) }
        if bytes.starts(with: PixelImage.jpegSignature) { return try PixelImage(jpeg: bytes, path: path) }
        if bytes.count >= 2, bytes[0] == UInt8(ascii: "P"), (UInt8(ascii: "1")...UInt8(ascii: "7")).contains(bytes[1]) {
            return try PixelImage(pnm: bytes, path: path)
        }
        throw DataError.notAnImage(path: path, reason: bytes.isEmpty ? "the file is empty" : "unrecognised file header")
    }

    /// Writes the picture as PNG (`.png`) or binary PGM/PPM (`.pgm`, `.ppm`, `.pnm`), atomically.
    /// - Throws: `writeFailed` for another extension or an I/O error.
    public func write(to path: String) throws {
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "png": try writeAtomically(pngData(path: path), to: path)
        case "pgm", "ppm", "pnm": try writeAtomically(pnmData(), to: path)
        default: throw DataError.writeFailed(path: path, reason: "unknown image type (use .png, .pgm or .ppm)")
        }
    }

    // MARK: conversions

    /// Grey by ITU-R BT.601 luma, `Y = 0.299 R + 0.587 G + 0.114 B`, rounded (a grey image is
    /// returned unchanged).
    public func grayscale() -> PixelImage {
        if channels == 1 { return self }
        var grey = [UInt8](repeating: 0, count: width * height)
        pixels.withUnsafeBufferPointer { rgb in
            for i in 0..<grey.count {
                let weighted = 299 * Int(rgb[3 * i]) + 587 * Int(rgb[3 * i + 1]) + 114 * Int(rgb[3 * i + 2])
                grey[i] = UInt8((weighted + 500) / 1000)
            }
        }
        return PixelImage(width: width, height: height, channels: 1, pixels: grey)
    }

    /// RGB with each grey value copied to the three channels (an RGB image is returned unchanged).
    public func rgb() -> PixelImage {
        if channels == 3 { return self }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<width * height {
            let value = pixels[i]
            rgb[3 * i] = value
            rgb[3 * i + 1] = value
            rgb[3 * i + 2] = value
        }
        return PixelImage(width: width, height: height, channels: 3, pixels: rgb)
    }

    /// How `resized` maps source pixels to target pixels.
    public enum ResizeMethod: String, Sendable, CaseIterable {
        /// Each target pixel averages the source area it covers, weighting partly covered pixels
        /// by the covered fraction (OpenCV's INTER_AREA when shrinking): the choice for shrinking.
        case area
        /// Bilinear interpolation between the four nearest source pixels, pixel centres aligned
        /// (`x_src = (x + ½)·W/w − ½`, clamped at the border; OpenCV's INTER_LINEAR).
        case bilinear
    }

    /// The picture scaled to `width × height`.
    public func resized(width newWidth: Int, height newHeight: Int, method: ResizeMethod = .area) -> PixelImage {
        precondition(
            newWidth > 0 && newHeight > 0 && width > 0 && height > 0,
            "resized: cannot resize \(width)x\(height) to \(newWidth)x\(newHeight)")
        if newWidth == width && newHeight == height { return self }
        // Separable: the same 1-D weights for every row (x) and every column (y).
        let xWeights = PixelImage.resampleWeights(from: width, to: newWidth, method: method)
        let yWeights = PixelImage.resampleWeights(from: height, to: newHeight, method: method)
        var out = [UInt8](repeating: 0, count: newWidth * newHeight * channels)
        var row = [Float](repeating: 0, count: newWidth * channels)
        for y in 0..<newHeight {
            for k in 0..<row.count { row[k] = 0 }
            for (sourceY, wy) in yWeights[y] {
                for x in 0..<newWidth {
                    for (sourceX, wx) in xWeights[x] {
                        let base = (sourceY * width + sourceX) * channels
                        for c in 0..<channels { row[x * channels + c] += wy * wx * Float(pixels[base + c]) }
                    }
                }
            }
            for k in 0..<row.count {
                out[y * newWidth * channels + k] = UInt8(min(255, max(0, row[k].rounded())))
            }
        }
        return PixelImage(width: newWidth, height: newHeight, channels: channels, pixels: out)
    }

    /// For each target index, the source indices and weights (summing to 1) that make it.
    static func resampleWeights(from source: Int, to target: Int, method: ResizeMethod) -> [[(Int, Float)]] {
        let scale = Double(source) / Double(target)
        return (0..<target).map { t in
            switch method {
            case .area:
                let start = Double(t) * scale, end = Double(t + 1) * scale
                var weights: [(Int, Float)] = []
                var s = Int(start.rounded(.down))
                while Double(s) < end && s < source {
                    let overlap = min(end, Double(s + 1)) - max(start, Double(s))
                    if overlap > 1e-9 { weights.append((s, Float(overlap / scale))) }
                    s += 1
                }
                return weights
            case .bilinear:
                let position = min(max((Double(t) + 0.5) * scale - 0.5, 0), Double(source - 1))
                let low = Int(position.rounded(.down)), high = min(low + 1, source - 1)
                let fraction = Float(position - Double(low))
                return fraction == 0 ? [(low, Float(1))] : [(low, 1 - fraction), (high, fraction)]
            }
        }
    }

    /// The picture as a `[channels, height, width]` tensor of values in [0, 1] (`v / 255`), then
    /// `(x − mean[c]) / std[c]` when a normalisation is given — the same values `ImageLoader`
    /// produces for the same bytes.
    public func tensor(normalization: ImageNormalization? = nil) -> Tensor {
        let plane = width * height
        let storage = TensorStorage(uninitializedCount: plane * channels)
        let table = ImageLoader.lookupTable(channels: channels, normalization: normalization)
        for c in 0..<channels {
            for p in 0..<plane {
                storage.pointer[c * plane + p] = table[c * 256 + Int(pixels[p * channels + c])]
            }
        }
        return Tensor(shape: [channels, height, width], storage: storage)
    }

    /// The picture as one input of a model that takes `[channels, height, width]` images: grey
    /// (BT.601) or RGB as asked, resized (area when shrinking, bilinear when enlarging),
    /// normalised; shape `[1, channels, height, width]`.
    public func modelInput(
        channels: Int, height: Int, width: Int,
        normalization: ImageNormalization? = nil
    ) -> Tensor {
        precondition(channels == 1 || channels == 3, "modelInput: channels must be 1 or 3, got \(channels)")
        let converted = channels == 1 ? grayscale() : rgb()
        let shrinking = width <= self.width && height <= self.height
        let sized = converted.resized(width: width, height: height, method: shrinking ? .area : .bilinear)
        let values = sized.tensor(normalization: normalization)
        return Tensor(shape: [1, channels, height, width], storage: values.storage)
    }

    /// Each pixel repeated `factor × factor` times (nearest neighbour), to make small images visible.
    public func scaled(by factor: Int) -> PixelImage {
        var out = PixelImage(
            width: width * factor, height: height * factor, fill: [UInt8](repeating: 0, count: channels))
        out.paste(self, x: 0, y: 0, scale: factor)
        return out
    }

    /// The picture in RGB with a heat map laid over it, e.g. a ViT's attention to each patch.
    ///
    /// `heat` is `[heatHeight, heatWidth]` row-major, stretched bilinearly over the picture,
    /// scaled so its minimum is 0 and maximum 1, coloured with the "jet" map (blue → cyan →
    /// yellow → red: `r = clamp(1.5 − |4t − 3|)`, `g = clamp(1.5 − |4t − 2|)`,
    /// `b = clamp(1.5 − |4t − 1|)`) and mixed in with weight `opacity`.
    public func overlaying(heat: [Float], heatWidth: Int, heatHeight: Int, opacity: Float = 0.5) -> PixelImage {
        precondition(
            heat.count == heatWidth * heatHeight && !heat.isEmpty,
            "overlaying: heat has \(heat.count) values for \(heatWidth)x\(heatHeight)")
        let low = heat.min()!, range = max(heat.max()! - low, .leastNormalMagnitude)
        let xWeights = PixelImage.resampleWeights(from: heatWidth, to: width, method: .bilinear)
        let yWeights = PixelImage.resampleWeights(from: heatHeight, to: height, method: .bilinear)
        var out = rgb()
        func clamp(_ v: Float) -> Float { min(1, max(0, v)) }
        for y in 0..<height {
            for x in 0..<width {
                var value: Float = 0
                for (sy, wy) in yWeights[y] {
                    for (sx, wx) in xWeights[x] { value += wy * wx * heat[sy * heatWidth + sx] }
                }
                let t = (value - low) / range
                let color = [clamp(1.5 - abs(4 * t - 3)), clamp(1.5 - abs(4 * t - 2)), clamp(1.5 - abs(4 * t - 1))]
                for c in 0..<3 {
                    let base = Float(out.pixels[(y * width + x) * 3 + c])
                    out.pixels[(y * width + x) * 3 + c] = UInt8(
                        (base * (1 - opacity) + 255 * color[c] * opacity).rounded())
                }
            }
        }
        return out
    }

    // MARK: drawing (for pictures of results)

    /// Sets every pixel of the rectangle (clipped to the picture) to `color` (`color.count == channels`).
    public mutating func fillRect(x: Int, y: Int, width w: Int, height h: Int, color: [UInt8]) {
        precondition(color.count == channels, "fillRect: color has \(color.count) values for \(channels) channels")
        for row in max(0, y)..<max(max(0, y), min(height, y + h)) {
            for column in max(0, x)..<max(max(0, x), min(width, x + w)) {
                for c in 0..<channels { pixels[(row * width + column) * channels + c] = color[c] }
            }
        }
    }

    /// Draws the outline of a rectangle `thickness` pixels wide, inside its bounds.
    public mutating func strokeRect(x: Int, y: Int, width w: Int, height h: Int, thickness: Int = 1, color: [UInt8]) {
        fillRect(x: x, y: y, width: w, height: thickness, color: color)
        fillRect(x: x, y: y + h - thickness, width: w, height: thickness, color: color)
        fillRect(x: x, y: y, width: thickness, height: h, color: color)
        fillRect(x: x + w - thickness, y: y, width: thickness, height: h, color: color)
    }

    /// Copies `image` with its top-left corner at `(x, y)`, each pixel repeated `scale × scale`
    /// times (nearest neighbour), clipped to this picture. A grey image pasted into an RGB one is
    /// spread over the three channels.
    public mutating func paste(_ image: PixelImage, x: Int, y: Int, scale: Int = 1) {
        precondition(scale >= 1, "paste: scale must be at least 1, got \(scale)")
        let source = channels == 3 ? image.rgb() : image.grayscale()
        for row in 0..<source.height * scale {
            let targetY = y + row
            if targetY < 0 || targetY >= height { continue }
            for column in 0..<source.width * scale {
                let targetX = x + column
                if targetX < 0 || targetX >= width { continue }
                let from = ((row / scale) * source.width + column / scale) * channels
                let to = (targetY * width + targetX) * channels
                for c in 0..<channels { pixels[to + c] = source.pixels[from + c] }
            }
        }
    }
}

/// A grid of equally sized cells, each an image with a strip below it for a caption: the
/// layout of `--grid` pictures. Captions are drawn by the caller (Data knows no font) into
/// `captionRect(at:)`; `cellRect(at:)` frames the image, e.g. to mark a mistake.
public struct ImageGrid {
    public let columns: Int
    public let rows: Int
    /// Size of each image after scaling, in pixels.
    public let cellWidth: Int
    public let cellHeight: Int
    /// Height of the caption strip under each image.
    public let captionHeight: Int
    /// Space around and between cells.
    public let padding: Int
    /// The composed RGB picture.
    public var canvas: PixelImage

    /// Lays out `count` cells of `cellWidth × cellHeight` in `columns` columns on a `background`.
    public init(
        count: Int, columns: Int, cellWidth: Int, cellHeight: Int, captionHeight: Int = 0,
        padding: Int = 4, background: [UInt8] = [255, 255, 255]
    ) {
        precondition(
            count > 0 && columns > 0 && cellWidth > 0 && cellHeight > 0 && background.count == 3,
            "ImageGrid: need a positive count, columns and cell size and an RGB background")
        self.columns = min(columns, count)
        self.rows = (count + columns - 1) / columns
        self.cellWidth = cellWidth
        self.cellHeight = cellHeight
        self.captionHeight = captionHeight
        self.padding = padding
        canvas = PixelImage(
            width: padding + self.columns * (cellWidth + padding),
            height: padding + rows * (cellHeight + captionHeight + padding), fill: background)
    }

    /// Where cell `index`'s image goes (row-major order of cells).
    public func cellRect(at index: Int) -> (x: Int, y: Int, width: Int, height: Int) {
        let column = index % columns, row = index / columns
        return (
            padding + column * (cellWidth + padding), padding + row * (cellHeight + captionHeight + padding),
            cellWidth, cellHeight
        )
    }

    /// The caption strip under cell `index`.
    public func captionRect(at index: Int) -> (x: Int, y: Int, width: Int, height: Int) {
        let cell = cellRect(at: index)
        return (cell.x, cell.y + cellHeight, cellWidth, captionHeight)
    }

    /// Puts `image` into cell `index`, scaled by the largest whole factor that fits, centred.
    public mutating func place(_ image: PixelImage, at index: Int) {
        let cell = cellRect(at: index)
        let scale = max(1, min(cellWidth / max(image.width, 1), cellHeight / max(image.height, 1)))
        canvas.paste(
            image, x: cell.x + (cellWidth - image.width * scale) / 2,
            y: cell.y + (cellHeight - image.height * scale) / 2, scale: scale)
    }
}
