import Foundation
import XCTest

/// The built `cortex` executable beside the test bundle (`swift build --build-tests` builds it);
/// skips the test when it is not there.
public func cortexExecutable() throws -> String {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let candidates =
        [bundle.appendingPathComponent("cortex").path]
        + Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent().appendingPathComponent("cortex").path }
    guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw missingPrerequisite(
            "the cortex executable is not built next to the tests (run swift build --build-tests)")
    }
    return path
}

/// What a test throws when something it needs is missing: `XCTSkip` on a developer's machine,
/// a failure where `CORTEX_NO_SKIP=1` is set (CI, which installs everything, so a skip there
/// means a broken setup, not a missing optional tool).
public func missingPrerequisite(_ message: String) -> Error {
    if ProcessInfo.processInfo.environment["CORTEX_NO_SKIP"] == "1" {
        return PrerequisiteMissing(message: message)
    }
    return XCTSkip(message)
}

/// A prerequisite missing where none may be (`CORTEX_NO_SKIP=1`): the test fails with it.
public struct PrerequisiteMissing: Error, CustomStringConvertible {
    public let message: String
    public var description: String { "missing prerequisite (CORTEX_NO_SKIP=1 turns skips into failures): \(message)" }
}
