import CortexTestSupport
import Foundation
import XCTest

/// The README's first-minute tour runs as written: every `cortex` line of its block, in a fresh
/// folder, exits 0 (the binary stands in for `cortex`).
final class TourTests: XCTestCase {
    func testTheREADMETourRuns() throws {
        let readme = try String(
            contentsOf: ShippedModelsTests.root.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try XCTUnwrap(readme.components(separatedBy: "## The first minute").dropFirst().first)
        let block = try XCTUnwrap(
            section.components(separatedBy: "```sh\n").dropFirst().first?.components(separatedBy: "```").first)
        let lines = block.split(separator: "\n").map {
            String($0.split(separator: "#", maxSplits: 1)[0]).trimmingCharacters(in: .whitespaces)
        }
        .filter { $0.hasPrefix("cortex ") }
        XCTAssertGreaterThanOrEqual(lines.count, 3)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cortex-tour-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for line in lines {
            let words = line.split(separator: " ").dropFirst().map(String.init)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try cortexExecutable())
            process.arguments = words
            process.currentDirectoryURL = folder
            process.standardOutput = FileHandle.nullDevice
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, "\(line):\n\(stderr)")
        }
    }
}
