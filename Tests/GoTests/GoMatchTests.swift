import CortexTestSupport
import Envs
import Foundation
import XCTest

/// Matches between built-in players, and against real programs when they are installed:
/// GnuGo (Debian `gnugo`, in /usr/games) and the release `cortex` binary of this package.
final class GoMatchTests: XCTestCase {
    /// The package root, from this file's path.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    func gnugoCommand(_ options: String) throws -> String {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) + [
            "/usr/games"
        ]
        where FileManager.default.isExecutableFile(atPath: dir + "/gnugo") {
            return dir + "/gnugo " + options
        }
        throw missingPrerequisite("gnugo is not installed (Debian package gnugo): skipping the GnuGo checks")
    }

    func testRandomAgainstRandomCompletesAndAlternatesNothingIllegal() throws {
        let a = LocalPlayer(generator: GoRandomPlayer(seed: 1))
        let b = LocalPlayer(generator: GoRandomPlayer(seed: 2))
        for _ in 0..<3 {
            let played = try playRefereedGame(black: a, white: b, size: 9, komi: 7.5, maxMoves: 162)
            XCTAssertTrue(played.game.isOver || played.capped)
            XCTAssertNil(played.game.decidedResult)
            XCTAssertEqual(played.game.board.invariantViolations(), [])
        }
        // A cap of 10 moves stops the game and says so.
        let short = try playRefereedGame(black: a, white: b, size: 9, komi: 7.5, maxMoves: 10)
        XCTAssertTrue(short.capped)
        XCTAssertEqual(short.game.moves.count, 10)
    }

    /// An illegal move forfeits the game.
    func testIllegalMoveForfeits() throws {
        final class Stubborn: GoMoveGenerator {
            let name = "stubborn"
            func generateMove(in game: GoGame, for color: GoColor) -> GoMove { .play(GoPoint(column: 0, row: 0)) }
        }
        let played = try playRefereedGame(
            black: LocalPlayer(generator: Stubborn()),
            white: LocalPlayer(generator: GoRandomPlayer(seed: 3)),
            size: 9, komi: 7.5, maxMoves: 100)
        XCTAssertEqual(played.game.result, .forfeit(winner: .white))
        XCTAssertEqual(played.game.moves.count, 2)
        XCTAssertNotNil(played.note)
    }

    /// A scripted engine in a child process that resigns at once: the match records it.
    func testResigningEngineOverPipes() throws {
        let script =
            #"while read -r line; do case "$line" in genmove*) printf '= resign\n\n';; quit*) printf '=\n\n'; exit;; *) printf '= \n\n';; esac; done"#
        let path = NSTemporaryDirectory() + "cortex-resigner-\(ProcessInfo.processInfo.processIdentifier).sh"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let engine = try GTPProcess(commandLine: "sh \(path)", name: "resigner")
        defer { engine.close() }
        let played = try playRefereedGame(
            black: engine, white: LocalPlayer(generator: GoRandomPlayer(seed: 1)),
            size: 9, komi: 7.5, maxMoves: 100)
        XCTAssertEqual(played.game.result, .resignation(winner: .white))
        XCTAssertEqual(played.game.record.result, "W+R")
        XCTAssertEqual(played.note, "black (resigner) resigned")
    }

    /// Scoring agreement: random eye-preserving games played to the end (no dead stones left)
    /// must get the same result from Cortex's Tromp–Taylor count and GnuGo's Chinese count.
    func testScoresAgreeWithGnuGo() throws {
        let referee = try GTPProcess(commandLine: try gnugoCommand("--mode gtp --chinese-rules"))
        defer { referee.close() }
        let path = NSTemporaryDirectory() + "cortex-agreement-\(ProcessInfo.processInfo.processIdentifier).sgf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let a = LocalPlayer(generator: GoRandomPlayer(seed: 21))
        let b = LocalPlayer(generator: GoRandomPlayer(seed: 22))
        var results: Set<String> = []
        for size in [9, 9, 9, 9, 13, 19] {
            let played = try playRefereedGame(black: a, white: b, size: size, komi: 7.5, maxMoves: 4 * size * size)
            XCTAssertTrue(played.game.board.isOver)
            try SGF.write(played.game.record).write(toFile: path, atomically: true, encoding: .utf8)
            try referee.send("loadsgf \(path)")
            let theirs = try referee.send("final_score")
            XCTAssertEqual(
                GoResult(sgf: theirs), played.game.result, "size \(size): GnuGo \(theirs), Cortex \(played.game.result)"
            )
            results.insert(theirs)
        }
        XCTAssertGreaterThan(results.count, 2, "games should differ")
    }

    /// GnuGo (level 0, the fastest) against the random player: every move passes the referee
    /// and the game completes with no protocol error.
    func testGameAgainstGnuGoCompletes() throws {
        let gnugo = try GTPProcess(
            commandLine: try gnugoCommand("--mode gtp --level 0 --chinese-rules --capture-all-dead"))
        defer { gnugo.close() }
        let played = try playRefereedGame(
            black: LocalPlayer(generator: GoRandomPlayer(seed: 4)), white: gnugo,
            size: 9, komi: 7.5, maxMoves: 162)
        XCTAssertTrue(played.game.isOver, played.note ?? "")
        XCTAssertNotEqual(played.game.result, .forfeit(winner: .black))
        XCTAssertEqual(played.game.result.winner, .white, "GnuGo should beat random play")
    }

    /// The real `cortex gtp` binary over pipes: responses arrive flushed, errors are GTP
    /// errors, and a whole game completes.
    func testCortexBinarySpeaksGTP() throws {
        let binary = GoMatchTests.packageRoot.appendingPathComponent(".build/release/cortex").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw missingPrerequisite("no release build of cortex at .build/release/cortex: skipping the binary check")
        }
        let engine = try GTPProcess(commandLine: "'\(binary)' gtp --size 9 --seed 3", name: "cortex")
        defer { engine.close() }
        XCTAssertEqual(try engine.send("name"), "Cortex")
        XCTAssertEqual(try engine.send("boardsize 9"), "")
        XCTAssertThrowsError(try engine.send("play b Z1")) { error in
            XCTAssertTrue("\(error)".hasSuffix("illegal move"), "\(error)")
        }
        XCTAssertThrowsError(try engine.send("bogus")) { error in
            XCTAssertTrue("\(error)".hasSuffix("unknown command"), "\(error)")
        }
        let board = try engine.send("showboard")
        XCTAssertEqual(board.split(separator: "\n").count, 11)
        // A whole game against the in-process random player, refereed move by move.
        let played = try playRefereedGame(
            black: engine, white: LocalPlayer(generator: GoRandomPlayer(seed: 9)),
            size: 9, komi: 7.5, maxMoves: 400)
        XCTAssertTrue(played.game.board.isOver, played.note ?? "")
        XCTAssertNil(played.game.decidedResult)
    }

    /// The referee's dead stones come off before the count, so Cortex's result is GnuGo's.
    /// Hand-built 9×9 position after two passes: a black wall on column E, a white wall on F,
    /// and a lone white stone at B5 inside black's side. Tromp–Taylor counts B5 alive, so the
    /// 36 points of columns A–D touch both colours and are nobody's: black 9, white 9 + 1 + 27,
    /// W+35.5. With B5 dead: black 9 + 36 = 45, white 9 + 27 = 36, 45 − 36 − 7.5 = B+1.5.
    /// GnuGo is required (CI installs it): a missing GnuGo fails this test rather than skipping.
    func testRefereeDeadStonesMakeTheCountAgreeWithGnuGo() throws {
        let found =
            ((ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/games"])
            .first { FileManager.default.isExecutableFile(atPath: $0 + "/gnugo") }
        guard let dir = found else { return XCTFail("gnugo is not installed (Debian package gnugo)") }
        let game = GoGame(size: 9, komi: 7.5)
        for row in 0..<9 {
            try game.place(.black, at: GoPoint(column: 4, row: row))
        }
        for row in 0..<9 { try game.place(.white, at: GoPoint(column: 5, row: row)) }
        try game.place(.white, at: GoPoint(column: 1, row: 4))
        game.play(.pass, color: .black)
        game.play(.pass, color: .white)
        XCTAssertEqual(game.result, .score(margin: -35.5))
        let referee = try GTPProcess(commandLine: dir + "/gnugo --mode gtp --chinese-rules")
        defer { referee.close() }
        let path = NSTemporaryDirectory() + "cortex-dead-\(ProcessInfo.processInfo.processIdentifier).sgf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let verdict = try referee.judge(game, path: path)
        XCTAssertEqual(verdict.dead, [GoPoint(column: 1, row: 4)])
        game.deadStones = verdict.dead
        XCTAssertEqual(game.result, .score(margin: 1.5))
        XCTAssertEqual(GoResult(sgf: verdict.score), game.result, "GnuGo says \(verdict.score)")
    }

    /// The clean-up phase: after two passes the players move again through
    /// `generateCleanupMove` until two more passes, and the game records those moves.
    func testCleanupPhasePlaysOnAfterTwoPasses() throws {
        final class Scripted: GoPlayer {
            let name = "scripted"
            var moves: [GoMove], cleanupMoves: [GoMove]
            var cleanupCalls = 0
            init(_ moves: [GoMove], cleanup: [GoMove]) {
                self.moves = moves
                cleanupMoves = cleanup
            }
            func newGame(size: Int, komi: Double) {}
            func play(_ move: GoMove, color: GoColor) {}
            func generateMove(for color: GoColor) -> GoMove { moves.isEmpty ? .pass : moves.removeFirst() }
            func generateCleanupMove(for color: GoColor) -> GoMove {
                cleanupCalls += 1
                return cleanupMoves.isEmpty ? .pass : cleanupMoves.removeFirst()
            }
            func close() {}
        }
        let black = Scripted([.play(GoPoint(column: 2, row: 2))], cleanup: [.play(GoPoint(column: 0, row: 0))])
        let white = Scripted([], cleanup: [])
        let played = try playRefereedGame(black: black, white: white, size: 5, komi: 0.5, maxMoves: 50, cleanup: true)
        // B C3, W pass, B pass: over; clean-up: W pass, B A5, W pass, B pass.
        XCTAssertEqual(
            played.game.moves.map(\.move),
            [
                .play(GoPoint(column: 2, row: 2)), .pass, .pass,
                .pass, .play(GoPoint(column: 0, row: 0)), .pass, .pass
            ])
        XCTAssertEqual(black.cleanupCalls, 2)
        XCTAssertEqual(white.cleanupCalls, 2)
        XCTAssertEqual(played.game.result, .score(margin: 24.5))
    }
}
