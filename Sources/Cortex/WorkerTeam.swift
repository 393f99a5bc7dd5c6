import CCBLAS
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
                if worker.state.compareExchange(expected: Self.posted, desired: Self.idle,
                                                ordering: .sequentiallyConsistent).exchanged { continue }
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
            if worker.state.compareExchange(expected: Self.posted, desired: Self.joined,
                                            ordering: .sequentiallyConsistent).exchanged {
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
