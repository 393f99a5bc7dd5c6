import Cortex
import Envs
import Foundation

/// Evaluation episodes of a PQN network, batched: `parallel` environments play at once with
/// one forward pass per step for all that still play, environment `i` (seeded `seed + i`)
/// playing episodes `i`, `i + parallel`, … so every episode count is reached without favouring
/// short episodes. Results come back in episode order, in the DQN's result type.
public enum PQNEvaluation {
    public static func run(
        network: PQNNetwork, episodes: Int, epsilon: Float, seed: UInt64, maxSteps: Int,
        parallel: Int = 16, make: PQNTrainer.EnvironmentMaker,
        onEpisode: ((Int, DQNEvaluation.Episode) -> Void)? = nil
    ) throws -> DQNEvaluation.Results {
        let count = min(parallel, episodes)
        var envs: [AnyEnvironment] = []
        for i in 0..<count {
            var env = try make(seed &+ UInt64(i), maxSteps)
            env.reset(seed: seed &+ UInt64(i))
            envs.append(env)
        }
        let shape = envs[0].observationShape, D = shape.count, A = envs[0].actionCount
        var generator = RandomGenerator(seed: seed)
        var results = [DQNEvaluation.Episode?](repeating: nil, count: episodes)
        var current = Array(0..<count)  // episode index each environment plays
        var totals = [Float](repeating: 0, count: count), lengths = [Int](repeating: 0, count: count)
        var playing = Array(0..<count)
        var finished = 0
        let input = TensorStorage(count: count * D)
        while !playing.isEmpty {
            for (row, e) in playing.enumerated() {
                envs[e].writeObservation(into: UnsafeMutableBufferPointer(start: input.pointer + row * D, count: D))
            }
            let batch = Tensor(
                shape: [playing.count] + shape.dimensions,
                storage: playing.count == count ? input : Self.prefix(input, playing.count * D))
            let greedy = withNoGrad { network(batch) }.argmaxIndices(axis: 1)
            var still: [Int] = []
            for (row, e) in playing.enumerated() {
                let action = epsilon > 0 && generator.nextFloat() < epsilon ? generator.nextInt(below: A) : greedy[row]
                let result = envs[e].step(action)
                totals[e] += result.reward
                lengths[e] += 1
                if result.isDone {
                    let episode = DQNEvaluation.Episode(
                        totalReward: totals[e], length: lengths[e], truncated: !result.terminated)
                    results[current[e]] = episode
                    finished += 1
                    onEpisode?(finished - 1, episode)
                    totals[e] = 0
                    lengths[e] = 0
                    current[e] += count
                    if current[e] < episodes {
                        envs[e].reset(seed: nil)
                        still.append(e)
                    }
                } else {
                    still.append(e)
                }
            }
            playing = still
        }
        return DQNEvaluation.Results(episodes: results.map { $0! })
    }

    private static func prefix(_ storage: TensorStorage, _ count: Int) -> TensorStorage {
        let copy = TensorStorage(uninitializedCount: count)
        copy.pointer.update(from: storage.pointer, count: count)
        return copy
    }
}

/// Saving and loading PQN checkpoints.
///
/// One `.safetensors` file: the network's parameters under the names `PQNNetwork` documents
/// (`conv.weight`, `conv_norm.weight`, `fc_hidden.weight`, `fc_norm.weight`, `output.weight`,
/// and their biases), Adam's slots under `optimizer.`; the metadata holds `cortex.algorithm`
/// = `pqn`, `pqn.config` (JSON of `PQNConfig`, with its preset name), `pqn.state` (JSON of the
/// training progress), `pqn.observation_shape` and `pqn.actions`. In Python,
/// `{k: v for k, v in load_file(p).items() if not k.startswith("optimizer.")}` loads into a
/// module with those attribute names.
public enum PQNCheckpoint {
    public static let algorithmKey = "cortex.algorithm"
    public static let configKey = "pqn.config"
    public static let stateKey = "pqn.state"

    public static func save(
        network: PQNNetwork, optimizer: Optimizer, config: PQNConfig, state: DQNTrainingState,
        to path: String
    ) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let metadata = [
            algorithmKey: "pqn",
            configKey: String(decoding: try encoder.encode(config), as: UTF8.self),
            stateKey: String(decoding: try encoder.encode(state), as: UTF8.self),
            "pqn.observation_shape": network.inputShape.map(String.init).joined(separator: ","),
            "pqn.actions": String(network.actionCount)
        ]
        try Checkpoint.save(network, optimizer: optimizer, metadata: metadata, to: path)
    }

    /// Loads the network and optimizer; returns the metadata.
    @discardableResult
    public static func load(_ path: String, network: PQNNetwork, optimizer: Optimizer) throws -> [String: String] {
        let metadata = try Checkpoint.load(into: network, optimizer: optimizer, from: path)
        guard metadata[algorithmKey] == "pqn" else {
            throw AgentError.badCheckpoint(path: path, reason: "it was not written by a PQN run")
        }
        return metadata
    }

    /// Whether the checkpoint at `path` was written by PQN (reads only the header).
    public static func isPQN(_ path: String) -> Bool {
        (try? SafeTensors.read(from: path))?.metadata[algorithmKey] == "pqn"
    }

    /// The config stored in a checkpoint and its network with weights, for `eval` and `watch`.
    public static func loadNetwork(_ path: String) throws -> (config: PQNConfig, network: PQNNetwork) {
        let file = try SafeTensors.read(from: path)
        guard let json = file.metadata[configKey], let data = json.data(using: .utf8),
            let config = try? JSONDecoder().decode(PQNConfig.self, from: data)
        else {
            throw AgentError.badCheckpoint(path: path, reason: "its metadata has no '\(configKey)'")
        }
        let shape = (file.metadata["pqn.observation_shape"] ?? "").split(separator: ",").compactMap { Int($0) }
        guard shape.count == 3, let actions = file.metadata["pqn.actions"].flatMap(Int.init), actions > 0 else {
            throw AgentError.badCheckpoint(
                path: path, reason: "observation shape or action count missing in its metadata")
        }
        if let problem = config.problem
            ?? DQNCheckpoint.problem(config: config.environmentSettings, shape: shape, actions: actions)
        {
            throw AgentError.badCheckpoint(path: path, reason: problem)
        }
        var generator = RandomGenerator(seed: 0)
        let network = PQNNetwork(inputShape: shape, actionCount: actions, generator: &generator)
        try Checkpoint.load(into: network, from: path)
        network.eval()
        return (config, network)
    }
}
