import Foundation
import XCTest

/// Imports run one way (docs/architecture.md): each target's sources import only the targets
/// its row allows. Read from the files themselves, so a new import that crosses the plan fails.
final class ArchitectureTests: XCTestCase {
    /// Our targets, their folders, and which of our modules each may import.
    static let rules: [(target: String, folder: String, allowed: Set<String>)] = [
        ("Cortex", "Sources/Cortex", ["CCBLAS", "CKernels"]),
        ("Envs", "envs", []),
        ("Models", "Sources/Models", ["Cortex"]),
        ("Data", "Sources/Data", ["Cortex", "CZlib", "CPNG", "CJPEG"]),
        ("Agents", "agents", ["Cortex", "Envs"]),
        ("Recipes", "Sources/Recipes", ["Cortex", "Data", "Models"]),
        ("Render", "Sources/Render", ["Envs", "CSDL2"])
    ]
    static let ours: Set<String> = [
        "Cortex", "Envs", "Models", "Data", "Agents", "Recipes", "Render", "CCBLAS",
        "CKernels", "CZlib", "CPNG", "CJPEG", "CSDL2", "CMPI"
    ]

    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// The modules of ours that `file` imports.
    static func imports(of file: URL) throws -> Set<String> {
        let text = try String(contentsOf: file, encoding: .utf8)
        var found: Set<String> = []
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard let index = words.firstIndex(of: "import"), index + 1 < words.count,
                words[..<index].allSatisfy({ $0.hasPrefix("@") || ["public", "internal"].contains($0) })
            else { continue }
            let module = String(words[index + 1])
            if ours.contains(module) { found.insert(module) }
        }
        return found
    }

    func testImportsFollowTheArchitecture() throws {
        var checked = 0
        for rule in Self.rules {
            let folder = Self.root.appendingPathComponent(rule.folder)
            let files =
                FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)?
                .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" } ?? []
            XCTAssertFalse(files.isEmpty, "no sources found in \(rule.folder)")
            for file in files {
                let crossing = try Self.imports(of: file).subtracting(rule.allowed)
                XCTAssertEqual(crossing, [], "\(rule.target): \(file.lastPathComponent) imports \(crossing.sorted())")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 100)
    }

    /// The reader finds imports, and only real ones.
    func testTheImportReaderSeesImports() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("imports-\(UUID().uuidString).swift")
        defer { try? FileManager.default.removeItem(at: file) }
        try "import Cortex\n@testable import Agents\n// import Render\nlet s = \"import Data\"\nimport Foundation\n"
            .write(to: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(try Self.imports(of: file), ["Cortex", "Agents"])
    }
}
