import CortexTestSupport
import Foundation
import XCTest

/// `cortex plot`: two runs' metric against steps and against wall-clock, in one SVG.
final class PlotRunsTests: XCTestCase {
    private func run(_ folder: String, config: String, rows: [String]) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try config.write(toFile: folder + "/config.json", atomically: true, encoding: .utf8)
        let csv = (["step,wall_time,charts/episodic_return,eval/return_mean"] + rows).joined(separator: "\n") + "\n"
        try csv.write(toFile: folder + "/metrics.csv", atomically: true, encoding: .utf8)
    }

    func testTwoRunsAgainstStepsAndMinutes() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cortex-plot-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try run(root + "/a", config: #"{"game": "breakout", "rolloutSteps": 32}"#,
                rows: ["10,1000,1,", "100,1030,2,5", "200,1060,3,7"])
        try run(root + "/b", config: #"{"game": "breakout", "replaySize": 100000}"#,
                rows: ["10,2000,0,", "200,2120,1,4"])
        let out = root + "/compare.svg"
        let result = try runCortex(["plot", root + "/a", root + "/b", "--out", out])
        XCTAssertEqual(result.status, 0, result.stderr)
        let svg = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertEqual(svg.components(separatedBy: "<svg").count - 1, 3, "one document holding two panels")
        XCTAssertTrue(svg.contains("breakout: eval/return_mean against steps"))
        XCTAssertTrue(svg.contains("against wall-clock"))
        XCTAssertTrue(svg.contains(">pqn a<") && svg.contains(">dqn b<"), "runs named by algorithm and folder")
        // Run a has two evaluations (a line), run b one (a dot), in each panel: 3 points each.
        XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 2)
        XCTAssertEqual(svg.components(separatedBy: "<circle").count - 1, 6)
        // Minutes since each run's first row: run a's last evaluation at 1 minute, b's at 2.
        XCTAssertTrue(svg.contains(">minutes<"))

        let missing = try runCortex(["plot", root + "/a", "--metric", "test/accuracy", "--out", out])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("no column 'test/accuracy'"), missing.stderr)
        let noRun = try runCortex(["plot", root + "/nothing", "--out", out])
        XCTAssertEqual(noRun.status, 1)
        XCTAssertTrue(noRun.stderr.contains("not found"), noRun.stderr)
    }
}
