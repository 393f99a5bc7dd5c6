import Cortex
import Envs
import Foundation

/// Saving and loading Go DQN checkpoints.
///
/// One `.safetensors` file: the online `GoQNetwork` under its plain keys (`conv1.weight`, …,
/// `point_head.weight`, `global_head.weight`), the target network under `target.`, Adam's
/// slots under `optimizer.`; metadata `go.config` (JSON of `GoDQNConfig`), `go.state` (JSON of
/// the training progress) and `go.kind` = `go-dqn`.
public enum GoDQNCheckpoint {
    public static let configKey = "go.config"
    public static let stateKey = "go.state"
    public static let kind = "go-dqn"

    public static func save(agent: GoDQNAgent, state: GoTrainingState, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let metadata = [
            configKey: String(decoding: try encoder.encode(agent.config), as: UTF8.self),
            stateKey: String(decoding: try encoder.encode(state), as: UTF8.self),
            "go.kind": kind,
        ]
        try Checkpoint.save(agent.checkpointModule, optimizer: agent.optimizer, metadata: metadata, to: path)
    }

    /// Loads networks and optimizer into `agent`; returns the metadata.
    @discardableResult
    public static func load(_ path: String, into agent: GoDQNAgent) throws -> [String: String] {
        let config = try readConfig(path)
        guard config.channels == agent.config.channels, config.layers == agent.config.layers,
              config.historyLength == agent.config.historyLength else {
            throw AgentError.badCheckpoint(path: path, reason: "its network (\(config.channels) channels, \(config.layers) layers, history \(config.historyLength)) differs from this run's (\(agent.config.channels), \(agent.config.layers), \(agent.config.historyLength))")
        }
        return try Checkpoint.load(into: agent.checkpointModule, optimizer: agent.optimizer, from: path)
    }

    /// The config stored in a checkpoint.
    public static func readConfig(_ path: String) throws -> GoDQNConfig {
        let file = try SafeTensors.read(from: path)
        guard file.metadata["go.kind"] == kind, let json = file.metadata[configKey], let config = GoDQNConfig.decode(json: json) else {
            throw AgentError.badCheckpoint(path: path, reason: "its metadata has no '\(configKey)' (was it written by `cortex train go`?)")
        }
        return config
    }

    /// The online network of a checkpoint, in evaluation mode, with its config.
    public static func loadNetwork(_ path: String) throws -> (config: GoDQNConfig, network: GoQNetwork) {
        let config = try readConfig(path)
        var generator = RandomGenerator(seed: 0)
        let network = GoQNetwork(inputChannels: GoBoard.planeCount(historyLength: config.historyLength),
                                 channels: config.channels, layers: config.layers, generator: &generator)
        try Checkpoint.load(into: network, from: path, strict: false)
        network.isTraining = false
        return (config, network)
    }
}

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

    public init(network: GoQNetwork, config: GoDQNConfig, name: String = "cortex-dqn", epsilon: Float = 0, seed: UInt64 = 0) {
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
        if board.historyLength != config.historyLength, let replayed = try? GoGame(record: game.record, historyLength: config.historyLength) {
            board = replayed.board
        }
        if board.toPlay != color {
            board = board.copy()
            board.setToPlay(color)
        }
        if epsilon > 0 && generator.nextFloat() < epsilon {
            return board.randomMove(for: color, using: &random, includePass: true, protectEyes: true)
        }
        let layout = GoObservationLayout(size: board.size, historyLength: board.historyLength, protectEyes: config.protectEyes)
        var row = [Float](repeating: 0, count: layout.count)
        return row.withUnsafeMutableBufferPointer { buffer in
            layout.write(board, into: buffer)
            let input = GoDQNAgent.planes(of: buffer.baseAddress!, rows: 1, layout: layout)
            let q = withNoGrad { network(input) }
            lastQValues = q.scalars
            let action = GoDQNAgent.maskedArgmax(q.storage.pointer, mask: buffer.baseAddress! + layout.planeValues,
                                                 count: layout.actionCount)
            return board.move(forAction: action)
        }
    }
}
