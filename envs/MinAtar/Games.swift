/// A game name a user typed that no game answers to.
public enum GameError: Error, Equatable, CustomStringConvertible {
    case unknownGame(String)

    public var description: String {
        switch self {
        case .unknownGame(let name):
            "unknown game '\(name)'; the games are \(Games.names.joined(separator: ", "))"
        }
    }
}

/// Something to do with a game whose type is chosen by name at run time, written once as a
/// generic function so that it runs specialised for each game.
public protocol GameVisitor {
    associatedtype Result
    func visit<G: MinAtarGame>(_ game: G) -> Result
}

/// The registry of built-in games, by MinAtar's names.
public enum Games {
    /// MinAtar's five games, in the order of the paper.
    public static let names = [Breakout.name, SpaceInvaders.name, Freeway.name, Asterix.name, Seaquest.name]

    /// `"Space-Invaders"` → `"space_invaders"`.
    static func normalized(_ name: String) -> String {
        String(name.lowercased().map { $0 == "-" || $0 == " " ? "_" : $0 })
    }

    /// Calls `visitor` with a new game of that name (seeded like MinAtar's `RandomState(seed)`).
    /// Throws `GameError.unknownGame` for a name that is not in `names`.
    public static func visit<V: GameVisitor>(
        _ name: String, observation: ObservationMode = .grid, seed: UInt64 = 0,
        difficultyRamping: Bool = true, _ visitor: V
    ) throws -> V.Result {
        switch normalized(name) {
        case Breakout.name: visitor.visit(Breakout(observation: observation, seed: seed))
        case SpaceInvaders.name:
            visitor.visit(SpaceInvaders(observation: observation, seed: seed, difficultyRamping: difficultyRamping))
        case Freeway.name: visitor.visit(Freeway(observation: observation, seed: seed))
        case Asterix.name:
            visitor.visit(Asterix(observation: observation, seed: seed, difficultyRamping: difficultyRamping))
        case Seaquest.name:
            visitor.visit(Seaquest(observation: observation, seed: seed, difficultyRamping: difficultyRamping))
        default: throw GameError.unknownGame(name)
        }
    }

    private struct Erase: GameVisitor {
        func visit<G: MinAtarGame>(_ game: G) -> AnyEnvironment { AnyEnvironment(game) }
    }

    /// The bare game (no sticky actions, no step limit), its first episode started.
    public static func make(
        _ name: String, observation: ObservationMode = .grid, seed: UInt64 = 0,
        difficultyRamping: Bool = true
    ) throws -> AnyEnvironment {
        try visit(name, observation: observation, seed: seed, difficultyRamping: difficultyRamping, Erase())
    }

    /// The game as MinAtar's `Environment` presents it: sticky actions (p = 0.1 by default),
    /// optionally a step limit (truncation).
    public static func makeMinAtar(
        _ name: String, observation: ObservationMode = .grid, seed: UInt64 = 0,
        stickyActionProbability: Double = 0.1, maxEpisodeSteps: Int? = nil,
        difficultyRamping: Bool = true
    ) throws -> AnyEnvironment {
        let game = try make(name, observation: observation, seed: seed, difficultyRamping: difficultyRamping)
        let sticky = StickyActions(game, probability: stickyActionProbability, seed: seed)
        guard let maxEpisodeSteps else { return AnyEnvironment(sticky) }
        return AnyEnvironment(TimeLimit(sticky, maxEpisodeSteps: maxEpisodeSteps))
    }

    private struct Rollout: GameVisitor {
        let steps: Int, seed: UInt64
        func visit<G: MinAtarGame>(_ game: G) -> [EpisodeRecord] {
            var env = game
            return RandomPolicy.run(&env, steps: steps, seed: seed, observe: true)
        }
    }

    /// `steps` uniformly random steps of the named game, observing every step in `observation`
    /// mode and resetting at episode ends (the load of `cortex bench envs`); the finished episodes.
    public static func randomRollout(
        _ name: String, observation: ObservationMode, steps: Int,
        seed: UInt64
    ) throws -> [EpisodeRecord] {
        try visit(name, observation: observation, seed: seed, Rollout(steps: steps, seed: seed &+ 1))
    }

    private struct Episodes: GameVisitor {
        let count: Int, seed: UInt64, sticky: Double
        func visit<G: MinAtarGame>(_ game: G) -> [EpisodeRecord] {
            var env = StickyActions(game, probability: sticky, seed: seed)
            return RandomPolicy.play(&env, episodes: count, seed: seed &+ 1)
        }
    }

    /// `count` episodes of a uniformly random policy over the minimal action set, with sticky
    /// actions of probability `stickyActionProbability`, as MinAtar's `Environment` plays.
    public static func randomEpisodes(
        _ name: String, count: Int, seed: UInt64,
        stickyActionProbability: Double = 0.1
    ) throws -> [EpisodeRecord] {
        try visit(name, seed: seed, Episodes(count: count, seed: seed, sticky: stickyActionProbability))
    }
}
