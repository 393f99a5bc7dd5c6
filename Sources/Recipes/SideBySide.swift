import Foundation

/// Cortex and a reference implementation timed on the same workloads in the same run, rounds
/// interleaved (Cortex, reference, Cortex, reference, …) so both see the same machine state:
/// `cortex bench pytorch` (docs/speed.md).
///
/// Each side times `repeats` calls after `warmup` untimed ones and reports their median in
/// milliseconds (one round); a workload's figure is the median of its rounds' medians, and
///
///     ratio = reference_ms / cortex_ms        (above 1: Cortex is faster)
public enum SideBySide {
    /// One workload's figures.
    public struct Result: Equatable, Sendable {
        public let name: String
        /// Each round's median, in milliseconds, in the order the rounds ran.
        public let cortexRounds: [Double]
        public let referenceRounds: [Double]

        public init(name: String, cortexRounds: [Double], referenceRounds: [Double]) {
            self.name = name
            self.cortexRounds = cortexRounds
            self.referenceRounds = referenceRounds
        }

        public var cortexMilliseconds: Double { median(cortexRounds) }
        public var referenceMilliseconds: Double { median(referenceRounds) }
        /// reference / Cortex: above 1 when Cortex takes less time.
        public var ratio: Double { referenceMilliseconds / cortexMilliseconds }
    }

    /// The median of `values` (the mean of the middle two for an even count, as Python's
    /// `statistics.median`); NaN for none.
    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted(), middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// Runs every workload `rounds` times on each side, alternating Cortex and the reference
    /// within each workload. `cortex` and `reference` return one round's median in ms.
    public static func run(
        workloads: [String], rounds: Int,
        cortex: (String) throws -> Double, reference: (String) throws -> Double,
        progress: (String) -> Void = { _ in }
    ) rethrows -> [Result] {
        precondition(rounds >= 1, "SideBySide.run: rounds must be at least 1, got \(rounds)")
        var results: [Result] = []
        for name in workloads {
            var mine: [Double] = [], theirs: [Double] = []
            for round in 1...rounds {
                mine.append(try cortex(name))
                theirs.append(try reference(name))
                progress(
                    String(
                        format: "  \(name) round %d/%d: cortex %.3f ms, pytorch %.3f ms", round, rounds, mine.last!,
                        theirs.last!))
            }
            results.append(Result(name: name, cortexRounds: mine, referenceRounds: theirs))
        }
        return results
    }

    /// The `--json` object: `{"machine", "pytorch", "threads", "workloads": [{"name",
    /// "cortex_ms", "pytorch_ms", "ratio", "cortex_rounds_ms", "pytorch_rounds_ms"}, …]}`.
    public static func report(
        machine: Machine, pytorch: String, threads: Int, results: [Result], extra: [String: [String: Any]] = [:]
    ) -> [String: Any] {
        [
            "machine": machine.json, "pytorch": pytorch, "threads": threads,
            "workloads": results.map { result -> [String: Any] in
                var row: [String: Any] = [
                    "name": result.name, "cortex_ms": result.cortexMilliseconds,
                    "pytorch_ms": result.referenceMilliseconds, "ratio": result.ratio,
                    "cortex_rounds_ms": result.cortexRounds, "pytorch_rounds_ms": result.referenceRounds
                ]
                row.merge(extra[result.name] ?? [:]) { _, new in new }
                return row
            }
        ]
    }

    /// The machine a measurement ran on: CPU model, the vector flags that decide kernel speed,
    /// logical cores, and the 1-minute load average when the run started.
    public struct Machine: Sendable {
        public var cpu: String
        public var flags: [String]
        public var cores: Int
        public var loadAverage: Double

        public init(cpu: String, flags: [String], cores: Int, loadAverage: Double) {
            self.cpu = cpu
            self.flags = flags
            self.cores = cores
            self.loadAverage = loadAverage
        }

        /// Flags worth naming: those kernels dispatch on.
        public static let notableFlags = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16", "amx_tile"]

        /// Parses `/proc/cpuinfo` text (first processor's `model name` and `flags`).
        public static func parse(cpuinfo: String, cores: Int, loadAverage: Double) -> Machine {
            func field(_ key: String) -> String {
                for line in cpuinfo.split(separator: "\n") where line.hasPrefix(key) {
                    if let colon = line.firstIndex(of: ":") {
                        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                    }
                }
                return ""
            }
            let present = Set(field("flags").split(separator: " ").map(String.init))
            let model = field("model name")
            return Machine(
                cpu: model.isEmpty ? "unknown CPU" : model, flags: notableFlags.filter(present.contains), cores: cores,
                loadAverage: loadAverage)
        }

        /// This machine, from `/proc/cpuinfo` and `getloadavg`.
        public static func current() -> Machine {
            let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
            var loads = [Double](repeating: 0, count: 3)
            let load = getloadavg(&loads, 3) > 0 ? loads[0] : .nan
            return parse(cpuinfo: text, cores: ProcessInfo.processInfo.activeProcessorCount, loadAverage: load)
        }

        public var description: String {
            "\(cpu), \(cores) logical cores, \(flags.isEmpty ? "no AVX2" : flags.joined(separator: " ")), "
                + String(format: "load average %.2f at the start", loadAverage)
        }

        public var json: [String: Any] {
            ["cpu": cpu, "flags": flags, "cores": cores, "load_average": loadAverage]
        }
    }
}
