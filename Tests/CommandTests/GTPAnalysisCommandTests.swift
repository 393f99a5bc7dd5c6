import Agents
import CortexTestSupport
import Envs
import Foundation
import XCTest

/// `cortex gtp` as Lizzie, Sabaki and GoGui drive it: commands written to its standard input
/// while it streams, the output parsed the way those GUIs parse it.
final class GTPAnalysisCommandTests: XCTestCase {
    /// A running `cortex gtp` with a pipe on each side; everything it prints is collected.
    final class Engine {
        let process = Process()
        let input = Pipe()
        private let lock = NSLock()
        private var collected = Data()

        init(_ arguments: [String], environment: [String: String] = [:]) throws {
            process.executableURL = URL(fileURLWithPath: try cortexExecutable())
            process.arguments = ["gtp"] + arguments
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            let output = Pipe()
            process.standardInput = input
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            output.fileHandleForReading.readabilityHandler = { [weak self] handle in
                let data = handle.availableData
                guard let self else { return }
                self.lock.lock()
                self.collected.append(data)
                self.lock.unlock()
            }
            try process.run()
        }

        var output: String {
            lock.lock()
            defer { lock.unlock() }
            return String(decoding: collected, as: UTF8.self)
        }

        func send(_ text: String) { input.fileHandleForWriting.write(Data(text.utf8)) }

        /// Waits until `condition` holds on the output (false after `seconds`).
        @discardableResult
        func wait(seconds: Double = 30, until condition: (String) -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if condition(output) { return true }
                Thread.sleep(forTimeInterval: 0.01)
            }
            return condition(output)
        }

        func quit() {
            send("quit\n")
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }
    }

    /// One candidate as Lizzie's `MoveData.fromInfo` reads it: key/value pairs until `pv`,
    /// which takes the rest.
    struct Candidate {
        var fields: [String: String] = [:]
        var pv: [String] = []
    }

    /// An `info` line split as Lizzie does (on " info "), each part read as key/value pairs.
    func candidates(_ line: String) -> [Candidate] {
        XCTAssertTrue(line.hasPrefix("info "), line)
        return line.dropFirst(5).components(separatedBy: " info ").map { part in
            var candidate = Candidate()
            let words = part.split(separator: " ").map(String.init)
            var i = 0
            while i < words.count {
                if words[i] == "pv" {
                    candidate.pv = Array(words[(i + 1)...])
                    break
                }
                XCTAssertLessThan(i + 1, words.count, "key without value in \(part)")
                if i + 1 < words.count { candidate.fields[words[i]] = words[i + 1] }
                i += 2
            }
            return candidate
        }
    }

    /// The responses of `output`: each starts with `=` or `?` and ends at its empty line.
    func responses(_ output: String) -> [String] {
        Array(output.components(separatedBy: "\n\n").dropLast())
    }

    /// Checks every line of an analysis response: legal vertices, numbers in range, orders
    /// 0…k−1; `integers` for Leela Zero's 0…10000, else KataGo's floats in [0, 1].
    func checkAnalysis(
        _ response: String, id: String, size: Int, occupied: Set<String>, integers: Bool, sortedByVisits: Bool
    ) -> [[Candidate]] {
        let lines = response.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines.first, "=\(id)", "the id is echoed on a line of its own")
        var all: [[Candidate]] = []
        for line in lines.dropFirst() {
            let list = candidates(line)
            XCTAssertFalse(list.isEmpty)
            for (order, c) in list.enumerated() {
                XCTAssertEqual(c.fields["order"], String(order), line)
                let move = c.fields["move"] ?? ""
                guard let parsed = GTP.move(move, size: size) else {
                    XCTFail("\(move) is not a vertex of \(size)×\(size)")
                    continue
                }
                if case .play = parsed { XCTAssertFalse(occupied.contains(move), "\(move) is occupied") }
                XCTAssertEqual(c.pv.first, move, "the line starts with the move")
                XCTAssertTrue(c.pv.allSatisfy { GTP.move($0, size: size) != nil }, "\(c.pv)")
                XCTAssertNotNil(Int(c.fields["visits"] ?? ""), line)
                for key in ["winrate", "prior", "lcb"] {
                    let text = c.fields[key] ?? ""
                    // Lizzie reads Leela Zero's numbers with Integer.parseInt, KataGo's with parseDouble.
                    if let value = integers ? Int(text).map(Double.init) : (text.contains(".") ? Double(text) : nil) {
                        XCTAssertTrue((0...(integers ? 10000 : 1)).contains(value), "\(key) \(value)")
                    } else {
                        XCTFail("\(key) '\(text)' is not a\(integers ? "n integer" : " decimal number")")
                    }
                }
            }
            if sortedByVisits {
                let visits = list.map { Int($0.fields["visits"] ?? "") ?? 0 }
                XCTAssertEqual(visits, visits.sorted(by: >), "orders follow the visits")
            }
            all.append(list)
        }
        return all
    }

    /// A fresh folder holding `tiny-go.safetensors`: an untrained Go DQN (8 channels, 2 layers).
    func untrainedCheckpointFolder(size: Int) throws -> String {
        let folder = NSTemporaryDirectory() + "cortex-gtp-analysis-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var config = GoDQNConfig()
        config.size = size
        config.channels = 8
        config.layers = 2
        try GoDQNCheckpoint.save(
            agent: GoDQNAgent(config: config), state: GoTrainingState(seed: 0), to: folder + "/tiny-go.safetensors")
        return folder
    }

    /// The tree search streams Leela Zero lines until the next command, whose genmove still
    /// plays; KataGo lines after it; ids echoed; the analysis stops within a fraction of a second.
    func testMCTSStreamsLeelaZeroAndKataGoAnalysis() throws {
        let engine = try Engine(["--mcts", "--size", "9", "--playouts", "200", "--seed", "1"])
        defer { engine.quit() }
        engine.send("1 play b E5\n2 play w C3\n12 lz-analyze b 10\n")
        XCTAssertTrue(engine.wait { $0.components(separatedBy: "\ninfo move").count > 4 }, engine.output)
        let stopped = Date()
        engine.send("13 genmove b\n")
        XCTAssertTrue(engine.wait { $0.contains("=13 ") && $0.hasSuffix("\n\n") }, engine.output)
        XCTAssertLessThan(Date().timeIntervalSince(stopped), 5, "analysis stops and genmove answers")
        engine.send("14 kata-analyze w interval 10\n")
        XCTAssertTrue(engine.wait { $0.components(separatedBy: "\ninfo move").count > 8 }, engine.output)
        engine.send("stop\n")
        XCTAssertTrue(engine.wait { $0.hasSuffix("? unknown command\n\n") }, engine.output)

        let answers = responses(engine.output)
        XCTAssertEqual(Array(answers.prefix(2)), ["=1", "=2"])
        let lz = checkAnalysis(
            answers[2], id: "12", size: 9, occupied: ["E5", "C3"], integers: true, sortedByVisits: true)
        XCTAssertGreaterThanOrEqual(lz.count, 3)
        let total = { (list: [Candidate]) in list.map { Int($0.fields["visits"]!)! }.reduce(0, +) }
        XCTAssertGreaterThan(total(lz.last!), total(lz.first!), "the search grows while it streams")
        XCTAssertTrue(answers[3].hasPrefix("=13 "), answers[3])
        let played = String(answers[3].dropFirst(4))
        XCTAssertNotNil(GTP.move(played, size: 9), played)
        let kata = checkAnalysis(
            answers[4], id: "14", size: 9, occupied: ["E5", "C3", played], integers: false, sortedByVisits: true)
        XCTAssertGreaterThanOrEqual(kata.count, 2)
        XCTAssertEqual(answers[5], "? unknown command", "`stop` ends the analysis and is then answered")
    }

    /// The DQN answers from one network evaluation: its priors and win rates are the mapping of
    /// its Q-values (checked against the same player in this process), visits 1, pv the move.
    func testDQNAnalysisIsItsQValues() throws {
        let folder = try untrainedCheckpointFolder(size: 9)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/tiny-go.safetensors"

        let engine = try Engine(["--checkpoint", path, "--size", "9"])
        defer { engine.quit() }
        engine.send("list_commands\n5 kata-analyze b 5\n")
        XCTAssertTrue(engine.wait { $0.components(separatedBy: "\ninfo move").count > 2 }, engine.output)
        engine.send("6 lz-analyze 0\nname\n7 gogui-analyze_commands\n8 cortex-policy\n")
        XCTAssertTrue(engine.wait { $0.contains("=8 ") && $0.hasSuffix("\n\n") }, engine.output)
        let answers = responses(engine.output)
        XCTAssertTrue(answers[0].contains("\nlz-analyze\n") && answers[0].contains("\nkata-analyze\n"))
        let lines = checkAnalysis(answers[1], id: "5", size: 9, occupied: [], integers: false, sortedByVisits: false)
        let player = try GoDQNPlayer(checkpoint: path)
        let expected = player.analyze(GoGame(size: 9, komi: 7.5), for: .black, seconds: 0)
        for list in lines {
            XCTAssertEqual(list.count, expected.candidates.count)
            for (c, e) in zip(list, expected.candidates) {
                XCTAssertEqual(c.fields["move"], e.move.vertex(size: 9))
                XCTAssertEqual(c.fields["visits"], "1")
                XCTAssertEqual(Double(c.fields["prior"]!)!, e.prior, accuracy: 1e-6)
                XCTAssertEqual(Double(c.fields["winrate"]!)!, e.winRate, accuracy: 1e-6)
                XCTAssertEqual(c.pv, [e.move.vertex(size: 9)])
            }
        }
        // Interval 0: one line, when the next command arrives.
        let once = checkAnalysis(answers[2], id: "6", size: 9, occupied: [], integers: true, sortedByVisits: false)
        XCTAssertEqual(once.count, 1)
        XCTAssertEqual(answers[3], "= Cortex")
        XCTAssertEqual(answers[4], "=7 gfx/Cortex policy/cortex-policy\ngfx/Cortex win rates/cortex-winrates")
        XCTAssertTrue(answers[5].hasPrefix("=8 INFLUENCE ") && answers[5].contains("\nTEXT Black prior"), answers[5])
    }

    func testHelpNamesTheAnalysisCommands() throws {
        let help = try runCortex(["gtp", "--help"]).stdout
        for word in ["lz-analyze", "kata-analyze", "gogui-analyze_commands", "cortex-policy", "printsgf FILE"] {
            XCTAssertTrue(help.contains(word), "cortex gtp --help does not mention \(word)")
        }
    }

    /// The random player offers no analysis, and says so.
    func testRandomPlayerHasNoAnalysis() throws {
        let result = try runCortex(
            ["gtp", "--size", "9"], standardInput: "known_command lz-analyze\nlz-analyze 10\nlist_commands\n")
        let answers = responses(result.stdout)
        XCTAssertEqual(answers[0], "= false")
        XCTAssertEqual(answers[1], "? unknown command")
        XCTAssertFalse(answers[2].contains("analyze"))
    }

    /// `cortex:NAME` in a match is a shipped model's name or a path (with or without its
    /// `.safetensors`); an unknown name is one error line that lists what ships.
    func testMatchResolvesShippedModelNames() throws {
        let folder = try untrainedCheckpointFolder(size: 5)
        defer { try? FileManager.default.removeItem(atPath: folder) }

        func match(_ engine: String) throws -> (status: Int32, stdout: String, stderr: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try cortexExecutable())
            process.arguments = ["match", "--black", engine, "--white", "random", "--games", "1", "--size", "5"]
            process.environment = ProcessInfo.processInfo.environment.merging(["CORTEX_MODELS": folder]) { $1 }
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (
                process.terminationStatus, String(decoding: stdout, as: UTF8.self),
                String(decoding: stderr, as: UTF8.self)
            )
        }
        let byName = try match("cortex:tiny-go")
        XCTAssertEqual(byName.status, 0, byName.stderr)
        XCTAssertTrue(byName.stdout.contains("cortex:tiny-go"), byName.stdout)
        let byPath = try match("cortex:\(folder)/tiny-go.safetensors")
        XCTAssertEqual(byPath.status, 0, byPath.stderr)
        let withoutExtension = try match("cortex:\(folder)/tiny-go")
        XCTAssertEqual(withoutExtension.status, 0, withoutExtension.stderr)
        let unknown = try match("cortex:no-such-model")
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("no shipped model"), unknown.stderr)
        XCTAssertTrue(unknown.stderr.contains("tiny-go"), "the error names what ships: \(unknown.stderr)")
        XCTAssertEqual(unknown.stderr.split(separator: "\n").count, 1, unknown.stderr)
    }
}
