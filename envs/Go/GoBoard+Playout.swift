/// Fast playouts for Monte Carlo tree search: a light policy in the spirit of michi and Pachi
/// (capture, escape from atari, no self-atari of big groups, never fill an own eye), played on a
/// scratch board until both sides pass, then counted the quick way (stones plus empty points
/// whose neighbours are all of one colour).
extension GoBoard {
    /// Makes this board a copy of `other` (same size) without allocating: the scratch board a
    /// search reuses for every playout. History planes are copied when both keep the same length.
    public func copy(from other: GoBoard) {
        precondition(other.size == size, "GoBoard.copy(from:): sizes \(other.size) and \(size) differ")
        cells.update(from: other.cells, count: area)
        head.update(from: other.head, count: area)
        nextStone.update(from: other.nextStone, count: area)
        liberties.update(from: other.liberties, count: area)
        stones.update(from: other.stones, count: area)
        groupKey.update(from: other.groupKey, count: area)
        emptyList.update(from: other.emptyList, count: area)
        emptySlot.update(from: other.emptySlot, count: area)
        emptyCount = other.emptyCount
        if historyLength == other.historyLength && historyLength > 0 {
            history.update(from: other.history, count: historyLength * area)
            historyHead = other.historyHead
            historyFilled = other.historyFilled
        } else if historyLength > 0 {
            history.update(repeating: 0, count: historyLength * area)
            historyHead = 0
            historyFilled = 0
        }
        if seenCapacity != other.seenCapacity {
            seen.deallocate()
            seen = .allocate(capacity: other.seenCapacity)
            seenCapacity = other.seenCapacity
        }
        seen.update(from: other.seen, count: seenCapacity)
        seenCount = other.seenCount
        hash = other.hash
        koIndex = other.koIndex
        lastIndex = other.lastIndex
        toPlay = other.toPlay
        consecutivePasses = other.consecutivePasses
        moveCount = other.moveCount
        capturedBy = other.capturedBy
    }

    /// The padded index of the last move, or a negative number (−1 none, −2 a pass).
    public var lastMoveIndex: Int { lastIndex }

    /// Padded indices of the on-board points, row by row (the order of `GoBoard.action`).
    public func pointIndices() -> [Int] {
        var indices: [Int] = []
        indices.reserveCapacity(size * size)
        for row in 0..<size { for column in 0..<size { indices.append((row + 1) * stride + column + 1) } }
        return indices
    }

    /// The liberty of the group through `p` when it has exactly one, else −1.
    @usableFromInline func lastLiberty(ofGroupAt p: Int) -> Int {
        let g = Int(head[p])
        guard liberties[g] == 1 else { return -1 }
        var s = g
        repeat {
            for k in 0..<4 where cells[neighbor(s, k)] == 0 { return neighbor(s, k) }
            s = Int(nextStone[s])
        } while s != g
        return -1
    }

    /// Stones `color` would capture by playing on the empty point `p`.
    public func captureSize(index p: Int, color: GoColor) -> Int {
        let o = color.opponent.rawValue
        var total = 0
        var h0 = -1, h1 = -1, h2 = -1
        for k in 0..<4 {
            let q = neighbor(p, k)
            guard cells[q] == o else { continue }
            let h = Int(head[q])
            if liberties[h] != 1 || h == h0 || h == h1 || h == h2 { continue }
            if h0 < 0 { h0 = h } else if h1 < 0 { h1 = h } else { h2 = h }
            total += Int(stones[h])
        }
        return total
    }

    /// Whether a stone of `color` on the empty point `p` would leave its group with exactly one
    /// liberty without capturing anything (self-atari), and how many stones that group would hold.
    public func selfAtari(index p: Int, color: GoColor) -> (isAtari: Bool, stones: Int) {
        let c = color.rawValue
        if captureSize(index: p, color: color) > 0 { return (false, 0) }
        var lib0 = -1
        var total = 1
        var h0 = -1, h1 = -1, h2 = -1
        func addLiberty(_ q: Int) -> Bool {  // true once a second distinct liberty is found
            if q == p { return false }
            if lib0 < 0 {
                lib0 = q
                return false
            }
            return q != lib0
        }
        for k in 0..<4 {
            let q = neighbor(p, k)
            if cells[q] == 0 { if addLiberty(q) { return (false, 0) } }
        }
        for k in 0..<4 {
            let q = neighbor(p, k)
            guard cells[q] == c else { continue }
            let h = Int(head[q])
            if h == h0 || h == h1 || h == h2 { continue }
            if h0 < 0 { h0 = h } else if h1 < 0 { h1 = h } else { h2 = h }
            total += Int(stones[h])
            if liberties[h] >= 3 { return (false, 0) }
            var s = h
            repeat {
                for j in 0..<4 where cells[neighbor(s, j)] == 0 {
                    if addLiberty(neighbor(s, j)) { return (false, 0) }
                }
                s = Int(nextStone[s])
            } while s != h
        }
        return (true, total)
    }

    /// A move that answers the last move locally, or −1: capture a group of the last mover's
    /// that is in atari next to it, or save an own group it put in atari by extending (when that
    /// gives at least two liberties) or by capturing a neighbour of that group.
    public func tacticalReply(for color: GoColor) -> Int {
        let last = lastIndex
        guard last >= 0 else { return -1 }
        let c = color.rawValue, o = 3 - c
        // Capture the last move's group, or a group of the last mover's next to it.
        if cells[last] == o {
            let lib = lastLiberty(ofGroupAt: last)
            if lib >= 0 && isLegal(index: lib, color: color) { return lib }
        }
        for k in 0..<4 {
            let q = neighbor(last, k)
            if cells[q] == c {
                let lib = lastLiberty(ofGroupAt: q)
                guard lib >= 0 else { continue }
                // Capture an attacker next to the threatened group.
                let g = Int(head[q])
                var s = g
                repeat {
                    for j in 0..<4 {
                        let e = neighbor(s, j)
                        if cells[e] == o {
                            let elib = lastLiberty(ofGroupAt: e)
                            if elib >= 0 && isLegal(index: elib, color: color) { return elib }
                        }
                    }
                    s = Int(nextStone[s])
                } while s != g
                if isLegal(index: lib, color: color) && !selfAtari(index: lib, color: color).isAtari { return lib }
            } else if cells[q] == o {
                let lib = lastLiberty(ofGroupAt: q)
                if lib >= 0 && isLegal(index: lib, color: color) { return lib }
            }
        }
        return -1
    }

    /// One playout move for `color`: a tactical reply (with probability 0.9), else a random legal
    /// move that fills no own eye and, usually, is no self-atari; −1 for a pass.
    public func playoutMove(for color: GoColor, using random: inout GoRandom) -> Int {
        if random.nextInt(below: 10) < 9 {
            let reply = tacticalReply(for: color)
            if reply >= 0 { return reply }
        }
        var remaining = emptyCount
        while remaining > 0 {
            let r = random.nextInt(below: remaining)
            let p = Int(emptyList[r])
            if isLegal(index: p, color: color) && !isEye(index: p, color: color) {
                let atari = selfAtari(index: p, color: color)
                // Self-atari of a lone stone is sometimes a good throw-in; of a group, rarely.
                let reject =
                    atari.isAtari && (atari.stones > 1 ? random.nextInt(below: 10) < 9 : random.nextInt(below: 2) == 0)
                if !reject { return p }
            }
            remaining -= 1
            swapEmpty(r, remaining)
        }
        return -1
    }

    /// Plays the game out from here with `playoutMove` until two passes in a row or `maxMoves`
    /// moves, and returns `black − white − komi` by the quick count. When `firstColor` is given
    /// (size² cells, row-major), each point still 0 there gets the colour that played it first
    /// in this playout (for AMAF statistics).
    public func playout(
        komi: Double, maxMoves: Int, using random: inout GoRandom,
        firstColor: UnsafeMutablePointer<UInt8>? = nil
    ) -> Double {
        var passes = 0
        var moves = 0
        while passes < 2 && moves < maxMoves {
            let color = toPlay
            let p = playoutMove(for: color, using: &random)
            if p < 0 {
                pass(color: color)
                passes += 1
            } else {
                if let firstColor {
                    let i = (p / stride - 1) * size + p % stride - 1
                    if firstColor[i] == 0 { firstColor[i] = color.rawValue }
                }
                play(index: p, color: color)
                passes = 0
            }
            moves += 1
        }
        return quickScore(komi: komi)
    }

    /// `black − white − komi` counting stones and empty points whose on-board neighbours are all
    /// of one colour: exact at the end of a playout, where only such eyes are left empty.
    public func quickScore(komi: Double) -> Double {
        var black = 0, white = 0
        for row in 0..<size {
            for column in 0..<size {
                let p = (row + 1) * stride + column + 1
                switch quickOwner(p) {
                case 1: black += 1
                case 2: white += 1
                default: break
                }
            }
        }
        return Double(black - white) - komi
    }

    /// The owner of a point by the quick count: its stone, or the one colour around an empty
    /// point (0 when both or neither touch it).
    @inlinable public func quickOwner(_ p: Int) -> UInt8 {
        let c = cells[p]
        if c == 1 || c == 2 { return c }
        var seen: UInt8 = 0
        for k in 0..<4 {
            let q = cells[neighbor(p, k)]
            if q == 1 || q == 2 { seen |= q }
        }
        return seen == 3 ? 0 : seen
    }
}
