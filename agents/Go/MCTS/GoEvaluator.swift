import Dispatch
import Envs

/// Where a batch of leaf evaluations goes: raw buffers owned by the search, shared across the
/// evaluator's threads (each leaf writes only its own slots).
public struct GoLeafBuffers: @unchecked Sendable {
    /// (B): the value of each leaf for the player to move there, in [−1, 1].
    public let values: UnsafeMutablePointer<Float>
    /// (B, size² + 1): prior probabilities over actions (points row-major, then pass), written
    /// only for leaves whose `wantsPriors` is set; illegal actions may hold anything.
    public let priors: UnsafeMutablePointer<Float>
    /// (B, size²): for AMAF, the colour (1 black, 2 white) that first played each point after
    /// the leaf, 0 for none. An evaluator without playouts leaves it all 0.
    public let firstColor: UnsafeMutablePointer<UInt8>

    public init(
        values: UnsafeMutablePointer<Float>, priors: UnsafeMutablePointer<Float>, firstColor: UnsafeMutablePointer<UInt8>
    ) {
        self.values = values
        self.priors = priors
        self.firstColor = firstColor
    }
}

/// Evaluates leaf positions of a search: a prior over moves and a value. Today fast playouts with
/// tactical priors (`GoPlayoutEvaluator`); a policy/value network plugs in the same way, with the
/// batch as its minibatch.
public protocol GoEvaluator: AnyObject {
    /// Evaluates `boards` (left unchanged) into `out`, slot `i` for `boards[i]`.
    func evaluate(_ boards: [GoBoard], wantsPriors: [Bool], komi: Double, into out: GoLeafBuffers)
}

/// Tactical move priors (the light knowledge michi and Pachi put in their tree): every legal
/// move that fills no own eye starts at weight 1; captures gain with the stones they take, a move
/// that saves an own group from atari gains, self-atari of more than one stone loses most of its
/// weight, moves near the last move gain (local answers), first-line moves early in the game
/// lose; pass gets a small weight. Normalised to sum to 1 over the legal actions.
public func goTacticalPriors(_ board: GoBoard, into priors: UnsafeMutablePointer<Float>) {
    let n = board.size
    let color = board.toPlay
    let last = board.lastMoveIndex
    let lastRow = last >= 0 ? last / board.stride - 1 : -100, lastColumn = last >= 0 ? last % board.stride - 1 : -100
    let saving = board.tacticalReply(for: color)
    let opening = board.moveCount < n * n / 4
    var total: Float = 0
    for row in 0..<n {
        for column in 0..<n {
            let a = row * n + column
            let p = (row + 1) * board.stride + column + 1
            guard board.isLegal(index: p, color: color), !board.isEye(index: p, color: color) else {
                priors[a] = 0
                continue
            }
            var w: Float = 1
            let captured = board.captureSize(index: p, color: color)
            if captured > 0 { w += 4 + 2 * Float(min(captured, 8)) }
            if p == saving { w += 6 }
            let atari = board.selfAtari(index: p, color: color)
            if atari.isAtari { w *= atari.stones > 1 ? 0.05 : 0.3 }
            if max(abs(row - lastRow), abs(column - lastColumn)) <= 2 { w *= 2 }
            if opening && (row == 0 || column == 0 || row == n - 1 || column == n - 1) { w *= 0.3 }
            priors[a] = w
            total += w
        }
    }
    let passWeight: Float = max(0.1, total * 0.002)
    priors[n * n] = passWeight
    total += passWeight
    for a in 0...(n * n) { priors[a] /= total }
}

/// Leaf evaluation by fast playouts (`GoBoard.playout`): the value is the playout's win (+1),
/// loss (−1) or draw (0) for the player to move at the leaf, priors are `goTacticalPriors`.
/// Leaves are split over `threads` threads, each with its own scratch board; every leaf draws
/// from its own generator, seeded from the evaluator's seed and the leaf's running number, so a
/// search with a fixed number of playouts gives the same answer on any number of threads.
public final class GoPlayoutEvaluator: GoEvaluator {
    public let threads: Int
    public var seed: UInt64
    var counter: UInt64 = 0
    var scratch: [GoBoard] = []

    public init(threads: Int = 1, seed: UInt64 = 0) {
        precondition(threads >= 1, "GoPlayoutEvaluator: threads must be at least 1, got \(threads)")
        self.threads = threads
        self.seed = seed
    }

    public func evaluate(_ boards: [GoBoard], wantsPriors: [Bool], komi: Double, into out: GoLeafBuffers) {
        guard let first = boards.first else { return }
        let size = first.size
        if scratch.count != threads || scratch[0].size != size {
            scratch = (0..<threads).map { _ in GoBoard(size: size, historyLength: 0) }
        }
        let base = counter
        counter &+= UInt64(boards.count)
        let actions = size * size + 1
        let work = Work(boards: boards, wantsPriors: wantsPriors, scratch: scratch, seed: seed, base: base)
        let run = { (thread: Int) in
            var i = thread
            while i < work.boards.count {
                let board = work.boards[i]
                if work.wantsPriors[i] { goTacticalPriors(board, into: out.priors + i * actions) }
                let scratch = work.scratch[thread]
                scratch.copy(from: board)
                var spread = GoRandom(seed: work.seed ^ (work.base &+ UInt64(i)) &* 0x9E37_79B9_7F4A_7C15)
                var random = GoRandom(seed: spread.next())
                let mover = board.toPlay
                let margin = scratch.playout(
                    komi: komi, maxMoves: 3 * size * size, using: &random,
                    firstColor: out.firstColor + i * (size * size))
                let blackValue: Float = margin > 0 ? 1 : margin < 0 ? -1 : 0
                out.values[i] = mover == .black ? blackValue : -blackValue
                i += work.scratch.count
            }
        }
        if threads == 1 || boards.count == 1 {
            run(0)
        } else {
            DispatchQueue.concurrentPerform(iterations: min(threads, boards.count), execute: run)
        }
    }

    /// What the threads share; each touches only its own leaves and scratch board.
    struct Work: @unchecked Sendable {
        let boards: [GoBoard]
        let wantsPriors: [Bool]
        let scratch: [GoBoard]
        let seed: UInt64
        let base: UInt64
    }
}
