import Cortex
import Foundation

/// Saving and loading DQN checkpoints.
///
/// One `.safetensors` file: the online network's parameters under their plain names
/// (`conv.weight`, `fc_hidden.weight`, `output.weight`, … — MinAtar's `QNetwork` attribute
/// names), the target network under `target.`, the optimizer's slots under `optimizer.`; the
/// metadata holds `dqn.config` (JSON of `DQNConfig`), `dqn.state` (JSON of the training
/// progress), `dqn.observation_shape` and `dqn.actions`. In Python:
/// `{k: v for k, v in load_file(p).items() if not k.startswith(("target.", "optimizer."))}`
/// loads into MinAtar's network.
public enum DQNCheckpoint {
    public static let configKey = "dqn.config"
    public static let stateKey = "dqn.state"

    public static func save(agent: DQNAgent, state: DQNTrainingState, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var metadata = [
            configKey: String(decoding: try encoder.encode(agent.config), as: UTF8.self),
            stateKey: String(decoding: try encoder.encode(state), as: UTF8.self),
            "dqn.observation_shape": agent.observationShape.map(String.init).joined(separator: ","),
            "dqn.actions": String(agent.actionCount)
        ]
        metadata["dqn.architecture"] = agent.online.architecture.rawValue
        try Checkpoint.save(agent.checkpointModule, optimizer: agent.optimizer, metadata: metadata, to: path)
    }

    /// Loads everything into `agent` (networks and optimizer); returns the metadata.
    @discardableResult
    public static func load(_ path: String, into agent: DQNAgent) throws -> [String: String] {
        try Checkpoint.load(into: agent.checkpointModule, optimizer: agent.optimizer, from: path)
    }

    /// The config stored in a checkpoint and an online network with its weights, for `eval` and `watch`.
    public static func loadNetwork(_ path: String) throws -> (config: DQNConfig, network: QNetwork) {
        let file = try SafeTensors.read(from: path)
        guard let json = file.metadata[configKey], let data = json.data(using: .utf8),
            let config = try? JSONDecoder().decode(DQNConfig.self, from: data)
        else {
            throw AgentError.badCheckpoint(
                path: path, reason: "its metadata has no '\(configKey)' (was it written by `cortex train <game>`?)")
        }
        let shape = (file.metadata["dqn.observation_shape"] ?? "").split(separator: ",").compactMap { Int($0) }
        guard shape.count == 3, let actions = file.metadata["dqn.actions"].flatMap(Int.init), actions > 0 else {
            throw AgentError.badCheckpoint(
                path: path, reason: "observation shape or action count missing in its metadata")
        }
        if let problem = DQNCheckpoint.problem(config: config, shape: shape, actions: actions) {
            throw AgentError.badCheckpoint(path: path, reason: problem)
        }
        let agent = DQNAgent(config: config, observationShape: shape, actionCount: actions)
        try Checkpoint.load(into: agent.online, from: path, ignoring: ["target."])
        return (config, agent.online)
    }

    /// What in a checkpoint's description cannot be a network Cortex builds, or nil: the
    /// observation shape must be MinAtar's planes ([C, 10, 10], C ≤ 16) for `grid` or stacked
    /// 84×84 frames for `pixels`, with 1…64 actions.
    static func problem(config: DQNConfig, shape: [Int], actions: Int) -> String? {
        guard (1...64).contains(actions) else { return "'dqn.actions' is \(actions), expected 1…64" }
        switch config.observation {
        case "grid":
            guard (1...16).contains(shape[0]), shape[1] == 10, shape[2] == 10 else {
                return "'dqn.observation_shape' is \(shape) for a grid network, expected [1…16, 10, 10]"
            }
        case "pixels":
            guard (1...16).contains(shape[0]), shape[1] == 84, shape[2] == 84 else {
                return "'dqn.observation_shape' is \(shape) for a pixels network, expected [1…16, 84, 84]"
            }
        default:
            return "observation '\(config.observation)' in '\(configKey)', expected grid or pixels"
        }
        return nil
    }
}
