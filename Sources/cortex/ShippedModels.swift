import ArgumentParser
import Foundation

/// The trained networks that ship in `models/` (weights only; `models/README.md` gives the
/// command that made each and its measured quality). Every `--checkpoint` takes one by name
/// (`--checkpoint lenet`) as well as a path.
enum ShippedModels {
    /// Folders searched for `<name>.safetensors`, first match wins: `$CORTEX_MODELS`, `models/`
    /// under the working folder, the repository the binary was built in, and an installed tree
    /// (`bin/cortex` → `share/cortex/models`).
    static var folders: [String] {
        var result: [String] = []
        if let custom = ProcessInfo.processInfo.environment["CORTEX_MODELS"] { result.append(custom) }
        result.append(FileManager.default.currentDirectoryPath + "/models")
        return result + installRoots.map { $0 + "/models" }
    }

    /// Where the binary's own files live: the repository it was built in (the first folder above
    /// the binary that holds `Package.swift`) and an installed tree's `share/cortex`.
    static var installRoots: [String] {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        var roots: [String] = []
        var folder = binary
        for _ in 0..<5 {
            folder = folder.deletingLastPathComponent()
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent("Package.swift").path) {
                roots.append(folder.path)
                break
            }
        }
        roots.append(binary.appendingPathComponent("../share/cortex").standardized.path)
        return roots
    }

    /// `relative` (a file the setup builds, `data/shakespeare.txt`) under the working folder
    /// when it is there, else beside the binary's repository or installed tree, so that an
    /// installed `cortex` finds it from any folder.
    static func projectFile(_ relative: String) -> String {
        if FileManager.default.fileExists(atPath: relative) { return relative }
        for root in installRoots where FileManager.default.fileExists(atPath: root + "/" + relative) {
            return root + "/" + relative
        }
        return relative
    }

    /// The names of the shipped models found.
    static var names: [String] {
        var found = Set<String>()
        for folder in folders {
            for file in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            where file.hasSuffix(".safetensors") {
                found.insert(String(file.dropLast(".safetensors".count)))
            }
        }
        return found.sorted()
    }

    /// `spec` itself when it names a file, or with `.safetensors` added (`models/go19`, as
    /// models/README.md names them); else the shipped model of that name. A plain name that is
    /// none of these is an error listing what ships; anything else is left for the loader to
    /// report.
    static func resolve(_ spec: String) throws -> String {
        if FileManager.default.fileExists(atPath: spec) { return spec }
        let withExtension = spec + ".safetensors"
        if !spec.isEmpty && FileManager.default.fileExists(atPath: withExtension) { return withExtension }
        let isName = !spec.isEmpty && spec.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
        guard isName else { return spec }
        for folder in folders where FileManager.default.fileExists(atPath: folder + "/" + spec + ".safetensors") {
            return folder + "/" + spec + ".safetensors"
        }
        let shipped = names
        throw ValidationError(
            "no checkpoint file '\(spec)' and no shipped model of that name"
                + (shipped.isEmpty ? " (no models/ folder found)" : " (shipped: \(shipped.joined(separator: ", ")))"))
    }
}
