import Agents
import ArgumentParser
import Envs

/// Flags of the tree-search player (`cortex gtp --mcts`), and the same settings spelled as a
/// match engine: `cortex-mcts[:playouts=N,seconds=S,threads=T,batch=B,cpuct=C,rave=K,expand=E,resign=R,settle=1]`.
struct GoSearchOptions: ParsableArguments {
    @Flag(
        help: "Play with Monte Carlo tree search over fast playouts (instead of a DQN checkpoint or the random player)."
    )
    var mcts = false

    @Option(help: "MCTS playouts per move (default \(GoMCTSConfig().playouts); a policy/value checkpoint's own default with --checkpoint).")
    var playouts: Int?

    @Option(help: "With a policy/value --checkpoint: leaf value = (1 − w)·network + w·playout (AlphaGo's mixing; 0: network only).")
    var playoutWeight: Float?

    @Option(help: "MCTS seconds per move (0: no limit besides --playouts); GTP time control overrides it.")
    var secondsPerMove = 0.0

    @Option(help: "MCTS leaves evaluated per batch (virtual loss spreads them); the batch is split over --threads.")
    var batch: Int?

    @Option(help: "MCTS resignation threshold on the win rate (0: never resign).")
    var resign = GoMCTSConfig().resignThreshold

    func validate() throws {
        if let playouts, playouts < 1 { throw ValidationError("--playouts must be at least 1, got \(playouts)") }
        if let playoutWeight, !(0...1).contains(playoutWeight) {
            throw ValidationError("--playout-weight must be in [0, 1], got \(playoutWeight)")
        }
        guard secondsPerMove >= 0 else {
            throw ValidationError("--seconds-per-move must be at least 0, got \(secondsPerMove)")
        }
        if let batch, batch < 1 { throw ValidationError("--batch must be at least 1, got \(batch)") }
        guard (0..<1).contains(resign) else { throw ValidationError("--resign must be in [0, 1), got \(resign)") }
    }

    func config(threads: Int) -> GoMCTSConfig {
        var config = GoMCTSConfig()
        config.playouts = playouts ?? config.playouts
        config.secondsPerMove = secondsPerMove
        config.batchSize = batch ?? GoSearchOptions.defaultBatch(threads: threads)
        config.resignThreshold = resign
        return config
    }

    /// The same flags as overrides of a policy/value checkpoint's search settings.
    func overrides(threads: Int) -> GoCheckpointPlayer.SearchOverrides {
        var o = GoCheckpointPlayer.SearchOverrides()
        o.playouts = playouts
        o.secondsPerMove = secondsPerMove > 0 ? secondsPerMove : nil
        o.playoutWeight = playoutWeight
        o.batch = batch
        o.resign = resign
        o.threads = threads
        return o
    }

    /// One leaf per thread would leave a thread idle while the other finishes; two each keeps both busy.
    static func defaultBatch(threads: Int) -> Int { threads == 1 ? 1 : 2 * threads }

    /// The `key=value` items of an engine spec, each value a number ≥ 0.
    static func engineOptions<Items: Sequence<String>>(_ items: Items, spec: String) throws -> [(key: String, value: Double)] {
        try items.map { item in
            let kv = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, let value = Double(kv[1]), value >= 0 else {
                throw ValidationError("engine '\(spec)': '\(item)' is not key=value with a number ≥ 0")
            }
            return (kv[0], value)
        }
    }

    /// The player of a match engine spec `cortex:CKPT[,playouts=N,seconds=S,mix=W,cpuct=C,batch=B,threads=T,resign=R,settle=1]`
    /// for a policy/value checkpoint (a DQN checkpoint takes no options).
    static func checkpointPlayer(spec: String, seed: UInt64) throws -> GoMoveGenerator {
        let parts = String(spec.dropFirst("cortex:".count)).split(separator: ",").map(String.init)
        let path = try ShippedModels.resolve(parts.first ?? "")
        var o = GoCheckpointPlayer.SearchOverrides()
        for (key, value) in try engineOptions(parts.dropFirst(), spec: spec) {
            switch key {
            case "playouts": o.playouts = max(1, Int(value))
            case "seconds": o.secondsPerMove = value
            case "mix": o.playoutWeight = Float(min(value, 1))
            case "cpuct": o.cPuct = Float(value)
            case "batch": o.batch = max(1, Int(value))
            case "threads": o.threads = max(1, Int(value))
            case "resign": o.resign = Float(value)
            case "expand": o.expandVisits = max(1, Int(value))
            case "settle": o.settleBeforePass = value > 0
            default:
                throw ValidationError(
                    "engine '\(spec)': unknown option '\(key)' (playouts, seconds, mix, cpuct, batch, threads, resign, expand, settle)")
            }
        }
        if parts.count > 1, try GoPolicyValueCheckpoint.kind(of: path) != GoPolicyValueCheckpoint.kind {
            throw ValidationError("engine '\(spec)': search options need a policy/value checkpoint (cortex train go-imitation)")
        }
        return try GoCheckpointPlayer.make(checkpoint: path, seed: seed, search: o, name: spec)
    }

    /// The player of a match engine spec `cortex-mcts[:key=value,…]`.
    static func player(spec: String, seed: UInt64) throws -> GoMCTSPlayer {
        var config = GoMCTSConfig()
        var threads = 1
        var batch: Int?
        let options = spec.split(separator: ":", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
        for (key, value) in try engineOptions(options.split(separator: ",").map(String.init), spec: spec) {
            switch key {
            case "playouts": config.playouts = max(1, Int(value))
            case "seconds": config.secondsPerMove = value
            case "threads": threads = max(1, Int(value))
            case "batch": batch = max(1, Int(value))
            case "cpuct": config.cPuct = Float(value)
            case "rave": config.raveEquivalence = Float(value)
            case "expand": config.expandVisits = max(1, Int(value))
            case "resign": config.resignThreshold = Float(value)
            case "settle": config.settleBeforePass = value > 0
            default:
                throw ValidationError(
                    "engine '\(spec)': unknown option '\(key)' (playouts, seconds, threads, batch, cpuct, rave, expand, resign, settle)"
                )
            }
        }
        config.batchSize = batch ?? defaultBatch(threads: threads)
        return GoMCTSPlayer(config: config, threads: threads, seed: seed, name: spec)
    }
}
