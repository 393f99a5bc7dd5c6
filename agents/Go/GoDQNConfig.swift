import Cortex
import Foundation

/// Every setting of a Go self-play DQN run. Logged in full at the start of a run and stored in
/// checkpoints. The defaults are the measured 9×9 recipe (docs/go.md): a small network, 8-step
/// returns and frequent target syncs, which beat the random player in every evaluation game
/// from 30,000 moves on. The learning rule is DQN's (Mnih et al. 2015) with Double-DQN targets (van
/// Hasselt et al. 2016), turned into negamax for two players taking turns: the state after a
/// move belongs to the opponent, so its value enters the target with a minus sign.
public struct GoDQNConfig: Codable, Equatable, Sendable {
    /// Board size of training (the network itself plays any size).
    public var size = 9
    /// Komi for white, Tromp–Taylor area scoring.
    public var komi = 7.5
    /// Past positions in the observation planes (`GoBoard.planeCount`: 11 + 2·history).
    public var historyLength = 3
    /// Moves (of both sides, all parallel games) to train for.
    public var moves = 60_000
    /// Seed of every generator in the run.
    public var seed: UInt64 = 0

    /// Leave the mover's own single-point eyes out of its moves (acting, the target's max and
    /// play), the random baseline's rule; `false` masks only illegal moves.
    public var protectEyes = true

    // MARK: network
    /// Feature maps of the trunk's 3×3 convolutions.
    public var channels = 16
    /// 3×3 convolutions in the trunk.
    public var layers = 3

    // MARK: self-play
    /// Games played side by side, so the network acts on a batch of positions at once.
    public var parallelGames = 16
    /// Games are stopped and scored after this many moves (0: 2·size², as `cortex match`).
    public var maxMoves = 0
    /// Fraction of training games against the random eye-preserving player; the others are
    /// against a frozen earlier snapshot of the network, drawn uniformly from the pool.
    public var randomOpponentFraction: Float = 0.3
    /// Updates between snapshots added to the opponent pool.
    public var snapshotEvery = 2_000
    /// Snapshots kept (the oldest is dropped).
    public var poolSize = 8
    /// ε of a snapshot opponent (a little noise varies its games).
    public var opponentEpsilon: Float = 0.05

    // MARK: experience and learning
    /// Replay capacity in transitions.
    public var replayCapacity = 100_000
    /// Moves before learning starts (the first games are played with ε = 1).
    public var learningStarts = 2_000
    public var batchSize = 64
    /// Moves per gradient update.
    public var trainEvery = 8
    /// Train on one of the board's eight symmetries per sample, drawn at random (`GoSymmetry`).
    public var augment = true
    /// Multi-step returns (Sutton 1988), signs alternating with the player; 1 is plain DQN.
    public var nSteps = 8
    /// Discount γ of the negamax target y = r − γ·max_{legal a′} Q(s′, a′).
    public var gamma: Float = 0.99
    /// Adam (Kingma & Ba 2015) step size.
    public var learningRate: Float = 5e-4
    /// Gradient clipping by global norm (`0` turns it off).
    public var maxGradNorm: Float = 10
    /// Updates between copies of the online network into the target network.
    public var targetUpdateEvery = 250
    /// Double-DQN targets: the online network picks a′ among legal moves, the target network values it.
    public var doubleDQN = true

    // MARK: exploration
    /// ε-greedy over legal moves: linear from `epsilonStart` to `epsilonEnd` over
    /// `epsilonDecayMoves` moves after learning starts.
    public var epsilonStart: Float = 1
    public var epsilonEnd: Float = 0.05
    public var epsilonDecayMoves = 30_000

    // MARK: evaluation and checkpoints
    /// Moves between evaluations against the random player (0: none).
    public var evalEvery = 10_000
    /// Greedy games per evaluation, colours alternating.
    public var evalGames = 40
    /// Moves between checkpoints of the last state.
    public var checkpointEvery = 10_000

    public init() {}

    /// The move cap of a game on this board.
    public var moveCap: Int { maxMoves > 0 ? maxMoves : 2 * size * size }

    /// A config from JSON written by this or an earlier version: settings the JSON lacks
    /// (added since) keep their defaults.
    public static func decode(json: String) -> GoDQNConfig? {
        try? ConfigFile.merge(GoDQNConfig(), with: Data(json.utf8))
    }

    /// ε after `move` moves.
    public func epsilon(atMove move: Int) -> Float {
        EpsilonGreedy.linear(
            step: move, start: epsilonStart, end: epsilonEnd, decaySteps: epsilonDecayMoves,
            delay: learningStarts)
    }
}
