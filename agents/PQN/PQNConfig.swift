import Cortex

/// Every setting of a PQN run (Gallici et al. 2024, "Simplifying Deep Temporal Difference
/// Learning"). Defaults are purejaxql's MinAtar configuration (`pqn_minatar.yaml`) unless a
/// line says otherwise; `cortex train <game> --algo pqn` starts from the game's row of
/// `PQNConfig.presets` and flags override single fields. Logged in full at the start of a run
/// (with the preset's name) and stored in checkpoints.
public struct PQNConfig: Codable, Equatable, Sendable {
    /// Name of the preset the fields started from (`breakout`, …; `purejaxql` for the plain
    /// defaults below). Flags that override fields do not change it.
    public var preset = "purejaxql"
    /// Game name from the registry (`breakout`, `space_invaders`, …).
    public var game = "breakout"
    /// `grid` (MinAtar planes, conv 16 torso) or `pixels` (84×84×4, the Nature torso).
    public var observation = "grid"
    /// Frames (environment steps summed over all copies) to train for (purejaxql: 10M). The
    /// learning-rate and ε schedules are laid out over this many frames.
    public var frames = 10_000_000
    /// Wall-clock budget in seconds: the run stops at the first rollout boundary past it, even
    /// short of `frames` (nil: no budget).
    public var timeBudget: Double? = nil
    /// Seed of every generator in the run.
    public var seed: UInt64 = 0
    /// Sticky-action probability of the training environments (MinAtar's default 0.1).
    public var stickyActions: Float = 0.1

    // MARK: rollouts
    /// Parallel environments N acting in one batched forward pass (purejaxql: 128).
    public var envs = 128
    /// Steps T per environment in one rollout (purejaxql: 32); a rollout has N·T transitions.
    public var rolloutSteps = 32

    // MARK: learning
    /// Passes over each rollout (purejaxql: 2).
    public var epochs = 2
    /// Minibatches per pass; the minibatch size is N·T / minibatches (purejaxql: 32 → 128).
    public var minibatches = 32
    /// Discount γ (0.99).
    public var gamma: Float = 0.99
    /// λ of the Q(λ) returns (purejaxql MinAtar: 0.65).
    public var lambda: Float = 0.65
    /// Adam step size at the first update (purejaxql: 5e-4, with RAdam); it falls linearly to
    /// `finalLearningRate` at the last update of `frames`.
    public var learningRate: Float = 5e-4
    public var finalLearningRate: Float = 0
    /// Adam's ε (PyTorch's default).
    public var adamEpsilon: Float = 1e-8
    /// Gradient clipping by global norm (purejaxql: 10; 0 turns it off).
    public var maxGradNorm: Float = 10

    // MARK: exploration
    /// ε-greedy: linear from `epsilonStart` to `epsilonEnd` over the first `epsilonFraction`
    /// of `frames` (purejaxql: 1 → 0.05 over 10%).
    public var epsilonStart: Float = 1
    public var epsilonEnd: Float = 0.05
    public var epsilonFraction: Float = 0.1

    // MARK: evaluation and logging
    /// Frames between evaluations (0: none); evaluations happen at the first rollout boundary past each multiple.
    public var evalEvery = 250_000
    /// Episodes per evaluation, ε for them, and their step cap (as the DQN's).
    public var evalEpisodes = 10
    public var evalEpsilon: Float = 0.05
    public var evalMaxSteps = 10_000
    /// Frames between checkpoints of the last state.
    public var checkpointEvery = 250_000

    public init() {}

    /// Transitions per rollout, N·T.
    public var rolloutSize: Int { envs * rolloutSteps }
    /// Rows per minibatch, N·T / minibatches.
    public var minibatchSize: Int { rolloutSize / minibatches }
    /// Gradient updates over the whole run (the learning-rate schedule's length).
    public var totalUpdates: Int { max(1, frames / rolloutSize) * epochs * minibatches }

    /// ε after `frame` frames.
    public func epsilon(atFrame frame: Int) -> Float {
        let span = max(1, Double(epsilonFraction) * Double(frames))
        let progress = Float(min(1, Double(frame) / span))
        return epsilonStart + (epsilonEnd - epsilonStart) * progress
    }

    /// The step size of gradient update number `update` (0 first).
    public func learningRate(atUpdate update: Int) -> Float {
        guard learningRate > 0 else { return 0 }
        return LinearLR(
            baseRate: learningRate, startFactor: 1, endFactor: finalLearningRate / learningRate,
            totalSteps: max(1, totalUpdates)
        ).learningRate(at: update)
    }

    /// What is wrong with these settings, or nil.
    public var problem: String? {
        if frames <= 0 || envs <= 0 || rolloutSteps <= 0 || epochs <= 0 || minibatches <= 0 {
            return "frames, envs, rollout steps, epochs and minibatches must be positive"
        }
        if rolloutSize % minibatches != 0 {
            return
                "minibatches (\(minibatches)) must divide envs × rollout steps (\(envs) × \(rolloutSteps) = \(rolloutSize))"
        }
        if !(0...1).contains(lambda) || !(0...1).contains(gamma) { return "γ and λ must be in [0, 1]" }
        if !(learningRate > 0) || !(finalLearningRate >= 0) { return "learning rates must be positive" }
        if !(0...1).contains(epsilonFraction) { return "the ε fraction must be in [0, 1]" }
        if let timeBudget, !(timeBudget > 0) { return "the time budget must be positive" }
        if envs > 65_536 || rolloutSteps > 65_536 { return "envs and rollout steps must be at most 65,536" }
        if evalEpisodes <= 0 || evalMaxSteps <= 0 || evalEvery < 0 {
            return "evaluation episodes and steps must be positive"
        }
        if !(0...1).contains(evalEpsilon) || !(0...1).contains(stickyActions) {
            return "ε and sticky actions must be in [0, 1]"
        }
        return nil
    }
}

// MARK: - Presets

/// The fields of `PQNConfig` a per-game preset sets (as RL Zoo's and CleanRL's per-environment
/// hyperparameter tables); everything else keeps the `PQNConfig` default.
public struct PQNPreset: Codable, Equatable, Sendable {
    public var frames: Int
    public var envs: Int
    public var rolloutSteps: Int
    public var epochs: Int
    public var minibatches: Int
    public var learningRate: Float
    public var lambda: Float
    public var epsilonFraction: Float
    public var evalEvery: Int
}

extension PQNConfig {
    /// One row per game, chosen by measurement on a 2-core CPU (docs/pqn.md has the runs):
    /// purejaxql's 128 × 32 rollouts and 2 × 32 minibatches of 128. Breakout's 8M frames fit
    /// in ten minutes on two cores (about 15,000 frames/s); the other games' schedules are laid
    /// out over purejaxql's 10M frames and were measured with a 15-minute budget (`--minutes 15`).
    public static let presets: [String: PQNPreset] = [
        "breakout": PQNPreset(
            frames: 8_000_000, envs: 128, rolloutSteps: 32, epochs: 2, minibatches: 32,
            learningRate: 5e-4, lambda: 0.65, epsilonFraction: 0.1, evalEvery: 500_000),
        "space_invaders": PQNPreset(
            frames: 10_000_000, envs: 128, rolloutSteps: 32, epochs: 2, minibatches: 32,
            learningRate: 5e-4, lambda: 0.65, epsilonFraction: 0.1, evalEvery: 1_000_000),
        "freeway": PQNPreset(
            frames: 10_000_000, envs: 128, rolloutSteps: 32, epochs: 2, minibatches: 32,
            learningRate: 5e-4, lambda: 0.65, epsilonFraction: 0.1, evalEvery: 1_000_000),
        "asterix": PQNPreset(
            frames: 10_000_000, envs: 128, rolloutSteps: 32, epochs: 2, minibatches: 32,
            learningRate: 5e-4, lambda: 0.65, epsilonFraction: 0.1, evalEvery: 1_000_000),
        "seaquest": PQNPreset(
            frames: 10_000_000, envs: 128, rolloutSteps: 32, epochs: 2, minibatches: 32,
            learningRate: 5e-4, lambda: 0.65, epsilonFraction: 0.1, evalEvery: 1_000_000)
    ]

    /// The config of `game`'s preset (the plain defaults, preset `purejaxql`, for a game without one).
    public init(preset game: String) {
        self.init()
        self.game = game
        guard let row = Self.presets[game] else { return }
        preset = game
        frames = row.frames
        envs = row.envs
        rolloutSteps = row.rolloutSteps
        epochs = row.epochs
        minibatches = row.minibatches
        learningRate = row.learningRate
        lambda = row.lambda
        epsilonFraction = row.epsilonFraction
        evalEvery = row.evalEvery
        checkpointEvery = row.evalEvery
    }

    /// The preset fields of this config, to compare with a table row.
    public var presetFields: PQNPreset {
        PQNPreset(
            frames: frames, envs: envs, rolloutSteps: rolloutSteps, epochs: epochs, minibatches: minibatches,
            learningRate: learningRate, lambda: lambda, epsilonFraction: epsilonFraction, evalEvery: evalEvery)
    }

    /// The environment settings in the form the DQN's environment and evaluation helpers take.
    public var environmentSettings: DQNConfig {
        var settings = DQNConfig()
        settings.game = game
        settings.observation = observation
        settings.stickyActions = stickyActions
        settings.seed = seed
        settings.evalEpisodes = evalEpisodes
        settings.evalEpsilon = evalEpsilon
        settings.evalMaxSteps = evalMaxSteps
        return settings
    }
}
