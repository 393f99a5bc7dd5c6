import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed file operation, as one line: what, which file, and the system's reason.
public struct FileError: Error, CustomStringConvertible, LocalizedError {
    public let path: String
    public let operation: String
    public let reason: String

    public init(path: String, operation: String, reason: String) {
        self.path = path
        self.operation = operation
        self.reason = reason
    }

    /// The current `errno` as a `FileError`.
    static func posix(_ operation: String, _ path: String) -> FileError {
        FileError(path: path, operation: operation, reason: String(cString: strerror(errno)))
    }

    public var description: String { "cannot \(operation) \(path): \(reason)" }
    public var errorDescription: String? { description }
}

/// Sequential writes to an open file descriptor (retrying short writes and EINTR).
struct FileSink {
    let descriptor: Int32
    let path: String

    func write(_ bytes: UnsafeRawPointer, count: Int) throws {
        var done = 0
        while done < count {
            let n = Glibc.write(descriptor, bytes + done, count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError.posix("write", path)
            }
            done += n
        }
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0.baseAddress!, count: $0.count) }
    }
}

/// Writes a file so that readers see either the old file or the complete new one, never a
/// partial one: the bytes go to a temporary file in the same folder, which is flushed to
/// disk (`fsync`) and then renamed over `path` (rename is atomic within one file system);
/// finally the folder is flushed so the rename itself survives a crash.
func writeFileAtomically(_ path: String, _ body: (FileSink) throws -> Void) throws {
    let url = URL(fileURLWithPath: path)
    let folder = url.deletingLastPathComponent().path
    let temporary = folder + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw FileError.posix("create", temporary) }
    var renamed = false
    defer {
        if !renamed { unlink(temporary) }
    }
    do {
        try body(FileSink(descriptor: descriptor, path: temporary))
        guard fsync(descriptor) == 0 else { throw FileError.posix("flush", temporary) }
    } catch {
        close(descriptor)
        throw error
    }
    guard close(descriptor) == 0 else { throw FileError.posix("close", temporary) }
    guard rename(temporary, path) == 0 else { throw FileError.posix("rename into place", path) }
    renamed = true
    let folderDescriptor = open(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if folderDescriptor >= 0 {
        _ = fsync(folderDescriptor)
        close(folderDescriptor)
    }
}

/// The whole content of a file.
func readWholeFile(_ path: String) throws -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw FileError.posix("open", path) }
    defer { close(descriptor) }
    var info = stat()
    guard fstat(descriptor, &info) == 0 else { throw FileError.posix("stat", path) }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
        throw FileError(path: path, operation: "read", reason: "not a regular file")
    }
    let size = Int(info.st_size)
    var bytes = [UInt8](repeating: 0, count: size)
    var done = 0
    try bytes.withUnsafeMutableBytes { buffer in
        while done < size {
            let n = read(descriptor, buffer.baseAddress! + done, size - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError.posix("read", path)
            }
            if n == 0 { break }
            done += n
        }
    }
    if done < size { bytes.removeLast(size - done) }
    return bytes
}

/// Creates a folder and its parents if missing.
func createFolder(_ path: String) throws {
    do {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    } catch {
        throw FileError(path: path, operation: "create folder", reason: (error as NSError).localizedDescription)
    }
}
