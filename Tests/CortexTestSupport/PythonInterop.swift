import Foundation
import XCTest

/// Runs `scripts/python-interop` (the package's reference check against Python's
/// `safetensors` and TensorBoard) with `arguments` and returns its standard output.
///
/// Skips the test when python3 or one of the packages is missing (the script exits 77);
/// any other failure throws `PythonInteropFailure`, which fails the test with the script's
/// error output.
public func pythonInterop(_ arguments: [String]) throws -> String {
    try runPython(interpreter: ["/usr/bin/env", "python3"], script: "scripts/python-interop", arguments)
}

/// Runs `scripts/reference/modules.py` (PyTorch modules with Cortex's checkpoint names) with the
/// PyTorch venv's interpreter (`.venv-torch`, which `scripts/test` builds on Debian's
/// python3-torch), or `/usr/bin/python3` when there is no venv; skips when torch is missing.
public func pytorchReference(_ arguments: [String]) throws -> String {
    try runPython(interpreter: [pytorchInterpreter], script: "scripts/reference/modules.py", arguments)
}

/// Runs `scripts/reference/bench.py` (the PyTorch side of `cortex bench pytorch`) as
/// `pytorchReference` runs modules.py; skips when torch is missing.
public func pytorchBench(_ arguments: [String]) throws -> String {
    try runPython(interpreter: [pytorchInterpreter], script: "scripts/reference/bench.py", arguments)
}

/// Runs `scripts/reference/dcgan.py` (PyTorch's DCGAN of Cortex's shape) as `pytorchReference`
/// runs modules.py; skips when torch is missing.
public func pytorchDCGAN(_ arguments: [String]) throws -> String {
    try runPython(interpreter: [pytorchInterpreter], script: "scripts/reference/dcgan.py", arguments)
}

/// `.venv-torch/bin/python` when `scripts/test` has built it, else `/usr/bin/python3`.
private var pytorchInterpreter: String {
    let venv = packageRoot.appendingPathComponent(".venv-torch/bin/python").path
    return FileManager.default.isExecutableFile(atPath: venv) ? venv : "/usr/bin/python3"
}

/// The package's root folder (three levels above this file).
public let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

func runPython(interpreter: [String], script: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: interpreter[0])
    process.arguments = Array(interpreter.dropFirst()) + [packageRoot.appendingPathComponent(script).path] + arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    do {
        try process.run()
    } catch {
        throw missingPrerequisite("\(interpreter.joined(separator: " ")) is not available: \(error)")
    }
    let output = out.fileHandleForReading.readDataToEndOfFile()  // the scripts write little to stderr
    let errors = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let message = String(decoding: errors, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    switch process.terminationStatus {
    case 0: return String(decoding: output, as: UTF8.self)
    case 77: throw missingPrerequisite(message)
    default: throw PythonInteropFailure(arguments: [script] + arguments, message: message)
    }
}

/// `scripts/python-interop` ran and failed: Python could not read what Cortex wrote.
public struct PythonInteropFailure: Error, CustomStringConvertible {
    public let arguments: [String]
    public let message: String
    public var description: String { "\(arguments.joined(separator: " ")) failed: \(message)" }
}

/// Runs `scripts/reference/coco_map.py` (pycocotools' COCOeval, the reference for detection
/// mAP) with the `python3` found on PATH (`scripts/test` puts its venv there); skips when
/// pycocotools is missing.
public func cocoReference(groundTruth: String, detections: String) throws -> String {
    try runPython(
        interpreter: ["/usr/bin/env", "python3"], script: "scripts/reference/coco_map.py", [groundTruth, detections])
}
