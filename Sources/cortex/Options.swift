import ArgumentParser
import Foundation

/// Options every job shares.
struct CommonOptions: ParsableArguments {
    @Option(help: "Seed of every random number generator in the run.")
    var seed: UInt64 = 0

    @Option(help: "Threads for BLAS and parallel kernels (this machine kind has 2 cores).")
    var threads: Int = 2

    @Flag(help: "Print one JSON object with the figures as the last stdout line; progress goes to stderr.")
    var json = false

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }
}

/// Writes a line to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Prints `object` as one line of JSON on stdout (keys sorted, so output is stable; slashes
/// unescaped; NaN and infinities, which JSON cannot hold, as null).
func printJSON(_ object: [String: Any]) {
    func clean(_ value: Any) -> Any {
        switch value {
        case let number as Double: return number.isFinite ? number : NSNull()
        case let number as Float: return number.isFinite ? Double(number) : NSNull()
        case let dictionary as [String: Any]: return dictionary.mapValues(clean)
        case let array as [Any]: return array.map(clean)
        default: return value
        }
    }
    let data =
        (try? JSONSerialization.data(withJSONObject: clean(object), options: [.sortedKeys, .withoutEscapingSlashes]))
        ?? Data("{}".utf8)
    print(String(decoding: data, as: UTF8.self))
}

/// Options every `train` command shares: where the run lives and whether it continues.
struct RunFolderOptions: ParsableArguments {
    @Option(
        help: "Run folder (default runs/<job>-s<seed>; a fresh run there starts its logs anew).", completion: .directory
    )
    var out: String?

    @Flag(help: "Resume the run in --out from its last.safetensors.")
    var resume = false

    @Option(
        help:
            "Start from this config.json (a run's logged config, or any subset of its fields); flags given after it override it.",
        completion: .file(extensions: ["json"]))
    var config: String?
}
