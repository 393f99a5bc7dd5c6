import CCBLAS
import CKernels
import Dispatch
import Foundation
import Synchronization

/// The threads behind Cortex's parallel kernels: persistent workers that, between jobs, poll
/// for the next one for a short while (`spinNanoseconds`) before they sleep — what OpenMP
/// runtimes and OpenBLAS do with their own threads. A training step of a small network is
/// a chain of short parallel regions (a DQN update has about eight, each well under 100 µs);
/// handing each to a sleeping `DispatchQueue` worker costs a wake-up of several
/// microseconds, and when the wake-up is late the caller ends up doing all the work itself.
///
/// `perform` runs `body(participant, item)` for every item in `0..<count`: the caller takes
/// items too, and a worker that has not joined by the time the caller runs out of items is
/// stood down, so a slow or descheduled worker never holds the caller up. Items are taken
/// from a shared counter, so which thread runs an item varies; bodies must not depend on it
/// beyond `participant` (0 for the caller, 1… for workers), which names per-thread scratch.
///
/// One job at a time: a `perform` from inside a body, or from a second thread while a job
/// runs, runs its items serially on the calling thread.
final class WorkerTeam: @unchecked Sendable {
    /// One team for the process: a worker per core beyond the first (at most 15).
    static let shared = WorkerTeam(workers: min(15, max(0, ProcessInfo.processInfo.activeProcessorCount - 1)))

    /// How long an idle worker polls before it sleeps.
    static let spinNanoseconds: UInt64 = 200_000

    private static let idle = 0, posted = 1, joined = 2, done = 3

    private final class Worker: @unchecked Sendable {
        /// `idle` → (caller) `posted` → (worker) `joined` → (worker) `done`, or
        /// `posted` → (caller) `idle` when the caller stands the worker down.
        let state = Atomic<Int>(0)
        /// Set by a worker about to sleep; whoever clears it owes or consumes one `wake` signal.
        let parked = Atomic<Bool>(false)
        let wake = DispatchSemaphore(value: 0)
    }

    private let workers: [Worker]
    private let busy = Atomic<Bool>(false)
    private let next = Atomic<Int>(0)
    // Written by the caller before it posts a job (release), read by workers after they join it
    // (acquire); cleared only once every posted worker is done or stood down.
    private var count = 0
    private var body: ((Int, Int) -> Void)?

    init(workers count: Int) {
        workers = (0..<count).map { _ in Worker() }
        for (index, worker) in workers.enumerated() {
            let thread = Thread { [unowned self] in self.serve(worker, participant: index + 1) }
            thread.name = "cortex.worker.\(index + 1)"
            thread.start()
        }
    }

    /// Calls `body(participant, item)` for every `item` in `0..<count`, on up to `threads`
    /// threads (this one included), and returns when all have run.
    func perform(_ count: Int, threads: Int, _ body: (_ participant: Int, _ item: Int) -> Void) {
        let helpers = Swift.min(workers.count, threads - 1, count - 1)
        guard helpers > 0, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for item in 0..<Swift.max(0, count) { body(0, item) }
            return
        }
        withoutActuallyEscaping(body) { body in
            self.body = body
            self.count = count
            next.store(0, ordering: .relaxed)
            for worker in workers[0..<helpers] {
                worker.state.store(Self.posted, ordering: .sequentiallyConsistent)
                if worker.parked.exchange(false, ordering: .sequentiallyConsistent) { worker.wake.signal() }
            }
            runItems(participant: 0)
            for worker in workers[0..<helpers] {
                // Not joined yet: stand it down (it will see `idle` and go back to waiting).
                if worker.state.compareExchange(
                    expected: Self.posted, desired: Self.idle,
                    ordering: .sequentiallyConsistent
                ).exchanged {
                    continue
                }
                while worker.state.load(ordering: .acquiring) != Self.done { cortex_cpu_relax() }
                worker.state.store(Self.idle, ordering: .relaxed)
            }
            self.body = nil
        }
        busy.store(false, ordering: .releasing)
    }

    /// Takes items from the shared counter until none are left. Not inlined, so the copy of
    /// `body` it holds is released before the caller learns that this participant is done.
    @inline(never)
    private func runItems(participant: Int) {
        guard let body else { return }
        let count = self.count
        while true {
            let item = next.add(1, ordering: .relaxed).oldValue
            if item >= count { return }
            body(participant, item)
        }
    }

    private func serve(_ worker: Worker, participant: Int) {
        cortex_flush_denormals()
        while true {
            waitForJob(worker)
            if worker.state.compareExchange(
                expected: Self.posted, desired: Self.joined,
                ordering: .sequentiallyConsistent
            ).exchanged {
                runItems(participant: participant)
                worker.state.store(Self.done, ordering: .releasing)
            }
        }
    }

    /// Polls until a job is posted to `worker`, sleeping once `spinNanoseconds` have passed.
    private func waitForJob(_ worker: Worker) {
        var start: UInt64 = 0
        var polls = 0
        while worker.state.load(ordering: .acquiring) != Self.posted {
            cortex_cpu_relax()
            polls += 1
            guard polls & 127 == 0 else { continue }
            // Every few microseconds, let another runnable thread have this core (a no-op
            // on an idle machine; on a loaded one the poll must not starve real work).
            sched_yield()
            let now = DispatchTime.now().uptimeNanoseconds
            if start == 0 {
                start = now
            } else if now - start > Self.spinNanoseconds {
                worker.parked.store(true, ordering: .sequentiallyConsistent)
                if worker.state.load(ordering: .sequentiallyConsistent) == Self.posted {
                    // A job arrived meanwhile; if its poster already cleared the flag, it signals.
                    if !worker.parked.exchange(false, ordering: .sequentiallyConsistent) { worker.wake.wait() }
                } else {
                    worker.wake.wait()
                }
                start = 0
            }
        }
    }
}

// MARK: - Splitting kernels over the team

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
