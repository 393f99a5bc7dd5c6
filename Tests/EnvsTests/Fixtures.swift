import CortexTestSupport
import Foundation
import XCTest

/// The JSON-lines fixtures in `Tests/EnvsTests/Fixtures`, found next to this file.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Fixtures")

    /// One parsed JSON object per non-empty line of `name`.
    static func jsonLines(_ name: String) throws -> [[String: Any]] {
        let url = directory.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw missingPrerequisite("fixture \(name) is missing from Tests/EnvsTests/Fixtures")
        }
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    /// An array of integers from a JSON value.
    static func ints(_ value: Any?) throws -> [Int] {
        try XCTUnwrap(value as? [Any]).map { try XCTUnwrap(($0 as? NSNumber)?.intValue) }
    }
}
