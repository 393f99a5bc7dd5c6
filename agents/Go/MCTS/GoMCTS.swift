import Dispatch
import Envs
import Foundation

/// Settings of the tree search; every field has the default the measurements used.
public struct GoMCTSConfig: Sendable, Equatable {
    /// Playouts (leaf evaluations) per move; with `secondsPerMove` the search stops at whichever
    /// comes first.
    public var playouts = 4000
    /// Wall-clock budget per move in seconds (0: none); GTP time control overrides it.
    public var secondsPerMove = 0.0
    /// PUCT exploration constant c in Q + c · P · √N / (1 + n) (Silver et al. 2017), Q in [0, 1].
    public var cPuct: Float = 1.0
    /// AMAF equivalence k of the RAVE blend β = ñ / (ñ + n + n ñ / k) (Gelly & Silver 2011;
    /// michi's RAVE_EQUIV); 0 turns AMAF off (a network evaluator gives no AMAF statistics).
    public var raveEquivalence: Float = 3500
    /// A leaf is expanded (its children created) at its `expandVisits`-th visit; before that its
    /// visits only evaluate it. 1 expands at once (the AlphaGo Zero setting).
    public var expandVisits = 4
    /// Leaves selected (with virtual loss) before one batched evaluation.
    public var batchSize = 1
    /// Visits a path takes as losses while its leaf waits for evaluation.
    public var virtualLoss: Float = 1
    /// Resign when the best move's win rate falls below this (0: never) — and only when the
    /// position's estimated count also says the game is lost, so a won game is never resigned.
    public var resignThreshold: Float = 0.05
    /// Keep the searched subtree for the next move.
    public var reuseTree = true
    /// Dirichlet noise α at the root for self-play (0: none) and its weight ε.
    public var dirichletAlpha: Float = 0
    public var dirichletWeight: Float = 0.25
    /// Move temperature: 0 plays the most visited move; above 0, a move drawn with probability
    /// ∝ n^(1/T) (self-play) for the first `temperatureMoves` moves of the game.
    public var temperature: Float = 0
    public var temperatureMoves = 0
    /// Settle the board before passing: when the search would pass, play instead the most
    /// visited move next to an opponent stone (a neutral point, a boundary, a dead stone's last
    /// liberties) whose win rate is within `settleMargin` of the pass's. Under area counting
    /// such moves cost nothing, and a referee that judges life and death from the final
    /// position (GnuGo's `final_score`) then finds what the count finds. Off by default.
    public var settleBeforePass = false
    public var settleMargin: Float = 0.05

    public init() {}
}

/// What a search found at the root.
public struct GoSearchResult: Sendable {
    public var move: GoMove
    /// Visits of each action (size² + 1, pass last) at the root.
    public var visits: [Float]
    /// Win rate of the chosen move for the player to move, in [0, 1].
    public var winRate: Float
    public var playouts: Int
    public var seconds: Double
    /// Depth of the most visited line.
    public var principalVariation: [GoMove]
}

/// Monte Carlo tree search with PUCT selection (Silver et al. 2017) and optional RAVE (Gelly &
/// Silver 2011), over a pluggable `GoEvaluator`.
///
/// Nodes live in flat arrays (struct of arrays); a node's children are contiguous. Node `i`
/// holds the statistics of the move that led to it, from the view of the player who made it:
/// visits `n`, wins `w` (a win counts 1, a draw ½), AMAF visits and wins, prior `p`, and the
/// virtual loss of pending evaluations. Selection maximises
/// `(1 − β) w/n + β w̃/ñ + c · p · √N / (1 + n)` with n counting virtual losses as lost visits.
/// Illegal moves (occupied, suicide, positional superko) and moves that fill an own single-point
/// eye never become children; pass always does. Two passes in a row are not terminal inside the
/// tree: the position is valued by playouts, which go on capturing dead stones, so passing is
/// judged by the count GnuGo's referee would make, not by Tromp–Taylor on the stones as they lie.
public final class GoMCTS {
    public var config: GoMCTSConfig
    public let evaluator: GoEvaluator
    public private(set) var size: Int
    var komi: Double

    // Node arrays.
    public internal(set) var action: [Int16] = []
    public internal(set) var firstChild: [Int32] = []
    public internal(set) var childCount: [Int16] = []
    public internal(set) var n: [Float] = []
    public internal(set) var w: [Float] = []
    public internal(set) var an: [Float] = []
    public internal(set) var aw: [Float] = []
    public internal(set) var p: [Float] = []
    public internal(set) var vl: [Float] = []

    /// The root position and the moves that led to it (for tree reuse).
    var rootBoard: GoBoard
    var rootMoves: [GoTurn] = []
    /// The colour the root was searched for when it is not the one to move in the game.
    var swappedColor: GoColor?
    public internal(set) var root: Int32 = 0
    var random: GoRandom
    /// Scratch boards, one per batch slot.
    var leafBoards: [GoBoard] = []
    var valuesBuffer: UnsafeMutablePointer<Float>
    var priorsBuffer: UnsafeMutablePointer<Float>
    var firstColorBuffer: UnsafeMutablePointer<UInt8>
    var bufferBatch = 0
    /// Playouts over the searcher's life (for playouts-per-second figures).
    public private(set) var totalPlayouts = 0

    public init(
        size: Int, komi: Double, config: GoMCTSConfig = GoMCTSConfig(), evaluator: GoEvaluator, seed: UInt64 = 0
    ) {
        self.size = size
        self.komi = komi
        self.config = config
        self.evaluator = evaluator
        random = GoRandom(seed: seed ^ 0x5EA4C4)
        rootBoard = GoBoard(size: size, historyLength: 3)
        valuesBuffer = .allocate(capacity: 1)
        priorsBuffer = .allocate(capacity: 1)
        firstColorBuffer = .allocate(capacity: 1)
        resetTree()
    }

    deinit {
        valuesBuffer.deallocate()
        priorsBuffer.deallocate()
        firstColorBuffer.deallocate()
    }

    var actions: Int { size * size + 1 }
    var nodeCount: Int { action.count }

    /// Forgets the tree (a new game, or a position the tree cannot reach).
    public func resetTree() {
        action = [-1]
        firstChild = [-1]
        childCount = [0]
        n = [0]
        w = [0]
        an = [0]
        aw = [0]
        p = [1]
        vl = [0]
        root = 0
        rootMoves = []
    }

    /// Starts a new game of `size` with `komi`.
    public func newGame(size: Int, komi: Double) {
        if size != self.size {
            self.size = size
            rootBoard = GoBoard(size: size, historyLength: 3)
            leafBoards = []
            bufferBatch = 0
        }
        self.komi = komi
        resetTree()
    }

    // MARK: - Root and tree reuse

    /// Moves the root to `game`'s position: down the existing tree when the game continues the
    /// position searched last (tree reuse), else a fresh tree.
    public func setRoot(_ game: GoGame) {
        if game.size != size { newGame(size: game.size, komi: game.komi) }
        komi = game.komi
        let moves = game.moves
        var reused = false
        if config.reuseTree, moves.count >= rootMoves.count, Array(moves.prefix(rootMoves.count)) == rootMoves,
            rootBoard.hash == replayHash(game, upTo: rootMoves.count)
        {
            var node = root
            var ok = true
            for turn in moves.dropFirst(rootMoves.count) {
                guard firstChild[Int(node)] >= 0, turn.move != .resign else {
                    ok = false
                    break
                }
                let a = Int16(game.board.action(for: turn.move))
                var found: Int32 = -1
                let start = Int(firstChild[Int(node)])
                for c in start..<(start + Int(childCount[Int(node)])) where action[c] == a { found = Int32(c) }
                guard found >= 0 else {
                    ok = false
                    break
                }
                node = found
            }
            if ok {
                root = node
                reused = true
            }
        }
        rootBoard.copy(from: game.board)
        rootMoves = moves
        if !reused {
            resetTree()
            rootMoves = moves
        }
        if nodeCount > 2_000_000 { compact() }
    }

    /// The board hash after `count` moves of `game` (checks that the stored root is that position).
    func replayHash(_ game: GoGame, upTo count: Int) -> UInt64 {
        if count == game.moves.count { return game.board.hash }
        // Cheap enough: only when the game moved on, a few moves per call.
        guard let replayed = try? GoGame(record: game.record, moveLimit: count) else { return 0 }
        return replayed.board.hash
    }

    /// Copies the subtree under the root into fresh arrays (the rest is garbage after re-rooting).
    func compact() {
        var newAction: [Int16] = [action[Int(root)]], newFirst: [Int32] = [-1],
            newCount: [Int16] = [childCount[Int(root)]]
        var newN = [n[Int(root)]], newW = [w[Int(root)]], newAN = [an[Int(root)]], newAW = [aw[Int(root)]]
        var newP = [p[Int(root)]], newVL: [Float] = [0]
        var queue: [(old: Int32, new: Int32)] = [(root, 0)]
        var head = 0
        while head < queue.count {
            let (old, new) = queue[head]
            head += 1
            let start = Int(firstChild[Int(old)])
            guard start >= 0 else { continue }
            newFirst[Int(new)] = Int32(newAction.count)
            for c in start..<(start + Int(childCount[Int(old)])) {
                queue.append((Int32(c), Int32(newAction.count)))
                newAction.append(action[c])
                newFirst.append(-1)
                newCount.append(childCount[c])
                newN.append(n[c])
                newW.append(w[c])
                newAN.append(an[c])
                newAW.append(aw[c])
                newP.append(p[c])
                newVL.append(0)
            }
        }
        action = newAction
        firstChild = newFirst
        childCount = newCount
        n = newN
        w = newW
        an = newAN
        aw = newAW
        p = newP
        vl = newVL
        root = 0
    }

    // MARK: - Search

    /// Searches `game`'s position for the player to move and returns the chosen move.
    /// `seconds` (when > 0) bounds the wall-clock time, besides `playouts` (default
    /// `config.playouts`).
    public func search(
        _ game: GoGame, for color: GoColor? = nil, seconds: Double? = nil, playouts: Int? = nil
    ) -> GoSearchResult {
        let started = DispatchTime.now().uptimeNanoseconds
        let budget = seconds ?? config.secondsPerMove
        let deadline = budget > 0 ? started + UInt64(budget * 1e9) : UInt64.max
        let sameSwappedRoot = swappedColor != nil && swappedColor == color && rootMoves == game.moves
        let wasSwapped = swappedColor != nil
        setRoot(game)
        swappedColor = nil
        if let color, color != rootBoard.toPlay {
            // GTP may ask either colour to move: search that colour's turn in a fresh tree (kept
            // while the same question is asked again, as an analysis does).
            rootBoard.setToPlay(color)
            if !sameSwappedRoot { resetTree() }
            swappedColor = color
        } else if wasSwapped {
            // The stored tree was grown for the other colour.
            resetTree()
        }
        rootMoves = game.moves
        let playouts = playouts ?? config.playouts
        let batch = max(1, config.batchSize)
        ensureBuffers(batch)
        if firstChild[Int(root)] < 0 {
            // The root is always expanded, so every legal move is a child from the start.
            let boards = [rootBoard]
            evaluator.evaluate(boards, wantsPriors: [true], komi: komi, into: buffers)
            expand(root, board: rootBoard, priors: priorsBuffer)
        }
        if config.dirichletAlpha > 0 { addNoise(root) }
        var done = 0
        var paths: [[Int32]] = Array(repeating: [], count: batch)
        var wants = [Bool](repeating: false, count: batch)
        while done < playouts {
            let count = min(batch, playouts - done)
            for b in 0..<count {
                let board = leafBoards[b]
                board.copy(from: rootBoard)
                var path: [Int32] = [root]
                var node = root
                while firstChild[Int(node)] >= 0 {
                    node = select(node)
                    path.append(node)
                    let a = Int(action[Int(node)])
                    if a == size * size {
                        board.pass(color: board.toPlay)
                    } else {
                        board.play(index: (a / size + 1) * board.stride + a % size + 1, color: board.toPlay)
                    }
                }
                for v in path { vl[Int(v)] += config.virtualLoss }
                // Expand at the expandVisits-th visit, but not after two passes (the game is over there).
                wants[b] = n[Int(node)] + 1 >= Float(config.expandVisits) && board.consecutivePasses < 2
                paths[b] = path
            }
            memsetFirstColor(count)
            evaluator.evaluate(
                Array(leafBoards.prefix(count)), wantsPriors: Array(wants.prefix(count)), komi: komi, into: buffers)
            for b in 0..<count {
                let path = paths[b]
                for v in path { vl[Int(v)] -= config.virtualLoss }
                let leaf = path[path.count - 1]
                if wants[b] && firstChild[Int(leaf)] < 0 {
                    expand(leaf, board: leafBoards[b], priors: priorsBuffer + b * actions)
                }
                backup(
                    path, leafValue: valuesBuffer[b], leafToPlay: leafBoards[b].toPlay,
                    firstColor: firstColorBuffer + b * size * size)
            }
            done += count
            if DispatchTime.now().uptimeNanoseconds >= deadline { break }
        }
        totalPlayouts += done
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return result(playouts: done, seconds: seconds, moveNumber: game.moves.count)
    }

    var buffers: GoLeafBuffers {
        GoLeafBuffers(values: valuesBuffer, priors: priorsBuffer, firstColor: firstColorBuffer)
    }

    func ensureBuffers(_ batch: Int) {
        if leafBoards.count < batch || leafBoards.first?.size != size {
            leafBoards = (0..<batch).map { _ in GoBoard(size: size, historyLength: 3) }
        }
        if bufferBatch < batch || bufferBatch == 0 {
            valuesBuffer.deallocate()
            priorsBuffer.deallocate()
            firstColorBuffer.deallocate()
            let b = max(batch, 1)
            valuesBuffer = .allocate(capacity: b)
            priorsBuffer = .allocate(capacity: b * actions)
            firstColorBuffer = .allocate(capacity: b * size * size)
            bufferBatch = b
        }
    }

    func memsetFirstColor(_ count: Int) {
        firstColorBuffer.update(repeating: 0, count: count * size * size)
    }

    /// The child of `node` with the largest PUCT score (RAVE-blended value plus exploration).
    public func select(_ node: Int32) -> Int32 {
        let start = Int(firstChild[Int(node)])
        let end = start + Int(childCount[Int(node)])
        let parentVisits = n[Int(node)] + vl[Int(node)]
        let sqrtN = (max(parentVisits, 1)).squareRoot()
        // First-play urgency: an unvisited child is worth the parent's own value for its mover.
        let parentQ: Float = n[Int(node)] > 0 ? 1 - w[Int(node)] / n[Int(node)] : 0.5
        var best = Int32(start)
        var bestScore = -Float.infinity
        for c in start..<end {
            let visits = n[c] + vl[c]
            var q: Float
            if visits > 0 { q = w[c] / visits } else { q = parentQ }
            if config.raveEquivalence > 0 && an[c] > 0 {
                let beta = an[c] / (an[c] + visits + visits * an[c] / config.raveEquivalence)
                q = (1 - beta) * q + beta * aw[c] / an[c]
            }
            let score = q + config.cPuct * p[c] * sqrtN / (1 + visits)
            if score > bestScore {
                bestScore = score
                best = Int32(c)
            }
        }
        return best
    }

    /// Creates the children of `node`: legal moves that fill no own eye, and pass.
    func expand(_ node: Int32, board: GoBoard, priors: UnsafeMutablePointer<Float>) {
        let color = board.toPlay
        let start = Int32(action.count)
        var count: Int16 = 0
        var total: Float = 0
        for a in 0..<(size * size) {
            let q = (a / size + 1) * board.stride + a % size + 1
            guard board.isLegal(index: q, color: color), !board.isEye(index: q, color: color) else { continue }
            appendChild(Int16(a), prior: priors[a])
            total += priors[a]
            count += 1
        }
        appendChild(Int16(size * size), prior: priors[size * size])
        total += priors[size * size]
        count += 1
        // Renormalise over the children (an evaluator may spread mass on illegal moves).
        if total > 0 {
            for c in Int(start)..<action.count { p[c] /= total }
        } else {
            for c in Int(start)..<action.count { p[c] = 1 / Float(count) }
        }
        firstChild[Int(node)] = start
        childCount[Int(node)] = count
    }

    /// Gives `node` children for `actions` (points row-major, then pass) with these priors, as
    /// they are (no renormalising): the building block of `expand`, and of hand-built trees.
    public func addChildren(to node: Int32, actions: [Int16], priors: [Float]) {
        precondition(
            actions.count == priors.count, "GoMCTS.addChildren: \(actions.count) actions, \(priors.count) priors")
        firstChild[Int(node)] = Int32(action.count)
        childCount[Int(node)] = Int16(actions.count)
        for (a, prior) in zip(actions, priors) { appendChild(a, prior: prior) }
    }

    /// Sets a node's statistics (hand-built trees in tests, or statistics loaded from elsewhere).
    public func setStatistics(_ node: Int32, visits: Float, wins: Float, virtualLoss: Float = 0, prior: Float? = nil) {
        n[Int(node)] = visits
        w[Int(node)] = wins
        vl[Int(node)] = virtualLoss
        if let prior { p[Int(node)] = prior }
    }

    func appendChild(_ a: Int16, prior: Float) {
        action.append(a)
        firstChild.append(-1)
        childCount.append(0)
        n.append(0)
        w.append(0)
        an.append(0)
        aw.append(0)
        p.append(max(prior, 0))
        vl.append(0)
    }

    /// Backs a leaf's value up the path, each node from its mover's view, and updates the AMAF
    /// statistics of every path node's children with the moves played after it.
    public func backup(_ path: [Int32], leafValue: Float, leafToPlay: GoColor, firstColor: UnsafeMutablePointer<UInt8>)
    {
        // Win (1), draw (½), loss (0) for black.
        let blackValue = leafToPlay == .black ? leafValue : -leafValue
        let blackWin = (blackValue + 1) / 2
        // The colour to move at path[i]: the leaf's colour flipped once per step up.
        var toMove = leafToPlay
        let useAMAF = config.raveEquivalence > 0
        for i in stride(from: path.count - 1, through: 0, by: -1) {
            let node = Int(path[i])
            // AMAF: children of this node whose point `toMove` played first later on.
            if useAMAF, firstChild[node] >= 0 {
                let start = Int(firstChild[node])
                let mine = toMove.rawValue
                let value = toMove == .black ? blackWin : 1 - blackWin
                for c in start..<(start + Int(childCount[node])) {
                    let a = Int(action[c])
                    if a < size * size && firstColor[a] == mine {
                        an[c] += 1
                        aw[c] += value
                    }
                }
            }
            // The node's own statistics, for the player who moved into it.
            let mover = toMove.opponent
            n[node] += 1
            w[node] += mover == .black ? blackWin : 1 - blackWin
            let a = Int(action[node])
            if useAMAF && a >= 0 && a < size * size { firstColor[a] = mover.rawValue }
            toMove = mover
        }
    }

    /// Mixes Dirichlet(α) noise into the root priors (self-play exploration).
    func addNoise(_ node: Int32) {
        let start = Int(firstChild[Int(node)])
        let count = Int(childCount[Int(node)])
        guard start >= 0, count > 0 else { return }
        var noise = (0..<count).map { _ in gammaSample(alpha: config.dirichletAlpha) }
        let sum = max(noise.reduce(0, +), 1e-12)
        for i in 0..<count { noise[i] /= sum }
        for i in 0..<count {
            p[start + i] = (1 - config.dirichletWeight) * p[start + i] + config.dirichletWeight * noise[i]
        }
    }

    /// A Gamma(α, 1) draw (Marsaglia & Tsang 2000; α < 1 through the boost U^(1/α)).
    func gammaSample(alpha: Float) -> Float {
        func uniform() -> Float { Float(random.next() >> 40) / Float(1 << 24) + 1e-7 }
        func normal() -> Float {
            let u = uniform(), v = uniform()
            return (-2 * logf(u)).squareRoot() * cosf(2 * .pi * v)
        }
        if alpha < 1 { return gammaSample(alpha: alpha + 1) * powf(uniform(), 1 / alpha) }
        let d = alpha - 1 / 3, c = 1 / (9 * d).squareRoot()
        while true {
            let x = normal()
            let v = powf(1 + c * x, 3)
            if v <= 0 { continue }
            if logf(uniform()) < 0.5 * x * x + d - d * v + d * logf(v) { return d * v }
        }
    }

    /// The move to play from the root statistics, with pass and resignation rules.
    func result(playouts: Int, seconds: Double, moveNumber: Int) -> GoSearchResult {
        let start = Int(firstChild[Int(root)])
        let count = Int(childCount[Int(root)])
        var visits = [Float](repeating: 0, count: actions)
        var best = start
        for c in start..<(start + count) {
            visits[Int(action[c])] = n[c]
            if n[c] > n[best] || (n[c] == n[best] && w[c] > w[best]) { best = c }
        }
        if config.temperature > 0 && moveNumber < config.temperatureMoves {
            let weights = (start..<(start + count)).map { powf(n[$0], 1 / config.temperature) }
            let sum = weights.reduce(0, +)
            if sum > 0 {
                var r = Float(random.next() >> 40) / Float(1 << 24) * sum
                for i in 0..<count {
                    r -= weights[i]
                    if r <= 0 {
                        best = start + i
                        break
                    }
                }
            }
        }
        if config.settleBeforePass && Int(action[best]) == size * size, let settle = settlingChild(than: best) {
            best = settle
        }
        let winRate = n[best] > 0 ? w[best] / n[best] : 0.5
        var move = actionMove(Int(action[best]))
        let color = rootBoard.toPlay
        if config.resignThreshold > 0 && winRate < config.resignThreshold {
            // Never resign a game the count (with presumed-dead stones removed) says is won.
            let margin = rootBoard.estimatedScore().margin(komi: komi)
            let mine = color == .black ? margin : -margin
            if mine < 0 { move = .resign }
        }
        return GoSearchResult(
            move: move, visits: visits, winRate: winRate, playouts: playouts, seconds: seconds,
            principalVariation: principalVariation(from: Int32(best)))
    }

    /// The most visited root child that settles the board — a point next to a stone of the
    /// opponent whose stone is not left in atari (unless it captures) — valued within
    /// `settleMargin` of the pass child `pass`; nil when none is.
    public func settlingChild(than pass: Int) -> Int? {
        let start = Int(firstChild[Int(root)]), count = Int(childCount[Int(root)])
        let passRate = n[pass] > 0 ? w[pass] / n[pass] : 0.5
        let opponent = rootBoard.toPlay.opponent
        var pick: Int?
        for c in start..<(start + count) where c != pass && n[c] > 0 && w[c] / n[c] >= passRate - config.settleMargin {
            let a = Int(action[c])
            guard a < size * size else { continue }
            let point = GoPoint(column: a % size, row: a / size)
            let p = rootBoard.index(of: point)
            guard (0..<4).contains(where: { rootBoard.stone(atIndex: rootBoard.neighbor(p, $0)) == opponent }) else { continue }
            if pick != nil && n[c] <= n[pick!] { continue }
            // Never a stone thrown away: after it, its group keeps two liberties or it captured.
            let after = rootBoard.copy()
            let captured = after.capturedBy
            guard after.play(.play(point), color: rootBoard.toPlay) else { continue }
            if after.libertyCount(at: point) < 2 && after.capturedBy == captured { continue }
            pick = c
        }
        return pick
    }

    /// The line from `node`: its move, then the most visited children down the tree (at most
    /// `length` moves).
    public func principalVariation(from node: Int32, length: Int = 12) -> [GoMove] {
        var line: [GoMove] = []
        var node = Int(node)
        while line.count < length {
            line.append(actionMove(Int(action[node])))
            let s = Int(firstChild[node])
            guard s >= 0 else { break }
            var b = s
            for c in s..<(s + Int(childCount[node])) where n[c] > n[b] { b = c }
            if n[b] == 0 { break }
            node = b
        }
        return line
    }

    func actionMove(_ a: Int) -> GoMove {
        a == size * size ? .pass : .play(GoPoint(column: a % size, row: a / size))
    }

    /// Root children as (move, visits, win rate, prior), most visited first (tests, logs).
    public func rootChildren() -> [(move: GoMove, visits: Float, winRate: Float, prior: Float)] {
        rootAnalysis().candidates.map { ($0.move, Float($0.visits), Float($0.winRate), Float($0.prior)) }
    }

    /// The root's children as analysis candidates, most visited first (ties: higher win rate),
    /// with the position's win rate for the player to move. The lower confidence bound is the
    /// normal approximation w − 1.96 · √(w(1 − w)/n) over n playout results (0 unvisited).
    public func rootAnalysis() -> GoAnalysis {
        var policy = [Double](repeating: 0, count: actions)
        var candidates: [GoCandidate] = []
        let start = Int(firstChild[Int(root)])
        if start >= 0 {
            for c in start..<(start + Int(childCount[Int(root)])) {
                policy[Int(action[c])] = Double(p[c])
                let visits = Double(n[c])
                let rate = visits > 0 ? Double(w[c]) / visits : 0
                let bound = visits > 0 ? rate - 1.96 * (rate * (1 - rate) / visits).squareRoot() : 0
                candidates.append(
                    GoCandidate(
                        move: actionMove(Int(action[c])), visits: Int(n[c]), winRate: rate, prior: Double(p[c]),
                        lowerConfidenceBound: max(0, bound), principalVariation: principalVariation(from: Int32(c))))
            }
        }
        candidates.sort { ($0.visits, $0.winRate) > ($1.visits, $1.winRate) }
        let rootVisits = Double(n[Int(root)])
        // The root's wins are its mover's (the opponent's): the player to move has the rest.
        let winRate = rootVisits > 0 ? 1 - Double(w[Int(root)]) / rootVisits : 0.5
        return GoAnalysis(color: rootBoard.toPlay, candidates: candidates, policy: policy, winRate: winRate)
    }
}
