import CortexTestSupport
import Foundation
import XCTest

/// `cortex match` never hangs on a bad engine: fake engines as small shell scripts (silent,
/// `yes`, `cat`, random bytes, one that dies or hangs mid-game) under short deadlines. Each run
/// must end in a few seconds with status 1, its last stderr line `cortex match: …` naming the
/// engine and what it last sent, and leave no engine process behind.
final class MatchTimeoutTests: TemporaryFolderTestCase {
    /// A GTP engine that answers everything with `=` and every `genmove` with `pass`; after
    /// `genmoves` genmoves it runs `then` (a shell command) instead of answering.
    private func engine(_ name: String, genmoves: Int = 1_000, then: String = "exit 0") throws -> String {
        let path = folder + "/" + name + ".sh"
        let script = """
            echo $$ >> '\(folder)/\(name).pids'
            n=0
            while read -r line; do
              case "$line" in
                genmove*)
                  n=$((n + 1))
                  if [ "$n" -gt \(genmoves) ]; then \(then); fi
                  printf '= pass\\n\\n';;
                quit*) printf '=\\n\\n'; exit 0;;
                *) printf '= \\n\\n';;
              esac
            done
            """
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        return "sh " + path
    }

    /// Runs `cortex match` with short deadlines; fails unless it ends within `seconds`.
    private func match(
        black: String, white: String = "random", games: Int = 1, extra: [String] = [], seconds: Double = 15,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> (status: Int32, stdout: String, stderr: String, lastError: String) {
        let started = Date()
        let result = try runCortex(
            [
                "match", "--black", black, "--white", white, "--games", "\(games)", "--size", "5", "--max-moves",
                "12", "--engine-timeout", "1", "--startup-timeout", "1", "--json"
            ] + extra)
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertLessThan(elapsed, seconds, "cortex match took \(elapsed) s", file: file, line: line)
        XCTAssertEqual(result.status, 1, result.stderr, file: file, line: line)
        XCTAssertFalse(result.stderr.contains("Fatal error"), result.stderr, file: file, line: line)
        let last = result.stderr.split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertTrue(last.hasPrefix("cortex match: "), result.stderr, file: file, line: line)
        return (result.status, result.stdout, result.stderr, last)
    }

    /// Engines that never speak GTP stop the match at start-up with one line.
    func testEnginesThatNeverAnswerStopTheMatchAtOnce() throws {
        let random = folder + "/random.sh"
        try "head -c 3000 /dev/urandom; sleep 1000".write(toFile: random, atomically: true, encoding: .utf8)
        let cases: [(engine: String, expected: String)] = [
            (
                "sleep 1000",
                #"black engine "sleep 1000" sent no GTP response to 'protocol_version' within 1 s (no output)"#
            ),
            ("yes", #"black engine "yes" answered 'protocol_version' with "y", not a GTP response"#),
            ("cat", #"black engine "cat" answered 'protocol_version' with "protocol_version", not a GTP response"#),
            ("true", #"cannot start black engine "true": it exited with status 0 before answering (no output)"#),
            ("sh " + random, #"black engine "sh \#(random)""#)
        ]
        for (engine, expected) in cases {
            let run = try match(black: engine)
            XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, engine + ": " + run.stderr)
            XCTAssertTrue(run.lastError.contains(expected), "\(engine): \(run.lastError)")
            XCTAssertTrue(run.stdout.isEmpty, engine + ": " + run.stdout)
        }
    }

    /// An engine that dies mid-game: each game is an error in the table and the JSON, the engine
    /// is restarted for the next one, and the match ends with status 1 naming the first error.
    func testEngineExitingMidGameIsRestartedAndRecorded() throws {
        let dying = try engine("dying", genmoves: 2)
        let run = try match(black: dying, games: 2)
        XCTAssertTrue(
            run.lastError.contains(
                #"2 of 2 games ended by an engine error; game 1: black engine "\#(dying)" exited while answering 'genmove"#
            ), run.lastError)
        XCTAssertTrue(run.lastError.contains("(last line: "), run.lastError)
        let json = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data((run.stdout.split(separator: "\n").last ?? "").utf8))
                as? [String: Any])
        let errors = try XCTUnwrap(json["errors"] as? [[String: Any]])
        XCTAssertEqual(errors.map { $0["game"] as? Int }, [1, 2])
        XCTAssertEqual(json["counted_games"] as? Int, 0)
        XCTAssertTrue(run.stdout.contains("game 2: error: "), run.stdout)
        // Started once, restarted once for game 2.
        let pids = try String(contentsOfFile: folder + "/dying.pids", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(pids.count, 2)
    }

    /// An engine that hangs mid-game (in a child process of its own) is killed with its child
    /// after the per-command deadline; the other games are played and counted.
    func testHangingEngineIsKilledWithItsChildren() throws {
        let hanging = try engine(
            "hanging", genmoves: 2, then: "sleep 1000 & echo $! >> '\(folder)/children'; wait")
        let run = try match(black: "random", white: hanging, games: 2)
        XCTAssertTrue(
            run.lastError.contains(
                #"white engine "\#(hanging)" sent no GTP response to 'genmove"#), run.lastError)
        XCTAssertTrue(run.lastError.contains("within 1 s"), run.lastError)
        let children = try String(contentsOfFile: folder + "/children", encoding: .utf8)
            .split(separator: "\n").compactMap { Int32($0) }
        XCTAssertFalse(children.isEmpty)
        usleep(200_000)
        for pid in children + engineProcesses("hanging") {
            XCTAssertFalse(isRunning(pid), "process \(pid) outlived the match")
        }
    }

    /// A healthy scripted engine plays every game: status 0, no errors in the JSON.
    func testWellBehavedEngineUnderDeadlines() throws {
        let passer = try engine("passer")
        let result = try runCortex(
            [
                "match", "--black", passer, "--white", "random", "--games", "2", "--size", "5", "--max-moves", "12",
                "--engine-timeout", "1", "--startup-timeout", "1", "--json"
            ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data((result.stdout.split(separator: "\n").last ?? "").utf8))
                as? [String: Any])
        XCTAssertEqual((json["errors"] as? [Any])?.count, 0)
        XCTAssertEqual(json["counted_games"] as? Int, 2)
        for pid in engineProcesses("passer") { XCTAssertFalse(isRunning(pid), "engine \(pid) outlived the match") }
    }

    /// A referee that never answers is an engine like the others.
    func testSilentRefereeStopsTheMatch() throws {
        let run = try match(black: "random", extra: ["--referee", "sleep 1000"])
        XCTAssertTrue(
            run.lastError.contains(#"referee "sleep 1000" sent no GTP response to 'protocol_version' within 1 s"#),
            run.lastError)
    }

    func testTimeoutsMustBePositive() throws {
        let result = try runCortex(["match", "--black", "random", "--white", "random", "--engine-timeout", "0"])
        XCTAssertEqual(result.status, 64, result.stderr)
        XCTAssertTrue(result.stderr.contains("--engine-timeout"), result.stderr)
    }

    /// Whether `pid` is a live process: a zombie (killed, waiting for whatever adopted it to reap
    /// it) is not.
    private func isRunning(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = stat.lastIndex(of: ")") else { return false }
        return stat[close...].dropFirst(2).first != "Z"
    }

    /// The process ids a fake engine recorded when it started.
    private func engineProcesses(_ name: String) -> [Int32] {
        ((try? String(contentsOfFile: folder + "/\(name).pids", encoding: .utf8)) ?? "")
            .split(separator: "\n").compactMap { Int32($0) }
    }
}
