import Cortex
import Dispatch
import Foundation
import XCTest

/// The worker team behind the parallel kernels and `Runtime.concurrently`: every job runs
/// exactly once, nested and simultaneous uses fall back to serial work instead of deadlocking,
/// and parallel kernels give the serial results.
final class WorkerTeamTests: XCTestCase {
    private func withTwoKernelThreads(_ body: () -> Void) {
        let previous = Runtime.kernelThreadsOverride
        Runtime.kernelThreadsOverride = 2
        defer { Runtime.kernelThreadsOverride = previous }
        body()
    }

    func testConcurrentlyRunsBothOnceManyTimes() {
        withTwoKernelThreads {
            var firsts = 0, seconds = 0
            for round in 0..<2_000 {
                var a = -1, b = -1
                Runtime.concurrently({ a = round * 2 }, { b = round * 2 + 1 })
                XCTAssertEqual(a, round * 2)
                XCTAssertEqual(b, round * 2 + 1)
                if a >= 0 { firsts += 1 }
                if b >= 0 { seconds += 1 }
            }
            XCTAssertEqual(firsts, 2_000)
            XCTAssertEqual(seconds, 2_000)
        }
    }

    /// A parallel kernel inside a `concurrently` job (the team is taken: it runs serially)
    /// still gives the exact elementwise result.
    func testNestedKernelInsideConcurrently() {
        withTwoKernelThreads {
            let count = 1 << 19  // above the parallel threshold
            let x = Tensor(shape: [count], data: (0..<count).map { Float($0 % 1000) * 0.5 })
            let y = Tensor(shape: [count], data: (0..<count).map { Float($0 % 7) })
            var left: [Float] = [], right: [Float] = []
            Runtime.concurrently({ left = (x + y).scalars }, { right = (x * y).scalars })
            for i in stride(from: 0, to: count, by: 4_099) {
                XCTAssertEqual(left[i], Float(i % 1000) * 0.5 + Float(i % 7))
                XCTAssertEqual(right[i], Float(i % 1000) * 0.5 * Float(i % 7))
            }
            XCTAssertEqual(left.count, count)
            XCTAssertEqual(right.count, count)
        }
    }

    /// Two threads using the team at once: one gets it, the other works serially; neither
    /// blocks and both results are right.
    func testSimultaneousCallersFromTwoThreads() {
        withTwoKernelThreads {
            let count = 1 << 18
            let x = Tensor(shape: [count], data: (0..<count).map { Float($0 % 13) })
            let expected = (0..<count).map { Float($0 % 13) * 2 }
            let results = ResultBox(slots: 2)
            DispatchQueue.concurrentPerform(iterations: 2) { thread in
                var ok = true
                for _ in 0..<50 {
                    var sum: [Float] = [], twice: [Float] = []
                    Runtime.concurrently({ sum = (x + x).scalars }, { twice = (x * 2).scalars })
                    ok = ok && sum == expected && twice == expected
                }
                results.set(thread, ok)
            }
            XCTAssertEqual(results.values, [true, true])
        }
    }

    /// A large softmax, whose rows are split over threads, equals the one computed on one thread.
    func testParallelKernelMatchesSerial() {
        var generator = RandomGenerator(seed: 7)
        let x = Tensor.randn([512, 300], using: &generator)
        let previous = Runtime.kernelThreadsOverride
        Runtime.kernelThreadsOverride = 1
        let serial = x.softmax(axis: 1).scalars
        Runtime.kernelThreadsOverride = 2
        defer { Runtime.kernelThreadsOverride = previous }
        for _ in 0..<20 { XCTAssertEqual(x.softmax(axis: 1).scalars, serial) }
    }
}

private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Bool]
    init(slots: Int) { storage = Array(repeating: false, count: slots) }
    func set(_ index: Int, _ value: Bool) {
        lock.lock()
        storage[index] = value
        lock.unlock()
    }
    var values: [Bool] {
        lock.lock()
        defer { lock.unlock() }
        return storage
    }
}
