import Dispatch

/// N environments of one type stepped together for batched acting, with Gymnasium's vector
/// semantics (`SyncVectorEnv`, same-step autoreset): one call takes N actions and leaves N
/// rewards and `terminated` / `truncated` flags; the observations are written as one contiguous
/// (N, C, H, W) batch. An environment whose episode ends starts a new one in the same step, so
/// the batch after that step holds the new episode's first observation; the ended episode's last
/// observation (Gymnasium's `info["final_obs"]`) stays available through
/// `writeFinalObservation(_:into:)` until that environment's next step.
///
/// Seeds: `reset(seed: s)` gives environment `i` the seed `s + i` (one seed for the run, one
/// stream per copy). With `threads > 1` the steps (and observation writes) are split over that
/// many threads in contiguous blocks of environments; each environment is still stepped by one
/// thread with its own generator, so the results equal the single-threaded ones exactly.
public struct VectorEnvironment<Base: Environment> {
    public private(set) var environments: [AutoReset<Base>]
    /// Results of the last `step`, one per environment.
    public private(set) var rewards: [Float]
    public private(set) var terminated: [Bool]
    public private(set) var truncated: [Bool]
    /// Threads that step the environments (1: the calling thread only). Worth it only when a
    /// step costs more than the hand-off (~1 µs per call): pixel observations, or many copies.
    public var threads = 1

    /// `count` environments, environment `i` made by `make(i)`.
    public init(count: Int, make: (Int) -> Base) {
        precondition(count >= 1, "VectorEnvironment: count must be at least 1, got \(count)")
        environments = (0..<count).map { AutoReset(make($0)) }
        rewards = [Float](repeating: 0, count: count)
        terminated = [Bool](repeating: false, count: count)
        truncated = [Bool](repeating: false, count: count)
        let shape = environments[0].observationShape
        precondition(
            environments.allSatisfy { $0.observationShape == shape && $0.actionCount == environments[0].actionCount },
            "VectorEnvironment: environments differ in observation shape or action count")
    }

    public var count: Int { environments.count }
    public var actionCount: Int { environments[0].actionCount }
    /// Shape of one environment's observation.
    public var observationShape: ObservationShape { environments[0].observationShape }
    public var observationScale: Float { environments[0].observationScale }

    /// Resets every environment; with a seed, environment `i` gets `seed + i`.
    public mutating func reset(seed: UInt64?) {
        for i in 0..<environments.count { environments[i].reset(seed: seed.map { $0 &+ UInt64(i) }) }
        for i in 0..<environments.count {
            rewards[i] = 0
            terminated[i] = false
            truncated[i] = false
        }
    }

    /// Steps environment `i` with `actions[i]`, for every `i`.
    public mutating func step(_ actions: [Int]) {
        actions.withUnsafeBufferPointer { step($0) }
    }

    /// Steps environment `i` with `actions[i]`, for every `i` (allocates nothing).
    public mutating func step(_ actions: UnsafeBufferPointer<Int>) {
        precondition(
            actions.count == environments.count,
            "VectorEnvironment.step: \(actions.count) actions for \(environments.count) environments")
        let n = environments.count
        environments.withUnsafeMutableBufferPointer { envs in
            rewards.withUnsafeMutableBufferPointer { r in
                terminated.withUnsafeMutableBufferPointer { d in
                    truncated.withUnsafeMutableBufferPointer { u in
                        let shared = Shared(envs: envs, rewards: r, terminated: d, truncated: u, actions: actions)
                        Self.blocks(n, threads: threads) { start, end in
                            for i in start..<end {
                                let result = shared.envs[i].step(shared.actions[i])
                                shared.rewards[i] = result.reward
                                shared.terminated[i] = result.terminated
                                shared.truncated[i] = result.truncated
                            }
                        }
                    }
                }
            }
        }
    }

    /// Whether environment `i`'s last step ended an episode (and a new one began).
    public func didReset(_ i: Int) -> Bool { environments[i].didReset }

    /// Writes all observations as an (N, C, H, W) batch of bytes.
    public func writeObservations(into buffer: UnsafeMutableBufferPointer<UInt8>) {
        writeAll(into: buffer) { env, slice in env.writeObservation(into: slice) }
    }

    /// Writes all observations as an (N, C, H, W) batch of floats.
    public func writeObservations(into buffer: UnsafeMutableBufferPointer<Float>) {
        writeAll(into: buffer) { env, slice in env.writeObservation(into: slice) }
    }

    /// The last observation of the episode environment `i` ended on the last step (Gymnasium's
    /// `final_obs`), as floats. Precondition: `didReset(i)`.
    public func writeFinalObservation(_ i: Int, into buffer: UnsafeMutableBufferPointer<Float>) {
        environments[i].writeFinalObservation(into: buffer)
    }

    /// The same as bytes.
    public func writeFinalObservation(_ i: Int, into buffer: UnsafeMutableBufferPointer<UInt8>) {
        environments[i].writeFinalObservation(into: buffer)
    }

    /// All observations as one float array of N · C · H · W values (convenience; allocates).
    public func observations() -> [Float] {
        [Float](unsafeUninitializedCapacity: observationShape.count * count) { buffer, filled in
            writeObservations(into: buffer)
            filled = buffer.count
        }
    }

    /// Access to one environment (for its wrappers' statistics, or to render it).
    public subscript(i: Int) -> AutoReset<Base> { environments[i] }

    /// Changes environment `i` in place (e.g. to clear an `EpisodeStatistics` log once read).
    public mutating func withEnvironment<R>(_ i: Int, _ body: (inout AutoReset<Base>) throws -> R) rethrows -> R {
        try body(&environments[i])
    }

    // MARK: threads

    /// Buffers handed to worker threads; each thread touches only its own block of indices.
    private struct Shared: @unchecked Sendable {
        let envs: UnsafeMutableBufferPointer<AutoReset<Base>>
        let rewards: UnsafeMutableBufferPointer<Float>
        let terminated: UnsafeMutableBufferPointer<Bool>
        let truncated: UnsafeMutableBufferPointer<Bool>
        let actions: UnsafeBufferPointer<Int>
    }

    private struct WriteTarget<T>: @unchecked Sendable {
        let buffer: UnsafeMutableBufferPointer<T>
        let envs: UnsafeBufferPointer<AutoReset<Base>>
    }

    private struct Body: @unchecked Sendable { let run: (Int, Int) -> Void }

    /// `body(start, end)` over `0..<count` in `threads` contiguous blocks, concurrently.
    private static func blocks(_ count: Int, threads: Int, _ body: (Int, Int) -> Void) {
        let parts = min(max(1, threads), count)
        if parts == 1 { return body(0, count) }
        withoutActuallyEscaping(body) { body in
            let shared = Body(run: body)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                shared.run(part * count / parts, (part + 1) * count / parts)
            }
        }
    }

    private func writeAll<T>(
        into buffer: UnsafeMutableBufferPointer<T>,
        _ write: (AutoReset<Base>, UnsafeMutableBufferPointer<T>) -> Void
    ) {
        let n = observationShape.count
        precondition(
            buffer.count >= n * count,
            "VectorEnvironment.writeObservations: buffer holds \(buffer.count), needs \(n * count)")
        environments.withUnsafeBufferPointer { envs in
            let target = WriteTarget(buffer: buffer, envs: envs)
            Self.blocks(envs.count, threads: threads) { start, end in
                for i in start..<end {
                    write(target.envs[i], UnsafeMutableBufferPointer(rebasing: target.buffer[(i * n)..<((i + 1) * n)]))
                }
            }
        }
    }
}
