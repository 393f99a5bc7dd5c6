/// The shape of an observation: `channels` planes of `height × width` values, stored
/// channel-major (C, H, W) like a PyTorch image batch element.
public struct ObservationShape: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let channels: Int
    public let height: Int
    public let width: Int

    public init(channels: Int, height: Int, width: Int) {
        precondition(
            channels > 0 && height > 0 && width > 0,
            "ObservationShape: sizes must be positive, got \(channels)×\(height)×\(width)")
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// Number of values in one observation, `C · H · W`.
    public var count: Int { channels * height * width }
    /// `[C, H, W]`, for building tensors.
    public var dimensions: [Int] { [channels, height, width] }
    public var description: String { "\(channels)×\(height)×\(width)" }
}

/// How an environment shows itself to an agent.
public enum ObservationMode: String, CaseIterable, Sendable {
    /// MinAtar's object planes: C × 10 × 10 values in {0, 1}.
    case grid
    /// The rendered Atari-like frame as 84 × 84 luminance, DQN preprocessing (Mnih et al. 2015):
    /// 1 × 84 × 84 bytes in 0…255, floats in [0, 1].
    case pixels
}

/// What one step reports besides the observation (Gymnasium's contract): the reward, whether the
/// episode reached a terminal state of the game (`terminated`: bootstrap with 0), and whether it
/// was cut short from outside, by a step limit (`truncated`: the state still has a value).
public struct StepResult: Equatable, Sendable {
    public var reward: Float
    public var terminated: Bool
    public var truncated: Bool

    public init(reward: Float, terminated: Bool, truncated: Bool = false) {
        self.reward = reward
        self.terminated = terminated
        self.truncated = truncated
    }

    /// The episode is over, for either reason: the next call must be `reset`.
    public var isDone: Bool { terminated || truncated }
}

/// An episodic environment with Gymnasium's contract (Towers et al. 2024), shaped for speed:
/// `step` returns only the scalars, and the observation is written into a caller's buffer, so a
/// step allocates nothing.
///
/// Life cycle: `reset(seed:)` starts an episode (a seed reseeds the environment's own generator;
/// `nil` continues its stream); `step(_:)` advances one tick; once a step reports `isDone`,
/// stepping again without a reset is a precondition failure.
///
/// Observations exist in two forms with one meaning: compact bytes (`writeObservation(into:)`
/// with `UInt8`: 0/1 planes for grids, 0…255 luminance for pixels; what a replay buffer should
/// store) and floats (the bytes times `observationScale`; what a network reads).
public protocol Environment {
    /// One name per action; the action space is `0..<actionNames.count`.
    var actionNames: [String] { get }
    /// Number of actions (`actionNames.count`, without building the names).
    var actionCount: Int { get }
    /// Shape of one observation.
    var observationShape: ObservationShape { get }
    /// Float observation = byte observation × this (1 for grids, 1/255 for pixels).
    var observationScale: Float { get }
    /// True after a step that terminated or truncated, until the next reset.
    var isDone: Bool { get }

    /// Starts a new episode; the first observation is then available from `writeObservation`.
    mutating func reset(seed: UInt64?)
    /// Advances one tick with `action` in `0..<actionCount`. Precondition: `!isDone`.
    mutating func step(_ action: Int) -> StepResult
    /// Writes the current observation as floats (`observationShape.count` of them, C-H-W order).
    func writeObservation(into buffer: UnsafeMutableBufferPointer<Float>)
    /// Writes the current observation as bytes (`observationShape.count` of them, C-H-W order).
    func writeObservation(into buffer: UnsafeMutableBufferPointer<UInt8>)
    /// An Atari-like colour picture of the current state, with score and lives.
    func render() -> Frame
}

extension Environment {
    public var actionCount: Int { actionNames.count }

    /// Starts a new episode without reseeding.
    public mutating func reset() { reset(seed: nil) }

    /// The current observation as a fresh float array (convenience; allocates).
    public func observation() -> [Float] {
        [Float](unsafeUninitializedCapacity: observationShape.count) { buffer, count in
            writeObservation(into: buffer)
            count = buffer.count
        }
    }

    /// The current observation as a fresh byte array (convenience; allocates).
    public func observationBytes() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: observationShape.count) { buffer, count in
            writeObservation(into: buffer)
            count = buffer.count
        }
    }

    /// Gymnasium's `reset`: starts an episode and returns its first observation (allocates).
    public mutating func resetObserving(seed: UInt64? = nil) -> [Float] {
        reset(seed: seed)
        return observation()
    }

    /// Gymnasium's `step`: observation, reward, terminated, truncated (allocates the observation).
    public mutating func stepObserving(
        _ action: Int
    )
        -> (observation: [Float], reward: Float, terminated: Bool, truncated: Bool)
    {
        let result = step(action)
        return (observation(), result.reward, result.terminated, result.truncated)
    }

    /// Checks an action index against the action space (misuse in code → precondition).
    @inline(__always)
    func checkAction(_ action: Int, _ name: StaticString) {
        precondition(
            action >= 0 && action < actionCount,
            "\(name).step: action \(action) outside 0..<\(actionCount)")
    }

    /// Checks that a buffer has room for one observation.
    @inline(__always)
    func checkBuffer(_ count: Int, _ name: StaticString) {
        precondition(
            count >= observationShape.count,
            "\(name).writeObservation: buffer holds \(count) values, observation \(observationShape) needs \(observationShape.count)"
        )
    }
}

/// A type-erased environment, so that wrappers can sit on a game chosen by name at run time.
public struct AnyEnvironment: Environment {
    public var base: any Environment

    public init(_ base: any Environment) {
        if let already = base as? AnyEnvironment { self.base = already.base } else { self.base = base }
    }

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
