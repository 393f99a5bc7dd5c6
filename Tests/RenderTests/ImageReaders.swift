import Envs
import Foundation
import XCTest

/// A GIF decoder written for the tests from the GIF89a specification alone, independent of
/// the writer: it parses every block and decodes LZW with the decoder's own table rules.
struct DecodedGIF {
    var width = 0, height = 0
    var globalTableSize = 0
    var loopCount: Int?
    /// Each frame composited onto the previous one (disposal "do not dispose"), as a viewer shows it.
    var frames: [Frame] = []
    var delays: [Int] = []
    var localTables: [Int] = []  // entries of each frame's local table, 0 when none

    struct Malformed: Error, CustomStringConvertible { let description: String }

    init(_ bytes: [UInt8]) throws {
        var at = 0
        func byte() throws -> Int {
            guard at < bytes.count else { throw Malformed(description: "truncated at \(at)") }
            at += 1
            return Int(bytes[at - 1])
        }
        func u16() throws -> Int {
            let lo = try byte()
            return lo | (try byte()) << 8
        }
        func table(_ entries: Int) throws -> [RGB] {
            try (0..<entries).map { _ in RGB(UInt8(try byte()), UInt8(try byte()), UInt8(try byte())) }
        }
        func subBlocks() throws -> [UInt8] {
            var data: [UInt8] = []
            while true {
                let n = try byte()
                if n == 0 { return data }
                guard at + n <= bytes.count else { throw Malformed(description: "sub-block past end") }
                data += bytes[at..<at + n]
                at += n
            }
        }
        guard bytes.count >= 13, String(decoding: bytes[0..<6], as: UTF8.self) == "GIF89a" else {
            throw Malformed(description: "no GIF89a header")
        }
        at = 6
        width = try u16()
        height = try u16()
        let flags = try byte()
        _ = try byte()
        _ = try byte()
        var global: [RGB] = []
        if flags & 0x80 != 0 {
            globalTableSize = 1 << ((flags & 7) + 1)
            global = try table(globalTableSize)
        }
        var canvas = Frame(width: width, height: height)
        var delay = 0
        while true {
            switch try byte() {
            case 0x21:
                let label = try byte()
                let data = try subBlocks()
                if label == 0xF9 {
                    guard data.count == 4 else { throw Malformed(description: "graphic control size") }
                    delay = Int(data[1]) | Int(data[2]) << 8
                } else if label == 0xFF, data.count == 14,
                    String(decoding: data[0..<11], as: UTF8.self) == "NETSCAPE2.0"
                {
                    loopCount = Int(data[12]) | Int(data[13]) << 8
                }
            case 0x2C:
                let left = try u16(), top = try u16(), w = try u16(), h = try u16()
                let imageFlags = try byte()
                var palette = global
                var localSize = 0
                if imageFlags & 0x80 != 0 {
                    localSize = 1 << ((imageFlags & 7) + 1)
                    palette = try table(localSize)
                }
                guard imageFlags & 0x40 == 0 else { throw Malformed(description: "interlaced") }
                let minCodeSize = try byte()
                let indices = try decodeLZW(try subBlocks(), minCodeSize: minCodeSize, count: w * h)
                guard left + w <= width, top + h <= height else { throw Malformed(description: "frame outside screen") }
                for y in 0..<h {
                    for x in 0..<w {
                        let i = Int(indices[y * w + x])
                        guard i < palette.count else { throw Malformed(description: "index \(i) past table") }
                        canvas[left + x, top + y] = palette[i]
                    }
                }
                frames.append(canvas)
                delays.append(delay)
                localTables.append(localSize)
            case 0x3B:
                return
            case let other:
                throw Malformed(description: "unknown block 0x\(String(other, radix: 16)) at \(at - 1)")
            }
        }
    }
}

/// Textbook GIF LZW decoding: the table holds (prefix, suffix) pairs; after each code but the
/// first after a clear, the entry `previous + first(current)` is added; the code width grows
/// when the next free code reaches 2^width (at most 12 bits).
func decodeLZW(_ data: [UInt8], minCodeSize: Int, count: Int) throws -> [UInt8] {
    let clear = 1 << minCodeSize, end = clear + 1
    var prefix = [Int](repeating: -1, count: 4096)
    var suffix = [UInt8](repeating: 0, count: 4096)
    for i in 0..<clear { suffix[i] = UInt8(i) }
    var width = minCodeSize + 1
    var next = clear + 2
    var previous = -1
    var bitPosition = 0
    var output: [UInt8] = []
    func string(_ code: Int) -> [UInt8] {
        var s: [UInt8] = []
        var c = code
        while c >= 0 {
            s.append(suffix[c])
            c = prefix[c]
        }
        return s.reversed()
    }
    while true {
        guard bitPosition + width <= data.count * 8 else {
            throw DecodedGIF.Malformed(description: "LZW data ended without end code")
        }
        var code = 0
        for b in 0..<width {
            let p = bitPosition + b
            code |= Int(data[p >> 3] >> UInt8(p & 7) & 1) << b
        }
        bitPosition += width
        if code == clear {
            width = minCodeSize + 1
            next = clear + 2
            previous = -1
            continue
        }
        if code == end { break }
        let entry: [UInt8]
        if code < next && (code < clear || code > end) {
            entry = string(code)
            if previous >= 0 && next < 4096 {
                prefix[next] = previous
                suffix[next] = entry[0]
                next += 1
            }
        } else if code == next && previous >= 0 {
            let p = string(previous)
            entry = p + [p[0]]
            prefix[next] = previous
            suffix[next] = p[0]
            next += 1
        } else {
            throw DecodedGIF.Malformed(description: "LZW code \(code) not in table (next \(next))")
        }
        output += entry
        previous = code
        if next == 1 << width && width < 12 { width += 1 }
    }
    guard output.count == count else {
        throw DecodedGIF.Malformed(description: "LZW gave \(output.count) pixels, expected \(count)")
    }
    return output
}

/// Reads a binary PPM (P6, maxval 255), as ImageMagick writes with `ppm:-`.
func readPPM(_ bytes: [UInt8]) throws -> Frame {
    var at = 0
    func token() -> String {
        while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x0A || bytes[at] == 0x0D || bytes[at] == 0x09 {
            at += 1
        }
        let start = at
        while at < bytes.count, !(bytes[at] == 0x20 || bytes[at] == 0x0A || bytes[at] == 0x0D || bytes[at] == 0x09) {
            at += 1
        }
        return String(decoding: bytes[start..<at], as: UTF8.self)
    }
    guard token() == "P6", let w = Int(token()), let h = Int(token()), token() == "255" else {
        throw DecodedGIF.Malformed(description: "not a P6 PPM with maxval 255")
    }
    at += 1
    guard bytes.count - at >= w * h * 3 else { throw DecodedGIF.Malformed(description: "PPM truncated") }
    var frame = Frame(width: w, height: h)
    frame.pixels = Array(bytes[at..<at + w * h * 3])
    return frame
}

/// Finds an executable on PATH.
func which(_ name: String) -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let path = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}

/// Runs a program to completion (killed after `timeout` seconds); returns its exit status, stdout and stderr. Output goes
/// through temporary files, so a chatty child never blocks on a full pipe.
@discardableResult
func runProgram(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
    timeout: Double = 60
) throws -> (status: Int32, stdout: [UInt8], stderr: String) {
    let dir = try temporaryDirectory("run-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let outURL = dir.appendingPathComponent("out"), errURL = dir.appendingPathComponent("err")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    process.standardOutput = try FileHandle(forWritingTo: outURL)
    process.standardError = try FileHandle(forWritingTo: errURL)
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(20_000) }
    if process.isRunning {
        process.terminate()
        process.waitUntilExit()
        XCTFail("\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout) s")
    }
    process.waitUntilExit()
    return (
        process.terminationStatus, Array(try Data(contentsOf: outURL)),
        String(decoding: try Data(contentsOf: errURL), as: UTF8.self)
    )
}

/// A fresh directory for one test's files.
func temporaryDirectory(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("cortex-render-\(name)-\(ProcessInfo.processInfo.processIdentifier)")
    try? FileManager.default.removeItem(at: url)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
