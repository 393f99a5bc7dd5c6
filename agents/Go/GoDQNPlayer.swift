import Cortex
import Envs
import Foundation

/// A trained Go DQN as a move generator for GTP engines, matches and the viewer: the legal
/// move with the largest Q-value (ε-greedy over legal moves with `epsilon` > 0). The network
/// is fully convolutional, so it plays any board size, not only the one it trained on.
public final class GoDQNPlayer: GoMoveGenerator {
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
        if EpsilonGreedy.explores(epsilon, generator: &generator) {
            return board.randomMove(for: color, using: &random, includePass: true, protectEyes: true)
        }
        let layout = GoObservationLayout(
            size: board.size, historyLength: board.historyLength, protectEyes: config.protectEyes)
        var row = [Float](repeating: 0, count: layout.count)
        return row.withUnsafeMutableBufferPointer { buffer in
            layout.write(board, into: buffer)
            let input = GoDQNAgent.planes(of: buffer.baseAddress!, rows: 1, layout: layout)
            let q = withNoGrad { network(input) }
            lastQValues = q.scalars
            let action = GoDQNAgent.maskedArgmax(
                q.storage.pointer, mask: buffer.baseAddress! + layout.planeValues,
                count: layout.actionCount)
            return board.move(forAction: action)
        }
    }
}
