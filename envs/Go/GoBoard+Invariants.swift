extension GoBoard {
    /// Everything the incremental bookkeeping got wrong, recomputed from the stones alone:
    /// groups (flood fill), each group's stone count, liberties and key, the position hash, the
    /// empty-point list, and that no group on the board is left without a liberty.
    /// Empty when the board is consistent.
    public func invariantViolations() -> [String] {
        var problems: [String] = []
        var groupOf = [Int](repeating: -1, count: area)
        var recomputedHash: UInt64 = 0
        var empties = 0
        for p in 0..<area {
            let c = cells[p]
            if c == 0 {
                empties += 1
                let slot = Int(emptySlot[p])
                if slot < 0 || slot >= emptyCount || Int(emptyList[slot]) != p {
                    problems.append("empty point \(point(at: p)) missing from the empty list")
                }
                continue
            }
            if c == 3 {
                let row = p / stride, column = p % stride
                if row >= 1 && row <= size && column >= 1 && column <= size {
                    problems.append("point \(point(at: p)) marked off-board")
                }
                continue
            }
            recomputedHash ^= key(c, p)
            if groupOf[p] >= 0 { continue }
            // Flood the group from p.
            var members: [Int] = [p]
            var libertySet = Set<Int>()
            groupOf[p] = p
            var i = 0
            while i < members.count {
                let s = members[i]
                i += 1
                for k in 0..<4 {
                    let q = neighbor(s, k)
                    if cells[q] == 0 { libertySet.insert(q) }
                    if cells[q] == c && groupOf[q] < 0 {
                        groupOf[q] = p
                        members.append(q)
                    }
                }
            }
            let h = Int(head[p])
            var groupKeyFromScratch: UInt64 = 0
            for s in members {
                groupKeyFromScratch ^= key(c, s)
                if Int(head[s]) != h {
                    problems.append("stone \(point(at: s)) has head \(head[s]), group head is \(h)")
                }
            }
            // The circular list must hold exactly the flooded stones.
            var listed = 0, s = h
            repeat {
                listed += 1
                if groupOf[s] != p {
                    problems.append("stone list of group at \(point(at: h)) reaches \(point(at: s))")
                    break
                }
                s = Int(nextStone[s])
            } while s != h && listed <= members.count
            if listed != members.count {
                problems.append("group at \(point(at: h)) lists \(listed) stones, has \(members.count)")
            }
            if Int(stones[h]) != members.count {
                problems.append("group at \(point(at: h)) counts \(stones[h]) stones, has \(members.count)")
            }
            if Int(liberties[h]) != libertySet.count {
                problems.append("group at \(point(at: h)) counts \(liberties[h]) liberties, has \(libertySet.count)")
            }
            if libertySet.isEmpty { problems.append("group at \(point(at: h)) has no liberty") }
            if groupKey[h] != groupKeyFromScratch { problems.append("group at \(point(at: h)) has a wrong key") }
        }
        if empties != emptyCount { problems.append("empty list holds \(emptyCount) points, board has \(empties)") }
        if recomputedHash != hash { problems.append("hash \(hash) differs from the recomputed \(recomputedHash)") }
        if !hasSeen(hash) { problems.append("current position missing from the superko set") }
        return problems
    }

    /// Stops the program when the bookkeeping is inconsistent (tests and debug builds).
    public func checkInvariants() {
        let problems = invariantViolations()
        precondition(problems.isEmpty, "GoBoard invariants: " + problems.joined(separator: "; "))
    }
}
