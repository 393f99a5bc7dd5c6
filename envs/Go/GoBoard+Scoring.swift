/// Area scoring: a colour's points are its stones plus the empty points that reach only its
/// stones (Tromp–Taylor rules, 1995; the same count as Chinese rules once dead stones are gone).
public struct GoAreaScore: Equatable, Sendable {
    /// Black stones plus empty points reaching only black.
    public var black: Int
    /// White stones plus empty points reaching only white.
    public var white: Int
    /// Owner of each point, row-major from the top-left: 1 black, 2 white, 0 neither.
    public var owner: [UInt8]

    /// `black − white − komi`: positive means black wins.
    public func margin(komi: Double) -> Double { Double(black - white) - komi }
}

extension GoBoard {
    /// Tromp–Taylor area count of the position as it stands: every stone on the board is alive.
    public func areaScore() -> GoAreaScore { areaScore(dead: nil) }

    /// `black − white − komi` by Tromp–Taylor: positive means black wins.
    public func score(komi: Double) -> Double { areaScore().margin(komi: komi) }

    /// Area count after taking `dead` off the board (Chinese counting once both players, or a
    /// referee, agreed which stones are dead): the dead points count as empty.
    public func areaScore(removing dead: [GoPoint]) -> GoAreaScore {
        if dead.isEmpty { return areaScore(dead: nil) }
        var mask = [Bool](repeating: false, count: area)
        for point in dead where contains(point) { mask[index(of: point)] = true }
        return areaScore(dead: mask)
    }

    /// An area count for display that first removes stones a simple heuristic presumes dead
    /// (`presumedDeadStones`), so an unfinished game shows a plausible score.
    public func estimatedScore() -> GoAreaScore {
        let dead = presumedDeadMask()
        return areaScore(dead: dead)
    }

    /// Stones the display estimate treats as dead.
    ///
    /// Heuristic (no reading): a group is presumed dead when (1) it has no eye region — no empty
    /// region bordered by its colour alone touches it — (2) it has at most two liberties, and
    /// (3) every opposing group next to it is stronger: it has an eye region or more liberties.
    /// Exact for stones left in atari inside a living opponent's area; wrong for semeai and
    /// seki-like shapes, which is why the real score (`areaScore`) never uses it.
    public func presumedDeadStones() -> [GoPoint] {
        let dead = presumedDeadMask()
        var points: [GoPoint] = []
        for p in 0..<area where dead[p] { points.append(point(at: p)) }
        return points
    }

    func presumedDeadMask() -> [Bool] {
        let plain = areaScore(dead: nil)
        // Eye region: an empty point owned by one colour in the plain count.
        var hasEye = [Bool](repeating: false, count: area)
        for p in 0..<area where cells[p] == 1 || cells[p] == 2 {
            for k in 0..<4 {
                let q = neighbor(p, k)
                if cells[q] == 0 && Int(plain.owner[(q / stride - 1) * size + q % stride - 1]) == Int(cells[p]) {
                    hasEye[Int(head[p])] = true
                }
            }
        }
        var dead = [Bool](repeating: false, count: area)
        for g in 0..<area where (cells[g] == 1 || cells[g] == 2) && Int(head[g]) == g {
            if hasEye[g] || liberties[g] > 2 { continue }
            var weaker = true
            var s = g
            repeat {
                for k in 0..<4 {
                    let q = neighbor(s, k)
                    if cells[q] == 3 - cells[g] {
                        let h = Int(head[q])
                        if !hasEye[h] && liberties[h] <= liberties[g] { weaker = false }
                    }
                }
                s = Int(nextStone[s])
            } while s != g
            if !weaker { continue }
            s = g
            repeat {
                dead[s] = true
                s = Int(nextStone[s])
            } while s != g
        }
        return dead
    }

    /// Area count where the stones flagged in `dead` (padded indices) count as empty points.
    func areaScore(dead: [Bool]?) -> GoAreaScore {
        func code(_ p: Int) -> UInt8 {
            if let dead, dead[p] { return 0 }
            return cells[p]
        }
        var owner = [UInt8](repeating: 0, count: size * size)
        var black = 0, white = 0
        markStamp &+= 1
        if markStamp == 0 {
            mark.update(repeating: 0, count: area)
            markStamp = 1
        }
        for row in 0..<size {
            for column in 0..<size {
                let p = (row + 1) * stride + column + 1
                let c = code(p)
                if c == 1 {
                    black += 1
                    owner[row * size + column] = 1
                    continue
                }
                if c == 2 {
                    white += 1
                    owner[row * size + column] = 2
                    continue
                }
                if mark[p] == markStamp { continue }
                // Flood the empty region from p, noting which colours it reaches.
                var reaches: UInt8 = 0
                var top = 0
                mark[p] = markStamp
                stack[top] = Int32(p)
                top += 1
                var region: [Int] = []
                while top > 0 {
                    top -= 1
                    let e = Int(stack[top])
                    region.append(e)
                    for k in 0..<4 {
                        let q = neighbor(e, k)
                        let cq = code(q)
                        if cq == 0 {
                            if mark[q] != markStamp {
                                mark[q] = markStamp
                                stack[top] = Int32(q)
                                top += 1
                            }
                        } else if cq != 3 {
                            reaches |= cq
                        }
                    }
                }
                if reaches == 1 || reaches == 2 {
                    if reaches == 1 { black += region.count } else { white += region.count }
                    for e in region { owner[(e / stride - 1) * size + e % stride - 1] = reaches }
                }
            }
        }
        return GoAreaScore(black: black, white: white, owner: owner)
    }
}
