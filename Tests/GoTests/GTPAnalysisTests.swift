import Envs
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The analysis commands and `printsgf FILE` of the GTP engine, with an analyzer whose answer is
/// fixed, so every line can be written out by hand.
final class GTPAnalysisTests: XCTestCase {
    /// Always the same two candidates on 9×9, black to move; counts its calls.
    final class FixedAnalyzer: GoAnalyzer {
        let name = "fixed"
        var searches: Bool
        var calls = 0
        init(searches: Bool) { self.searches = searches }
        func generateMove(in game: GoGame, for color: GoColor) -> GoMove { .pass }
        func analyze(_ game: GoGame, for color: GoColor, seconds: Double) -> GoAnalysis {
            calls += 1
            let d4 = GoMove.play(GoPoint(column: 3, row: 5)), f6 = GoMove.play(GoPoint(column: 5, row: 3))
            var policy = [Double](repeating: 0, count: 82)
            policy[5 * 9 + 3] = 0.6
            policy[3 * 9 + 5] = 0.3
            policy[81] = 0.1
            return GoAnalysis(
                color: color,
                candidates: [
                    GoCandidate(
                        move: d4, visits: 120, winRate: 0.5432, prior: 0.6, lowerConfidenceBound: 0.53,
                        principalVariation: [d4, f6]),
                    GoCandidate(
                        move: f6, visits: 30, winRate: 0.41, prior: 0.3, lowerConfidenceBound: 0,
                        principalVariation: [f6])
                ], policy: policy, winRate: 0.54)
        }
    }

    func testLeelaZeroAndKataGoLinesKeepTheId() {
        let engine = GTPEngine(size: 9, komi: 7.5, generator: FixedAnalyzer(searches: false))
        XCTAssertEqual(
            engine.respond(to: "12 lz-analyze 50"),
            "=12\ninfo move D4 visits 120 winrate 5432 prior 6000 lcb 5300 order 0 pv D4 F6"
                + " info move F6 visits 30 winrate 4100 prior 3000 lcb 0 order 1 pv F6\n\n")
        XCTAssertEqual(
            engine.respond(to: "kata-analyze b interval 10 maxmoves 1 ownership true"),
            "=\ninfo move D4 visits 120 winrate 0.543200 prior 0.600000 lcb 0.530000 order 0 pv D4 F6\n\n")
        XCTAssertEqual(engine.respond(to: "3 lz-analyze b 10 avoid b D4 1"), "?3 cannot parse analyze tags\n\n")
        XCTAssertEqual(engine.respond(to: "lz-analyze -5"), "? cannot parse analyze tags\n\n")
    }

    func testCommandsDependOnThePlayer() {
        let random = GTPEngine(size: 9, komi: 7.5, generator: GoRandomPlayer(seed: 1))
        XCTAssertEqual(random.respond(to: "known_command lz-analyze"), "= false\n\n")
        XCTAssertEqual(random.respond(to: "lz-analyze 10"), "? unknown command\n\n")
        XCTAssertEqual(random.respond(to: "gogui-analyze_commands"), "? unknown command\n\n")
        XCTAssertEqual(random.respond(to: "cortex-policy"), "? unknown command\n\n")
        XCTAssertFalse(random.respond(to: "list_commands")!.contains("analyze"))

        let engine = GTPEngine(size: 9, komi: 7.5, generator: FixedAnalyzer(searches: false))
        for command in ["lz-analyze", "kata-analyze", "gogui-analyze_commands", "cortex-policy", "cortex-winrates"] {
            XCTAssertEqual(engine.respond(to: "known_command \(command)"), "= true\n\n", command)
            XCTAssertTrue(engine.respond(to: "list_commands")!.contains("\n\(command)\n"), command)
        }
        XCTAssertEqual(
            engine.respond(to: "gogui-analyze_commands"),
            "= gfx/Cortex policy/cortex-policy\ngfx/Cortex win rates/cortex-winrates\n\n")
        XCTAssertEqual(
            engine.respond(to: "cortex-policy"),
            "= INFLUENCE F6 0.500 D4 1.000\nLABEL D4 60 F6 30\nTEXT Black prior, pass 10.0%\n\n")
        XCTAssertEqual(
            engine.respond(to: "cortex-winrates w"),
            "= LABEL D4 54 F6 41\nVAR w D4 b F6\nTEXT White to play, win rate 54.0%, best D4\n\n")
        XCTAssertEqual(engine.respond(to: "cortex-winrates purple"), "? syntax error\n\n")
    }

    /// Through a pipe: a command already waiting stops the analysis after its first line, and
    /// a search that finds no command waiting thinks on in slices until one comes.
    func testStreamingStopsAtTheNextLine() throws {
        var ends: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&ends), 0)
        let analyzer = FixedAnalyzer(searches: true)
        let engine = GTPEngine(size: 9, komi: 7.5, generator: analyzer)
        let input = GTPInput(descriptor: ends[0])
        let writeEnd = ends[1]
        @Sendable func send(_ text: String) { _ = text.withCString { write(writeEnd, $0, strlen($0)) } }
        send("5 lz-analyze 100\nname\n")
        let later = Thread {
            Thread.sleep(forTimeInterval: 0.4)
            send("6 lz-analyze 5\n")
            Thread.sleep(forTimeInterval: 0.4)
            send("7 name\n")
            close(writeEnd)
        }
        var output = ""
        let started = Date()
        later.start()
        engine.run(input: input, write: { output += $0 })
        close(ends[0])
        let seconds = Date().timeIntervalSince(started)
        let responses = output.components(separatedBy: "\n\n").dropLast()
        XCTAssertEqual(responses.count, 4, output)
        XCTAssertTrue(responses[0].hasPrefix("=5\ninfo move D4 "), responses[0])
        XCTAssertEqual(responses[0].split(separator: "\n").count, 2, "one info line when the next command waits")
        XCTAssertEqual(responses[1], "= Cortex")
        let streamed = responses[2].split(separator: "\n")
        XCTAssertEqual(streamed.first, "=6")
        XCTAssertGreaterThan(streamed.count, 4, "a line every 50 ms for 0.4 s")
        XCTAssertTrue(streamed.dropFirst().allSatisfy { $0.hasPrefix("info move D4 visits 120 ") })
        XCTAssertEqual(responses[3], "=7 Cortex")
        XCTAssertLessThan(seconds, 2, "the analysis stops when the next line comes")
        XCTAssertGreaterThan(analyzer.calls, 4, "a search thinks in slices")
    }

    func testPrintSGFToAFile() throws {
        let engine = GTPEngine(size: 9, komi: 6.5, generator: GoRandomPlayer(seed: 1))
        _ = engine.respond(to: "play b E5")
        _ = engine.respond(to: "play w C3")
        let path = NSTemporaryDirectory() + "cortex-printsgf-\(UUID().uuidString).sgf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(engine.respond(to: "4 printsgf \(path)"), "=4\n\n")
        let written = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(written.contains("SZ[9]") && written.contains(";B[ee]") && written.contains(";W[cg]"), written)
        let loaded = try SGF.game(contentsOf: path)
        XCTAssertEqual(loaded.moves.map(\.move), engine.game.moves.map(\.move))
        XCTAssertEqual(loaded.komi, 6.5)
        // Without a file the record is the answer, the same text.
        XCTAssertEqual(engine.respond(to: "printsgf"), "= \n" + written.trimmingCharacters(in: .newlines) + "\n\n")
        XCTAssertEqual(
            engine.respond(to: "printsgf /nonexistent-folder/game.sgf"),
            "? cannot write /nonexistent-folder/game.sgf\n\n")
        XCTAssertEqual(engine.respond(to: "printsgf a b"), "? syntax error\n\n")
    }
}
