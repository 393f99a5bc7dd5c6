import Cortex
import Foundation

/// Every setting of a DQN run, with the defaults of MinAtar's reference agent (Young & Tian
/// 2019, `examples/dqn.py`), which follow the DQN paper (Mnih et al. 2015) scaled to 10×10
/// games, plus Double-DQN targets (van Hasselt et al. 2016) and Adam. Logged in full at the
/// start of a run and stored in checkpoints.
public struct DQNConfig: Codable, Equatable, Sendable {
    public enum Optimizer: String, Codable, Sendable, CaseIterable {
        /// Centered RMSprop as MinAtar's agent: lr 2.5e-4, α 0.95, momentum 0.95, ε 0.01.
        case rmsprop
        /// Adam (Kingma & Ba 2015), ε 1.5e-4 as Rainbow/Dopamine use for DQN.
        case adam

        /// The step size each optimizer starts from when none is given: 1e-4 for Adam
        /// (measured, docs/dqn.md), 2.5e-4 for MinAtar's RMSprop.
        public var defaultLearningRate: Float { self == .adam ? 1e-4 : 2.5e-4 }
    }

    /// Game name from the registry (`breakout`, `space_invaders`, …).
    public var game = "breakout"
    /// The per-game preset these settings started from (`DQNConfig.preset(for:)`); nil for
    /// plain defaults.
    public var preset: String? = nil
    /// `grid` (MinAtar planes, MinAtar's network) or `pixels` (84×84×4, the Nature network).
    public var observation = "grid"
    /// Frames (agent steps) to train for.
    public var frames = 1_000_000
    /// Seed of every generator in the run.
    public var seed: UInt64 = 0
    /// Wall-clock budget in seconds (`--minutes`): training stops once the time so far plus the
    /// last evaluation's duration reaches it, then evaluates and saves; nil: no budget.
    public var timeBudget: Double? = nil

    // MARK: experience
    /// Replay capacity in transitions (MinAtar: 100,000).
    public var replayCapacity = 100_000
    /// Frames of uniformly random play before learning starts (MinAtar: 5,000).
    public var learningStarts = 5_000
    /// Minibatch size (DQN paper and MinAtar: 32).
    public var batchSize = 32
    /// Environment frames per gradient update (MinAtar: 1).
    public var trainEvery = 1
    /// Prioritized replay (Schaul et al. 2016, proportional variant) instead of uniform sampling.
    public var prioritized = false
    /// Priority exponent α and initial importance-sampling exponent β (annealed to 1).
    public var priorityAlpha: Float = 0.6
    public var priorityBeta: Float = 0.4
    /// Multi-step returns (Sutton 1988; 3 as Hessel et al. 2018); 1 is the DQN paper's.
    public var nSteps = 1
    /// Sticky-action probability of the training environment (MinAtar's default 0.1).
    public var stickyActions: Float = 0.1

    // MARK: learning
    /// Discount γ (0.99).
    public var gamma: Float = 0.99
    public var optimizer = Optimizer.adam
    /// Step size: 2.5e-4 for MinAtar's RMSprop; 1e-4 by default for Adam (measured, see README).
    public var learningRate: Float = Optimizer.adam.defaultLearningRate
    /// When set, the step size falls linearly from `learningRate` at the first update to this
    /// value at the last frame; nil (the default) keeps it constant, as MinAtar's agent.
    public var finalLearningRate: Float? = nil
    /// Gradient clipping by global norm (`0` turns it off).
    public var maxGradNorm: Float = 10
    /// Updates between copies of the online network into the target network (MinAtar: 1,000).
    public var targetUpdateEvery = 1_000
    /// Double-DQN targets: the online network picks a′, the target network values it.
    public var doubleDQN = true
    /// Dueling head (Wang et al. 2016): Q = V + A − mean(A).
    public var dueling = false

    // MARK: exploration
    /// ε-greedy: linear from `epsilonStart` to `epsilonEnd` over `epsilonDecayFrames` frames
    /// after learning starts (MinAtar: 1.0 → 0.1 over 100,000).
    public var epsilonStart: Float = 1
    public var epsilonEnd: Float = 0.1
    public var epsilonDecayFrames = 100_000

    // MARK: evaluation and logging
    /// Frames between evaluations (0: none).
    public var evalEvery = 50_000
    /// Episodes per evaluation, ε for them, and their step cap.
    public var evalEpisodes = 10
    public var evalEpsilon: Float = 0.05
    public var evalMaxSteps = 10_000
    /// Frames between checkpoints of the last state.
    public var checkpointEvery = 50_000

    public init() {}

    /// ε after `frame` frames.
    public func epsilon(atFrame frame: Int) -> Float {
        EpsilonGreedy.linear(
            step: frame, start: epsilonStart, end: epsilonEnd, decaySteps: epsilonDecayFrames,
            delay: learningStarts)
    }

    /// The step-size schedule over updates counted from the first one (frame
    /// `learningStarts`): `LinearLR` to the last frame when `finalLearningRate` is set, else
    /// constant.
    public var learningRateSchedule: any LRSchedule {
        guard let finalLearningRate else { return FixedLR(learningRate) }
        return LinearLR(
            baseRate: learningRate, startFactor: 1, endFactor: finalLearningRate / learningRate,
            totalSteps: max(1, frames - learningStarts))
    }

    /// The step size of the update at `frame`.
    public func learningRate(atFrame frame: Int) -> Float {
        learningRateSchedule.learningRate(at: frame - learningStarts)
    }

    /// Prioritized replay's β, annealed linearly to 1 over the run.
    public func priorityBeta(atFrame frame: Int) -> Float {
        priorityBeta + (1 - priorityBeta) * min(1, Float(frame) / Float(max(1, frames)))
    }
}

// MARK: - Per-game presets

extension DQNConfig {
    /// Per-game presets, as RL Baselines3 Zoo ships them: each game's row names only the fields
    /// it changes from the defaults above, chosen by measurement (docs/dqn.md, 1M frames, seed 0).
    /// Breakout: 3-step returns, prioritized replay and a rate falling linearly to 0 reach a
    /// training mean of 10.8 (defaults: 6.4); the same agent loses most of its return on
    /// Freeway, Asterix and Seaquest, which keep the defaults (as Space Invaders does).
    public static let presetTable = """
        {
          "breakout": {"nSteps": 3, "prioritized": true, "finalLearningRate": 0},
          "space_invaders": {},
          "freeway": {},
          "asterix": {},
          "seaquest": {}
        }
        """

    /// The fields `game`'s preset changes, as JSON text (`{}` when it changes none), or nil
    /// when the table has no such game.
    public static func presetRow(for game: String) -> Data? {
        guard let table = try? JSONSerialization.jsonObject(with: Data(presetTable.utf8)) as? [String: Any],
            let row = table[game]
        else { return nil }
        return try? JSONSerialization.data(withJSONObject: row, options: [.sortedKeys])
    }

    /// The defaults with `game`'s preset row written over them; games without a row get the
    /// plain defaults.
    public static func preset(for game: String) -> DQNConfig {
        var config = DQNConfig()
        config.game = game
        if let row = presetRow(for: game),
            let merged = try? ConfigFile.merge(config, with: row, source: "preset \(game)")
        {
            config = merged
            config.preset = game
        }
        return config
    }
}
