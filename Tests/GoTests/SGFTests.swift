import Envs
import Foundation
import XCTest

final class SGFTests: XCTestCase {
    func testRoundTripOfARandomGameWithSetupCapturesAndPasses() throws {
        let game = GoGame(size: 9, komi: 6.5)
        game.blackPlayer = "Alice [3k]"
        game.whitePlayer = "Bob \\ the ]bracket["
        try game.place(.black, at: pt(2, 2))
        try game.place(.black, at: pt(6, 6))
        var random = GoRandom(seed: 5)
        var captures = 0
        while !game.isOver {
            let before = game.board.emptyPointCount
            XCTAssertTrue(game.play(game.board.randomMove(for: game.board.toPlay, using: &random)))
            if game.board.emptyPointCount > before { captures += 1 }
        }
        XCTAssertGreaterThan(captures, 0, "the game should contain captures")
        let text = SGF.write(game.record)
        let record = try SGF.parse(text)
        XCTAssertEqual(record, game.record)
        let replayed = try SGF.game(text)
        XCTAssertEqual(diagram(replayed.board), diagram(game.board))
        XCTAssertEqual(replayed.board.hash, game.board.hash)
        XCTAssertEqual(replayed.result, game.result)
        XCTAssertEqual(replayed.moves, game.moves)
        XCTAssertEqual(replayed.komi, 6.5)
        XCTAssertEqual(replayed.whitePlayer, "Bob \\ the ]bracket[")
        // White moved first after the handicap stones.
        XCTAssertEqual(replayed.moves.first?.color, .white)
    }

    /// Written the way CGoban, Sabaki and old servers write files: line breaks inside the root,
    /// comments with escaped brackets and soft line breaks, several values per property with
    /// spaces between them, a compressed point list, an FF[3]-style long property name,
    /// `tt` and `[]` passes, and two variations of which the first is the main line.
    func testParsesAHandWrittenRealWorldFile() throws {
        let text = """
            garbage before the game
            (;GM[1]FF[4]CA[UTF-8]AP[CGoban:3]ST[2]
            RU[Japanese]SZ[9]KM[6.50]
            PW[White \\] Player]PB[Black]WR[3d]BR[2k]DT[2020-01-01]
            CoPyright[nobody]
            RE[W+2.5]C[A comment with \\] bracket \\
            and a soft line break]
            AB[dd] [cg]AW[ga:gb]
            ;B[ee]C[first move]
            ;W[ce]
            (;B[gc]
            ;W[gg];B[tt]
            ;W[])
            (;B[cc];W[dd]))
            """
        let record = try SGF.parse(text)
        XCTAssertEqual(record.size, 9)
        XCTAssertEqual(record.komi, 6.5)
        XCTAssertEqual(record.rules, "Japanese")
        XCTAssertEqual(record.whitePlayer, "White ] Player")
        XCTAssertEqual(record.blackPlayer, "Black")
        XCTAssertEqual(record.result, "W+2.5")
        XCTAssertEqual(record.setupBlack, [pt(3, 3), pt(6, 2)])
        XCTAssertEqual(record.setupWhite, [pt(0, 6), pt(1, 6)])
        XCTAssertEqual(
            record.moves,
            [
                GoTurn(color: .black, move: .play(pt(4, 4))),
                GoTurn(color: .white, move: .play(pt(4, 2))),
                GoTurn(color: .black, move: .play(pt(2, 6))),
                GoTurn(color: .white, move: .play(pt(6, 6))),
                GoTurn(color: .black, move: .pass),
                GoTurn(color: .white, move: .pass)
            ])
        let nodes = try SGF.mainLine(text)
        XCTAssertEqual(nodes.count, 7)
        XCTAssertEqual(nodes[0].first { $0.name == "C" }?.values, ["A comment with ] bracket and a soft line break"])
        XCTAssertEqual(nodes[0].first { $0.name == "CP" }?.values, ["nobody"])
        let game = try GoGame(record: record)
        XCTAssertTrue(game.isOver)
        XCTAssertEqual(game.board[pt(2, 6)], .black)
    }

    func testReplayMoveByMove() throws {
        let record = try SGF.parse("(;SZ[5];B[cc];W[bc];B[cb];W[bb];B[dd])")
        for n in 0...record.moves.count {
            let game = try GoGame(record: record, moveLimit: n)
            XCTAssertEqual(game.moves.count, n)
            XCTAssertEqual(game.board.moveCount, n)
        }
        let three = try GoGame(record: record, moveLimit: 3)
        XCTAssertEqual(diagram(three.board), [".....", "..X..", ".OX..", ".....", "....."])
        XCTAssertEqual(three.board.toPlay, .white)
    }

    func testErrorsAreTypedAndOneLine() {
        let cases: [(String, SGFError)] = [
            ("no tree here", .noGameTree),
            ("(;SZ[9];B[ee]", .unexpectedEnd(expected: "')'")),
            ("(;SZ[9];B[ee", .unexpectedEnd(expected: "']'")),
            ("(;GM[2]SZ[9])", .notGo(gameType: "2")),
            ("(;SZ[9];B[zz])", .badValue(property: "B", value: "zz", node: 2)),
            ("(;SZ[99])", .badValue(property: "SZ", value: "99", node: 1)),
            ("(;SZ[9]KM[lots])", .badValue(property: "KM", value: "lots", node: 1)),
            ("(;SZ[9];B[ee];W[ee])", .game(.illegalMove(number: 2, color: .white, vertex: "E5"))),
            ("(;SZ[9]\n;B[ee]!)", .unexpectedCharacter("!", line: 2, expected: "'(', ';' or ')'"))
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try SGF.game(text), text) { error in
                XCTAssertEqual(error as? SGFError, expected, text)
                XCTAssertFalse("\(error)".contains("\n"), "\(error)")
            }
        }
        XCTAssertThrowsError(try SGF.game(contentsOf: "/nonexistent/game.sgf")) { error in
            XCTAssertEqual("\(error)", "SGF: cannot read /nonexistent/game.sgf: no such file or not readable")
        }
    }

    func testResultStrings() {
        XCTAssertEqual(GoResult(sgf: "B+3.5"), .score(margin: 3.5))
        XCTAssertEqual(GoResult(sgf: "W+12"), .score(margin: -12))
        XCTAssertEqual(GoResult(sgf: "w+r"), .resignation(winner: .white))
        XCTAssertEqual(GoResult(sgf: "B+Resign"), .resignation(winner: .black))
        XCTAssertEqual(GoResult(sgf: "0"), .score(margin: 0))
        XCTAssertNil(GoResult(sgf: "?"))
        XCTAssertEqual(GoResult.score(margin: -0.5).description, "W+0.5")
        XCTAssertEqual(GoResult.score(margin: 7).description, "B+7")
        XCTAssertEqual(GoResult.forfeit(winner: .black).description, "B+F")
    }
}
