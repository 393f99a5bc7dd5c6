import CortexTestSupport
import Data
import Foundation
import XCTest

/// A fresh directory under the system's temporary directory, removed when the test ends.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("VisionTests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url.path
}

/// The first `count` Fashion-MNIST training images, or a skip when the Debian package is absent.
func fashionMNISTSample(_ count: Int) throws -> ImageDataset {
    guard FashionMNIST.isInstalled else {
        throw missingPrerequisite(
            "Fashion-MNIST is not installed at \(FashionMNIST.defaultDirectory) (scripts/setup installs dataset-fashion-mnist)"
        )
    }
    return try FashionMNIST.load(split: .train).subset(Array(0..<count))
}

/// A small IDX dataset written by hand: `count` 28×28 images of class `i % 4`, each a bright
/// bar in one of four places (top, bottom, left, right) with seeded noise, so a model can learn it.
func writeBarDataset(directory: String, split: String, count: Int, seed: UInt64) throws {
    var state = seed &+ 0x9E37_79B9_7F4A_7C15
    func noise() -> UInt8 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(truncatingIfNeeded: state >> 59)
    }
    var pixels = [UInt8](repeating: 0, count: count * 28 * 28)
    var labels = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        let label = i % 4
        labels[i] = UInt8(label)
        for y in 0..<28 {
            for x in 0..<28 {
                let on: Bool
                switch label {
                case 0: on = y < 8
                case 1: on = y >= 20
                case 2: on = x < 8
                default: on = x >= 20
                }
                pixels[i * 784 + y * 28 + x] = (on ? 200 : 20) &+ noise()
            }
        }
    }
    try IDXArray(elementType: .uint8, shape: [count, 28, 28], bytes: pixels)
        .write(to: "\(directory)/\(split)-images-idx3-ubyte")
    try IDXArray(elementType: .uint8, shape: [count], bytes: labels).write(
        to: "\(directory)/\(split)-labels-idx1-ubyte")
}

/// Runs `cortex` with `arguments`; returns the exit status, stdout and stderr (collected in
/// temporary files, so neither pipe can fill up and block the child).
func runCortex(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try cortexExecutable())
    process.arguments = arguments
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("cortex-run-\(UUID().uuidString)").path
    defer { for suffix in [".out", ".err"] { try? FileManager.default.removeItem(atPath: base + suffix) } }
    for suffix in [".out", ".err"] where !FileManager.default.createFile(atPath: base + suffix, contents: nil) {
        throw CocoaError(.fileWriteUnknown)
    }
    process.standardOutput = FileHandle(forWritingAtPath: base + ".out")
    process.standardError = FileHandle(forWritingAtPath: base + ".err")
    try process.run()
    process.waitUntilExit()
    let out = try String(contentsOfFile: base + ".out", encoding: .utf8)
    let err = try String(contentsOfFile: base + ".err", encoding: .utf8)
    return (process.terminationStatus, out, err)
}

/// The last stdout line of a `--json` run, parsed.
func lastJSONLine(_ stdout: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
    guard let last = stdout.split(separator: "\n").last,
        let object = try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any]
    else {
        XCTFail("no JSON line in: \(stdout)", file: file, line: line)
        return [:]
    }
    return object
}
