/// The picture every game draws: a 10 × 10 playfield of 14 × 14-pixel cells between 14-pixel
/// side walls, under an 8-pixel top wall and a 20-pixel strip for score and lives — 168 × 168
/// pixels, exactly twice the 84 × 84 observation, so the area resize is a 2 × 2 mean.
public enum Screen {
    /// Side of one grid cell in pixels.
    public static let cell = 14
    /// Thickness of the left and right walls.
    public static let sideWall = 14
    /// Thickness of the wall above the playfield.
    public static let topWall = 8
    /// Height of the strip for score and lives at the top.
    public static let hudHeight = 20
    /// Scale of the HUD font (5 × 7 glyphs drawn 10 × 14).
    public static let hudScale = 2
    /// Left edge of the playfield.
    public static let playfieldX = sideWall
    /// Top edge of the playfield.
    public static let playfieldY = hudHeight + topWall
    public static let width = sideWall + 10 * cell + sideWall
    public static let height = hudHeight + topWall + 10 * cell

    /// Left edge of grid column `column`.
    @inline(__always) public static func x(_ column: Int) -> Int { playfieldX + column * cell }
    /// Top edge of grid row `row`.
    @inline(__always) public static func y(_ row: Int) -> Int { playfieldY + row * cell }
}

/// DQN's frame preprocessing (Mnih et al. 2015): luminance, then a resize to 84 × 84 by area
/// averaging (OpenCV's `INTER_AREA`: each output pixel is the mean of the source area it covers,
/// partial pixels weighted by their covered fraction).
public enum PixelPreprocessing {
    /// Side of the square observation.
    public static let size = 84

    /// The 84 × 84 observation of a colour frame: luminance, then area resize. This is the
    /// definition; games compute the same bytes faster by drawing in gray directly.
    public static func observation(of frame: Frame) -> [UInt8] {
        let gray = GrayFrame(luminanceOf: frame)
        return [UInt8](unsafeUninitializedCapacity: size * size) { buffer, count in
            downsample(gray, into: buffer)
            count = size * size
        }
    }

    /// Area-resizes `gray` to 84 × 84 bytes, row-major, into `buffer`.
    public static func downsample(_ gray: GrayFrame, into buffer: UnsafeMutableBufferPointer<UInt8>) {
        precondition(
            buffer.count >= size * size,
            "PixelPreprocessing.downsample: buffer holds \(buffer.count) bytes, needs \(size * size)")
        if gray.width == 2 * size && gray.height == 2 * size {
            halve(gray, into: buffer)
        } else {
            AreaResizePlan(inWidth: gray.width, inHeight: gray.height, outWidth: size, outHeight: size)
                .apply(gray.pixels, into: buffer)
        }
    }

    /// Area-resizes `gray` to any `width × height` (the general plan; `downsample` takes a faster
    /// path for the game pictures, which are exactly twice 84 × 84).
    public static func resizeArea(_ gray: GrayFrame, width: Int, height: Int) -> GrayFrame {
        var out = GrayFrame(width: width, height: height)
        out.pixels.withUnsafeMutableBufferPointer { buffer in
            AreaResizePlan(inWidth: gray.width, inHeight: gray.height, outWidth: width, outHeight: height)
                .apply(gray.pixels, into: buffer)
        }
        return out
    }

    /// The area resize for an exact factor of 2: each output pixel is the mean of a 2 × 2
    /// block, rounded half up (the general plan gives the same bytes, slower). Works on 8 source
    /// bytes at a time in the four 16-bit lanes of a `UInt64` (even and odd bytes summed apart).
    static func halve(_ gray: GrayFrame, into out: UnsafeMutableBufferPointer<UInt8>) {
        let width = gray.width
        let evenBytes: UInt64 = 0x00FF_00FF_00FF_00FF
        let two: UInt64 = 0x0002_0002_0002_0002
        gray.pixels.withUnsafeBytes { raw in
            let src = raw.baseAddress!
            let dst = UnsafeMutableRawPointer(out.baseAddress!)
            for oy in 0..<size {
                let top = 2 * oy * width, bottom = top + width
                for group in 0..<(size / 4) {
                    let a = src.loadUnaligned(fromByteOffset: top + 8 * group, as: UInt64.self)
                    let b = src.loadUnaligned(fromByteOffset: bottom + 8 * group, as: UInt64.self)
                    // Lane k holds bytes 2k and 2k+1 of both rows summed, at most 4 · 255.
                    var lanes = (a & evenBytes) + ((a >> 8) & evenBytes) + (b & evenBytes) + ((b >> 8) & evenBytes)
                    lanes = ((lanes + two) >> 2) & evenBytes
                    // Pack the low byte of each 16-bit lane into 4 consecutive bytes.
                    lanes = (lanes | (lanes >> 8)) & 0x0000_FFFF_0000_FFFF
                    lanes = (lanes | (lanes >> 16)) & 0xFFFF_FFFF
                    dst.storeBytes(
                        of: UInt32(truncatingIfNeeded: lanes).littleEndian,
                        toByteOffset: oy * size + 4 * group, as: UInt32.self)
                }
            }
        }
    }
}

/// Precomputed weights of a separable area resize: for every output index along an axis, `taps`
/// (source index, weight) pairs, the weights of one output summing to 1.
struct AreaResizePlan: Sendable {
    struct Axis: Sendable {
        let taps: Int
        let index: [Int]
        let weight: [Float]

        init(input: Int, output: Int) {
            precondition(input > 0 && output > 0, "AreaResizePlan: sizes must be positive, got \(input) → \(output)")
            let scale = Double(input) / Double(output)
            taps = Int(scale.rounded(.up)) + 1
            var index = [Int](repeating: 0, count: output * taps)
            var weight = [Float](repeating: 0, count: output * taps)
            for o in 0..<output {
                let lo = Double(o) * scale, hi = Double(o + 1) * scale
                var t = 0
                var j = Int(lo.rounded(.down))
                while Double(j) < hi && j < input {
                    let covered = min(hi, Double(j + 1)) - max(lo, Double(j))
                    if covered > 1e-9 {
                        index[o * taps + t] = j
                        weight[o * taps + t] = Float(covered / scale)
                        t += 1
                    }
                    j += 1
                }
            }
            self.index = index
            self.weight = weight
        }
    }

    let inWidth: Int, inHeight: Int, outWidth: Int, outHeight: Int
    let rows: Axis, columns: Axis

    init(inWidth: Int, inHeight: Int, outWidth: Int, outHeight: Int) {
        self.inWidth = inWidth
        self.inHeight = inHeight
        self.outWidth = outWidth
        self.outHeight = outHeight
        rows = Axis(input: inHeight, output: outHeight)
        columns = Axis(input: inWidth, output: outWidth)
    }

    /// Vertical pass into floats (contiguous, vectorises), then horizontal pass with rounding.
    func apply(_ source: [UInt8], into out: UnsafeMutableBufferPointer<UInt8>) {
        let inW = inWidth, outW = outWidth, outH = outHeight
        let rowTaps = rows.taps, columnTaps = columns.taps
        withUnsafeTemporaryAllocation(of: Float.self, capacity: outH * inW) { mid in
            source.withUnsafeBufferPointer { src in
                rows.index.withUnsafeBufferPointer { ri in
                    rows.weight.withUnsafeBufferPointer { rw in
                        for o in 0..<outH {
                            let line = o * inW
                            for x in 0..<inW { mid[line + x] = 0 }
                            for t in 0..<rowTaps {
                                let w = rw[o * rowTaps + t]
                                if w == 0 { continue }
                                let from = ri[o * rowTaps + t] * inW
                                for x in 0..<inW { mid[line + x] += w * Float(src[from + x]) }
                            }
                        }
                    }
                }
            }
            columns.index.withUnsafeBufferPointer { ci in
                columns.weight.withUnsafeBufferPointer { cw in
                    for o in 0..<outH {
                        let line = o * inW
                        for x in 0..<outW {
                            var sum: Float = 0
                            for t in 0..<columnTaps {
                                sum += cw[x * columnTaps + t] * mid[line + ci[x * columnTaps + t]]
                            }
                            out[o * outW + x] = UInt8(min(255, sum + 0.5))
                        }
                    }
                }
            }
        }
    }
}
