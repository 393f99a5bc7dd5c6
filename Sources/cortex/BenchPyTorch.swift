import ArgumentParser
import Cortex
import Foundation
import Models
import Recipes

/// `cortex bench pytorch`: Cortex and PyTorch side by side on the same workloads, same shapes,
/// same thread count, rounds interleaved (docs/speed.md). The PyTorch side is
/// `scripts/reference/bench.py`, one process per round; both sides time `repeats` calls after
/// `warmup` untimed ones and report the median, so Python's start-up is not in the figures.
struct BenchPyTorch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pytorch",
        abstract: "Cortex against PyTorch on this machine: matmul, DQN, GPT, LSTM, vision, conv and op timings.",
        discussion: "Ratio = pytorch_ms / cortex_ms (above 1: Cortex is faster). Workloads: "
            + SideBySideWorkload.all.map(\.name).joined(separator: ", ") + ".")

    @OptionGroup var common: CommonOptions
    @Option(help: "Rounds per workload, Cortex and PyTorch alternating (the median round is reported).")
    var rounds = 3
    @Option(help: "Comma-separated workloads to run (default: all; see the discussion above).")
    var workloads: String?
    @Option(help: "Timed calls per round on each side (default: each workload's own count).")
    var repeats: Int?
    @Flag(help: "Tiny shapes and few calls: a smoke test of the harness, not a measurement.")
    var quick = false
    @Option(help: "Python interpreter with torch (default: .venv-torch/bin/python, else /usr/bin/python3).")
    var python: String?

    func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1, got \(rounds)") }
        if let repeats, repeats < 1 { throw ValidationError("--repeats must be at least 1, got \(repeats)") }
        _ = try selected()
    }

    private func selected() throws -> [SideBySideWorkload] {
        guard let workloads else { return SideBySideWorkload.all }
        return try workloads.split(separator: ",").map { name in
            guard let workload = SideBySideWorkload.all.first(where: { $0.name == name }) else {
                throw ValidationError(
                    "unknown workload '\(name)'; expected one of \(SideBySideWorkload.all.map(\.name).joined(separator: ", "))")
            }
            return workload
        }
    }

    func run() throws {
        Runtime.configure(threads: common.threads)
        let chosen = try selected()
        let torch = try PyTorchReference.find(python: python)
        let machine = SideBySide.Machine.current()
        printError("bench pytorch: \(machine.description)")
        printError(
            "  PyTorch \(torch.version) from \(torch.origin) (\(torch.python)); \(common.threads) thread(s) on both sides; "
                + "\(rounds) round(s) per workload\(quick ? ", quick shapes" : "")")
        let plan = Dictionary(uniqueKeysWithValues: chosen.map { ($0.name, $0.counts(quick: quick, repeats: repeats)) })
        let byName = Dictionary(uniqueKeysWithValues: chosen.map { ($0.name, $0) })
        var results = try SideBySide.run(
            workloads: chosen.map(\.name), rounds: rounds,
            cortex: { name in
                let counts = plan[name]!
                return byName[name]!.timeCortex(
                    quick: quick, threads: common.threads, seed: common.seed, warmup: counts.warmup,
                    repeats: counts.repeats)
            },
            reference: { name in
                let counts = plan[name]!
                return try torch.time(
                    workload: name, threads: common.threads, warmup: counts.warmup, repeats: counts.repeats,
                    quick: quick, seed: common.seed)
            },
            progress: printError)
        // Per-call figures where one call does several units (generation: ms per character).
        results = results.map { result in
            let units = byName[result.name]!.units(quick: quick)
            return SideBySide.Result(
                name: result.name, cortexRounds: result.cortexRounds.map { $0 / units },
                referenceRounds: result.referenceRounds.map { $0 / units })
        }

        let pytorchLabel = "\(torch.version) (\(torch.origin))"
        print("Cortex against PyTorch \(pytorchLabel), \(common.threads) thread(s) each, median of \(rounds) round(s)")
        print("machine: \(machine.description)")
        // Left-aligned names: `%-16@` does not pad on Linux.
        func padded(_ text: String, _ width: Int) -> String {
            text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0)
        }
        print(padded("workload", 16) + "    cortex ms   pytorch ms    ratio  one call")
        var extra: [String: [String: Any]] = [:]
        for result in results {
            let workload = byName[result.name]!
            var note = workload.unit
            if let perEpoch = workload.epochBatches {
                let cortexEpoch = result.cortexMilliseconds * Double(perEpoch) / 1000
                let torchEpoch = result.referenceMilliseconds * Double(perEpoch) / 1000
                note += String(format: "; epoch (×%d) %.1f s vs %.1f s", perEpoch, cortexEpoch, torchEpoch)
                extra[result.name] = ["cortex_s_per_epoch": cortexEpoch, "pytorch_s_per_epoch": torchEpoch]
            }
            print(
                padded(result.name, 16)
                    + String(
                        format: " %12.3f %12.3f %8.2f  ", result.cortexMilliseconds, result.referenceMilliseconds,
                        result.ratio) + note)
        }
        print("ratio = pytorch_ms / cortex_ms: above 1, Cortex is faster")
        if common.json {
            printJSON(
                SideBySide.report(
                    machine: machine, pytorch: pytorchLabel, threads: common.threads, results: results, extra: extra))
        }
    }
}

// MARK: - The PyTorch side

/// `scripts/reference/bench.py` run by an interpreter that imports torch.
struct PyTorchReference {
    let python: String
    let script: String
    let version: String
    let origin: String

    /// The interpreter (`--python`, else `.venv-torch/bin/python`, else `/usr/bin/python3`) and the
    /// script, looked for in the current folder and the folders above the executable.
    static func find(python: String?) throws -> PyTorchReference {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var roots = [FileManager.default.currentDirectoryPath]
        var folder = executable.deletingLastPathComponent()
        for _ in 0..<5 {
            roots.append(folder.path)
            folder = folder.deletingLastPathComponent()
        }
        let setupHint = "run scripts/setup, which installs Debian's python3-torch"
        guard let root = roots.first(where: { FileManager.default.fileExists(atPath: $0 + "/scripts/reference/bench.py") })
        else {
            throw CommandFailure("scripts/reference/bench.py not found here or above the cortex executable: run from the Cortex folder")
        }
        let venv = root + "/.venv-torch/bin/python"
        let interpreter =
            python ?? (FileManager.default.isExecutableFile(atPath: venv) ? venv : "/usr/bin/python3")
        let script = root + "/scripts/reference/bench.py"
        let answer: String
        do {
            answer = try runProcess(interpreter, [script, "--version"])
        } catch {
            throw CommandFailure("PyTorch not found (\(interpreter): \(error)); \(setupHint)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any],
            let version = object["torch"] as? String
        else { throw CommandFailure("\(script) --version printed no version: '\(answer)'") }
        return PyTorchReference(
            python: interpreter, script: script, version: version, origin: object["origin"] as? String ?? "unknown")
    }

    /// One round: the median ms of `repeats` calls after `warmup` (and the same warm-up seconds as
    /// Cortex's side), timed inside Python.
    func time(workload: String, threads: Int, warmup: Int, repeats: Int, quick: Bool, seed: UInt64) throws -> Double {
        var arguments = [
            script, "--workload", workload, "--threads", "\(threads)", "--warmup", "\(warmup)", "--repeats",
            "\(repeats)", "--seed", "\(seed)", "--warmup-seconds", "\(SideBySideWorkload.warmupSeconds(quick: quick))"
        ]
        if quick { arguments.append("--quick") }
        // Debian's torch calls the system BLAS (OpenBLAS, as Cortex) without setting its
        // threads: the environment does. With one thread both pools get one. With more, torch's
        // OpenMP team and OpenBLAS's threads both at `threads` oversubscribe the cores (GPT
        // iteration 172 ms against 71 ms with OpenBLAS at one thread, measured on 2 vCPUs), while
        // OpenBLAS at one thread slows a lone large GEMM: PyTorch gets the faster of the two.
        let settings = threads > 1 ? ["\(threads)", "1"] : ["1"]
        return try settings.map { blasThreads in
            let answer = try runProcess(
                python, arguments, environment: ["OPENBLAS_NUM_THREADS": blasThreads, "OMP_NUM_THREADS": "\(threads)"])
            let last = answer.split(separator: "\n").last.map(String.init) ?? ""
            guard let object = try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any],
                let median = object["median_ms"] as? Double
            else { throw CommandFailure("bench.py --workload \(workload) printed no median: '\(last)'") }
            return median
        }.min()!
    }
}

/// Runs `executable` with `arguments` and returns its stdout; throws with its stderr when it fails
/// (exit 77 from the reference scripts: torch is missing).
private func runProcess(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws
    -> String
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let output = out.fileHandleForReading.readDataToEndOfFile()  // bench.py writes little to stderr
    let errors = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        let message = String(decoding: errors, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        throw CommandFailure(
            process.terminationStatus == 77
                ? "torch does not import (\(message))" : "exit status \(process.terminationStatus): \(message)")
    }
    return String(decoding: output, as: UTF8.self)
}
