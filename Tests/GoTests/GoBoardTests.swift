import Envs
import XCTest

final class GoBoardTests: XCTestCase {
    // MARK: - Captures

    func testSingleCaptureInTheMiddle() {
        let board = makeBoard([
            ".....",
            "..X..",
            ".XO..",
            "..X..",
            "....."
        ])
        XCTAssertEqual(board.libertyCount(at: pt(2, 2)), 1)
        XCTAssertTrue(board.play(.play(pt(2, 3)), color: .black))
        XCTAssertNil(board[pt(2, 2)])
        XCTAssertEqual(board.capturedBy.black, 1)
        XCTAssertEqual(board.libertyCount(at: pt(2, 3)), 4)
        XCTAssertEqual(board.libertyCount(at: pt(1, 2)), 4)
        XCTAssertEqual(board.invariantViolations(), [])
    }

    func testOneMoveCapturesTwoGroups() {
        // Black at (2,2) takes the white pair above and the white stone below at once.
        let board = makeBoard([
            ".XX..",
            "XOOX.",
            ".X.X.",
            ".XOX.",
            "..X.."
        ])
        XCTAssertTrue(board.play(.play(pt(2, 2)), color: .black))
        XCTAssertEqual(
            diagram(board),
            [
                ".XX..",
                "X..X.",
                ".XXX.",
                ".X.X.",
                "..X.."
            ])
        XCTAssertEqual(board.capturedBy.black, 3)
        // The capturing stone's group: (1,3),(2,1),(2,2),(2,3),(3,1),(3,3)… all joined through (2,2).
        XCTAssertEqual(board.libertyCount(at: pt(2, 2)), 11)
        XCTAssertEqual(board.invariantViolations(), [])
    }

    func testEdgeAndCornerCaptures() {
        let board = makeBoard(
            [
                ".....",
                ".....",
                ".....",
                "X....",
                "OOX.."
            ], toPlay: .black)
        // The white pair in the bottom-left corner has one liberty left, (3,1).
        XCTAssertEqual(board.libertyCount(at: pt(4, 0)), 1)
        XCTAssertTrue(board.play(.play(pt(3, 1)), color: .black))
        XCTAssertNil(board[pt(4, 0)])
        XCTAssertNil(board[pt(4, 1)])
        XCTAssertEqual(board.capturedBy.black, 2)
        XCTAssertEqual(board.invariantViolations(), [])
    }

    func testCornerCapture() {
        let board = makeBoard([
            "OX.",
            "...",
            "..."
        ])
        XCTAssertTrue(board.play(.play(pt(1, 0)), color: .black))
        XCTAssertNil(board[pt(0, 0)])
        XCTAssertEqual(board.capturedBy.black, 1)
        XCTAssertEqual(board.libertyCount(at: pt(0, 1)), 3)
        XCTAssertEqual(board.invariantViolations(), [])
    }

    // MARK: - Suicide

    func testSuicideRejected() {
        let board = makeBoard(
            [
                ".X...",
                "X....",
                ".....",
                ".....",
                "....."
            ], toPlay: .white)
        XCTAssertFalse(board.isLegal(.play(pt(0, 0)), color: .white))
        XCTAssertFalse(board.play(.play(pt(0, 0)), color: .white))
        XCTAssertNil(board[pt(0, 0)])
        // Black may fill its own point (not suicide: the stone joins groups with liberties).
        XCTAssertTrue(board.isLegal(.play(pt(0, 0)), color: .black))
    }

    func testMultiStoneSuicideRejected() {
        // White pair (1,1),(1,2) has its last liberty at (1,3); white playing there would join
        // a three-stone group with no liberty and capture nothing.
        let board = makeBoard(
            [
                ".XXX.",
                "XOO.X",
                ".XXX.",
                ".....",
                "....."
            ], toPlay: .white)
        XCTAssertEqual(board.libertyCount(at: pt(1, 1)), 1)
        XCTAssertFalse(board.play(.play(pt(1, 3)), color: .white))
        XCTAssertEqual(board.invariantViolations(), [])
        // For black the same point captures.
        XCTAssertTrue(board.play(.play(pt(1, 3)), color: .black))
        XCTAssertEqual(board.capturedBy.black, 2)
    }

    func testSuicideThatCapturesIsLegal() {
        let b2 = makeBoard(
            [
                ".XO..",
                "XO...",
                "O....",
                ".....",
                "....."
            ], toPlay: .white)
        // White at (0,0) has no empty neighbour, but the separate black stones (0,1) and (1,0)
        // each have (0,0) as their last liberty: the move captures both and is legal.
        XCTAssertTrue(b2.play(.play(pt(0, 0)), color: .white))
        XCTAssertNil(b2[pt(0, 1)])
        XCTAssertNil(b2[pt(1, 0)])
        XCTAssertEqual(b2.capturedBy.white, 2)
        XCTAssertEqual(b2.invariantViolations(), [])
    }

    // MARK: - Ko

    func testSimpleKo() {
        let board = makeBoard([
            ".XO..",
            "XO.O.",
            ".XO..",
            ".....",
            "....."
        ])
        XCTAssertTrue(board.play(.play(pt(1, 2)), color: .black))  // takes (1,1)
        XCTAssertNil(board[pt(1, 1)])
        XCTAssertEqual(board.koPoint, pt(1, 1))
        XCTAssertFalse(board.isLegal(.play(pt(1, 1)), color: .white))
        XCTAssertFalse(board.play(.play(pt(1, 1)), color: .white))
        // A threat elsewhere and its answer; then the retake is legal.
        XCTAssertTrue(board.play(.play(pt(4, 4)), color: .white))
        XCTAssertNil(board.koPoint)
        XCTAssertTrue(board.play(.play(pt(4, 0)), color: .black))
        XCTAssertTrue(board.play(.play(pt(1, 1)), color: .white))
        XCTAssertNil(board[pt(1, 2)])
        XCTAssertEqual(board.koPoint, pt(1, 2))
        XCTAssertEqual(board.invariantViolations(), [])
    }

    func testTripleKoCycleRefusedBySuperko() {
        // Three kos. In state L the white stone sits inside black's mouth (black captures on its
        // right); in state R black's stone sits inside white's mouth (white captures on its left).
        let board = GoBoard(size: 9)
        func ko(_ r: Int, _ c: Int, whiteInside: Bool) {
            for (dr, dc) in [(0, 1), (1, 0), (2, 1)] { board.setStone(.black, at: pt(r + dr, c + dc)) }
            for (dr, dc) in [(0, 2), (1, 3), (2, 2)] { board.setStone(.white, at: pt(r + dr, c + dc)) }
            board.setStone(whiteInside ? .white : .black, at: pt(r + 1, c + (whiteInside ? 1 : 2)))
        }
        ko(0, 0, whiteInside: true)  // K1 = L
        ko(0, 5, whiteInside: false)  // K2 = R
        ko(4, 0, whiteInside: true)  // K3 = L
        XCTAssertEqual(board.invariantViolations(), [])
        let start = diagram(board)
        board.setToPlay(.black)
        XCTAssertTrue(board.play(.play(pt(1, 2))))  // B takes K1
        XCTAssertTrue(board.play(.play(pt(1, 6))))  // W takes K2
        XCTAssertTrue(board.play(.play(pt(5, 2))))  // B takes K3
        XCTAssertTrue(board.play(.play(pt(1, 1))))  // W retakes K1
        XCTAssertTrue(board.play(.play(pt(1, 7))))  // B retakes K2
        // W retaking K3 would recreate the starting position: simple ko allows it, superko not.
        XCTAssertNotEqual(board.koPoint, pt(5, 1))
        XCTAssertFalse(board.isLegal(.play(pt(5, 1)), color: .white))
        XCTAssertFalse(board.play(.play(pt(5, 1))))
        // Check the claim: playing it on a copy without memory of the past gives the start.
        let fresh = GoBoard(size: 9)
        for r in 0..<9 { for c in 0..<9 { if let s = board[pt(r, c)] { fresh.setStone(s, at: pt(r, c)) } } }
        XCTAssertTrue(fresh.play(.play(pt(5, 1)), color: .white))
        XCTAssertEqual(diagram(fresh), start)
        XCTAssertEqual(board.invariantViolations(), [])
    }

    // MARK: - Scoring

    func testAreaScoreHandCounted() {
        let board = makeBoard([
            ".XO..",
            "XXO..",
            ".XOOO",
            "XXO..",
            ".XO.O"
        ])
        // Black: 7 stones + (0,0),(2,0),(4,0) = 10. White: 8 stones + 4 + 3 = 15.
        let s = board.areaScore()
        XCTAssertEqual(s.black, 10)
        XCTAssertEqual(s.white, 15)
        XCTAssertEqual(board.score(komi: 0.5), -5.5)
        XCTAssertEqual(s.owner[0], 1)
        XCTAssertEqual(s.owner[3], 2)
    }

    func testStoneLeftInsideMakesRegionNeutral() {
        let board = makeBoard([
            ".XO.X",
            "XXO..",
            ".XOOO",
            "XXO..",
            ".XO.O"
        ])
        // The black stone at (0,4) touches the region (0,3),(1,3),(1,4): that region is nobody's.
        let s = board.areaScore()
        XCTAssertEqual(s.black, 11)
        XCTAssertEqual(s.white, 11)
        XCTAssertEqual(s.owner[3], 0)
        // The display estimate takes the lone stone off: black 10, white 8 + 4 + 3 = 15.
        XCTAssertEqual(board.presumedDeadStones(), [pt(0, 4)])
        let e = board.estimatedScore()
        XCTAssertEqual(e.black, 10)
        XCTAssertEqual(e.white, 15)
    }

    func testEmptyBoardScoresNothing() {
        let board = GoBoard(size: 9)
        XCTAssertEqual(board.areaScore().black, 0)
        XCTAssertEqual(board.areaScore().white, 0)
        board.play(.play(pt(4, 4)))
        XCTAssertEqual(board.areaScore().black, 81)
    }

    // MARK: - Eyes and the random player

    func testEyeDefinition() {
        let board = makeBoard([
            ".X...",
            "X.X..",
            ".X...",
            ".....",
            "....."
        ])
        XCTAssertTrue(board.isEye(index: board.index(of: pt(0, 0)), color: .black))
        XCTAssertTrue(board.isEye(index: board.index(of: pt(1, 1)), color: .black))
        XCTAssertFalse(board.isEye(index: board.index(of: pt(1, 1)), color: .white))
        board.setStone(.white, at: pt(0, 2))
        board.setStone(.white, at: pt(2, 2))
        // Two enemy diagonals: a false eye.
        XCTAssertFalse(board.isEye(index: board.index(of: pt(1, 1)), color: .black))
        // An edge eye tolerates no enemy diagonal.
        let b2 = makeBoard(["X.X..", ".XO..", ".....", ".....", "....."])
        XCTAssertFalse(b2.isEye(index: b2.index(of: pt(0, 1)), color: .black))
    }

    func testRandomGamesEndWithEveryEmptyPointAnEyeOrIllegal() {
        var random = GoRandom(seed: 3)
        for _ in 0..<5 {
            let board = GoBoard(size: 9)
            while !board.isOver && board.moveCount < 1000 {
                board.play(board.randomMove(for: board.toPlay, using: &random))
            }
            XCTAssertTrue(board.isOver)
            XCTAssertEqual(board.invariantViolations(), [])
            for color in GoColor.allCases {
                for p in 0..<(11 * 11) where board.stone(atIndex: p) == nil && board.isLegal(index: p, color: color) {
                    XCTAssertTrue(board.isEye(index: p, color: color), "point \(board.point(at: p)) left open")
                }
            }
        }
    }

    // MARK: - Against the naive oracle

    func testLegalityAndPositionsMatchNaiveRulesOverRandomGames() {
        var random = GoRandom(seed: 11)
        var moves = 0, captures = 0, superkoRefusals = 0
        for n in [4, 5, 7] {
            for game in 0..<6 {
                let board = GoBoard(size: n)
                var naive = NaiveGo(n: n)
                for _ in 0..<(4 * n * n) {
                    let color = board.toPlay
                    // Every point: the engine's legality must equal the oracle's.
                    for i in 0..<(n * n) {
                        let p = board.index(of: pt(i / n, i % n))
                        let legal = naive.after(i, Int(color.rawValue)) != nil
                        XCTAssertEqual(
                            board.isLegal(index: p, color: color), legal,
                            "size \(n), move \(board.moveCount), point \(i)")
                        var forgetful = naive
                        forgetful.seen = [naive.cells]
                        if !legal && forgetful.after(i, Int(color.rawValue)) != nil { superkoRefusals += 1 }
                    }
                    // Half the games pass now and then, half play on until the cap.
                    let move = board.randomMove(
                        for: color, using: &random, includePass: game % 2 == 0, protectEyes: false)
                    let before = board.emptyPointCount
                    XCTAssertTrue(board.play(move))
                    moves += 1
                    if board.emptyPointCount > before { captures += 1 }
                    if case .play(let point) = move { naive.play(point.row * n + point.column, Int(color.rawValue)) }
                    let cells = (0..<(n * n)).map { i -> Int in Int(board[pt(i / n, i % n)]?.rawValue ?? 0) }
                    XCTAssertEqual(cells, naive.cells)
                    if board.isOver { break }
                }
            }
        }
        // The walk must have met the cases that matter.
        XCTAssertGreaterThan(moves, 800)
        XCTAssertGreaterThan(captures, 50)
        XCTAssertGreaterThan(superkoRefusals, 5)
        print("naive oracle: \(moves) moves, \(captures) capturing, \(superkoRefusals) refusals by ko or superko alone")
    }

    func testInvariantsHoldOverThousandsOfRandomMoves() {
        var random = GoRandom(seed: 7)
        var moves = 0
        for n in [9, 13, 19] {
            let board = GoBoard(size: n)
            for _ in 0..<(n == 19 ? 2 : 6) {
                board.clear()
                while !board.isOver && board.moveCount < 2 * n * n {
                    board.play(
                        board.randomMove(for: board.toPlay, using: &random, includePass: false, protectEyes: false))
                    moves += 1
                    if moves % 7 == 0 {
                        XCTAssertEqual(board.invariantViolations(), [], "size \(n) after \(board.moveCount) moves")
                    }
                }
                XCTAssertEqual(board.invariantViolations(), [])
                let other = board.copy()
                XCTAssertEqual(other.invariantViolations(), [])
                XCTAssertEqual(other.hash, board.hash)
            }
        }
        XCTAssertGreaterThan(moves, 3000)
    }

    // MARK: - Planes

    func testPlanesOfHandBuiltPosition() {
        // 3×3, white to move after black's last move (1,1); history 1.
        let board = GoBoard(size: 3, historyLength: 1)
        board.play(.play(pt(0, 0)), color: .black)
        board.play(.play(pt(0, 1)), color: .white)
        board.play(.play(pt(1, 1)), color: .black)
        // X O .
        // . X .
        // . . .
        XCTAssertEqual(board.toPlay, .white)
        XCTAssertEqual(board.planeCount, 13)
        var buffer = [Float](repeating: -1, count: 13 * 9)
        buffer.withUnsafeMutableBufferPointer { board.writePlanes(into: $0) }
        func plane(_ k: Int) -> [Float] { Array(buffer[(k * 9)..<((k + 1) * 9)]) }
        XCTAssertEqual(plane(0), [0, 1, 0, 0, 0, 0, 0, 0, 0])  // own = white
        XCTAssertEqual(plane(1), [1, 0, 0, 0, 1, 0, 0, 0, 0])  // black
        XCTAssertEqual(plane(2), [0, 0, 1, 1, 0, 1, 1, 1, 1])
        // White (0,1): liberty (0,2) only → 1 liberty. Black (0,0): liberty (1,0) → 1.
        // Black (1,1): liberties (1,0),(1,2),(2,1) → 3.
        XCTAssertEqual(plane(3), [0, 1, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(plane(4), [Float](repeating: 0, count: 9))
        XCTAssertEqual(plane(5), [Float](repeating: 0, count: 9))
        XCTAssertEqual(plane(6), [1, 0, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(plane(7), [Float](repeating: 0, count: 9))
        XCTAssertEqual(plane(8), [0, 0, 0, 0, 1, 0, 0, 0, 0])
        XCTAssertEqual(plane(9), [Float](repeating: 0, count: 9))
        XCTAssertEqual(plane(10), [Float](repeating: 1, count: 9))
        // One move ago: X O . / . . . / . . . — own (white) and opponent (black).
        XCTAssertEqual(plane(11), [0, 1, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(plane(12), [1, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    func testKoPlaneAndLegalMask() {
        let board = makeBoard(
            [
                ".XO.",
                "XO.O",
                ".XO.",
                "...."
            ], historyLength: 0)
        board.play(.play(pt(1, 2)), color: .black)
        var buffer = [Float](repeating: 0, count: 11 * 16)
        buffer.withUnsafeMutableBufferPointer { board.writePlanes(into: $0) }
        let ko = Array(buffer[(9 * 16)..<(10 * 16)])
        XCTAssertEqual(ko.firstIndex(of: 1), 1 * 4 + 1)
        XCTAssertEqual(ko.reduce(0, +), 1)
        var mask = [Float](repeating: -1, count: 17)
        mask.withUnsafeMutableBufferPointer { board.writeLegalMask(into: $0) }
        // White to move: ko point, occupied points, and (0,0) (suicide) are illegal; (3,*) etc. legal.
        XCTAssertEqual(mask[5], 0)
        // (0,0) for white: no empty neighbour, and black (0,1), (1,0) keep (1,1)/(2,0): suicide.
        XCTAssertEqual(mask[0], 0)
        XCTAssertEqual(mask[15], 1)
        XCTAssertEqual(mask[16], 1)
        XCTAssertEqual(board.move(forAction: 16), .pass)
        XCTAssertEqual(board.action(for: .play(pt(2, 3))), 11)
    }
}
