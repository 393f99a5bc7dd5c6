import Envs
import Foundation

/// A file the renderer could not write.
public struct RenderError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Writes an animated GIF89a (CompuServe 1990, "Graphics Interchange Format, Version 89a") from
/// RGB frames, looping forever by default (Netscape 2.0 application extension).
///
/// Palette: frames share one exact global colour table as long as the whole recording uses at
/// most 256 colours (games use a handful). A frame that brings new colours past 256 gets its
/// own exact local table if it has at most 256 colours itself, otherwise a fixed 6×7×6 colour
/// cube (252 colours, nearest level per channel). The global table is assembled as colours
/// appear and written in front of the frames by `data()`, so the file is kept in memory
/// (compressed: a few kB per frame for a game) until then.
///
/// Size: with `optimizeRegions` each frame after the first stores only the bounding box of the
/// pixels that changed (disposal "do not dispose"); decoders composite them into the same
/// pictures. Delays are whole centiseconds, accumulated so that the average rate is the
/// requested one; no delay is shorter than 2 cs, as browsers show shorter ones at 10 cs.
public final class GIFWriter {
    public let width: Int
    public let height: Int
    /// Frames per second the animation plays at (at most 50, see the type's documentation).
    public let framesPerSecond: Double
    /// How often a viewer repeats the animation; 0 loops forever.
    public let loopCount: Int
    public let optimizeRegions: Bool
    /// Frames added so far.
    public private(set) var frameCount = 0

    private var body: [UInt8] = []
    private var globalPalette: [RGB] = []
    private var globalIndex: [UInt32: UInt8] = [:]
    private var previous: [UInt8] = []
    private var elapsedCentiseconds = 0
    private var indexBuffer: [UInt8] = []

    /// - Parameters:
    ///   - width, height: the size of every frame (1…65535).
    ///   - framesPerSecond: playback rate, in (0, 50].
    ///   - loopCount: repetitions, 0 for forever.
    ///   - optimizeRegions: store only the changed rectangle of each frame.
    public init(
        width: Int, height: Int, framesPerSecond: Double, loopCount: Int = 0,
        optimizeRegions: Bool = true
    ) {
        precondition(
            (1...65535).contains(width) && (1...65535).contains(height),
            "GIFWriter: frame size \(width)×\(height) outside 1…65535")
        precondition(
            framesPerSecond > 0 && framesPerSecond <= 50,
            "GIFWriter: \(framesPerSecond) frames per second outside (0, 50]")
        precondition((0...65535).contains(loopCount), "GIFWriter: loop count \(loopCount) outside 0…65535")
        self.width = width
        self.height = height
        self.framesPerSecond = framesPerSecond
        self.loopCount = loopCount
        self.optimizeRegions = optimizeRegions
    }

    /// Appends one frame of the writer's size.
    public func add(_ frame: Frame) {
        precondition(
            frame.width == width && frame.height == height,
            "GIFWriter.add: frame \(frame.width)×\(frame.height), writer \(width)×\(height)")
        var region = (x: 0, y: 0, width: width, height: height)
        if optimizeRegions && frameCount > 0 {
            region = changedRegion(from: previous, to: frame.pixels)
        }
        previous = frame.pixels

        let table = indexRegion(frame, region)
        let delay = nextDelay()
        frameCount += 1

        // Graphic control extension: disposal 1 (leave in place), delay, no transparency.
        body += [0x21, 0xF9, 0x04, 1 << 2]
        appendUInt16(delay)
        body += [0x00, 0x00]
        // Image descriptor, then the local table if any.
        body.append(0x2C)
        appendUInt16(region.x)
        appendUInt16(region.y)
        appendUInt16(region.width)
        appendUInt16(region.height)
        if let local = table {
            let bits = tableBits(local.count)
            body.append(0x80 | UInt8(bits - 1))
            appendPalette(local, entries: 1 << bits, into: &body)
        } else {
            body.append(0x00)
        }
        let maxIndex = indexBuffer.max() ?? 0
        let minCodeSize = LZW.minCodeSize(maxIndex: Int(maxIndex))
        let codes = indexBuffer.withUnsafeBufferPointer { LZW.encode($0, minCodeSize: minCodeSize) }
        body.append(UInt8(minCodeSize))
        var start = 0
        while start < codes.count {
            let length = min(255, codes.count - start)
            body.append(UInt8(length))
            body += codes[start..<start + length]
            start += length
        }
        body.append(0x00)
    }

    /// The complete file: header, global colour table, loop extension, frames, trailer.
    public func data() -> [UInt8] {
        precondition(frameCount > 0, "GIFWriter.data: no frames added")
        var out: [UInt8] = Array("GIF89a".utf8)
        func u16(_ v: Int) {
            out.append(UInt8(v & 0xFF))
            out.append(UInt8(v >> 8))
        }
        u16(width)
        u16(height)
        let bits = tableBits(globalPalette.count)
        // Global table present, 8 bits per primary in the source, table size 2^bits.
        out.append(0x80 | 0x70 | UInt8(bits - 1))
        out += [0x00, 0x00]
        appendPalette(globalPalette, entries: 1 << bits, into: &out)
        out += [0x21, 0xFF, 0x0B]
        out += Array("NETSCAPE2.0".utf8)
        out += [0x03, 0x01]
        u16(loopCount)
        out.append(0x00)
        out += body
        out.append(0x3B)
        return out
    }

    /// Writes `data()` to `path` atomically (a temporary file renamed into place).
    public func write(to path: String) throws {
        do {
            try Data(data()).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw RenderError("cannot write \(path): \(error.localizedDescription)")
        }
    }

    // MARK: - Frames

    /// The delay of the next frame in centiseconds: the rounded end time minus what was given out.
    private func nextDelay() -> Int {
        let end = Int((Double(frameCount + 1) * 100 / framesPerSecond).rounded())
        let delay = max(2, end - elapsedCentiseconds)
        elapsedCentiseconds += delay
        return delay
    }

    /// The bounding box of the pixels that differ; 1×1 at the origin when none does.
    private func changedRegion(from old: [UInt8], to new: [UInt8]) -> (x: Int, y: Int, width: Int, height: Int) {
        var x0 = width, y0 = height, x1 = -1, y1 = -1
        let rowBytes = width * 3
        old.withUnsafeBufferPointer { a in
            new.withUnsafeBufferPointer { b in
                for y in 0..<height {
                    let row = y * rowBytes
                    // Most rows of a game picture do not change: compare them whole first.
                    if memcmp(a.baseAddress! + row, b.baseAddress! + row, rowBytes) == 0 { continue }
                    var first = 0, last = rowBytes - 1
                    while a[row + first] == b[row + first] { first += 1 }
                    while a[row + last] == b[row + last] { last -= 1 }
                    x0 = min(x0, first / 3)
                    x1 = max(x1, last / 3)
                    y0 = min(y0, y)
                    y1 = y
                }
            }
        }
        if x1 < 0 { return (0, 0, 1, 1) }
        return (x0, y0, x1 - x0 + 1, y1 - y0 + 1)
    }

    /// Fills `indexBuffer` with the region's palette indices; returns the local table when the
    /// frame cannot use the global one.
    private func indexRegion(_ frame: Frame, _ r: (x: Int, y: Int, width: Int, height: Int)) -> [RGB]? {
        // Distinct colours of the region, in order of appearance.
        var seen: [UInt32: Int] = [:]
        var colours: [RGB] = []
        forEachColour(frame, r) { key in
            if seen[key] == nil {
                seen[key] = colours.count
                colours.append(unpack(key))
            }
        }
        let new = colours.filter { globalIndex[pack($0)] == nil }
        if globalPalette.count + new.count <= 256 {
            for c in new {
                globalIndex[pack(c)] = UInt8(globalPalette.count)
                globalPalette.append(c)
            }
            let map = globalIndex
            fillIndices(frame, r) { map[$0]! }
            return nil
        }
        if colours.count <= 256 {
            fillIndices(frame, r) { UInt8(seen[$0]!) }
            return colours
        }
        fillIndices(frame, r) { key in
            let c = unpack(key)
            let ri = (Int(c.r) * 5 + 127) / 255, gi = (Int(c.g) * 6 + 127) / 255
            let bi = (Int(c.b) * 5 + 127) / 255
            return UInt8((ri * 7 + gi) * 6 + bi)
        }
        return Self.colourCube
    }

    /// 6 levels of red × 7 of green × 6 of blue, index `(r·7 + g)·6 + b`.
    static let colourCube: [RGB] = {
        var cube: [RGB] = []
        for r in 0..<6 {
            for g in 0..<7 {
                for b in 0..<6 {
                    cube.append(RGB(UInt8(r * 255 / 5), UInt8(g * 255 / 6), UInt8(b * 255 / 5)))
                }
            }
        }
        return cube
    }()

    private func forEachColour(
        _ frame: Frame, _ r: (x: Int, y: Int, width: Int, height: Int),
        _ body: (UInt32) -> Void
    ) {
        var last: UInt32 = .max
        frame.pixels.withUnsafeBufferPointer { p in
            for y in r.y..<r.y + r.height {
                var i = (y * width + r.x) * 3
                for _ in 0..<r.width {
                    let key = UInt32(p[i]) << 16 | UInt32(p[i + 1]) << 8 | UInt32(p[i + 2])
                    if key != last {
                        body(key)
                        last = key
                    }
                    i += 3
                }
            }
        }
    }

    private func fillIndices(
        _ frame: Frame, _ r: (x: Int, y: Int, width: Int, height: Int),
        _ index: (UInt32) -> UInt8
    ) {
        // A local array, moved in and out: appending to the stored property inside the loop
        // costs a dynamic exclusivity check per pixel.
        var indices = [UInt8](repeating: 0, count: r.width * r.height)
        let frameWidth = width
        var lastKey: UInt32 = .max, lastIndex: UInt8 = 0
        frame.pixels.withUnsafeBufferPointer { p in
            indices.withUnsafeMutableBufferPointer { out in
                var o = 0
                for y in r.y..<r.y + r.height {
                    var i = (y * frameWidth + r.x) * 3
                    for _ in 0..<r.width {
                        let key = UInt32(p[i]) << 16 | UInt32(p[i + 1]) << 8 | UInt32(p[i + 2])
                        if key != lastKey {
                            lastIndex = index(key)
                            lastKey = key
                        }
                        out[o] = lastIndex
                        o += 1
                        i += 3
                    }
                }
            }
        }
        indexBuffer = indices
    }

    // MARK: - Bytes

    private func appendUInt16(_ v: Int) {
        body.append(UInt8(v & 0xFF))
        body.append(UInt8(v >> 8))
    }

    /// Bits of a colour table holding `count` colours: 2^bits ≥ count, at least 2 entries.
    private func tableBits(_ count: Int) -> Int {
        var bits = 1
        while (1 << bits) < count { bits += 1 }
        return bits
    }

    private func appendPalette(_ palette: [RGB], entries: Int, into out: inout [UInt8]) {
        for c in palette { out += [c.r, c.g, c.b] }
        out += [UInt8](repeating: 0, count: (entries - palette.count) * 3)
    }
}

@inline(__always) private func pack(_ c: RGB) -> UInt32 {
    UInt32(c.r) << 16 | UInt32(c.g) << 8 | UInt32(c.b)
}

@inline(__always) private func unpack(_ key: UInt32) -> RGB {
    RGB(UInt8(key >> 16), UInt8((key >> 8) & 0xFF), UInt8(key & 0xFF))
}
