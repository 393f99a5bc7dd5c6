import Cortex
import Envs

/// The player a Go checkpoint makes, whatever trained it: a `go-dqn` checkpoint plays greedily
/// from its Q-values (`GoDQNPlayer`), a `go-policy-value` checkpoint plays by tree search over
/// its network (`GoMCTSPlayer` with a `GoNetworkEvaluator`).
public enum GoCheckpointPlayer {
    /// Search settings a caller may override for a policy/value checkpoint (nil: the checkpoint's).
    public struct SearchOverrides: Sendable {
        public var playouts: Int?
        public var secondsPerMove: Double?
        public var playoutWeight: Float?
        public var cPuct: Float?
        public var batch: Int?
        public var resign: Float?
        public var expandVisits: Int?
        /// Settle the board before passing (`GoMCTSConfig.settleBeforePass`).
        public var settleBeforePass: Bool?
        public var threads = 1
        public init() {}
    }

    public static func make(
        checkpoint path: String, seed: UInt64, epsilon: Float = 0, search: SearchOverrides = SearchOverrides(),
        name: String? = nil
    ) throws -> GoMoveGenerator {
        if try GoPolicyValueCheckpoint.kind(of: path) == GoPolicyValueCheckpoint.kind {
            return try searchPlayer(checkpoint: path, seed: seed, search: search, name: name)
        }
        let player = try GoDQNPlayer(checkpoint: path, epsilon: epsilon, seed: seed)
        return player
    }

    /// The tree search over a policy/value checkpoint's network.
    public static func searchPlayer(
        checkpoint path: String, seed: UInt64, search: SearchOverrides = SearchOverrides(), name: String? = nil
    ) throws -> GoMCTSPlayer {
        let (stored, network) = try GoPolicyValueCheckpoint.loadNetwork(path)
        // The checkpoint gives the network; how to search with it is a play setting, whose
        // defaults live in the preset (so a shipped network plays with today's measured settings).
        var config = GoPolicyValueConfig.preset(size: stored.size)
        config.network = stored.network
        if let p = search.playouts { config.playouts = p }
        if let w = search.playoutWeight { config.playoutWeight = w }
        if let c = search.cPuct { config.cPuct = c }
        if let b = search.batch { config.searchBatch = b }
        if let e = search.expandVisits { config.expandVisits = e }
        var settings = config.searchConfig
        if let s = search.secondsPerMove { settings.secondsPerMove = s }
        if let r = search.resign { settings.resignThreshold = r }
        if let settle = search.settleBeforePass { settings.settleBeforePass = settle }
        let evaluator = GoNetworkEvaluator(
            network: network, playoutWeight: config.playoutWeight, threads: search.threads, seed: seed)
        return GoMCTSPlayer(config: settings, evaluator: evaluator, seed: seed, name: name ?? "cortex-az")
    }
}
