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
            "go.kind": kind
        ]
        try Checkpoint.save(agent.checkpointModule, optimizer: agent.optimizer, metadata: metadata, to: path)
    }

    /// Loads networks and optimizer into `agent`; returns the metadata.
    @discardableResult
    public static func load(_ path: String, into agent: GoDQNAgent) throws -> [String: String] {
        let config = try readConfig(path)
        guard config.channels == agent.config.channels, config.layers == agent.config.layers,
            config.historyLength == agent.config.historyLength
        else {
            throw AgentError.badCheckpoint(
                path: path,
                reason:
                    "its network (\(config.channels) channels, \(config.layers) layers, history \(config.historyLength)) differs from this run's (\(agent.config.channels), \(agent.config.layers), \(agent.config.historyLength))"
            )
        }
        return try Checkpoint.load(into: agent.checkpointModule, optimizer: agent.optimizer, from: path)
    }

    /// The config stored in a checkpoint.
    public static func readConfig(_ path: String) throws -> GoDQNConfig {
        let file = try SafeTensors.read(from: path)
        guard file.metadata["go.kind"] == kind, let json = file.metadata[configKey],
            let config = GoDQNConfig.decode(json: json)
        else {
            throw AgentError.badCheckpoint(
                path: path, reason: "its metadata has no '\(configKey)' (was it written by `cortex train go`?)")
        }
        guard (2...25).contains(config.size), (1...1024).contains(config.channels), (1...100).contains(config.layers),
            (0...16).contains(config.historyLength)
        else {
            throw AgentError.badCheckpoint(
                path: path,
                reason:
                    "'\(configKey)' has board size \(config.size), \(config.channels) channels, \(config.layers) layers, history \(config.historyLength); expected 2…25, 1…1024, 1…100, 0…16"
            )
        }
        return config
    }

    /// The online network of a checkpoint, in evaluation mode, with its config.
    public static func loadNetwork(_ path: String) throws -> (config: GoDQNConfig, network: GoQNetwork) {
        let config = try readConfig(path)
        var generator = RandomGenerator(seed: 0)
        let network = GoQNetwork(
            inputChannels: GoBoard.planeCount(historyLength: config.historyLength),
            channels: config.channels, layers: config.layers, generator: &generator)
        try Checkpoint.load(into: network, from: path, ignoring: ["target."])
        network.isTraining = false
        return (config, network)
    }
}
