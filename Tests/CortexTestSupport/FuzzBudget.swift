import Foundation

/// How many cases a fuzz test runs and from which seed. By default CI's fixed corpus: the
/// test's own seed and its minimum count. `scripts/fuzz` sets `CORTEX_FUZZ_SEED` (a new seed
/// each run) and `CORTEX_FUZZ_SECONDS` (each test keeps drawing cases until that much time has
/// passed), and a failure message names the seed and the case so the run can be repeated.
public struct FuzzBudget {
    public let seed: UInt64
    public let seconds: Double?
    let started = Date()

    /// `share` of the time budget, for a test that fuzzes several things in turn.
    public init(defaultSeed: UInt64, share: Double = 1) {
        let environment = ProcessInfo.processInfo.environment
        seed = environment["CORTEX_FUZZ_SEED"].flatMap { UInt64($0) } ?? defaultSeed
        seconds = environment["CORTEX_FUZZ_SECONDS"].flatMap { Double($0) }.flatMap { $0 > 0 ? $0 * share : nil }
    }

    /// Whether case `index` runs: always the first `minimum` (CI's corpus), then more while the
    /// time budget lasts.
    public func runs(_ index: Int, minimum: Int) -> Bool {
        if index < minimum { return true }
        guard let seconds else { return false }
        return Date().timeIntervalSince(started) < seconds
    }

    /// `seed S case I`, for failure messages: `scripts/fuzz --seed S` draws the same cases.
    public func label(_ index: Int) -> String { "seed \(seed) case \(index)" }

    /// One line for the log that `scripts/fuzz` collects: `fuzz NAME: N cases, seed S`.
    public func report(_ name: String, cases: Int) {
        print("fuzz \(name): \(cases) cases, seed \(seed)")
    }
}
