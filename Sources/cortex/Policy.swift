import Agents
import Cortex
import Envs

/// How `watch` chooses actions: from the current observation (the environment's float
/// observation, C-H-W), an action and, when the policy has them, one value per action (a DQN's
/// Q-values), shown beside the game.
struct Policy {
    /// Shown in the panel (`RANDOM`, `DQN`).
    let name: String
    let act: (_ observation: [Float]) -> (action: Int, qValues: [Float]?)

    /// Uniformly random actions from a seeded generator.
    static func random(actionCount: Int, seed: UInt64) -> Policy {
        var generator = RandomGenerator(seed: seed)
        return Policy(name: "random") { _ in (generator.nextInt(below: actionCount), nil) }
    }

    /// A trained DQN agent from a `cortex train <game>` checkpoint, acting greedily (or
    /// ε-greedily with `epsilon` > 0), and the environment it was trained on (its observation
    /// mode, frame stack and sticky actions) for `game`.
    static func load(
        checkpoint path: String, game: String, epsilon: Float, seed: UInt64,
        maxSteps: Int
    ) throws -> (policy: Policy, env: AnyEnvironment) {
        // A PQN checkpoint (its metadata says so) or a DQN one: a network and the game settings.
        let config: DQNConfig, network: any UnaryLayer, name: String
        if PQNCheckpoint.isPQN(path) {
            let loaded = try PQNCheckpoint.loadNetwork(path)
            (config, network, name) = (loaded.config.environmentSettings, loaded.network, "PQN")
        } else {
            let loaded = try DQNCheckpoint.loadNetwork(path)
            (config, network, name) = (loaded.config, loaded.network, "DQN")
        }
        guard config.game == game else {
            throw CommandFailure("--checkpoint \(path) holds an agent for \(config.game), not \(game)")
        }
        let env = try DQNEnvironments.make(config, seed: seed, maxSteps: maxSteps)
        network.isTraining = false
        let shape = [1] + env.observationShape.dimensions
        let actionCount = env.actionCount
        var generator = RandomGenerator(seed: seed &+ 0xE9)
        let policy = Policy(name: name) { observation in
            let q = withNoGrad { network(Tensor(shape: shape, data: observation)) }.scalars
            let action = EpsilonGreedy.action(epsilon: epsilon, actionCount: actionCount, generator: &generator) {
                EpsilonGreedy.argmax(q)
            }
            return (action, q)
        }
        return (policy, env)
    }
}
