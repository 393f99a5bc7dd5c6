import Foundation
import XCTest

/// The built `cortex` executable beside the test bundle (`swift build --build-tests` builds it);
/// skips the test when it is not there.
public func cortexExecutable() throws -> String {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let candidates = [bundle.appendingPathComponent("cortex").path] +
        Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent().appendingPathComponent("cortex").path }
    guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw XCTSkip("the cortex executable is not built next to the tests (run swift build --build-tests)")
    }
    return path
}
