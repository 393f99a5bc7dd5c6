import Dispatch

/// Splits a kernel's independent work items over the threads the runtime may use.
///
/// Thread count follows `Runtime.blasThreads` (the `--threads` budget), so a kernel and the
/// GEMMs around it use the same cores. One `concurrentPerform` costs about a microsecond, so
/// callers pass the work per item and small jobs run inline.
enum KernelParallel {
    /// Calls `body(range)` for disjoint chunks covering `0..<count`, in parallel when the total
    /// work (`count · workPerItem`, in rough element operations) is worth a thread hand-off.
    static func forEachChunk(_ count: Int, workPerItem: Int, _ body: (Range<Int>) -> Void) {
        let threads = min(Runtime.blasThreads, count)
        if threads <= 1 || count * workPerItem < 32_768 {
            if count > 0 { body(0..<count) }
            return
        }
        // A few chunks per thread even out unequal items (e.g. border rows of an image).
        let chunks = min(count, threads * 4)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = count * chunk / chunks, end = count * (chunk + 1) / chunks
            if start < end { body(start..<end) }
        }
    }
}
