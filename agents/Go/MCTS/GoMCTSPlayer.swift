import Dispatch
import Envs
import Foundation

/// The tree search as a move generator for GTP, `cortex match` and the viewer: `GoMCTS` over
/// fast playouts (`GoPlayoutEvaluator`), with a playout budget, a time budget per move, or the
/// game's clock as GTP sets it; dead stones at the end are those the playouts capture.
public final class GoMCTSPlayer: GoAnalyzer {
    public let name: String
    public let search: GoMCTS
    /// Each colour's clock (GTP may let this engine play either colour).
    public var clocks: [GoColor: GoClock] = [.black: GoClock(), .white: GoClock()]
    /// The last search, for logs and analysis.
    public private(set) var lastResult: GoSearchResult?
    /// Called after every search (progress lines in `cortex gtp`).
    public var onSearch: ((GoSearchResult) -> Void)?
    let seed: UInt64

    /// `threads` evaluate the batch of leaves in parallel (batch `config.batchSize`).
    public convenience init(
        config: GoMCTSConfig = GoMCTSConfig(), threads: Int = 1, seed: UInt64 = 0, name: String = "cortex-mcts"
    ) {
        self.init(config: config, evaluator: GoPlayoutEvaluator(threads: threads, seed: seed), seed: seed, name: name)
    }

    /// The search over any leaf evaluator (a policy/value network: `GoNetworkEvaluator`).
    public init(config: GoMCTSConfig, evaluator: GoEvaluator, seed: UInt64 = 0, name: String) {
        self.name = name
        self.seed = seed
        search = GoMCTS(size: 19, komi: 7.5, config: config, evaluator: evaluator, seed: seed)
    }

    public func startGame(size: Int, komi: Double) {
        search.newGame(size: size, komi: komi)
    }

    public func generateMove(in game: GoGame, for color: GoColor) -> GoMove {
        let seconds = clocks[color]?.budget(size: game.size, moveNumber: game.moves.count)
        let result = search.search(game, for: color, seconds: seconds)
        lastResult = result
        onSearch?(result)
        return result.move
    }

    public var searches: Bool { true }
    /// Nodes beyond which an analysis stops growing the tree (about 32 bytes each: 8 M ≈ 256 MB,
    /// a few minutes of 9×9 analysis on two cores); it then only waits, until the position changes.
    public var analysisNodeLimit = 8_000_000

    /// Searches on for `seconds` (no playout limit), keeping the tree, so the analysis grows
    /// with every call and a following `generateMove` starts from it.
    public func analyze(_ game: GoGame, for color: GoColor, seconds: Double) -> GoAnalysis {
        if search.nodeCount < analysisNodeLimit || search.rootMoves != game.moves {
            _ = search.search(game, for: color, seconds: max(seconds, 0.001), playouts: .max)
        } else {
            Thread.sleep(forTimeInterval: max(seconds, 0.001))
        }
        return search.rootAnalysis()
    }

    public func setClock(_ clock: GoClock) { clocks = [.black: clock, .white: clock] }

    public func updateClock(color: GoColor, secondsLeft: Double, stonesLeft: Int) {
        clocks[color]?.secondsLeft = secondsLeft
        clocks[color]?.stonesLeft = stonesLeft
    }

    /// Stones that end up as the opponent's points in most of `playouts` playouts from here.
    public func deadStones(in game: GoGame) -> [GoPoint] {
        GoMCTSPlayer.deadStones(on: game.board, komi: game.komi, playouts: 256, seed: seed)
    }

    /// Stones whose point belongs to the other colour at the end of more than half of `playouts`
    /// playouts (the playout policy captures what cannot live, and never fills its own eyes).
    public static func deadStones(on board: GoBoard, komi: Double, playouts: Int, seed: UInt64) -> [GoPoint] {
        let scratch = GoBoard(size: board.size, historyLength: 0)
        let points = board.pointIndices()
        var kept = [Int](repeating: 0, count: points.count)
        var random = GoRandom(seed: seed ^ 0xDEAD)
        for _ in 0..<playouts {
            scratch.copy(from: board)
            // Both colours may move first, so that neither gets a free tempo in every playout.
            if random.nextInt(below: 2) == 1 { scratch.pass(color: scratch.toPlay) }
            _ = scratch.playout(komi: komi, maxMoves: 3 * board.size * board.size, using: &random)
            for (i, p) in points.enumerated() {
                if let stone = board.stone(atIndex: p), scratch.quickOwner(p) == stone.rawValue { kept[i] += 1 }
            }
        }
        var dead: [GoPoint] = []
        for (i, p) in points.enumerated() where board.stone(atIndex: p) != nil && 2 * kept[i] < playouts {
            dead.append(board.point(at: p))
        }
        return dead
    }
}
