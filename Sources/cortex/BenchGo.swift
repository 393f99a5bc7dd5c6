import Agents
import ArgumentParser
import Cortex
import Envs
import Foundation

/// `cortex bench go`: random-play speed of the Go rules engine on one core, the method of the
/// references measured on this machine kind: uniform random play over the legal moves
/// including pass, 19×19, games capped at 722 moves; then the same with the observation
/// planes written after every move; then the tree search's playouts per second on one thread
/// and on `--threads` threads (a batch of two leaves per thread under virtual loss).
struct BenchGo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "go",
        abstract: "Go rules engine: random-play moves/s and games/s, with and without observation planes.")

    @OptionGroup var common: CommonOptions

    @Option(help: "Board size.")
    var size = 19

    @Option(help: "Games per measurement.")
    var games = 400

    @Option(help: "Past positions in the observation planes (11 + 2·history planes).")
    var history = 3

    @Option(help: "Playouts of the MCTS measurement (one search from the empty board; 0 skips it).")
    var searchPlayouts = 20000

    @Option(
        help: "A policy/value checkpoint: also measure the tree search over its network (evaluations/s by batch and threads).",
        completion: .file(extensions: ["safetensors"]), transform: ShippedModels.resolve)
    var checkpoint: String?

    @Option(help: "Playouts of each network search measurement.")
    var networkPlayouts = 800

    func validate() throws {
        guard (2...25).contains(size) else { throw ValidationError("--size must be in 2...25, got \(size)") }
        guard games >= 1 else { throw ValidationError("--games must be at least 1, got \(games)") }
        guard history >= 0 else { throw ValidationError("--history must be at least 0, got \(history)") }
    }

    func run() throws {
        let cap = 2 * size * size
        printError("bench go: \(size)×\(size), \(games) games per measurement, cap \(cap) moves, one core")
        let plain = measure(planes: false, cap: cap)
        let withPlanes = measure(planes: true, cap: cap)
        let movesPerSecond = Double(plain.moves) / plain.seconds
        let gamesPerSecond = Double(games) / plain.seconds
        let planesPerSecond = Double(withPlanes.moves) / withPlanes.seconds
        let planeCount = GoBoard.planeCount(historyLength: history)
        print(
            String(
                format: "random play:             %10.0f moves/s  %7.1f games/s  (%.1f moves/game)",
                movesPerSecond, gamesPerSecond, Double(plain.moves) / Double(games)))
        print(String(format: "with %2d×%d×%d planes:     %10.0f moves/s", planeCount, size, size, planesPerSecond))
        var object: [String: Any] = [
            "moves_per_s": movesPerSecond.rounded(), "games_per_s": (gamesPerSecond * 10).rounded() / 10,
            "moves_per_s_with_planes": planesPerSecond.rounded(), "size": size,
            "moves_per_game": Double(plain.moves) / Double(games), "planes": planeCount
        ]
        if searchPlayouts > 0 {
            let one = searchSpeed(threads: 1)
            print(String(format: "MCTS, 1 thread:          %10.0f playouts/s", one))
            object["mcts_playouts_per_s_1_thread"] = one.rounded()
            if common.threads > 1 {
                let many = searchSpeed(threads: common.threads)
                print(
                    String(
                        format: "MCTS, %d threads:         %10.0f playouts/s  (%.2f× one thread)", common.threads, many,
                        many / one))
                object["mcts_playouts_per_s_threads"] = many.rounded()
                object["threads"] = common.threads
            }
        }
        if let checkpoint {
            var rows: [[String: Any]] = []
            var single: Double?
            for (threads, batch) in [(1, 1), (1, 8), (1, 16), (2, 8), (2, 16)] where threads <= max(1, common.threads) {
                let (evaluations, seconds, calls) = try networkSearch(checkpoint: checkpoint, threads: threads, batch: batch)
                let rate = Double(evaluations) / seconds
                if threads == 1 && batch == 8 { single = rate }
                let speedup = threads > 1 ? single.map { String(format: "  (%.2f× one thread, batch 8)", rate / $0) } ?? "" : ""
                print(
                    String(
                        format: "network search, %d thread(s), batch %2d: %7.0f evaluations/s, %5.1f positions a call, %.2f s for %d playouts%@",
                        threads, batch, rate, Double(evaluations) / Double(max(1, calls)), seconds, networkPlayouts, speedup))
                rows.append([
                    "threads": threads, "batch": batch, "evaluations_per_s": rate.rounded(), "seconds": seconds,
                    "positions_per_call": Double(evaluations) / Double(max(1, calls))
                ])
            }
            object["network_search"] = rows
        }
        if common.json { printJSON(object) }
    }

    /// One search of `networkPlayouts` from the empty board over the checkpoint's network with
    /// its own playout weight, BLAS and playouts on `threads` threads, `batch` leaves a call.
    func networkSearch(checkpoint: String, threads: Int, batch: Int) throws -> (Int, Double, Int) {
        Runtime.configure(threads: threads)
        defer { Runtime.configure(threads: common.threads) }
        let (stored, network) = try GoPolicyValueCheckpoint.loadNetwork(checkpoint)
        let config = GoPolicyValueConfig.preset(size: stored.size)
        var search = config.searchConfig
        search.playouts = networkPlayouts
        search.batchSize = batch
        let evaluator = GoNetworkEvaluator(
            network: network, playoutWeight: config.playoutWeight, threads: threads, seed: common.seed)
        let player = GoMCTSPlayer(config: search, evaluator: evaluator, seed: common.seed, name: "bench")
        player.startGame(size: size, komi: 7.5)
        printError("bench go: network search, \(networkPlayouts) playouts, \(threads) thread(s), batch \(batch)…")
        let result = player.search.search(GoGame(size: size, komi: 7.5))
        return (evaluator.evaluations, result.seconds, evaluator.calls)
    }

    /// Playouts per second of one MCTS search (tactical playouts, RAVE) from the empty board.
    func searchSpeed(threads: Int) -> Double {
        var config = GoMCTSConfig()
        config.playouts = searchPlayouts
        config.batchSize = GoSearchOptions.defaultBatch(threads: threads)
        let player = GoMCTSPlayer(config: config, threads: threads, seed: common.seed)
        player.startGame(size: size, komi: 7.5)
        let game = GoGame(size: size, komi: 7.5)
        printError("bench go: MCTS, \(searchPlayouts) playouts on \(threads) thread(s)…")
        let result = player.search.search(game)
        return Double(result.playouts) / result.seconds
    }

    /// Plays `games` random games (a fresh generator from the seed each time, so both runs play
    /// the same games) and returns the moves played and the seconds taken.
    func measure(planes: Bool, cap: Int) -> (moves: Int, seconds: Double) {
        let board = GoBoard(size: size, historyLength: history)
        var random = GoRandom(seed: common.seed)
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: board.planeCount * size * size)
        defer { buffer.deallocate() }
        var moves = 0
        var checksum: Float = 0
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<games {
            board.clear()
            while !board.isOver && board.moveCount < cap {
                let color = board.toPlay
                let p = board.randomMoveIndex(for: color, using: &random, includePass: true, protectEyes: false)
                if p < 0 { board.pass(color: color) } else { board.play(index: p, color: color) }
                if planes {
                    board.writePlanes(into: buffer)
                    checksum += buffer[moves % buffer.count]
                }
                moves += 1
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        // Keeps the plane writes observable so the optimiser cannot drop them.
        if checksum < 0 { printError("impossible checksum \(checksum)") }
        return (moves, seconds)
    }
}
