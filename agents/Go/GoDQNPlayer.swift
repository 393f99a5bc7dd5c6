import Cortex
import Envs
import Foundation

/// A trained Go DQN as a move generator for GTP engines, matches and the viewer: the legal
/// move with the largest Q-value (ε-greedy over legal moves with `epsilon` > 0). The network
/// is fully convolutional, so it plays any board size, not only the one it trained on.
public final class GoDQNPlayer: GoAnalyzer {
    public let network: GoQNetwork
    public let config: GoDQNConfig
    public let name: String
    public var epsilon: Float
    private var generator: RandomGenerator
    private var random: GoRandom
    /// Q-values of the last position the player was asked about (points row-major, then pass).
    public private(set) var lastQValues: [Float] = []

    public init(
        network: GoQNetwork, config: GoDQNConfig, name: String = "cortex-dqn", epsilon: Float = 0, seed: UInt64 = 0
    ) {
        self.network = network
        self.config = config
        self.name = name
        self.epsilon = epsilon
        generator = RandomGenerator(seed: seed)
        random = GoRandom(seed: seed &+ 1)
    }

    /// The player of a `cortex train go` checkpoint.
    public convenience init(checkpoint path: String, epsilon: Float = 0, seed: UInt64 = 0) throws {
        let (config, network) = try GoDQNCheckpoint.loadNetwork(path)
        self.init(network: network, config: config, name: "cortex-dqn", epsilon: epsilon, seed: seed)
    }

    public func generateMove(in game: GoGame, for color: GoColor) -> GoMove {
        let board = position(game, for: color)
        if EpsilonGreedy.explores(epsilon, generator: &generator) {
            return board.randomMove(for: color, using: &random, includePass: true, protectEyes: true)
        }
        let (q, mask) = evaluate(board)
        return board.move(forAction: GoDQNAgent.maskedArgmax(q, mask: mask, count: q.count))
    }

    /// `game`'s board with the network's history length, `color` to move.
    func position(_ game: GoGame, for color: GoColor) -> GoBoard {
        var board = game.board
        // Planes are from the mover's view with the network's history length.
        if board.historyLength != config.historyLength,
            let replayed = try? GoGame(record: game.record, historyLength: config.historyLength)
        {
            board = replayed.board
        }
        if board.toPlay != color {
            board = board.copy()
            board.setToPlay(color)
        }
        return board
    }

    /// Q-values of `board` (points row-major, then pass) and the mask of the actions the agent
    /// may take (1 legal, 0 not).
    func evaluate(_ board: GoBoard) -> (q: [Float], mask: [Float]) {
        let layout = GoObservationLayout(
            size: board.size, historyLength: board.historyLength, protectEyes: config.protectEyes)
        var row = [Float](repeating: 0, count: layout.count)
        return row.withUnsafeMutableBufferPointer { buffer in
            layout.write(board, into: buffer)
            let input = GoDQNAgent.planes(of: buffer.baseAddress!, rows: 1, layout: layout)
            let q = withNoGrad { network(input) }.scalars
            lastQValues = q
            return (q, Array(buffer[layout.planeValues..<(layout.planeValues + layout.actionCount)]))
        }
    }

    // MARK: - Analysis

    /// Temperature τ of the priors softmax(Q/τ): Q-values are expected returns in [−1, 1], so
    /// a Q gap of 0.1 makes a move e times likelier.
    public var priorTemperature = 0.1
    /// Candidates an analysis lists (the best by Q).
    public var candidateCount = 10

    public var searches: Bool { false }

    /// One forward pass: `GoDQNPlayer.analysis` of the Q-values.
    public func analyze(_ game: GoGame, for color: GoColor, seconds: Double) -> GoAnalysis {
        let (q, mask) = evaluate(position(game, for: color))
        return GoDQNPlayer.analysis(
            qValues: q, legal: mask.map { $0 != 0 }, size: game.size, color: color, temperature: priorTemperature,
            candidates: candidateCount)
    }

    /// An analysis from Q-values without search, for `color` to move on a board of `size`:
    ///
    ///     prior(a)   = exp((Q(a) − max Q) / τ) / Σ_legal b exp((Q(b) − max Q) / τ)   (0 if a is illegal)
    ///     winrate(a) = (clamp(Q(a), −1, 1) + 1) / 2
    ///
    /// The agent learnt Q as the expected result ±1 (win +1, loss −1, γ close to 1) for the player
    /// to move, so the map to [0, 1] is the win probability if Q were exact. The `candidates`
    /// legal moves with the largest Q come best first, each with visits 1 (one network evaluation,
    /// no search), lcb equal to its win rate (the network gives no uncertainty) and the move
    /// itself as the line. The position's win rate is the best move's.
    public static func analysis(
        qValues q: [Float], legal: [Bool], size: Int, color: GoColor, temperature: Double, candidates: Int
    ) -> GoAnalysis {
        precondition(
            q.count == size * size + 1 && legal.count == q.count,
            "GoDQNPlayer.analysis: \(q.count) Q-values, \(legal.count) legal flags for a \(size)×\(size) board")
        let actions = q.indices.filter { legal[$0] }
        let top = actions.map { Double(q[$0]) }.max() ?? 0
        var policy = [Double](repeating: 0, count: q.count)
        for a in actions { policy[a] = exp((Double(q[a]) - top) / temperature) }
        let total = policy.reduce(0, +)
        if total > 0 { for a in actions { policy[a] /= total } }
        func move(_ a: Int) -> GoMove { a == size * size ? .pass : .play(GoPoint(column: a % size, row: a / size)) }
        let ranked = actions.sorted { q[$0] > q[$1] || (q[$0] == q[$1] && $0 < $1) }.prefix(candidates)
        let list = ranked.map { a -> GoCandidate in
            let rate = (min(max(Double(q[a]), -1), 1) + 1) / 2
            return GoCandidate(
                move: move(a), visits: 1, winRate: rate, prior: policy[a], lowerConfidenceBound: rate,
                principalVariation: [move(a)])
        }
        return GoAnalysis(color: color, candidates: list, policy: policy, winRate: list.first?.winRate ?? 0.5)
    }
}
