/// N environments of one type stepped together for batched acting (Gymnasium's `SyncVectorEnv`
/// with same-step autoreset): one call takes N actions and leaves N rewards and flags; the
/// observations are written as one (N, C, H, W) batch. An environment whose episode ends starts
/// a new one in the same step; its final observation stays available until its next step.
public struct VectorEnvironment<Base: Environment> {
    public private(set) var environments: [AutoReset<Base>]
    /// Results of the last `step`, one per environment.
    public private(set) var rewards: [Float]
    public private(set) var terminated: [Bool]
    public private(set) var truncated: [Bool]

    /// `count` environments, environment `i` made by `make(i)`.
    public init(count: Int, make: (Int) -> Base) {
        precondition(count >= 1, "VectorEnvironment: count must be at least 1, got \(count)")
        environments = (0..<count).map { AutoReset(make($0)) }
        rewards = [Float](repeating: 0, count: count)
        terminated = [Bool](repeating: false, count: count)
        truncated = [Bool](repeating: false, count: count)
        let shape = environments[0].observationShape
        precondition(environments.allSatisfy { $0.observationShape == shape && $0.actionCount == environments[0].actionCount },
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
        for i in 0..<environments.count { rewards[i] = 0; terminated[i] = false; truncated[i] = false }
    }

    /// Steps environment `i` with `actions[i]`, for every `i`.
    public mutating func step(_ actions: [Int]) {
        precondition(actions.count == environments.count,
                     "VectorEnvironment.step: \(actions.count) actions for \(environments.count) environments")
        for i in 0..<environments.count {
            let result = environments[i].step(actions[i])
            rewards[i] = result.reward
            terminated[i] = result.terminated
            truncated[i] = result.truncated
        }
    }

    /// Whether environment `i`'s last step ended an episode (and a new one began).
    public func didReset(_ i: Int) -> Bool { environments[i].didReset }

    /// Writes all observations as an (N, C, H, W) batch of bytes.
    public func writeObservations(into buffer: UnsafeMutableBufferPointer<UInt8>) {
        let n = observationShape.count
        precondition(buffer.count >= n * count, "VectorEnvironment.writeObservations: buffer holds \(buffer.count), needs \(n * count)")
        for i in 0..<environments.count {
            environments[i].writeObservation(into: UnsafeMutableBufferPointer(rebasing: buffer[(i * n)..<((i + 1) * n)]))
        }
    }

    /// Writes all observations as an (N, C, H, W) batch of floats.
    public func writeObservations(into buffer: UnsafeMutableBufferPointer<Float>) {
        let n = observationShape.count
        precondition(buffer.count >= n * count, "VectorEnvironment.writeObservations: buffer holds \(buffer.count), needs \(n * count)")
        for i in 0..<environments.count {
            environments[i].writeObservation(into: UnsafeMutableBufferPointer(rebasing: buffer[(i * n)..<((i + 1) * n)]))
        }
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
}
