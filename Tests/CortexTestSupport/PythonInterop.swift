import Foundation
import XCTest

/// Runs `scripts/python-interop` (the package's reference check against Python's
/// `safetensors` and TensorBoard) with `arguments` and returns its standard output.
///
/// Skips the test when python3 or one of the packages is missing (the script exits 77);
/// any other failure throws `PythonInteropFailure`, which fails the test with the script's
/// error output.
public func pythonInterop(_ arguments: [String]) throws -> String {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let script = root.appendingPathComponent("scripts/python-interop").path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", script] + arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    do {
        try process.run()
    } catch {
        throw missingPrerequisite("python3 is not available: \(error)")
    }
    let output = out.fileHandleForReading.readDataToEndOfFile()  // the script writes little to stderr
    let errors = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let message = String(decoding: errors, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    switch process.terminationStatus {
    case 0: return String(decoding: output, as: UTF8.self)
    case 77: throw missingPrerequisite(message)
    default: throw PythonInteropFailure(arguments: arguments, message: message)
    }
}

/// `scripts/python-interop` ran and failed: Python could not read what Cortex wrote.
public struct PythonInteropFailure: Error, CustomStringConvertible {
    public let arguments: [String]
    public let message: String
    public var description: String { "python-interop \(arguments.joined(separator: " ")) failed: \(message)" }
}
