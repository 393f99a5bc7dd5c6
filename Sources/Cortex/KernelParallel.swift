import CCBLAS

/// Splits a kernel's independent work over the threads the runtime may use.
///
/// Thread count follows `Runtime.blasThreads` (the `--threads` budget), so a kernel and the
/// GEMMs around it use the same cores; the work runs on `WorkerTeam.shared`. A hand-off still
/// costs a few hundred nanoseconds, so callers pass the work per item and small jobs run inline.
enum KernelParallel {
    /// Calls `body(range)` for disjoint chunks covering `0..<count`, in parallel when the total
    /// work (`count · workPerItem`, in rough element operations) is worth a thread hand-off.
    static func forEachChunk(_ count: Int, workPerItem: Int, _ body: (Range<Int>) -> Void) {
        let threads = min(Runtime.kernelThreads, count)
        if threads <= 1 || count * workPerItem < 32_768 {
            if count > 0 { body(0..<count) }
            return
        }
        // A few chunks per thread even out unequal items (e.g. border rows of an image).
        let chunks = min(count, threads * 4)
        WorkerTeam.shared.perform(chunks, threads: threads) { _, chunk in
            body((count * chunk / chunks)..<(count * (chunk + 1) / chunks))
        }
    }

    /// Calls `body(part, range)` for `parts` near-equal slices of `0..<count`, concurrently,
    /// one per thread (for work that keeps per-thread buffers or partial sums).
    static func forEachPart(_ count: Int, parts: Int, _ body: (Int, Range<Int>) -> Void) {
        WorkerTeam.shared.perform(parts, threads: parts) { _, part in
            body(part, (count * part / parts)..<(count * (part + 1) / parts))
        }
    }

    /// Calls `body(worker, item)` for the items `0..<count` on up to `workers` threads that take
    /// them in turn from a shared counter: a thread slowed by other load simply takes fewer
    /// items. `worker` (in `0..<workers`) names per-thread buffers and partial sums.
    static func forEachItem(_ count: Int, workers: Int, _ body: (Int, Int) -> Void) {
        WorkerTeam.shared.perform(count, threads: workers, body)
    }

    /// `Σ p[0..<count]` with eight independent accumulators (a plain loop does not vectorise a
    /// float sum because that reorders additions).
    static func sum(_ p: UnsafePointer<Float>, count: Int) -> Float {
        var lanes = SIMD8<Float>()
        var i = 0
        let raw = UnsafeRawPointer(p)
        while i + 8 <= count {
            lanes += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        var total = lanes.sum()
        while i < count {
            total += p[i]
            i += 1
        }
        return total
    }
}
