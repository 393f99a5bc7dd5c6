import Foundation

/// A cyclic store of the last `capacity` transitions (s, a, r, s′, terminated), sampled
/// uniformly (Lin 1992; Mnih et al. 2015) or by priority (Schaul et al. 2016), with n-step
/// returns computed at sampling time from consecutive slots (as Dopamine does).
///
/// Observations are kept compactly, since a buffer of float planes would dominate a run's memory:
/// - `.bits`: binary planes (MinAtar's C×10×10 grids) packed 8 cells to a byte — 50 bytes for
///   Breakout's 400 cells instead of 1,600. One slot per transition holds s and s′.
/// - `.frames(stack:)`: pixel frame stacks (the DQN paper's 4×84×84). One slot per *frame*: each
///   slot holds only the newest frame of its observation, as bytes (value · 255); a stack is
///   rebuilt from the slots before it, so a stack of 4 costs one frame, not eight. Frames before
///   an episode's first one repeat that first frame (Gymnasium's `FrameStackObservation`
///   padding "reset"). An episode's last observation gets a slot of its own that is never
///   sampled as a state.
public final class ReplayBuffer {
    public enum Storage: Equatable, Sendable {
        /// Binary float planes (every value 0 or 1), packed to bits.
        case bits
        /// Frame stacks of `stack` frames with values in [0, 1], each frame stored once as bytes.
        case frames(stack: Int)
    }

    public let capacity: Int
    /// Floats in one observation (for `.frames`, the whole stack).
    public let observationSize: Int
    public let storage: Storage
    /// Transitions added since creation (not capped by capacity).
    public private(set) var transitionsAdded = 0

    private let stack: Int
    private let bytesPerSlot: Int
    private var observations: [UInt8]
    private var nextObservations: [UInt8]  // `.bits` only
    private var actions: [Int32]
    private var rewards: [Float]
    private var terminated: [Bool]
    /// The slot's transition ends its episode (terminated or truncated).
    private var episodeEnds: [Bool]
    /// Whether the slot starts a transition that can be sampled.
    private var isState: [Bool]
    /// `.frames`: how many slots of the same episode precede this one.
    private var framesIntoEpisode: [Int32]
    private var cursor = 0
    private var filled = 0
    private var episodeStartPending = true
    private var priorities: SumTree?
    private var maxPriority: Double = 1

    /// - Parameter prioritized: keep a sum tree of priorities for `samplePrioritized`.
    public init(capacity: Int, observationSize: Int, storage: Storage, prioritized: Bool = false) {
        precondition(capacity > 8, "ReplayBuffer: capacity must exceed 8, got \(capacity)")
        precondition(observationSize > 0, "ReplayBuffer: empty observations")
        self.capacity = capacity
        self.observationSize = observationSize
        self.storage = storage
        switch storage {
        case .bits:
            stack = 1
            bytesPerSlot = (observationSize + 7) / 8
            nextObservations = [UInt8](repeating: 0, count: capacity * bytesPerSlot)
        case .frames(let frames):
            precondition(
                frames >= 1 && observationSize % frames == 0,
                "ReplayBuffer: observation size \(observationSize) is not a stack of \(frames) frames")
            stack = frames
            bytesPerSlot = observationSize / frames
            nextObservations = []
        }
        observations = [UInt8](repeating: 0, count: capacity * bytesPerSlot)
        actions = [Int32](repeating: 0, count: capacity)
        rewards = [Float](repeating: 0, count: capacity)
        terminated = [Bool](repeating: false, count: capacity)
        episodeEnds = [Bool](repeating: false, count: capacity)
        isState = [Bool](repeating: false, count: capacity)
        framesIntoEpisode = [Int32](repeating: 0, count: capacity)
        priorities = prioritized ? SumTree(capacity: capacity) : nil
    }

    /// Bytes held for observations (for the run log).
    public var observationBytes: Int { observations.count + nextObservations.count }

    /// Transitions stored (each can be sampled unless its frames were overwritten).
    public private(set) var count = 0

    // MARK: adding

    /// Stores one transition. `observation` and `nextObservation` hold `observationSize`
    /// floats; `truncated` (a time limit) ends the episode without making s′ terminal.
    public func add(
        observation: UnsafeBufferPointer<Float>, action: Int, reward: Float,
        nextObservation: UnsafeBufferPointer<Float>, terminated isTerminal: Bool, truncated: Bool
    ) {
        precondition(
            observation.count == observationSize && nextObservation.count == observationSize,
            "ReplayBuffer.add: observations of \(observation.count)/\(nextObservation.count) floats, expected \(observationSize)"
        )
        let ends = isTerminal || truncated
        let slot: Int
        switch storage {
        case .bits:
            slot = claimSlot()
            Self.pack(observation, into: &observations, at: slot * bytesPerSlot)
            Self.pack(nextObservation, into: &nextObservations, at: slot * bytesPerSlot)
            filled = min(filled + 1, capacity)
        case .frames:
            let frameOffset = observationSize - bytesPerSlot
            if episodeStartPending {
                let first = claimSlot()
                Self.quantize(
                    UnsafeBufferPointer(rebasing: observation[frameOffset...]), into: &observations,
                    at: first * bytesPerSlot)
                framesIntoEpisode[first] = 0
            }
            slot = (cursor - 1 + capacity) % capacity
            let next = claimSlot()
            Self.quantize(
                UnsafeBufferPointer(rebasing: nextObservation[frameOffset...]), into: &observations,
                at: next * bytesPerSlot)
            framesIntoEpisode[next] = framesIntoEpisode[slot] + 1
            filled = min(filled + 2, capacity)
        }
        actions[slot] = Int32(action)
        rewards[slot] = reward
        terminated[slot] = isTerminal
        episodeEnds[slot] = ends
        isState[slot] = true
        count += 1
        priorities?.update(slot, priority: maxPriority)
        episodeStartPending = ends
        transitionsAdded += 1
    }

    /// Convenience for arrays.
    public func add(
        observation: [Float], action: Int, reward: Float, nextObservation: [Float],
        terminated: Bool, truncated: Bool
    ) {
        observation.withUnsafeBufferPointer { o in
            nextObservation.withUnsafeBufferPointer { n in
                add(
                    observation: o, action: action, reward: reward, nextObservation: n, terminated: terminated,
                    truncated: truncated)
            }
        }
    }

    /// Takes the slot at the cursor, forgetting what it held.
    private func claimSlot() -> Int {
        let slot = cursor
        if isState[slot] { count -= 1 }
        isState[slot] = false
        terminated[slot] = false
        episodeEnds[slot] = false
        priorities?.update(slot, priority: 0)
        cursor = (cursor + 1) % capacity
        return slot
    }

    private static func pack(_ values: UnsafeBufferPointer<Float>, into bytes: inout [UInt8], at offset: Int) {
        bytes.withUnsafeMutableBufferPointer { out in
            var byte: UInt8 = 0
            for i in 0..<values.count {
                let v = values[i]
                precondition(v == 0 || v == 1, "ReplayBuffer(.bits): value \(v) is not a binary plane entry")
                if v != 0 { byte |= 1 << UInt8(i & 7) }
                if i & 7 == 7 || i == values.count - 1 {
                    out[offset + i >> 3] = byte
                    byte = 0
                }
            }
        }
    }

    private static func quantize(_ values: UnsafeBufferPointer<Float>, into bytes: inout [UInt8], at offset: Int) {
        bytes.withUnsafeMutableBufferPointer { out in
            for i in 0..<values.count {
                out[offset + i] = UInt8(max(0, min(255, (values[i] * 255).rounded())))
            }
        }
    }

    // MARK: sampling

    /// A slot is sampleable when it starts a stored transition whose frames have not been
    /// overwritten: the `stack − 1` oldest slots after the cursor may lack older frames.
    private func isSampleable(_ slot: Int) -> Bool {
        guard isState[slot] else { return false }
        if stack > 1 && filled == capacity {
            let age = (slot - cursor + capacity) % capacity  // 0 = oldest
            if age < stack - 1 { return false }
        }
        return true
    }

    /// Fills `batch` with `batch.size` transitions drawn uniformly (with replacement).
    public func sample(
        into batch: inout ReplayBatch, nSteps: Int = 1, gamma: Float, using generator: inout some RandomNumberGenerator
    ) {
        precondition(count > 0, "ReplayBuffer.sample: buffer is empty")
        for row in 0..<batch.size {
            var slot: Int
            repeat { slot = Int(generator.next(upperBound: UInt64(filled))) } while !isSampleable(slot)
            batch.indices[row] = slot
            batch.weights[row] = 1
            write(slot: slot, row: row, nSteps: nSteps, gamma: gamma, into: &batch)
        }
    }

    /// Fills `batch` by proportional prioritized sampling (Schaul et al. 2016): P(i) ∝ pᵢ^α
    /// (priorities are stored already raised to α), importance weights (N·P(i))^(−β) divided
    /// by their maximum in the batch.
    public func samplePrioritized(
        into batch: inout ReplayBatch, beta: Float, nSteps: Int = 1, gamma: Float,
        using generator: inout some RandomNumberGenerator
    ) {
        guard let tree = priorities else { preconditionFailure("ReplayBuffer: created without prioritized: true") }
        precondition(tree.total > 0, "ReplayBuffer.samplePrioritized: buffer is empty")
        let n = Double(count)
        var maxWeight: Float = 0
        let segment = tree.total / Double(batch.size)
        for row in 0..<batch.size {
            var slot: Int
            var tries = 0
            repeat {
                let u = Double(generator.next() >> 11) / 9_007_199_254_740_992.0
                slot = tree.find(prefix: (Double(row) + u) * segment)
                tries += 1
            } while !isSampleable(slot) && tries < 64
            if !isSampleable(slot) {
                repeat { slot = Int(generator.next(upperBound: UInt64(capacity))) } while !isSampleable(slot)
            }
            let probability = max(tree[slot], 1e-12) / tree.total
            let weight = Float(pow(n * probability, Double(-beta)))
            batch.indices[row] = slot
            batch.weights[row] = weight
            maxWeight = max(maxWeight, weight)
            write(slot: slot, row: row, nSteps: nSteps, gamma: gamma, into: &batch)
        }
        for row in 0..<batch.size { batch.weights[row] /= maxWeight }
    }

    /// Sets the priorities of sampled slots to (|δ| + ε)^α.
    public func updatePriorities(indices: [Int], tdErrors: [Float], alpha: Float, epsilon: Float = 1e-6) {
        guard priorities != nil else { preconditionFailure("ReplayBuffer: created without prioritized: true") }
        for (slot, error) in zip(indices, tdErrors) where isState[slot] {
            let p = pow(Double(abs(error) + epsilon), Double(alpha))
            priorities!.update(slot, priority: p)
            maxPriority = max(maxPriority, p)
        }
    }

    /// Writes transition `slot` as row `row`: state, action, n-step discounted return, the
    /// bootstrap state n steps on (or where the episode ended), and the discount γᵏ to apply
    /// to it (0 when the episode terminated within the n steps).
    private func write(slot: Int, row: Int, nSteps: Int, gamma: Float, into batch: inout ReplayBatch) {
        var returnSum: Float = 0
        var discount: Float = 1
        var last = slot
        var terminal = false
        for k in 0..<max(1, nSteps) {
            let s = stepSlot(slot, by: k)
            guard k == 0 || (s != nil && isState[s!]) else { break }
            let current = s!
            returnSum += discount * rewards[current]
            discount *= gamma
            last = current
            if terminated[current] {
                terminal = true
                break
            }
            if episodeEnds[current] { break }
        }
        batch.actions[row] = Int(actions[slot])
        batch.returns[row] = returnSum
        batch.discounts[row] = terminal ? 0 : discount
        writeState(of: slot, next: false, into: &batch.states, row: row)
        writeState(of: last, next: true, into: &batch.nextStates, row: row)
    }

    /// The slot `k` after `slot`, if it has been written since `slot` was.
    private func stepSlot(_ slot: Int, by k: Int) -> Int? {
        let recency = (cursor - 1 - slot + capacity) % capacity  // 0 = the newest slot
        return k <= recency ? (slot + k) % capacity : nil
    }

    /// Byte b → eight floats, lane i = bit i of b.
    private static let bitsToFloats: [SIMD8<Float>] = (0..<256).map { byte in
        var lanes = SIMD8<Float>()
        for i in 0..<8 where byte >> i & 1 == 1 { lanes[i] = 1 }
        return lanes
    }

    private func writeState(of slot: Int, next: Bool, into destination: inout [Float], row: Int) {
        let base = row * observationSize
        destination.withUnsafeMutableBufferPointer { out in
            switch storage {
            case .bits:
                let source = next ? nextObservations : observations
                source.withUnsafeBufferPointer { bytes in
                    let offset = slot * bytesPerSlot
                    // Eight planes' cells a byte: one table row (bit i → lane i) per full byte.
                    let whole = observationSize >> 3
                    let destination = UnsafeMutableRawPointer(out.baseAddress! + base)
                    Self.bitsToFloats.withUnsafeBufferPointer { table in
                        for j in 0..<whole {
                            destination.storeBytes(
                                of: table[Int(bytes[offset + j])], toByteOffset: j * 32,
                                as: SIMD8<Float>.self)
                        }
                    }
                    for i in (whole << 3)..<observationSize {
                        out[base + i] = (bytes[offset + i >> 3] >> UInt8(i & 7)) & 1 == 1 ? 1 : 0
                    }
                }
            case .frames:
                // The state of slot `s` ends with frame s; s′ ends with frame s + 1.
                let newest = next ? (slot + 1) % capacity : slot
                let depth = Int(framesIntoEpisode[newest])
                observations.withUnsafeBufferPointer { bytes in
                    for k in 0..<stack {
                        let back = min(stack - 1 - k, depth)
                        let source = (newest - back + capacity) % capacity
                        let from = source * bytesPerSlot, to = base + k * bytesPerSlot
                        for i in 0..<bytesPerSlot { out[to + i] = Float(bytes[from + i]) * (1.0 / 255.0) }
                    }
                }
            }
        }
    }
}

/// A sampled minibatch in flat arrays reused between samples (no allocation per update).
public struct ReplayBatch {
    public let size: Int
    public let observationSize: Int
    /// (size, observationSize) row-major.
    public var states: [Float]
    public var nextStates: [Float]
    public var actions: [Int]
    /// Σₖ γᵏ rₜ₊ₖ over the n steps taken.
    public var returns: [Float]
    /// γⁿ for bootstrapping from `nextStates`, or 0 when the episode terminated.
    public var discounts: [Float]
    /// Importance-sampling weights (1 for uniform sampling).
    public var weights: [Float]
    /// The buffer slots sampled (for priority updates).
    public var indices: [Int]

    public init(size: Int, observationSize: Int) {
        self.size = size
        self.observationSize = observationSize
        states = [Float](repeating: 0, count: size * observationSize)
        nextStates = states
        actions = [Int](repeating: 0, count: size)
        returns = [Float](repeating: 0, count: size)
        discounts = returns
        weights = [Float](repeating: 1, count: size)
        indices = actions
    }
}
