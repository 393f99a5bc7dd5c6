import Agents
import Envs
import XCTest

/// The tree search: PUCT selection and backup against hand-computed values, and search results
/// on positions whose answer is known.
final class GoMCTSTests: XCTestCase {
    /// Uniform priors and the value of the position as counted (Tromp–Taylor, stones as they
    /// stand) for the player to move: the true outcome in a settled position.
    final class CountEvaluator: GoEvaluator {
        func evaluate(_ boards: [GoBoard], wantsPriors: [Bool], komi: Double, into out: GoLeafBuffers) {
            for (i, board) in boards.enumerated() {
                let actions = board.size * board.size + 1
                for a in 0..<actions { out.priors[i * actions + a] = 1 / Float(actions) }
                let margin = board.score(komi: komi)
                let black: Float = margin > 0 ? 1 : margin < 0 ? -1 : 0
                out.values[i] = board.toPlay == .black ? black : -black
            }
        }
    }

    func makeSearch(_ configure: (inout GoMCTSConfig) -> Void = { _ in }) -> GoMCTS {
        var config = GoMCTSConfig()
        config.raveEquivalence = 0
        configure(&config)
        return GoMCTS(size: 5, komi: 7.5, config: config, evaluator: CountEvaluator())
    }

    /// Root with 10 visits, c = 1, √10 = 3.1623; children (n, w, p):
    /// A (4, 3, 0.2): 0.75 + 0.2 · 3.1623 / 5 = 0.8765; B (1, 0, 0.5): 0 + 0.5 · 3.1623 / 2 = 0.7906;
    /// C (5, 2, 0.3): 0.4 + 0.3 · 3.1623 / 6 = 0.5581 → A. With B's prior at 0.7, B scores
    /// 0.7 · 3.1623 / 2 = 1.1068 → B.
    func testPUCTPicksTheHandComputedChild() {
        let search = makeSearch()
        search.setStatistics(0, visits: 10, wins: 0)
        search.addChildren(to: 0, actions: [0, 1, 2], priors: [0.2, 0.5, 0.3])
        search.setStatistics(1, visits: 4, wins: 3)
        search.setStatistics(2, visits: 1, wins: 0)
        search.setStatistics(3, visits: 5, wins: 2)
        XCTAssertEqual(search.select(0), 1)
        search.setStatistics(2, visits: 1, wins: 0, prior: 0.7)
        XCTAssertEqual(search.select(0), 2)
        // A virtual loss of 3 on B: 0 + 0.7 · √13 / 5 = 0.5048, below A's 0.75 + 0.2 · √13 / 5 = 0.8942.
        search.setStatistics(2, visits: 1, wins: 0, virtualLoss: 3)
        search.setStatistics(0, visits: 10, wins: 0, virtualLoss: 3)
        XCTAssertEqual(search.select(0), 1)
    }

    /// Root (black to move) → child 1 (black's move) → child 2 (white's move); the leaf has black
    /// to move and black wins (+1): black's node gains a win, white's node a loss, all visits +1;
    /// then a white win the other way round. A draw counts ½ for both (the leaf node 1 has
    /// white to move).
    func testBackupThroughBothColours() {
        let search = makeSearch()
        search.addChildren(to: 0, actions: [0], priors: [1])
        search.addChildren(to: 1, actions: [1], priors: [1])
        let colours = UnsafeMutablePointer<UInt8>.allocate(capacity: 25)
        defer { colours.deallocate() }
        colours.update(repeating: 0, count: 25)
        search.backup([0, 1, 2], leafValue: 1, leafToPlay: .black, firstColor: colours)
        XCTAssertEqual(search.n, [1, 1, 1])
        XCTAssertEqual(search.w[1], 1)  // black moved into node 1
        XCTAssertEqual(search.w[2], 0)  // white moved into node 2
        XCTAssertEqual(search.w[0], 0)  // the root's mover is white (black is to move there)
        // Black to move at the leaf and losing (−1): white wins.
        search.backup([0, 1, 2], leafValue: -1, leafToPlay: .black, firstColor: colours)
        XCTAssertEqual(search.w[1], 1)
        XCTAssertEqual(search.w[2], 1)
        search.backup([0, 1], leafValue: 0, leafToPlay: .white, firstColor: colours)
        XCTAssertEqual(search.n, [3, 3, 2])
        XCTAssertEqual(search.w[1], 1.5)
    }

    /// Settling before a pass, on a hand-built root: black stones on column C, white on E, so
    /// column D is neutral. Children (visits, wins): pass (20, 19) = 0.95, A3 in black's own
    /// area (15, 15) = 1.0, D3 next to white (6, 5.4) = 0.90, D1 next to white (8, 7) = 0.875.
    /// With a margin of 0.05 only D3 qualifies (A3 touches no white stone, D1 is too far below
    /// the pass); with 0.1 both D points do and D1 has more visits. A white stone on B1 makes
    /// A1 a point next to the opponent too, but black's stone there would stand in atari with
    /// nothing captured: never chosen, though it has the most visits (30, 29).
    func testSettlesBeforePassingOnlyNextToTheOpponentAndWithinTheMargin() {
        let game = GoGame(size: 5, komi: 0.5)
        for row in 0..<5 {
            try! game.place(.black, at: GoPoint(column: 2, row: row))
            try! game.place(.white, at: GoPoint(column: 4, row: row))
        }
        try! game.place(.white, at: GoPoint(column: 1, row: 0))
        game.board.setToPlay(.black)
        let search = makeSearch { $0.settleBeforePass = true }
        search.newGame(size: 5, komi: 0.5)
        search.setRoot(game)
        let d3 = Int16(game.board.action(for: .play(GoPoint(column: 3, row: 2))))
        let d1 = Int16(game.board.action(for: .play(GoPoint(column: 3, row: 0))))
        let a3 = Int16(game.board.action(for: .play(GoPoint(column: 0, row: 2))))
        let a1 = Int16(game.board.action(for: .play(GoPoint(column: 0, row: 0))))
        search.addChildren(to: 0, actions: [25, a3, d3, d1, a1], priors: [0.2, 0.2, 0.2, 0.2, 0.2])
        search.setStatistics(5, visits: 30, wins: 29)
        search.setStatistics(0, visits: 79, wins: 0)
        search.setStatistics(1, visits: 20, wins: 19)
        search.setStatistics(2, visits: 15, wins: 15)
        search.setStatistics(3, visits: 6, wins: 5.4)
        search.setStatistics(4, visits: 8, wins: 7)
        XCTAssertEqual(search.settlingChild(than: 1), 3)
        search.config.settleMargin = 0.1
        XCTAssertEqual(search.settlingChild(than: 1), 4)
        search.config.settleMargin = 0.01
        XCTAssertNil(search.settlingChild(than: 1))
    }

    /// A 5×5 capture-or-lose position, black to move, komi 7.5:
    /// ```
    ///   A B C D E
    /// 5 X X X X X
    /// 4 X O O O X
    /// 3 X O . O X     eight white stones with one liberty, C3
    /// 2 X O O O X
    /// 1 . X X X .
    /// ```
    /// As counted now black has 14 stones + A1 + E1 = 16, white 8 + C3 = 9: 16 − 9 − 7.5 < 0,
    /// and no black move but C3 changes that (A1, E1, pass). C3 takes the eight stones: 15 + 10 −
    /// 7.5 > 0. With uniform priors and the true outcome as value, the search plays C3.
    func testFindsTheCapture() {
        let game = capturePosition()
        let search = makeSearch { $0.playouts = 200 }
        search.newGame(size: 5, komi: 7.5)
        let result = search.search(game)
        XCTAssertEqual(result.move, .play(GoPoint(column: 2, row: 2)))
        XCTAssertGreaterThan(result.winRate, 0.9)
        // The playout evaluator (tactical priors, RAVE) finds it as well.
        let player = GoMCTSPlayer(
            config: {
                var c = GoMCTSConfig()
                c.playouts = 500
                return c
            }(), seed: 3)
        player.startGame(size: 5, komi: 7.5)
        XCTAssertEqual(player.generateMove(in: game, for: .black), .play(GoPoint(column: 2, row: 2)))
    }

    /// Illegal moves never become children: in the same position with white to move, C3 is
    /// suicide and so are A1 and E1 (no liberty, nothing captured), so every visit goes to pass.
    func testIllegalMovesGetNoVisits() {
        let game = capturePosition(toPlay: .white)
        let search = makeSearch { $0.playouts = 50 }
        search.newGame(size: 5, komi: 7.5)
        let result = search.search(game)
        XCTAssertEqual(result.move, .pass)
        XCTAssertEqual(result.visits.filter { $0 > 0 }.count, 1)
        XCTAssertEqual(result.visits[25], 50)
        XCTAssertEqual(search.rootChildren().map(\.move), [.pass])
    }

    /// Ko and superko: black C3 takes the white stone on B3, so white's immediate retake at B3
    /// would repeat the position; it never gets a visit. Then tree reuse: after white's move the
    /// new root is that move's node, with its visits kept.
    /// ```
    ///   A B C D E
    /// 4 . X O . .
    /// 3 X O . O .     black C3 captures B3
    /// 2 . X O . .
    /// ```
    func testKoRetakeNeverVisitedAndTreeReused() {
        let game = GoGame(size: 5, komi: 0.5)
        for p in [(0, 2), (1, 1), (1, 3)] { try! game.place(.black, at: GoPoint(column: p.0, row: p.1)) }
        for p in [(2, 1), (2, 3), (3, 2), (1, 2)] { try! game.place(.white, at: GoPoint(column: p.0, row: p.1)) }
        game.board.setToPlay(.black)
        XCTAssertTrue(game.play(.play(GoPoint(column: 2, row: 2)), color: .black))
        XCTAssertEqual(game.board.capturedBy.black, 1)
        XCTAssertFalse(game.board.isLegal(.play(GoPoint(column: 1, row: 2)), color: .white))
        let player = GoMCTSPlayer(
            config: {
                var c = GoMCTSConfig()
                c.playouts = 300
                return c
            }(), seed: 1)
        player.startGame(size: 5, komi: 0.5)
        let move = player.generateMove(in: game, for: .white)
        XCTAssertEqual(player.lastResult!.visits[2 * 5 + 1], 0, "the ko retake got visits")
        XCTAssertNotEqual(move, .play(GoPoint(column: 1, row: 2)))
        let chosen = player.search.rootChildren().first!
        XCTAssertEqual(chosen.move, move)
        game.play(move, color: .white)
        player.search.setRoot(game)
        XCTAssertNotEqual(player.search.root, 0)
        XCTAssertEqual(player.search.n[Int(player.search.root)], chosen.visits)
    }

    /// `time_left` for one colour leaves the other's clock alone: a search for black with 1 s of
    /// byo-yomi left for white still gets black's main-time budget.
    func testClocksPerColour() {
        let player = GoMCTSPlayer()
        player.setClock(GoClock(mainSeconds: 30, byoYomiSeconds: 2, byoYomiStones: 1))
        player.updateClock(color: .white, secondsLeft: 1, stonesLeft: 1)
        // Black: 30 s over max(12, 60 / 2) = 30 moves, plus 0.8 · 2 s: 0.9 · 2.6 − 0.3 = 2.04.
        XCTAssertEqual(player.clocks[.black]!.budget(size: 9, moveNumber: 0)!, 2.04, accuracy: 1e-9)
        XCTAssertEqual(player.clocks[.white]!.budget(size: 9, moveNumber: 0)!, 0.6, accuracy: 1e-9)
    }

    func capturePosition(toPlay: GoColor = .black) -> GoGame {
        let rows = ["XXXXX", "XOOOX", "XO.OX", "XOOOX", ".XXX."]
        let game = GoGame(size: 5, komi: 7.5)
        for (r, line) in rows.enumerated() {
            for (c, ch) in line.enumerated() where ch == "X" { try! game.place(.black, at: GoPoint(column: c, row: r)) }
        }
        for (r, line) in rows.enumerated() {
            for (c, ch) in line.enumerated() where ch == "O" { try! game.place(.white, at: GoPoint(column: c, row: r)) }
        }
        game.board.setToPlay(toPlay)
        return game
    }
}
