import Envs
import Foundation
import XCTest

final class GTPTests: XCTestCase {
    func makeEngine(size: Int = 9) -> GTPEngine {
        GTPEngine(size: size, komi: 7.5, generator: GoRandomPlayer(seed: 1), name: "Cortex", version: "9.9")
    }

    func testScriptedSession() {
        let engine = makeEngine()
        let script: [(String, String?)] = [
            ("1 protocol_version", "=1 2\n\n"),
            ("name\r", "= Cortex\n\n"),
            ("version", "= 9.9\n\n"),
            ("", nil),
            ("   # a comment line", nil),
            ("\r", nil),
            ("boardsize 9 # trailing comment", "=\n\n"),
            ("2 play black E5", "=2\n\n"),
            ("3 play white e5", "?3 illegal move\n\n"),
            ("play\twhite\tj9", "=\n\n"),
            ("play w Z9", "? illegal move\n\n"),
            ("play w I5", "? syntax error\n\n"),
            ("play w", "? syntax error\n\n"),
            ("play purple A1", "? syntax error\n\n"),
            ("4 frobnicate", "?4 unknown command\n\n"),
            ("known_command play", "= true\n\n"),
            ("known_command frobnicate", "= false\n\n"),
            ("komi lots", "? syntax error\n\n"),
            ("komi 0.5", "=\n\n"),
            ("boardsize 1", "? unacceptable size\n\n"),
            ("time_settings 300 30 5", "=\n\n"),
            ("time_left b 290 0", "=\n\n"),
            ("5 undo", "=5\n\n"),
            ("undo", "=\n\n"),
            ("undo", "? cannot undo\n\n"),
            ("final_score", "= W+0.5\n\n"),  // empty board, komi 0.5
            ("10 quit", "=10\n\n")
        ]
        for (line, expected) in script {
            XCTAssertEqual(engine.respond(to: line), expected, "after \(line.debugDescription)")
        }
        XCTAssertTrue(engine.quitRequested)
    }

    func testFinalScoreOfABuiltPosition() {
        let engine = makeEngine()
        XCTAssertEqual(engine.respond(to: "boardsize 5"), "=\n\n")
        XCTAssertEqual(engine.respond(to: "komi 0.5"), "=\n\n")
        // Column C black, column D white: black owns A–C (15), white D–E (10).
        for row in 1...5 {
            XCTAssertEqual(engine.respond(to: "play b C\(row)"), "=\n\n")
            XCTAssertEqual(engine.respond(to: "play w D\(row)"), "=\n\n")
        }
        XCTAssertEqual(engine.respond(to: "final_score"), "= B+4.5\n\n")
        XCTAssertEqual(engine.respond(to: "final_status_list dead"), "=\n\n")
        let alive = engine.respond(to: "final_status_list alive")!
        XCTAssertEqual(alive.dropFirst(2).dropLast(2).split(separator: " ").count, 10)
    }

    func testShowboardListCommandsAndGenmove() {
        let engine = makeEngine()
        _ = engine.respond(to: "play b C3")
        let board = engine.respond(to: "7 showboard")!
        XCTAssertTrue(board.hasPrefix("=7 \n   A B C D E F G H J\n"))
        XCTAssertTrue(board.hasSuffix("\n\n"))
        XCTAssertFalse(board.dropLast(2).contains("\n\n"), "no empty line inside a response")
        XCTAssertTrue(board.contains(" 3 . .(X). "))
        let commands = engine.respond(to: "list_commands")!
        XCTAssertFalse(commands.dropLast(2).contains("\n\n"))
        for command in ["protocol_version", "genmove", "undo", "final_score", "loadsgf"] {
            XCTAssertTrue(commands.contains("\n\(command)\n") || commands.hasPrefix("= \(command)\n"), command)
        }
        // genmove plays a legal move that the board then holds.
        let answer = engine.respond(to: "genmove w")!
        XCTAssertTrue(answer.hasPrefix("= ") && answer.hasSuffix("\n\n"))
        let vertex = String(answer.dropFirst(2).dropLast(2))
        guard case .play(let point)? = GTP.move(vertex, size: 9) else { return XCTFail("genmove gave \(vertex)") }
        XCTAssertEqual(engine.game.board[point], .white)
        XCTAssertEqual(engine.game.moves.count, 2)
        XCTAssertEqual(engine.respond(to: "undo"), "=\n\n")
        XCTAssertNil(engine.game.board[point])
    }

    func testVertices() {
        XCTAssertEqual(GTP.move("A1", size: 19), .play(GoPoint(column: 0, row: 18)))
        XCTAssertEqual(GTP.move("t19", size: 19), .play(GoPoint(column: 18, row: 0)))
        XCTAssertEqual(GTP.move("J10", size: 19), .play(GoPoint(column: 8, row: 9)))
        XCTAssertEqual(GTP.move("PASS", size: 9), .pass)
        XCTAssertNil(GTP.move("I3", size: 19))
        XCTAssertNil(GTP.move("K3", size: 9))
        XCTAssertNil(GTP.move("A0", size: 9))
        XCTAssertEqual(GoPoint(column: 8, row: 0).vertex(size: 9), "J9")
    }

    func testHandicapLoadAndPrintSGF() throws {
        let engine = makeEngine(size: 19)
        XCTAssertEqual(engine.respond(to: "fixed_handicap 4"), "= D4 Q16 Q4 D16\n\n")
        XCTAssertEqual(engine.game.board.toPlay, .white)
        XCTAssertEqual(engine.respond(to: "fixed_handicap 2"), "? board not empty\n\n")
        _ = engine.respond(to: "play w K10")
        let sgf = engine.respond(to: "printsgf")!
        XCTAssertTrue(sgf.contains("AB[dp][pd][pp][dd]"))
        XCTAssertTrue(sgf.contains(";W[jj]"))

        let path = NSTemporaryDirectory() + "cortex-gtp-test-\(ProcessInfo.processInfo.processIdentifier).sgf"
        try "(;GM[1]FF[4]SZ[9]KM[5.5];B[ee];W[cc];B[gg])".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(engine.respond(to: "loadsgf \(path)"), "= white\n\n")
        XCTAssertEqual(engine.game.size, 9)
        XCTAssertEqual(engine.game.komi, 5.5)
        XCTAssertEqual(engine.respond(to: "loadsgf \(path) 3"), "= black\n\n")  // position before move 3
        XCTAssertEqual(engine.game.moves.count, 2)
        XCTAssertEqual(engine.respond(to: "loadsgf /nonexistent.sgf"), "? cannot load file\n\n")
    }

    func testRunLoopStopsAtQuit() {
        let engine = makeEngine()
        var lines = ["boardsize 9", "genmove b", "quit", "name"]
        var out: [String] = []
        engine.run(readLine: { lines.isEmpty ? nil : lines.removeFirst() }, write: { out.append($0) })
        XCTAssertEqual(out.count, 3)
        XCTAssertEqual(lines, ["name"])
    }

    func testWilsonInterval() {
        // Hand-computed: 7/10, z = 1.96 → centre 0.6445, half 0.2477 → [0.3968, 0.8922].
        let (low, high) = wilsonInterval(successes: 7, trials: 10)
        XCTAssertEqual(low, 0.3968, accuracy: 1e-4)
        XCTAssertEqual(high, 0.8922, accuracy: 1e-4)
    }

    /// Time-control commands per GTP v2 (§6.3.4) and KGS: well-formed ones are answered with
    /// an empty success and reach the generator's clock; malformed ones are syntax errors.
    func testTimeControlCommands() {
        final class Clocked: GoMoveGenerator {
            let name = "clocked"
            var clock = GoClock()
            var left: (GoColor, Double, Int)?
            func generateMove(in game: GoGame, for color: GoColor) -> GoMove { .pass }
            func setClock(_ clock: GoClock) { self.clock = clock }
            func updateClock(color: GoColor, secondsLeft: Double, stonesLeft: Int) {
                left = (color, secondsLeft, stonesLeft)
            }
            func deadStones(in game: GoGame) -> [GoPoint] { [GoPoint(column: 0, row: 0)] }
        }
        let player = Clocked()
        let engine = GTPEngine(size: 9, komi: 7.5, generator: player)
        XCTAssertEqual(engine.respond(to: "time_settings 300 30 5"), "=\n\n")
        XCTAssertEqual(player.clock, GoClock(mainSeconds: 300, byoYomiSeconds: 30, byoYomiStones: 5))
        XCTAssertEqual(engine.respond(to: "time_settings 300 30"), "? syntax error\n\n")
        XCTAssertEqual(engine.respond(to: "time_settings 300 -1 5"), "? syntax error\n\n")
        XCTAssertEqual(engine.respond(to: "7 time_left white 25 3"), "=7\n\n")
        XCTAssertEqual(player.left?.0, .white)
        XCTAssertEqual(player.left?.1, 25)
        XCTAssertEqual(player.left?.2, 3)
        XCTAssertEqual(engine.respond(to: "time_left purple 25 3"), "? syntax error\n\n")
        XCTAssertEqual(engine.respond(to: "kgs-time_settings byoyomi 600 30 5"), "=\n\n")
        XCTAssertEqual(player.clock, GoClock(mainSeconds: 600, byoYomiSeconds: 30, byoYomiStones: 1))
        XCTAssertEqual(engine.respond(to: "kgs-time_settings canadian 600 300 25"), "=\n\n")
        XCTAssertEqual(player.clock, GoClock(mainSeconds: 600, byoYomiSeconds: 300, byoYomiStones: 25))
        XCTAssertEqual(engine.respond(to: "kgs-time_settings absolute 60"), "=\n\n")
        XCTAssertEqual(engine.respond(to: "kgs-time_settings none"), "=\n\n")
        XCTAssertTrue(player.clock.isUnlimited)
        XCTAssertEqual(engine.respond(to: "kgs-time_settings sundial 5"), "? syntax error\n\n")
        // final_score and final_status_list follow the generator's dead stones: a black stone
        // on A9 that it calls dead leaves an empty board, 0 − 7.5.
        XCTAssertEqual(engine.respond(to: "play b A9"), "=\n\n")
        XCTAssertEqual(engine.respond(to: "final_status_list dead"), "= A9\n\n")
        XCTAssertEqual(engine.respond(to: "final_status_list alive"), "=\n\n")
        XCTAssertEqual(engine.respond(to: "final_score"), "= W+7.5\n\n")
    }

    /// The clock's budget: byo-yomi shares the period among its stones, main time among the
    /// moves still expected; both keep 10% and 0.3 s back.
    func testClockBudget() {
        var clock = GoClock(mainSeconds: 600, byoYomiSeconds: 30, byoYomiStones: 5)
        XCTAssertNil(GoClock().budget(size: 9, moveNumber: 0))
        clock.secondsLeft = 20
        clock.stonesLeft = 4
        XCTAssertEqual(clock.budget(size: 9, moveNumber: 50)!, 0.9 * 5 - 0.3, accuracy: 1e-9)
        clock.secondsLeft = 300
        clock.stonesLeft = 0
        // 9×9, move 10: (60 − 10) / 2 = 25 moves left; 300/25 + 0.8 · 30/5 = 16.8.
        XCTAssertEqual(clock.budget(size: 9, moveNumber: 10)!, 0.9 * 16.8 - 0.3, accuracy: 1e-9)
    }
}
