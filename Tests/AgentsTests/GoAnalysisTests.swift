import Agents
import Envs
import XCTest

/// What the Go players report to analysis GUIs: the DQN's Q-values mapped to priors and win
/// rates, and the tree's statistics, against hand-computed values.
final class GoAnalysisTests: XCTestCase {
    /// 2×2 board (A2 B2 / A1 B1, then pass), Q = (0.5, 0.4, −2, 0.2, 0), B1 illegal, τ = 0.1:
    /// exp((Q − 0.5)/0.1) = 1, e^−1 = 0.367879, e^−25 ≈ 1.4e−11, –, e^−5 = 0.006738; sum
    /// 1.374617 → priors 0.727475, 0.267623, 1.0e−11, 0, 0.004902. Win rates (clamp(Q) + 1)/2:
    /// 0.75, 0.7, 0 (Q = −2 clamps to −1), pass 0.5.
    func testDQNPriorsAndWinRatesFromQ() {
        let analysis = GoDQNPlayer.analysis(
            qValues: [0.5, 0.4, -2, 0.2, 0], legal: [true, true, true, false, true], size: 2, color: .white,
            temperature: 0.1, candidates: 3)
        XCTAssertEqual(analysis.policy[0], 0.727475, accuracy: 1e-6)
        XCTAssertEqual(analysis.policy[1], 0.267623, accuracy: 1e-6)
        XCTAssertEqual(analysis.policy[2], 0, accuracy: 1e-10)
        XCTAssertEqual(analysis.policy[3], 0)
        XCTAssertEqual(analysis.policy[4], 0.004902, accuracy: 1e-6)
        XCTAssertEqual(analysis.policy.reduce(0, +), 1, accuracy: 1e-12)
        XCTAssertEqual(analysis.candidates.map { $0.move.vertex(size: 2) }, ["A2", "B2", "pass"])
        for (c, expected) in zip(analysis.candidates, [0.75, 0.7, 0.5]) {
            XCTAssertEqual(c.winRate, expected, accuracy: 1e-7)  // Q is a Float
        }
        XCTAssertEqual(analysis.candidates.map(\.visits), [1, 1, 1])
        XCTAssertEqual(analysis.candidates.map(\.principalVariation), analysis.candidates.map { [$0.move] })
        XCTAssertEqual(analysis.winRate, 0.75)
        XCTAssertEqual(analysis.color, .white)
        let all = GoDQNPlayer.analysis(
            qValues: [0.5, 0.4, -2, 0.2, 0], legal: [true, true, true, false, true], size: 2, color: .white,
            temperature: 0.1, candidates: 10)
        XCTAssertEqual(all.candidates.last?.move.vertex(size: 2), "A1")
        XCTAssertEqual(all.candidates.last?.winRate, 0)
    }

    /// The player's analysis is the mapping of its own Q-values, and its move the first candidate.
    func testDQNPlayerAnalysisMatchesItsMove() {
        var config = GoDQNConfig()
        config.size = 5
        config.channels = 8
        config.layers = 2
        let agent = GoDQNAgent(config: config)
        let player = GoDQNPlayer(network: agent.online, config: config)
        let game = GoGame(size: 5, komi: 7.5)
        _ = game.play(.play(GoPoint(column: 2, row: 2)), color: .black)
        let analysis = player.analyze(game, for: .white, seconds: 0)
        let move = player.generateMove(in: game, for: .white)
        XCTAssertEqual(analysis.candidates.first?.move, move)
        XCTAssertEqual(analysis.policy[2 * 5 + 2], 0, "the occupied point has no prior")
        XCTAssertEqual(analysis.policy.reduce(0, +), 1, accuracy: 1e-9)
        let q = player.lastQValues
        let best = analysis.candidates[0]
        XCTAssertEqual(best.winRate, (min(max(Double(q.max()!), -1), 1) + 1) / 2, accuracy: 1e-6)
        XCTAssertFalse(player.searches)
    }

    /// Root (black to move on 5×5) with 10 visits, 4 won by white's side → black 0.6. Children
    /// (n, w, p): A5 (6, 4, 0.5) → 0.6667, lcb 0.6667 − 1.96 · √(0.6667 · 0.3333 / 6) = 0.2895;
    /// pass (4, 1, 0.2) → 0.25, lcb 0.25 − 1.96 · 0.2165 < 0 → 0; B5 (0, 0, 0.3) last.
    func testTreeStatisticsAsCandidates() {
        let search = GoMCTS(size: 5, komi: 7.5, evaluator: GoPlayoutEvaluator())
        search.setStatistics(0, visits: 10, wins: 4)
        search.addChildren(to: 0, actions: [0, 1, 25], priors: [0.5, 0.3, 0.2])
        search.setStatistics(1, visits: 6, wins: 4)
        search.setStatistics(3, visits: 4, wins: 1)
        let analysis = search.rootAnalysis()
        XCTAssertEqual(analysis.winRate, 0.6, accuracy: 1e-9)
        XCTAssertEqual(analysis.candidates.map { $0.move.vertex(size: 5) }, ["A5", "pass", "B5"])
        XCTAssertEqual(analysis.candidates.map(\.visits), [6, 4, 0])
        XCTAssertEqual(analysis.candidates[0].winRate, 4.0 / 6, accuracy: 1e-7)
        XCTAssertEqual(analysis.candidates[0].lowerConfidenceBound, 0.2895, accuracy: 1e-4)
        XCTAssertEqual(analysis.candidates[1].lowerConfidenceBound, 0)
        XCTAssertEqual(analysis.candidates[0].prior, 0.5, accuracy: 1e-7)
        XCTAssertEqual(analysis.policy[25], 0.2, accuracy: 1e-7)
        XCTAssertEqual(analysis.candidates[0].principalVariation.map { $0.vertex(size: 5) }, ["A5"])
    }

    /// Analysis grows one tree; the genmove that follows searches on in it; a question for the
    /// colour not to move keeps its own tree while it is repeated, and is dropped after.
    func testAnalysisTreeIsReusedByGenmove() {
        var config = GoMCTSConfig()
        config.playouts = 50
        let player = GoMCTSPlayer(config: config, seed: 3)
        player.startGame(size: 5, komi: 0.5)
        let game = GoGame(size: 5, komi: 0.5)
        let first = player.analyze(game, for: .black, seconds: 0.05)
        let second = player.analyze(game, for: .black, seconds: 0.05)
        let visits = { (a: GoAnalysis) in a.candidates.map(\.visits).reduce(0, +) }
        XCTAssertGreaterThan(visits(second), visits(first))
        XCTAssertEqual(
            second.candidates.map(\.visits), second.candidates.map(\.visits).sorted(by: >), "most visited first")
        XCTAssertTrue(second.candidates.allSatisfy { $0.principalVariation.first == $0.move })
        XCTAssertTrue(second.candidates.allSatisfy { (0...1).contains($0.winRate) && (0...1).contains($0.prior) })
        let root = player.search.root
        let before = player.search.n[Int(root)]
        _ = player.generateMove(in: game, for: .black)
        XCTAssertEqual(player.search.n[Int(root)], before + 50, "genmove searched on in the analysed tree")

        let white1 = player.analyze(game, for: .white, seconds: 0.03)
        let white2 = player.analyze(game, for: .white, seconds: 0.03)
        XCTAssertEqual(white2.color, .white)
        XCTAssertGreaterThan(visits(white2), visits(white1))
        _ = player.generateMove(in: game, for: .black)
        XCTAssertEqual(player.search.n[Int(player.search.root)], 50, "black's search starts afresh")
    }

    /// Past its node limit an analysis stops growing the tree of that position, but a new
    /// position is searched.
    func testAnalysisStopsAtTheNodeLimit() {
        let player = GoMCTSPlayer(seed: 1)
        player.startGame(size: 5, komi: 0.5)
        player.analysisNodeLimit = 1
        let game = GoGame(size: 5, komi: 0.5)
        let first = player.analyze(game, for: .black, seconds: 0.02)
        let again = player.analyze(game, for: .black, seconds: 0.02)
        XCTAssertEqual(again.candidates.map(\.visits), first.candidates.map(\.visits))
        _ = game.play(.play(GoPoint(column: 2, row: 2)), color: .black)
        let next = player.analyze(game, for: .white, seconds: 0.02)
        XCTAssertEqual(next.color, .white)
        XCTAssertGreaterThan(next.candidates.map(\.visits).reduce(0, +), 0)
    }
}
