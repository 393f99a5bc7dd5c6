// Wrappers in Gymnasium's sense: each is an `Environment` around a `base` environment and changes
// one thing. Stack them in the order the concern needs, e.g. for DQN on MinAtar:
// `AutoReset(EpisodeStatistics(TimeLimit(StickyActions(Breakout()), maxEpisodeSteps: 100_000)))`.

/// The members a wrapper forwards unchanged; a wrapper overrides what it changes.
public protocol EnvironmentWrapper: Environment {
    associatedtype Base: Environment
    var base: Base { get set }
}

extension EnvironmentWrapper {
    public var actionNames: [String] { base.actionNames }
    public var actionCount: Int { base.actionCount }
    public var observationShape: ObservationShape { base.observationShape }
    public var observationScale: Float { base.observationScale }
    public var isDone: Bool { base.isDone }
    public mutating func reset(seed: UInt64?) { base.reset(seed: seed) }
    public mutating func step(_ action: Int) -> StepResult { base.step(action) }
    public func writeObservation(into buffer: UnsafeMutableBufferPointer<Float>) { base.writeObservation(into: buffer) }
    public func writeObservation(into buffer: UnsafeMutableBufferPointer<UInt8>) { base.writeObservation(into: buffer) }
    public func render() -> Frame { base.render() }
}

/// Sticky actions (Machado et al. 2018; MinAtar's default p = 0.1): with probability `p` the
/// environment ignores the agent's action and repeats the previously *executed* one. As in
/// MinAtar, the previous action starts at 0 (no-op) once, is carried across resets, and one
/// uniform number is drawn on every step whatever `p` is.
public struct StickyActions<Base: Environment>: EnvironmentWrapper {
    public var base: Base
    public let probability: Double
    /// The action executed on the last step.
    public private(set) var lastAction = 0
    var random: MersenneTwister

    /// `seed` seeds the wrapper's own generator; `reset(seed:)` reseeds it from the episode seed.
    public init(_ base: Base, probability: Double = 0.1, seed: UInt64 = 0) {
        precondition(probability >= 0 && probability <= 1, "StickyActions: probability \(probability) outside [0, 1]")
        self.base = base
        self.probability = probability
        random = MersenneTwister(seed: StickyActions.derivedSeed(seed))
    }

    /// A seed for the wrapper's stream that differs from the game's own for the same run seed.
    static func derivedSeed(_ seed: UInt64) -> UInt64 { (seed ^ 0x5851_F42D_4C95_7F2D) & 0xFFFF_FFFF }

    public mutating func reset(seed: UInt64?) {
        if let seed { random = MersenneTwister(seed: StickyActions.derivedSeed(seed)) }
        base.reset(seed: seed)
    }

    public mutating func step(_ action: Int) -> StepResult {
        checkAction(action, "StickyActions")
        let executed = random.nextDouble() < probability ? lastAction : action
        lastAction = executed
        return base.step(executed)
    }
}

/// Truncates episodes after `maxEpisodeSteps` steps (Gymnasium's `TimeLimit`): the step that
/// reaches the limit reports `truncated` (alongside `terminated` if the game also ended then).
public struct TimeLimit<Base: Environment>: EnvironmentWrapper {
    public var base: Base
    public let maxEpisodeSteps: Int
    /// Steps taken in this episode.
    public private(set) var elapsedSteps = 0
    public private(set) var truncated = false

    public init(_ base: Base, maxEpisodeSteps: Int) {
        precondition(maxEpisodeSteps > 0, "TimeLimit: maxEpisodeSteps must be positive, got \(maxEpisodeSteps)")
        self.base = base
        self.maxEpisodeSteps = maxEpisodeSteps
    }

    public var isDone: Bool { truncated || base.isDone }

    public mutating func reset(seed: UInt64?) {
        elapsedSteps = 0
        truncated = false
        base.reset(seed: seed)
    }

    public mutating func step(_ action: Int) -> StepResult {
        precondition(!truncated, "TimeLimit.step: the episode was truncated; call reset first")
        var result = base.step(action)
        elapsedSteps += 1
        if elapsedSteps >= maxEpisodeSteps {
            truncated = true
            result.truncated = true
        }
        return result
    }
}

/// One finished episode: the sum of its rewards and its number of steps.
public struct EpisodeRecord: Equatable, Sendable {
    public var totalReward: Float
    public var length: Int
    public init(totalReward: Float, length: Int) {
        self.totalReward = totalReward
        self.length = length
    }
}

/// Records the return and length of every episode (Gymnasium's `RecordEpisodeStatistics`).
public struct EpisodeStatistics<Base: Environment>: EnvironmentWrapper {
    public var base: Base
    /// Return and length of the episode in progress.
    public private(set) var episodeReturn: Float = 0
    public private(set) var episodeLength = 0
    /// Every finished episode, oldest first (clear it when it has been logged).
    public var finished: [EpisodeRecord] = []

    public init(_ base: Base) { self.base = base }

    /// The episode that finished most recently.
    public var lastEpisode: EpisodeRecord? { finished.last }

    public mutating func reset(seed: UInt64?) {
        episodeReturn = 0
        episodeLength = 0
        base.reset(seed: seed)
    }

    public mutating func step(_ action: Int) -> StepResult {
        let result = base.step(action)
        episodeReturn += result.reward
        episodeLength += 1
        if result.isDone { finished.append(EpisodeRecord(totalReward: episodeReturn, length: episodeLength)) }
        return result
    }
}

/// Starts a new episode inside the step that ends one ("same-step" autoreset), so the
/// environment never reports `isDone`. The step still returns the ending step's reward and
/// flags; the observation afterwards is the new episode's first, and the last observation of
/// the ended episode (what a DQN target needs after truncation) is kept for
/// `writeFinalObservation`.
public struct AutoReset<Base: Environment>: EnvironmentWrapper {
    public var base: Base
    /// The last step ended an episode and a new one began.
    public private(set) var didReset = false
    var finalObservation: [UInt8]

    public init(_ base: Base) {
        self.base = base
        finalObservation = [UInt8](repeating: 0, count: base.observationShape.count)
    }

    public var isDone: Bool { false }

    public mutating func reset(seed: UInt64?) {
        didReset = false
        base.reset(seed: seed)
    }

    public mutating func step(_ action: Int) -> StepResult {
        if base.isDone { base.reset(seed: nil) }  // a base that started done (e.g. a finished copy)
        let result = base.step(action)
        didReset = result.isDone
        if didReset {
            var final = finalObservation
            finalObservation = []
            final.withUnsafeMutableBufferPointer { base.writeObservation(into: $0) }
            finalObservation = final
            base.reset(seed: nil)
        }
        return result
    }

    /// The last observation of the episode that ended on the last step, as bytes.
    public func writeFinalObservation(into buffer: UnsafeMutableBufferPointer<UInt8>) {
        precondition(didReset, "AutoReset.writeFinalObservation: the last step did not end an episode")
        checkBuffer(buffer.count, "AutoReset")
        _ = buffer.update(fromContentsOf: finalObservation)
    }

    /// The last observation of the episode that ended on the last step, as floats.
    public func writeFinalObservation(into buffer: UnsafeMutableBufferPointer<Float>) {
        precondition(didReset, "AutoReset.writeFinalObservation: the last step did not end an episode")
        checkBuffer(buffer.count, "AutoReset")
        let scale = observationScale
        for i in 0..<finalObservation.count { buffer[i] = Float(finalObservation[i]) * scale }
    }
}

/// Stacks the last `count` observations along the channel axis, oldest first (Mnih et al. 2015
/// stack 4 frames): shape (count · C, H, W). After a reset every slot holds the first observation.
public struct FrameStack<Base: Environment>: EnvironmentWrapper {
    public var base: Base
    public let count: Int
    var frames: [UInt8]
    /// Slot of the oldest frame in the ring.
    var oldest = 0

    public init(_ base: Base, count: Int = 4) {
        precondition(count >= 1, "FrameStack: count must be at least 1, got \(count)")
        self.base = base
        self.count = count
        frames = [UInt8](repeating: 0, count: count * base.observationShape.count)
        fill()
    }

    public var observationShape: ObservationShape {
        let shape = base.observationShape
        return ObservationShape(channels: count * shape.channels, height: shape.height, width: shape.width)
    }

    private mutating func fill() {
        let n = base.observationShape.count
        var ring = frames
        frames = []  // so that `ring` is unique and `base` may be read meanwhile
        ring.withUnsafeMutableBufferPointer { all in
            base.writeObservation(into: UnsafeMutableBufferPointer(rebasing: all[0..<n]))
            for slot in 1..<count { all.baseAddress!.advanced(by: slot * n).update(from: all.baseAddress!, count: n) }
        }
        frames = ring
        oldest = 0
    }

    public mutating func reset(seed: UInt64?) {
        base.reset(seed: seed)
        fill()
    }

    public mutating func step(_ action: Int) -> StepResult {
        let result = base.step(action)
        let n = base.observationShape.count
        let slot = oldest
        var ring = frames
        frames = []
        ring.withUnsafeMutableBufferPointer { all in
            base.writeObservation(into: UnsafeMutableBufferPointer(rebasing: all[(slot * n)..<((slot + 1) * n)]))
        }
        frames = ring
        oldest = (oldest + 1) % count
        return result
    }

    public func writeObservation(into buffer: UnsafeMutableBufferPointer<UInt8>) {
        checkBuffer(buffer.count, "FrameStack")
        let n = base.observationShape.count
        frames.withUnsafeBufferPointer { all in
            for k in 0..<count {
                let slot = (oldest + k) % count
                (buffer.baseAddress! + k * n).update(from: all.baseAddress! + slot * n, count: n)
            }
        }
    }

    public func writeObservation(into buffer: UnsafeMutableBufferPointer<Float>) {
        checkBuffer(buffer.count, "FrameStack")
        let n = base.observationShape.count, scale = base.observationScale
        frames.withUnsafeBufferPointer { all in
            for k in 0..<count {
                let from = ((oldest + k) % count) * n, to = k * n
                for i in 0..<n { buffer[to + i] = Float(all[from + i]) * scale }
            }
        }
    }
}
