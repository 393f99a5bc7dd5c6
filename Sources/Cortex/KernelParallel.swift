import CCBLAS
import Dispatch
import Synchronization

/// Splits a kernel's independent work over the threads the runtime may use.
///
/// Thread count follows `Runtime.blasThreads` (the `--threads` budget), so a kernel and the
/// GEMMs around it use the same cores. One `concurrentPerform` costs about a microsecond, so
/// callers pass the work per item and small jobs run inline.
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
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            cortex_flush_denormals()
            body((count * chunk / chunks)..<(count * (chunk + 1) / chunks))
        }
    }

    /// Calls `body(part, range)` for `parts` near-equal slices of `0..<count`, concurrently,
    /// one per thread (for work that keeps per-thread buffers or partial sums).
    static func forEachPart(_ count: Int, parts: Int, _ body: (Int, Range<Int>) -> Void) {
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            cortex_flush_denormals()
            body(part, (count * part / parts)..<(count * (part + 1) / parts))
        }
    }

    /// Runs `workers` threads that take the items `0..<count` in turn from a shared counter and
    /// call `body(worker, item)`: a thread slowed by other load simply takes fewer items.
    /// `worker` (in `0..<workers`) names per-thread buffers and partial sums.
    static func forEachItem(_ count: Int, workers: Int, _ body: (Int, Int) -> Void) {
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            cortex_flush_denormals()
            while true {
                let item = next.add(1, ordering: .relaxed).oldValue
                if item >= count { break }
                body(worker, item)
            }
        }
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
