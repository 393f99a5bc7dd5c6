import Cortex
import Envs
import Foundation

/// Every default of the policy/value agent, in one place: the network, the imitation stage
/// (AlphaGo's supervised learning from an expert's games), the self-play stage (AlphaGo Zero's
/// loop with a gate) and the search that plays. Presets per board size (`preset(size:)`).
public struct GoPolicyValueConfig: Codable, Sendable, Equatable {
    public var preset = "go9"
    public var size = 9
    public var komi = 7.5
    public var seed: UInt64 = 0
    public var network = GoNetworkShape()

    // MARK: Imitation (`cortex train go-imitation`)
    /// Folder of SGF games to imitate (made by `cortex match … --random-opening K --sgf-dir DIR`).
    public var data = "data/go9-gnugo"
    /// Share of the games held out (by a hash of the file name) to measure move prediction.
    public var heldOut = 0.05
    /// The first moves of every game are not targets (the random opening of a generated set).
    public var skipMoves = 6
    public var epochs = 8
    public var batchSize = 256
    /// AdamW's peak rate, warmed up over the first 2% of steps then cosine to 5% of it.
    public var learningRate: Float = 2e-3
    public var weightDecay: Float = 1e-4
    /// Weight of the value's squared error against the policy's cross-entropy. Below 1 because
    /// the positions of one game share an outcome, so the value overfits first (AlphaGo Zero's
    /// supervised run used 0.01 for the same reason).
    public var valueWeight: Float = 0.25

    // MARK: Self-play (`cortex train go-selfplay`)
    public var generations = 10
    public var gamesPerGeneration = 48
    /// Playouts per move in self-play and in the gate's games.
    public var selfPlayPlayouts = 128
    /// Root Dirichlet noise α (KataGo's rule 10.83/legal moves ≈ 0.13 at 9×9) and weight.
    public var dirichletAlpha: Float = 0.13
    public var dirichletWeight: Float = 0.25
    /// Moves played by visit counts (temperature 1) before the most visited move is played.
    public var temperatureMoves = 10
    /// Positions kept for training (the newest).
    public var window = 60_000
    /// Gradient steps per generation.
    public var stepsPerGeneration = 300
    public var selfPlayLearningRate: Float = 5e-4
    /// Gate: the trained network replaces the best one only if it wins at least this share of
    /// `gateGames` games against it (colours alternated; AlphaGo Zero: 55% of 400).
    public var gateGames = 20
    public var gateThreshold = 0.55
    /// Resign in self-play below this win rate (never in the gate's last 10% of games, to check
    /// that resignations are right — AlphaGo Zero played 10% of games out).
    public var selfPlayResign: Float = 0.05

    // MARK: Search (play)
    /// Playouts per move when playing (`cortex gtp`, `cortex match cortex:…`): 400 takes about
    /// 0.7 s a move at 9×9 on one core of a loaded 2-core machine (docs/go.md).
    public var playouts = 400
    /// Leaf value = (1 − λ)·network + λ·playout (AlphaGo's mixing; 0 is AlphaGo Zero).
    public var playoutWeight: Float = 0.5
    public var cPuct: Float = 1.5
    public var searchBatch = 8
    /// A leaf is expanded (the network asked for its priors) at its `expandVisits`-th visit;
    /// with playouts (λ > 0) the visits before that cost a playout only.
    public var expandVisits = 1

    public init() {}

    /// The preset for a board size: `go9` (the defaults above) or `go19`.
    public static func preset(size: Int) -> GoPolicyValueConfig {
        var c = GoPolicyValueConfig()
        c.size = size
        if size != 9 {
            c.preset = "go\(size)"
            c.data = "data/go\(size)-gnugo"
            c.network = GoNetworkShape(blocks: 6, channels: 64, historyLength: 2)
            c.skipMoves = 10
            c.playouts = 800
        }
        return c
    }

    /// The search settings that play with this config's network.
    public var searchConfig: GoMCTSConfig {
        var s = GoMCTSConfig()
        s.playouts = playouts
        s.cPuct = cPuct
        s.batchSize = searchBatch
        s.expandVisits = expandVisits
        s.raveEquivalence = playoutWeight > 0 ? 3500 : 0
        return s
    }

    /// Why these settings cannot run, or nil.
    public var problem: String? {
        if let p = network.problem { return p }
        guard (5...25).contains(size) else { return "size must be in 5…25, got \(size)" }
        guard epochs > 0, batchSize > 0, learningRate > 0, weightDecay >= 0, valueWeight >= 0,
            (0..<1).contains(heldOut), skipMoves >= 0
        else { return "epochs, batch and learning rate must be positive, held-out share in [0, 1)" }
        guard generations > 0, gamesPerGeneration > 0, selfPlayPlayouts > 0, window > batchSize,
            stepsPerGeneration > 0, gateGames > 0, (0...1).contains(gateThreshold), playouts > 0,
            (0...1).contains(playoutWeight), searchBatch > 0, expandVisits > 0
        else {
            return
                "generations, games, playouts, steps, gate games and search batch must be positive, the window above the batch, the gate threshold and playout weight in [0, 1]"
        }
        return nil
    }
}

/// Progress of a policy/value run, saved in its checkpoints so `--resume` continues from it.
public struct GoPolicyValueState: Codable, Sendable {
    public var stage = "imitation"
    public var epoch = 0
    public var steps = 0
    public var generation = 0
    public var selfPlayGames = 0
    public var bestHeldOutAccuracy: Double?
    /// Self-play: the gate's results, one per generation (win rate of the trained network).
    public var gateWinRates: [Double] = []
    /// Self-play: Elo of each accepted network over the first (400·log10(w/(1−w)) per gate).
    public var elo: [Double] = [0]
    public var generator: RandomGenerator
    public init(seed: UInt64) { generator = RandomGenerator(seed: seed) }
}

/// Saving and loading policy/value checkpoints: the network under its plain keys (see
/// `GoPolicyValueNetwork`), AdamW's slots under `optimizer.`, and metadata `go.kind` =
/// `go-policy-value`, `go.config` (JSON of `GoPolicyValueConfig`), `go.state`.
public enum GoPolicyValueCheckpoint {
    public static let kind = "go-policy-value"
    public static let configKey = "go.config"
    public static let stateKey = "go.state"

    public static func save(
        network: GoPolicyValueNetwork, optimizer: Optimizer?, config: GoPolicyValueConfig, state: GoPolicyValueState,
        to path: String
    ) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try Checkpoint.save(
            network, optimizer: optimizer,
            metadata: [
                "go.kind": kind, configKey: String(decoding: try encoder.encode(config), as: UTF8.self),
                stateKey: String(decoding: try encoder.encode(state), as: UTF8.self)
            ], to: path)
    }

    /// The kind a Go checkpoint names in its metadata (`go-dqn`, `go-policy-value`), or nil.
    public static func kind(of path: String) throws -> String? {
        try SafeTensors.read(from: path).metadata["go.kind"]
    }

    public static func readConfig(_ path: String) throws -> GoPolicyValueConfig {
        let file = try SafeTensors.read(from: path)
        guard file.metadata["go.kind"] == kind, let json = file.metadata[configKey],
            // Over the defaults, so a checkpoint from before a field was added still loads.
            let config = try? ConfigFile.merge(GoPolicyValueConfig(), with: Data(json.utf8))
        else {
            throw AgentError.badCheckpoint(
                path: path, reason: "its metadata has no '\(configKey)' (was it written by `cortex train go-imitation`?)")
        }
        if let problem = config.network.problem {
            throw AgentError.badCheckpoint(path: path, reason: "'\(configKey)': \(problem)")
        }
        return config
    }

    /// The network of a checkpoint in evaluation mode, with its config.
    public static func loadNetwork(_ path: String) throws -> (config: GoPolicyValueConfig, network: GoPolicyValueNetwork) {
        let config = try readConfig(path)
        var generator = RandomGenerator(seed: 0)
        let network = GoPolicyValueNetwork(shape: config.network, generator: &generator)
        try Checkpoint.load(into: network, from: path)
        network.eval()
        return (config, network)
    }

    /// Loads a checkpoint into `network` and `optimizer`; returns its state.
    public static func load(
        _ path: String, into network: GoPolicyValueNetwork, optimizer: Optimizer?
    ) throws -> GoPolicyValueState {
        let config = try readConfig(path)
        guard config.network == network.shape else {
            throw AgentError.badCheckpoint(
                path: path, reason: "its network \(config.network) differs from this run's \(network.shape)")
        }
        let metadata = try Checkpoint.load(into: network, optimizer: optimizer, from: path)
        guard let json = metadata[stateKey],
            let state = try? JSONDecoder().decode(GoPolicyValueState.self, from: Data(json.utf8))
        else { throw AgentError.badCheckpoint(path: path, reason: "no training state in its metadata") }
        return state
    }
}
