import CZlib
import Foundation
import XCTest

/// A fresh directory under the system's temporary directory, removed when the test ends.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("DataTests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url.path
}

func writeFile(_ bytes: [UInt8], _ path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Writes `bytes` gzip-compressed through zlib (an encoder independent of the reader's inflate path).
func writeGzip(_ bytes: [UInt8], _ path: String) throws {
    guard let file = gzopen(path, "wb") else { throw CocoaError(.fileWriteUnknown) }
    let written = bytes.withUnsafeBytes { gzwrite(file, $0.baseAddress, UInt32($0.count)) }
    gzclose(file)
    XCTAssertEqual(Int(written), bytes.count)
}

/// The package root (this file is Tests/DataTests/Support.swift).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// Runs an executable found on PATH; nil when it is not installed.
func runTool(_ name: String, _ arguments: [String]) throws -> Int32? {
    let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
    guard let directory = directories.first(where: { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") })
    else {
        return nil
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "\(directory)/\(name)")
    process.arguments = arguments
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
}
