/// A Go position with the rules that move it on: captures, no suicide, positional superko.
///
/// Layout: a padded `(size + 2)²` grid of cell codes (0 empty, 1 black, 2 white, 3 off-board),
/// so each point's four neighbours are `p ± 1` and `p ± stride` without bounds tests. Every
/// group keeps a circular list of its stones (`nextStone`), a representative (`head`), and at the
/// representative its liberty count, stone count and the XOR of its stones' Zobrist keys, all
/// updated incrementally: a move costs work proportional to the stones it touches, not the board.
///
/// Positional superko (a move may not recreate any earlier whole-board position, whoever is to
/// move) is checked through 64-bit Zobrist hashes (Zobrist 1970) kept in an open-addressing set;
/// the simple-ko point is tracked too, for display and as a fast early rejection.
///
/// A class for speed: the buffers are raw pointers allocated once. `copy()` makes an
/// independent board.
public final class GoBoard {
    /// Points per side (2…25; 9, 13 and 19 are the usual boards).
    public let size: Int
    /// `size + 2`: the padded row length.
    public let stride: Int
    /// Number of past positions kept for the observation planes.
    public let historyLength: Int
    /// The player whose turn it is.
    public internal(set) var toPlay: GoColor = .black
    /// Passes in a row just played; the game is over at two.
    public internal(set) var consecutivePasses = 0
    /// Moves (passes included) played on this board since it was cleared.
    public internal(set) var moveCount = 0
    /// Stones each colour has captured.
    public internal(set) var capturedBy: (black: Int, white: Int) = (0, 0)
    /// Zobrist hash of the stones on the board (side to move excluded: positional superko).
    public internal(set) var hash: UInt64 = 0

    @usableFromInline let area: Int
    @usableFromInline let cells: UnsafeMutablePointer<UInt8>
    @usableFromInline let head: UnsafeMutablePointer<Int32>
    @usableFromInline let nextStone: UnsafeMutablePointer<Int32>
    /// Liberties, stones and key of a group, valid at its head.
    @usableFromInline let liberties: UnsafeMutablePointer<Int32>
    @usableFromInline let stones: UnsafeMutablePointer<Int32>
    @usableFromInline let groupKey: UnsafeMutablePointer<UInt64>
    /// Zobrist keys, `(colour − 1) · area + point`.
    @usableFromInline let zobrist: UnsafeMutablePointer<UInt64>
    /// Scratch marks for liberty recounts and floods: a point is marked when `mark[p] == markStamp`.
    @usableFromInline let mark: UnsafeMutablePointer<UInt32>
    @usableFromInline var markStamp: UInt32 = 0
    /// Scratch stack for floods.
    @usableFromInline let stack: UnsafeMutablePointer<Int32>
    /// The empty on-board points, in no order, and each point's slot in that list.
    @usableFromInline let emptyList: UnsafeMutablePointer<Int32>
    @usableFromInline let emptySlot: UnsafeMutablePointer<Int32>
    @usableFromInline var emptyCount = 0
    /// The point the player to move may not take because it would retake a ko at once, or −1.
    @usableFromInline var koIndex = -1
    /// The last move's padded index, −1 before any move, −2 after a pass.
    @usableFromInline var lastIndex = -1
    /// Set of position hashes seen since the board was cleared (0 marks an empty slot).
    @usableFromInline var seen: UnsafeMutablePointer<UInt64>
    @usableFromInline var seenCapacity = 0
    @usableFromInline var seenCount = 0
    /// Ring of the last `historyLength` positions (padded cell codes), newest at `historyHead`.
    @usableFromInline let history: UnsafeMutablePointer<UInt8>
    @usableFromInline var historyHead = 0
    @usableFromInline var historyFilled = 0

    /// An empty board. `historyLength` past positions are kept for `writePlanes`.
    public init(size: Int = 19, historyLength: Int = 3) {
        precondition((2...25).contains(size), "GoBoard: size must be in 2...25, got \(size)")
        precondition(historyLength >= 0, "GoBoard: negative history length \(historyLength)")
        self.size = size
        self.historyLength = historyLength
        stride = size + 2
        area = stride * stride
        cells = .allocate(capacity: area)
        head = .allocate(capacity: area)
        nextStone = .allocate(capacity: area)
        liberties = .allocate(capacity: area)
        stones = .allocate(capacity: area)
        groupKey = .allocate(capacity: area)
        zobrist = .allocate(capacity: 2 * area)
        mark = .allocate(capacity: area)
        stack = .allocate(capacity: area)
        emptyList = .allocate(capacity: area)
        emptySlot = .allocate(capacity: area)
        history = .allocate(capacity: max(1, historyLength * area))
        seenCapacity = 1024
        seen = .allocate(capacity: seenCapacity)
        // Fixed seed: the same keys in every run, so hashes are reproducible.
        var x: UInt64 = 0x60_5EED &+ UInt64(size)
        for i in 0..<(2 * area) { zobrist[i] = splitMix64(&x) }
        clear()
    }

    deinit {
        cells.deallocate()
        head.deallocate()
        nextStone.deallocate()
        liberties.deallocate()
        stones.deallocate()
        groupKey.deallocate()
        zobrist.deallocate()
        mark.deallocate()
        stack.deallocate()
        emptyList.deallocate()
        emptySlot.deallocate()
        history.deallocate()
        seen.deallocate()
    }

    /// Removes every stone and forgets the game's positions.
    public func clear() {
        mark.initialize(repeating: 0, count: area)
        markStamp = 0
        head.initialize(repeating: 0, count: area)
        nextStone.initialize(repeating: 0, count: area)
        liberties.initialize(repeating: 0, count: area)
        stones.initialize(repeating: 0, count: area)
        groupKey.initialize(repeating: 0, count: area)
        emptySlot.initialize(repeating: -1, count: area)
        cells.initialize(repeating: 3, count: area)
        emptyCount = 0
        for row in 0..<size {
            for column in 0..<size {
                let p = (row + 1) * stride + column + 1
                cells[p] = 0
                emptySlot[p] = Int32(emptyCount)
                emptyList[emptyCount] = Int32(p)
                emptyCount += 1
            }
        }
        hash = 0
        koIndex = -1
        lastIndex = -1
        toPlay = .black
        consecutivePasses = 0
        moveCount = 0
        capturedBy = (0, 0)
        history.initialize(repeating: 0, count: max(1, historyLength * area))
        historyHead = 0
        historyFilled = 0
        seen.initialize(repeating: 0, count: seenCapacity)
        seenCount = 0
        rememberPosition()
    }

    /// An independent board in the same state.
    public func copy() -> GoBoard {
        let other = GoBoard(size: size, historyLength: historyLength)
        other.cells.update(from: cells, count: area)
        other.head.update(from: head, count: area)
        other.nextStone.update(from: nextStone, count: area)
        other.liberties.update(from: liberties, count: area)
        other.stones.update(from: stones, count: area)
        other.groupKey.update(from: groupKey, count: area)
        other.emptyList.update(from: emptyList, count: area)
        other.emptySlot.update(from: emptySlot, count: area)
        other.emptyCount = emptyCount
        other.history.update(from: history, count: max(1, historyLength * area))
        other.historyHead = historyHead
        other.historyFilled = historyFilled
        if other.seenCapacity != seenCapacity {
            other.seen.deallocate()
            other.seen = .allocate(capacity: seenCapacity)
            other.seenCapacity = seenCapacity
        }
        other.seen.update(from: seen, count: seenCapacity)
        other.seenCount = seenCount
        other.hash = hash
        other.koIndex = koIndex
        other.lastIndex = lastIndex
        other.toPlay = toPlay
        other.consecutivePasses = consecutivePasses
        other.moveCount = moveCount
        other.capturedBy = capturedBy
        return other
    }

    // MARK: - Points

    /// The padded index of an on-board point.
    @inlinable public func index(of point: GoPoint) -> Int {
        precondition(contains(point), "GoBoard: \(point) is off a \(size)×\(size) board")
        return (point.row + 1) * stride + point.column + 1
    }

    /// The point at a padded index.
    @inlinable public func point(at index: Int) -> GoPoint {
        GoPoint(column: index % stride - 1, row: index / stride - 1)
    }

    /// Whether `point` lies on the board.
    @inlinable public func contains(_ point: GoPoint) -> Bool {
        point.column >= 0 && point.column < size && point.row >= 0 && point.row < size
    }

    /// The stone on `point`, or nil.
    public subscript(point: GoPoint) -> GoColor? {
        GoColor(rawValue: cells[index(of: point)])
    }

    /// The stone at a padded index, or nil (also off the board).
    @inlinable public func stone(atIndex p: Int) -> GoColor? { GoColor(rawValue: cells[p]) }

    /// Liberties of the group on `point` (0 when the point is empty).
    public func libertyCount(at point: GoPoint) -> Int {
        let p = index(of: point)
        return cells[p] == 0 ? 0 : Int(liberties[Int(head[p])])
    }

    /// The point the player to move may not take because it would retake a ko at once.
    public var koPoint: GoPoint? { koIndex < 0 ? nil : point(at: koIndex) }

    /// The last move: nil before the first move, `.pass` after a pass.
    public var lastMove: GoMove? {
        lastIndex == -1 ? nil : lastIndex == -2 ? .pass : .play(point(at: lastIndex))
    }

    /// Number of empty points.
    public var emptyPointCount: Int { emptyCount }

    /// Whether the last two moves were passes.
    public var isOver: Bool { consecutivePasses >= 2 }

    /// The four neighbours of `p`: k = 0…3 gives west, east, north, south.
    @inlinable @inline(__always) public func neighbor(_ p: Int, _ k: Int) -> Int {
        k == 0 ? p - 1 : k == 1 ? p + 1 : k == 2 ? p - stride : p + stride
    }

    @inlinable @inline(__always) func key(_ c: UInt8, _ p: Int) -> UInt64 {
        zobrist[(Int(c) - 1) * area + p]
    }

    // MARK: - Legality

    /// Whether `color` may play on the point at padded index `p`: the point is empty, the move
    /// is not suicide, and the resulting position has not occurred before (positional superko).
    @inlinable public func isLegal(index p: Int, color: GoColor) -> Bool {
        if cells[p] != 0 { return false }
        let c = color.rawValue
        if p == koIndex && color == toPlay { return false }
        var breathes = false
        var captureKey: UInt64 = 0
        var h0: Int32 = -1, h1: Int32 = -1, h2: Int32 = -1
        for k in 0..<4 {
            let q = neighbor(p, k)
            let cq = cells[q]
            if cq == 0 {
                breathes = true
            } else if cq == c {
                if liberties[Int(head[q])] > 1 { breathes = true }
            } else if cq != 3 {
                let h = head[q]
                if liberties[Int(h)] == 1 && h != h0 && h != h1 && h != h2 {
                    captureKey ^= groupKey[Int(h)]
                    breathes = true
                    if h0 < 0 { h0 = h } else if h1 < 0 { h1 = h } else { h2 = h }
                }
            }
        }
        if !breathes { return false }
        return !hasSeen(hash ^ key(c, p) ^ captureKey)
    }

    /// Whether `color` may play `move` now (pass and resign always may).
    public func isLegal(_ move: GoMove, color: GoColor) -> Bool {
        switch move {
        case .play(let point): return contains(point) && isLegal(index: index(of: point), color: color)
        case .pass, .resign: return true
        }
    }

    /// Whether the point at `p` is a single-point eye of `color`: its four neighbours are that
    /// colour (or the edge) and at most one diagonal is the opponent's (none on the edge), so
    /// filling it can only hurt (the usual rule of random playout players).
    @inlinable public func isEye(index p: Int, color: GoColor) -> Bool {
        if cells[p] != 0 { return false }
        let c = color.rawValue
        for k in 0..<4 {
            let cq = cells[neighbor(p, k)]
            if cq != c && cq != 3 { return false }
        }
        var enemy = 0, edge = 0
        let o = color.opponent.rawValue
        for k in 0..<4 {
            let cq = cells[p + (k & 1 == 0 ? -1 : 1) + (k < 2 ? -stride : stride)]
            if cq == o { enemy += 1 } else if cq == 3 { edge = 1 }
        }
        return enemy + edge < 2
    }

    // MARK: - Playing

    /// Plays `move` for `color` (default: the player to move). Returns false, changing nothing,
    /// when the move is illegal. `resign` is not a board move: it is refused here.
    @discardableResult
    public func play(_ move: GoMove, color: GoColor? = nil) -> Bool {
        let color = color ?? toPlay
        switch move {
        case .pass:
            pass(color: color)
            return true
        case .resign:
            return false
        case .play(let point):
            guard contains(point) else { return false }
            let p = index(of: point)
            guard isLegal(index: p, color: color) else { return false }
            play(index: p, color: color)
            return true
        }
    }

    /// A pass by `color`.
    public func pass(color: GoColor) {
        pushHistory()
        koIndex = -1
        lastIndex = -2
        consecutivePasses += 1
        moveCount += 1
        toPlay = color.opponent
    }

    /// Plays a stone known to be legal (`isLegal(index:color:)`) for `color` at padded index `p`.
    public func play(index p: Int, color: GoColor) {
        precondition(cells[p] == 0, "GoBoard.play(index:color:): point \(p) is occupied or off the board")
        pushHistory()
        let captured = placeStone(p, color.rawValue)
        if captured == 1 && stones[Int(head[p])] == 1 && liberties[p] == 1 {
            // A lone stone that took one stone and has one liberty: that liberty is where the
            // captured stone stood, and taking it back at once would repeat the position.
            var ko = -1
            for k in 0..<4 where cells[neighbor(p, k)] == 0 { ko = neighbor(p, k) }
            koIndex = ko
        } else {
            koIndex = -1
        }
        if color == .black { capturedBy.black += captured } else { capturedBy.white += captured }
        lastIndex = p
        consecutivePasses = 0
        moveCount += 1
        toPlay = color.opponent
        rememberPosition()
        #if DEBUG
        checkInvariants()
        #endif
    }

    /// Puts a stone on `p` and resolves captures; returns the number of stones captured.
    /// Legality is the caller's business (setup stones use this directly).
    @usableFromInline func placeStone(_ p: Int, _ c: UInt8) -> Int {
        let o = 3 - c
        removeEmpty(p)
        cells[p] = c
        let pk = key(c, p)
        hash ^= pk
        head[p] = Int32(p)
        nextStone[p] = Int32(p)
        stones[p] = 1
        groupKey[p] = pk
        // The new stone takes one liberty from each distinct neighbouring group.
        var freeNeighbors: Int32 = 0
        var h0: Int32 = -1, h1: Int32 = -1, h2: Int32 = -1
        var ownGroups = 0
        for k in 0..<4 {
            let q = neighbor(p, k)
            let cq = cells[q]
            if cq == 0 {
                freeNeighbors += 1
                continue
            }
            if cq == 3 { continue }
            let h = head[q]
            if h == h0 || h == h1 || h == h2 { continue }
            if h0 < 0 { h0 = h } else if h1 < 0 { h1 = h } else { h2 = h }
            liberties[Int(h)] -= 1
            if cq == c { ownGroups += 1 }
        }
        liberties[p] = freeNeighbors
        // Join the friendly groups.
        if ownGroups == 1 {
            var g = -1
            for k in 0..<4 where cells[neighbor(p, k)] == c { g = Int(head[neighbor(p, k)]) }
            // New liberties: empty neighbours of p that were not already liberties of g.
            var added: Int32 = 0
            for k in 0..<4 {
                let e = neighbor(p, k)
                if cells[e] != 0 { continue }
                var touches = false
                for j in 0..<4 {
                    let f = neighbor(e, j)
                    if f != p && cells[f] == c && Int(head[f]) == g {
                        touches = true
                        break
                    }
                }
                if !touches { added += 1 }
            }
            head[p] = Int32(g)
            nextStone[p] = nextStone[g]
            nextStone[g] = Int32(p)
            stones[g] += 1
            groupKey[g] ^= pk
            liberties[g] += added
        } else if ownGroups > 1 {
            var g = p
            for k in 0..<4 {
                let q = neighbor(p, k)
                if cells[q] == c && Int(head[q]) != Int(head[g]) { g = merge(Int(head[g]), Int(head[q])) }
            }
            liberties[g] = countLiberties(g)
        }
        // Remove opponent groups left without liberties.
        var captured = 0
        for k in 0..<4 {
            let q = neighbor(p, k)
            if cells[q] == o && liberties[Int(head[q])] == 0 { captured += removeGroup(Int(head[q])) }
        }
        return captured
    }

    /// Joins two groups (given by their heads); the smaller is relabelled. Returns the new head.
    @usableFromInline func merge(_ a: Int, _ b: Int) -> Int {
        let (big, small) = stones[a] >= stones[b] ? (a, b) : (b, a)
        var s = small
        repeat {
            head[s] = Int32(big)
            s = Int(nextStone[s])
        } while s != small
        let t = nextStone[big]
        nextStone[big] = nextStone[small]
        nextStone[small] = t
        stones[big] += stones[small]
        groupKey[big] ^= groupKey[small]
        return big
    }

    /// Distinct empty points next to the group headed by `g`.
    @usableFromInline func countLiberties(_ g: Int) -> Int32 {
        markStamp &+= 1
        if markStamp == 0 {
            mark.update(repeating: 0, count: area)
            markStamp = 1
        }
        var count: Int32 = 0
        var s = g
        repeat {
            for k in 0..<4 {
                let q = neighbor(s, k)
                if cells[q] == 0 && mark[q] != markStamp {
                    mark[q] = markStamp
                    count += 1
                }
            }
            s = Int(nextStone[s])
        } while s != g
        return count
    }

    /// Takes the group headed by `g` off the board; its points become liberties of the
    /// neighbouring groups. Returns the number of stones removed.
    @usableFromInline func removeGroup(_ g: Int) -> Int {
        let c = cells[g]
        hash ^= groupKey[g]
        let count = Int(stones[g])
        var s = g
        repeat {
            let next = Int(nextStone[s])
            cells[s] = 0
            addEmpty(s)
            var h0: Int32 = -1, h1: Int32 = -1, h2: Int32 = -1
            for k in 0..<4 {
                let q = neighbor(s, k)
                let cq = cells[q]
                if cq == 0 || cq == 3 || cq == c { continue }
                let h = head[q]
                if h == h0 || h == h1 || h == h2 { continue }
                if h0 < 0 { h0 = h } else if h1 < 0 { h1 = h } else { h2 = h }
                liberties[Int(h)] += 1
            }
            s = next
        } while s != g
        return count
    }

    @inlinable @inline(__always) func removeEmpty(_ p: Int) {
        let slot = Int(emptySlot[p])
        emptyCount -= 1
        let last = Int(emptyList[emptyCount])
        emptyList[slot] = Int32(last)
        emptySlot[last] = Int32(slot)
        emptySlot[p] = -1
    }

    @inlinable @inline(__always) func addEmpty(_ p: Int) {
        emptyList[emptyCount] = Int32(p)
        emptySlot[p] = Int32(emptyCount)
        emptyCount += 1
    }

    /// Exchanges two entries of the empty list (random players shuffle it while sampling).
    @inlinable @inline(__always) func swapEmpty(_ i: Int, _ j: Int) {
        let a = Int(emptyList[i]), b = Int(emptyList[j])
        emptyList[i] = Int32(b)
        emptySlot[b] = Int32(i)
        emptyList[j] = Int32(a)
        emptySlot[a] = Int32(j)
    }

    // MARK: - Setup

    /// Puts a setup stone (SGF `AB`/`AW`, handicap) on an empty point; it is not a move.
    /// Returns false when the point is occupied or the stone would have no liberty.
    @discardableResult
    public func setStone(_ color: GoColor, at point: GoPoint) -> Bool {
        guard contains(point) else { return false }
        let p = index(of: point)
        guard cells[p] == 0 else { return false }
        var breathes = false
        for k in 0..<4 {
            let q = neighbor(p, k)
            if cells[q] == 0 || (cells[q] == color.rawValue && liberties[Int(head[q])] > 1) { breathes = true }
        }
        guard breathes else { return false }
        _ = placeStone(p, color.rawValue)
        koIndex = -1
        rememberPosition()
        return true
    }

    /// Sets whose turn it is (GTP lets either colour move; SGF `PL`).
    public func setToPlay(_ color: GoColor) { toPlay = color }

    // MARK: - Position memory

    @inlinable func hasSeen(_ h: UInt64) -> Bool {
        let mask = seenCapacity - 1
        var i = Int(truncatingIfNeeded: h) & mask
        let stored = h == 0 ? 1 : h
        while true {
            let v = seen[i]
            if v == 0 { return false }
            if v == stored { return true }
            i = (i + 1) & mask
        }
    }

    @usableFromInline func rememberPosition() {
        if 2 * (seenCount + 1) > seenCapacity { growSeen() }
        insertSeen(hash)
    }

    private func insertSeen(_ h: UInt64) {
        let stored = h == 0 ? 1 : h
        let mask = seenCapacity - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while seen[i] != 0 {
            if seen[i] == stored { return }
            i = (i + 1) & mask
        }
        seen[i] = stored
        seenCount += 1
    }

    private func growSeen() {
        let old = seen, oldCapacity = seenCapacity
        seenCapacity *= 2
        seen = .allocate(capacity: seenCapacity)
        seen.initialize(repeating: 0, count: seenCapacity)
        seenCount = 0
        for i in 0..<oldCapacity where old[i] != 0 { insertSeen(old[i] == 1 ? 0 : old[i]) }
        old.deallocate()
    }

    @inlinable @inline(__always) func pushHistory() {
        guard historyLength > 0 else { return }
        historyHead = historyHead + 1 == historyLength ? 0 : historyHead + 1
        (history + historyHead * area).update(from: cells, count: area)
        if historyFilled < historyLength { historyFilled += 1 }
    }
}
