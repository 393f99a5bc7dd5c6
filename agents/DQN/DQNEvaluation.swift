import Cortex
import Envs

/// The environments DQN trains and evaluates on, built from a config.
public enum DQNEnvironments {
    /// Frames per stacked pixel observation (Mnih et al. 2015).
    public static let frameStack = 4
    /// Training episodes are cut at this many steps (MinAtar has no limit and a good Breakout
    /// policy can play forever); the cut is a truncation, so targets still bootstrap.
    public static let trainingStepLimit = 100_000

    static func mode(_ config: DQNConfig) throws -> ObservationMode {
        guard let mode = ObservationMode(rawValue: config.observation) else {
            throw AgentError.invalidConfig("unknown observation mode '\(config.observation)'; use grid or pixels")
        }
        return mode
    }

    /// MinAtar's environment (sticky actions) with a step limit, stacked for pixels.
    public static func make(_ config: DQNConfig, seed: UInt64, maxSteps: Int) throws -> AnyEnvironment {
        let mode = try mode(config)
        let game = try Games.makeMinAtar(
            config.game, observation: mode, seed: seed,
            stickyActionProbability: Double(config.stickyActions), maxEpisodeSteps: maxSteps)
        return mode == .pixels ? AnyEnvironment(FrameStack(game, count: frameStack)) : game
    }

    public static func training(_ config: DQNConfig) throws -> AnyEnvironment {
        try make(config, seed: config.seed, maxSteps: trainingStepLimit)
    }
}

/// Evaluation episodes of a Q-network.
public enum DQNEvaluation {
    public struct Episode: Sendable {
        public var totalReward: Float
        public var length: Int
        public var truncated: Bool
    }

    public struct Results: Sendable {
        public var episodes: [Episode]
        public var meanReturn: Float {
            episodes.isEmpty ? .nan : episodes.map(\.totalReward).reduce(0, +) / Float(episodes.count)
        }
        public var stdReturn: Float {
            guard episodes.count > 1 else { return 0 }
            let mean = meanReturn
            return
                (episodes.map { ($0.totalReward - mean) * ($0.totalReward - mean) }.reduce(0, +) / Float(episodes.count))
                .squareRoot()
        }
        public var truncatedCount: Int { episodes.filter(\.truncated).count }
    }

    /// Plays `episodes` episodes ε-greedily on a fresh environment (sticky actions as in
    /// training, episodes truncated at `config.evalMaxSteps`).
    public static func run(
        network: QNetwork, config: DQNConfig, episodes: Int, epsilon: Float, seed: UInt64,
        onEpisode: ((Int, Episode) -> Void)? = nil
    ) throws -> Results {
        var environment = try DQNEnvironments.make(config, seed: seed, maxSteps: config.evalMaxSteps)
        var generator = RandomGenerator(seed: seed)
        let shape = environment.observationShape
        let input = TensorStorage(count: shape.count)
        var results: [Episode] = []
        for index in 0..<episodes {
            environment.reset(seed: index == 0 ? seed : nil)
            var total: Float = 0, length = 0
            while true {
                let action = EpsilonGreedy.action(
                    epsilon: epsilon, actionCount: environment.actionCount,
                    generator: &generator
                ) {
                    environment.writeObservation(
                        into: UnsafeMutableBufferPointer(start: input.pointer, count: shape.count))
                    let q = withNoGrad { network(Tensor(shape: [1] + shape.dimensions, storage: input)) }.scalars
                    return EpsilonGreedy.argmax(q)
                }
                let result = environment.step(action)
                total += result.reward
                length += 1
                if result.isDone {
                    let episode = Episode(totalReward: total, length: length, truncated: !result.terminated)
                    results.append(episode)
                    onEpisode?(index, episode)
                    break
                }
            }
        }
        return Results(episodes: results)
    }
}
