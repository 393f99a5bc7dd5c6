import Envs
import Foundation
import Render
import XCTest

/// The built `cortex` executable beside the test bundle (`swift build --build-tests` builds it).
func cortexExecutable() throws -> String {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let candidates = [bundle.appendingPathComponent("cortex").path] +
        Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent().appendingPathComponent("cortex").path }
    guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw XCTSkip("the cortex executable is not built next to the tests (run swift build --build-tests)")
    }
    return path
}

/// This process's environment without any display, so SDL cannot find one.
func environmentWithoutDisplay() -> [String: String] {
    var environment = ProcessInfo.processInfo.environment
    for key in ["DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"] { environment[key] = nil }
    return environment
}

/// The last stdout line of a `--json` run, parsed.
func lastJSONLine(_ stdout: [UInt8]) throws -> [String: Any] {
    let lines = String(decoding: stdout, as: UTF8.self).split(separator: "\n")
    guard let last = lines.last,
          let object = try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any] else {
        throw DecodedGIF.Malformed(description: "no JSON line in: \(String(decoding: stdout, as: UTF8.self))")
    }
    return object
}

/// Whether `frame` and `other` agree on every pixel of the rectangle.
func sameRegion(_ frame: Frame, _ other: Frame, x: Range<Int>, y: Range<Int>) -> Bool {
    for row in y { for column in x where frame[column, row] != other[column, row] { return false } }
    return true
}
