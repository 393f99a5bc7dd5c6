import Cortex

/// How `watch` chooses actions: from the current observation (the environment's float
/// observation, C-H-W), an action and, when the policy has them, one value per action (a DQN's
/// Q-values), shown beside the game. A checkpointed agent plugs in as one more `Policy`.
struct Policy {
    /// Shown in the panel (`RANDOM`, `DQN`).
    let name: String
    let act: (_ observation: [Float]) -> (action: Int, qValues: [Float]?)

    /// Uniformly random actions from a seeded generator.
    static func random(actionCount: Int, seed: UInt64) -> Policy {
        var generator = RandomGenerator(seed: seed)
        return Policy(name: "random") { _ in (generator.nextInt(below: actionCount), nil) }
    }

    /// The policy stored in a checkpoint file.
    static func load(checkpoint path: String, actionCount: Int) throws -> Policy {
        throw CommandFailure("--checkpoint \(path): loading an agent needs the DQN agent, which this build does not have yet; without --checkpoint a random policy plays")
    }
}
