import Envs
import XCTest

/// A board from a diagram: `X` black, `O` white, `.` empty; row 0 is the top line.
func makeBoard(
    _ rows: [String], toPlay: GoColor = .black, historyLength: Int = 3,
    file: StaticString = #filePath, line: UInt = #line
) -> GoBoard {
    let board = GoBoard(size: rows.count, historyLength: historyLength)
    for (r, text) in rows.enumerated() {
        XCTAssertEqual(text.count, rows.count, "diagram row \(r) has the wrong length", file: file, line: line)
        for (c, ch) in text.enumerated() where ch != "." {
            let ok = board.setStone(ch == "X" ? .black : .white, at: GoPoint(column: c, row: r))
            XCTAssertTrue(ok, "diagram stone at row \(r) column \(c) refused", file: file, line: line)
        }
    }
    board.setToPlay(toPlay)
    return board
}

/// The board as a diagram in the same notation.
func diagram(_ board: GoBoard) -> [String] {
    (0..<board.size).map { r in
        String(
            (0..<board.size).map { c -> Character in
                switch board[GoPoint(column: c, row: r)] {
                case .black: return "X"
                case .white: return "O"
                case nil: return "."
                }
            })
    }
}

func pt(_ row: Int, _ column: Int) -> GoPoint { GoPoint(column: column, row: row) }

/// An independent, deliberately naive rules oracle: a plain array of cells, groups found by flood
/// fill every time, and every earlier position kept as a whole array.
struct NaiveGo {
    let n: Int
    var cells: [Int]  // 0 empty, 1 black, 2 white; row-major
    var seen: Set<[Int]>

    init(n: Int) {
        self.n = n
        cells = [Int](repeating: 0, count: n * n)
        seen = [cells]
    }

    func neighbors(_ i: Int) -> [Int] {
        var out: [Int] = []
        let r = i / n, c = i % n
        if c > 0 { out.append(i - 1) }
        if c < n - 1 { out.append(i + 1) }
        if r > 0 { out.append(i - n) }
        if r < n - 1 { out.append(i + n) }
        return out
    }

    /// The group containing `i` and its liberty count.
    func group(_ cells: [Int], _ i: Int) -> (stones: [Int], liberties: Int) {
        var stones = [i], seenStones: Set<Int> = [i], libs = Set<Int>()
        var k = 0
        while k < stones.count {
            for q in neighbors(stones[k]) {
                if cells[q] == 0 { libs.insert(q) }
                if cells[q] == cells[i] && !seenStones.contains(q) {
                    seenStones.insert(q)
                    stones.append(q)
                }
            }
            k += 1
        }
        return (stones, libs.count)
    }

    /// The cells after `color` plays at `i`, or nil when illegal.
    func after(_ i: Int, _ color: Int) -> [Int]? {
        guard cells[i] == 0 else { return nil }
        var next = cells
        next[i] = color
        for q in neighbors(i) where next[q] == 3 - color {
            let g = group(next, q)
            if g.liberties == 0 { for s in g.stones { next[s] = 0 } }
        }
        if group(next, i).liberties == 0 { return nil }
        if seen.contains(next) { return nil }
        return next
    }

    mutating func play(_ i: Int, _ color: Int) {
        cells = after(i, color)!
        seen.insert(cells)
    }
}
