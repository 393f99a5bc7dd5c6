import Agents
import ArgumentParser
import Envs

/// Flags of the tree-search player (`cortex gtp --mcts`), and the same settings spelled as a
/// match engine: `cortex-mcts[:playouts=N,seconds=S,threads=T,batch=B,cpuct=C,rave=K,expand=E,resign=R]`.
struct GoSearchOptions: ParsableArguments {
    @Flag(
        help: "Play with Monte Carlo tree search over fast playouts (instead of a DQN checkpoint or the random player)."
    )
    var mcts = false

    @Option(help: "MCTS playouts per move.")
    var playouts = GoMCTSConfig().playouts

    @Option(help: "MCTS seconds per move (0: no limit besides --playouts); GTP time control overrides it.")
    var secondsPerMove = 0.0

    @Option(help: "MCTS leaves evaluated per batch (virtual loss spreads them); the batch is split over --threads.")
    var batch: Int?

    @Option(help: "MCTS resignation threshold on the win rate (0: never resign).")
    var resign = GoMCTSConfig().resignThreshold

    func validate() throws {
        guard playouts >= 1 else { throw ValidationError("--playouts must be at least 1, got \(playouts)") }
        guard secondsPerMove >= 0 else {
            throw ValidationError("--seconds-per-move must be at least 0, got \(secondsPerMove)")
        }
        if let batch, batch < 1 { throw ValidationError("--batch must be at least 1, got \(batch)") }
        guard (0..<1).contains(resign) else { throw ValidationError("--resign must be in [0, 1), got \(resign)") }
    }

    func config(threads: Int) -> GoMCTSConfig {
        var config = GoMCTSConfig()
        config.playouts = playouts
        config.secondsPerMove = secondsPerMove
        config.batchSize = batch ?? GoSearchOptions.defaultBatch(threads: threads)
        config.resignThreshold = resign
        return config
    }

    /// One leaf per thread would leave a thread idle while the other finishes; two each keeps both busy.
    static func defaultBatch(threads: Int) -> Int { threads == 1 ? 1 : 2 * threads }

    /// The player of a match engine spec `cortex-mcts[:key=value,…]`.
    static func player(spec: String, seed: UInt64) throws -> GoMCTSPlayer {
        var config = GoMCTSConfig()
        var threads = 1
        var batch: Int?
        let options = spec.split(separator: ":", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
        for item in options.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let value = Double(parts[1]), value >= 0 else {
                throw ValidationError("engine '\(spec)': '\(item)' is not key=value with a number ≥ 0")
            }
            switch parts[0] {
            case "playouts": config.playouts = max(1, Int(value))
            case "seconds": config.secondsPerMove = value
            case "threads": threads = max(1, Int(value))
            case "batch": batch = max(1, Int(value))
            case "cpuct": config.cPuct = Float(value)
            case "rave": config.raveEquivalence = Float(value)
            case "expand": config.expandVisits = max(1, Int(value))
            case "resign": config.resignThreshold = Float(value)
            default:
                throw ValidationError(
                    "engine '\(spec)': unknown option '\(parts[0])' (playouts, seconds, threads, batch, cpuct, rave, expand, resign)"
                )
            }
        }
        config.batchSize = batch ?? defaultBatch(threads: threads)
        return GoMCTSPlayer(config: config, threads: threads, seed: seed, name: spec)
    }
}
