import Agents
import Cortex
import Foundation
import XCTest

/// The pieces every trainer shares: the run folder, configs as data, ε-greedy.
final class TrainingRunTests: XCTestCase {
    private struct Settings: Codable, Equatable {
        var rate: Float = 0.1
        var steps = 10
        var inner = Inner()
        struct Inner: Codable, Equatable {
            var width = 4
            var name = "a"
        }
    }

    /// `--out run` (no slash) once trapped inside Foundation's `deletingLastPathComponent`.
    func testParentFolderOfBareAndNestedNames() {
        for (path, parent) in [
            ("run", "."), ("l", "."), ("runs/a", "runs"), ("runs/a/", "runs"), ("/a", "/"), ("/", "/"),
            ("a/b/c", "a/b")
        ] {
            XCTAssertEqual(TrainingRun.parentFolder(of: path), parent, path)
        }
    }

    func testBestIsStrictAndLowerIsBetterWorks() {
        var best: Double?
        XCTAssertTrue(TrainingRun.improves(2, on: &best))
        XCTAssertFalse(TrainingRun.improves(2, on: &best), "a tie keeps the earlier checkpoint")
        XCTAssertFalse(TrainingRun.improves(.nan, on: &best))
        XCTAssertTrue(TrainingRun.improves(3, on: &best))
        XCTAssertEqual(best, 3)
        var loss: Double? = 1.5
        XCTAssertFalse(TrainingRun.improves(1.6, on: &loss, higherIsBetter: false))
        XCTAssertTrue(TrainingRun.improves(1.4, on: &loss, higherIsBetter: false))
        XCTAssertEqual(loss, 1.4)
    }

    func testAFreshRunStartsItsLogsAnewAndAResumedOneAppends() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cortex-run-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        func rows() throws -> Int {
            try String(contentsOfFile: folder + "/metrics.csv", encoding: .utf8).split(separator: "\n").count
        }
        do {
            let run = try TrainingRun(folder: folder, config: Settings())
            try run.logger.log(step: 1, [("loss", 1)])
            try run.logger.log(step: 2, [("loss", 0.5)])
        }
        XCTAssertEqual(try rows(), 3)
        FileManager.default.createFile(atPath: folder + "/last.safetensors", contents: Data([0]))
        do {
            let resumed = try TrainingRun(folder: folder, config: Settings(), resume: true)
            XCTAssertEqual(resumed.resumeCheckpoint, folder + "/last.safetensors")
            try resumed.logger.log(step: 3, [("loss", 0.25)])
        }
        XCTAssertEqual(try rows(), 4, "a resumed run appends")
        let events = {
            try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix("events.out.tfevents.") }
        }
        XCTAssertFalse(try events().isEmpty)
        do {
            let fresh = try TrainingRun(folder: folder, config: Settings())
            try fresh.logger.log(step: 1, [("loss", 2)])
        }
        XCTAssertEqual(try rows(), 2, "a fresh run into the same folder starts its metrics anew")
        XCTAssertEqual(try events().count, 1, "and keeps one event file")
    }

    func testHalfWrittenCheckpointsOfADeadRunAreRemoved() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cortex-stale-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        // pid 4,999,999 is above the largest pid_max Linux allows (2²² = 4,194,304): no such
        // process; the parent process of this test is alive.
        let dead = folder + "/.last.safetensors.tmp-4999999-17",
            alive = folder + "/.best.safetensors.tmp-\(getppid())-3"
        let kept = folder + "/notes.tmp-1-1"
        for path in [dead, alive, kept] { FileManager.default.createFile(atPath: path, contents: Data([1])) }
        _ = try TrainingRun(folder: folder, config: Settings())
        XCTAssertFalse(FileManager.default.fileExists(atPath: dead))
        XCTAssertTrue(FileManager.default.fileExists(atPath: alive), "a writer that is still running keeps its file")
        XCTAssertTrue(FileManager.default.fileExists(atPath: kept))
    }

    func testResumingWithoutACheckpointIsOneLine() {
        XCTAssertThrowsError(try TrainingRun(folder: "/nonexistent/run", config: Settings(), resume: true)) { error in
            XCTAssertEqual("\(error)", "no checkpoint to resume from at /nonexistent/run/last.safetensors")
        }
    }

    func testConfigFilesWriteOverNamedFieldsOnly() throws {
        let merged = try ConfigFile.merge(Settings(), with: Data(#"{"steps": 20, "inner": {"name": "b"}}"#.utf8))
        XCTAssertEqual(merged, Settings(rate: 0.1, steps: 20, inner: .init(width: 4, name: "b")))
        XCTAssertThrowsError(try ConfigFile.merge(Settings(), with: Data(#"{"steps": "many"}"#.utf8), source: "x.json"))
        {
            XCTAssertEqual("\($0)", "x.json: 'steps' has the wrong type or value")
        }
        XCTAssertThrowsError(try ConfigFile.merge(Settings(), with: Data("[1]".utf8), source: "x.json")) {
            XCTAssertEqual("\($0)", "x.json: not a JSON object of settings")
        }
    }

    func testEpsilonGreedyAndItsLinearDecay() {
        // Hand-computed: 1 before the delay, then from 1 to 0.1 over 100 steps.
        XCTAssertEqual(EpsilonGreedy.linear(step: 49, start: 1, end: 0.1, decaySteps: 100, delay: 50), 1)
        XCTAssertEqual(EpsilonGreedy.linear(step: 50, start: 1, end: 0.1, decaySteps: 100, delay: 50), 1)
        XCTAssertEqual(
            EpsilonGreedy.linear(step: 100, start: 1, end: 0.1, decaySteps: 100, delay: 50), 0.55, accuracy: 1e-6)
        XCTAssertEqual(
            EpsilonGreedy.linear(step: 10_000, start: 1, end: 0.1, decaySteps: 100, delay: 50), 0.1, accuracy: 1e-6)
        XCTAssertEqual(EpsilonGreedy.argmax([0.1, 0.7, 0.7, -1]), 1, "the first on ties")
        var generator = RandomGenerator(seed: 3)
        for _ in 0..<100 {
            XCTAssertEqual(EpsilonGreedy.action(epsilon: 0, actionCount: 4, generator: &generator) { 2 }, 2)
        }
        var counts = [0, 0, 0, 0]
        for _ in 0..<4_000 {
            counts[EpsilonGreedy.action(epsilon: 1, actionCount: 4, generator: &generator) { 2 }] += 1
        }
        XCTAssertTrue(counts.allSatisfy { (800...1_200).contains($0) }, "\(counts)")
    }
}
