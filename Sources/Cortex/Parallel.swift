import CCBLAS

/// Below this many elements a kernel runs on the calling thread: a hand-off to the worker
/// team costs up to a microsecond, which only pays off on memory-bound loops this long.
@usableFromInline let parallelThreshold = 1 << 17

/// Runs `body(start, end)` over `0..<count` split into one contiguous chunk per thread
/// (`Runtime.blasThreads`), or in one call when `count` is below `parallelThreshold`.
/// Chunk bounds are multiples of 16 so vector loops stay aligned.
@inline(__always) @usableFromInline
func parallelRanges(_ count: Int, threshold: Int = parallelThreshold, _ body: (Int, Int) -> Void) {
    let threads = count >= threshold ? min(Runtime.kernelThreads, count / (threshold / 2)) : 1
    if threads <= 1 {
        body(0, count)
        return
    }
    let chunk = ((count + threads - 1) / threads + 15) & ~15
    WorkerTeam.shared.perform(threads, threads: threads) { _, t in
        let start = t * chunk
        if start < count { body(start, min(count, start + chunk)) }
    }
}
