import CZlib
import Foundation

/// A byte stream from a file that may be gzip-compressed: zlib's `gzread` inflates a gzip file
/// and passes any other file through unchanged, so readers handle `x` and `x.gz` alike.
final class FileInput {
    let path: String
    private let file: gzFile
    /// Uncompressed bytes handed out so far.
    private(set) var position = 0

    /// Opens `path`; throws `fileNotFound` or `unreadable` with the reason.
    init(path: String) throws {
        try FileInput.checkReadableFile(path)
        guard let file = gzopen(path, "rb") else {
            throw DataError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        self.path = path
        self.file = file
        // Large reads go straight into the caller's buffer; a bigger inflate buffer halves the calls.
        gzbuffer(file, 1 << 17)
    }

    deinit { gzclose(file) }

    /// Throws `fileNotFound` when nothing is at `path` and `unreadable` for a directory.
    static func checkReadableFile(_ path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError.fileNotFound(path: path)
        }
        if isDirectory.boolValue { throw DataError.unreadable(path: path, reason: "is a directory") }
    }

    /// Fills `buffer` with up to `count` bytes; returns how many arrived (fewer only at the end of
    /// the stream, including a gzip stream cut short). Throws `unreadable` on a corrupt stream.
    func read(into buffer: UnsafeMutableRawPointer, count: Int) throws -> Int {
        var done = 0
        while done < count {
            let chunk = UInt32(min(count - done, 1 << 30))
            let got = gzread(file, buffer + done, chunk)
            if got < 0 || (got == 0 && gzeof(file) == 0) {
                var code: Int32 = 0
                let message = String(cString: gzerror(file, &code))
                // Z_BUF_ERROR: the gzip stream ends mid-member, i.e. a truncated .gz file.
                if code == Z_BUF_ERROR { break }
                throw DataError.unreadable(path: path, reason: message)
            }
            if got == 0 { break }
            done += Int(got)
        }
        position += done
        return done
    }

    /// Reads exactly `count` bytes or throws `truncated` naming the size the caller expected
    /// (`expectedTotal`, e.g. header + payload) and the size actually found.
    func readExactly(into buffer: UnsafeMutableRawPointer, count: Int, expectedTotal: Int) throws {
        let got = try read(into: buffer, count: count)
        if got < count {
            throw DataError.truncated(path: path, expectedBytes: expectedTotal, actualBytes: position)
        }
    }

    /// Reads `count` bytes into a fresh array (exactly, else `truncated`). The array grows with
    /// what the file really holds, 64 MB at a time, so a header that claims a terabyte fails as
    /// a truncated file instead of asking for a terabyte of memory first.
    func readBytes(_ count: Int, expectedTotal: Int) throws -> [UInt8] {
        let step = 1 << 26
        if count <= step {
            var bytes = [UInt8](repeating: 0, count: count)
            try bytes.withUnsafeMutableBytes {
                try readExactly(into: $0.baseAddress!, count: count, expectedTotal: expectedTotal)
            }
            return bytes
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: step)
        while bytes.count < count {
            let want = min(step, count - bytes.count)
            let got = try chunk.withUnsafeMutableBytes { try read(into: $0.baseAddress!, count: want) }
            bytes += chunk[0..<got]
            if got < want { throw DataError.truncated(path: path, expectedBytes: expectedTotal, actualBytes: position) }
        }
        return bytes
    }

    /// The number of bytes left in the stream (reads and discards them).
    func remainingByteCount() throws -> Int {
        var scratch = [UInt8](repeating: 0, count: 1 << 16)
        var total = 0
        while true {
            let got = try scratch.withUnsafeMutableBytes { try read(into: $0.baseAddress!, count: $0.count) }
            if got == 0 { return total }
            total += got
        }
    }

    /// The bytes of `path` as stored (no gunzipping), with the errors of `checkReadableFile`.
    static func readRaw(_ path: String) throws -> [UInt8] {
        try checkReadableFile(path)
        do {
            return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw DataError.unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
    }

    /// The whole (uncompressed) content of `path`.
    static func readAll(_ path: String) throws -> [UInt8] {
        let input = try FileInput(path: path)
        var bytes: [UInt8] = []
        var scratch = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let got = try scratch.withUnsafeMutableBytes { try input.read(into: $0.baseAddress!, count: $0.count) }
            if got == 0 { return bytes }
            bytes.append(contentsOf: scratch[0..<got])
        }
    }
}

/// Writes `bytes` to `path` atomically (a temporary file in the same directory, then rename), so
/// that a reader never sees half a file.
func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    do {
        try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        throw DataError.writeFailed(path: path, reason: (error as NSError).localizedDescription)
    }
}
