import CortexTestSupport
import Foundation
import Recipes
import XCTest

/// `cortex bench pytorch`'s arithmetic, round order and JSON, on fixed timings (no timing
/// asserts), and one end-to-end run with tiny shapes against the installed torch.
final class SideBySideTests: XCTestCase {
    func testMedianOfOddAndEvenCounts() {
        XCTAssertEqual(SideBySide.median([3, 1, 2]), 2)
        // Even count: the mean of the middle two, as Python's statistics.median.
        XCTAssertEqual(SideBySide.median([4, 8, 6, 5]), 5.5)
        XCTAssertEqual(SideBySide.median([7]), 7)
        XCTAssertTrue(SideBySide.median([]).isNaN)
    }

    func testRatioIsPyTorchOverCortexOfTheMedianRounds() {
        // Cortex rounds 12, 10, 30 → median 12; PyTorch 18, 24, 20 → median 20; ratio 20 / 12.
        let result = SideBySide.Result(name: "gpt-train", cortexRounds: [12, 10, 30], referenceRounds: [18, 24, 20])
        XCTAssertEqual(result.cortexMilliseconds, 12)
        XCTAssertEqual(result.referenceMilliseconds, 20)
        XCTAssertEqual(result.ratio, 20.0 / 12.0, accuracy: 1e-12)  // 1.667: Cortex faster
        let slower = SideBySide.Result(name: "gelu", cortexRounds: [4, 2], referenceRounds: [1, 1.5])
        XCTAssertEqual(slower.ratio, 1.25 / 3, accuracy: 1e-12)  // below 1: PyTorch faster
    }

    func testRoundsAlternateCortexAndReferenceWithinEachWorkload() {
        var calls: [String] = []
        var cortexTime = 0.0, referenceTime = 100.0
        let results = SideBySide.run(
            workloads: ["matmul-256", "layernorm"], rounds: 3,
            cortex: { name in
                calls.append("A \(name)")
                cortexTime += 1
                return cortexTime
            },
            reference: { name in
                calls.append("B \(name)")
                referenceTime += 1
                return referenceTime
            })
        XCTAssertEqual(
            calls,
            [
                "A matmul-256", "B matmul-256", "A matmul-256", "B matmul-256", "A matmul-256", "B matmul-256",
                "A layernorm", "B layernorm", "A layernorm", "B layernorm", "A layernorm", "B layernorm"
            ])
        XCTAssertEqual(results.map(\.name), ["matmul-256", "layernorm"])
        XCTAssertEqual(results[0].cortexRounds, [1, 2, 3])
        XCTAssertEqual(results[0].referenceRounds, [101, 102, 103])
        XCTAssertEqual(results[1].cortexRounds, [4, 5, 6])
        XCTAssertEqual(results[1].ratio, 105.0 / 5.0)
    }

    func testReportHasTheDocumentedJSONShape() throws {
        let machine = SideBySide.Machine(cpu: "Test CPU", flags: ["avx2", "fma"], cores: 2, loadAverage: 1.5)
        let results = [SideBySide.Result(name: "matmul-256", cortexRounds: [2, 4, 3], referenceRounds: [6, 6, 6])]
        let object = SideBySide.report(
            machine: machine, pytorch: "1.13.0 (Debian python3-torch)", threads: 2, results: results,
            extra: ["matmul-256": ["note": "x"]])
        let data = try JSONSerialization.data(withJSONObject: object)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(Set(json.keys), ["machine", "pytorch", "threads", "workloads"])
        XCTAssertEqual(json["pytorch"] as? String, "1.13.0 (Debian python3-torch)")
        XCTAssertEqual(json["threads"] as? Int, 2)
        let machineJSON = try XCTUnwrap(json["machine"] as? [String: Any])
        XCTAssertEqual(machineJSON["cpu"] as? String, "Test CPU")
        XCTAssertEqual(machineJSON["flags"] as? [String], ["avx2", "fma"])
        XCTAssertEqual(machineJSON["cores"] as? Int, 2)
        let rows = try XCTUnwrap(json["workloads"] as? [[String: Any]])
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(rows[0]["name"] as? String, "matmul-256")
        XCTAssertEqual(rows[0]["cortex_ms"] as? Double, 3)
        XCTAssertEqual(rows[0]["pytorch_ms"] as? Double, 6)
        XCTAssertEqual(rows[0]["ratio"] as? Double, 2)
        XCTAssertEqual(rows[0]["cortex_rounds_ms"] as? [Double], [2, 4, 3])
        XCTAssertEqual(rows[0]["note"] as? String, "x")
    }

    func testMachineFromCPUInfo() {
        let cpuinfo = """
            processor\t: 0
            model name\t: AMD EPYC 9R14 96-Core Processor
            flags\t\t: fpu sse2 avx2 fma avx512f avx512bw
            processor\t: 1
            """
        let machine = SideBySide.Machine.parse(cpuinfo: cpuinfo, cores: 2, loadAverage: 0.5)
        XCTAssertEqual(machine.cpu, "AMD EPYC 9R14 96-Core Processor")
        XCTAssertEqual(machine.flags, ["avx2", "fma", "avx512f", "avx512bw"])
        XCTAssertEqual(SideBySide.Machine.parse(cpuinfo: "", cores: 1, loadAverage: 0).cpu, "unknown CPU")
    }

    /// The whole command with tiny shapes, one round (the DQN loop too: its PyTorch side carries
    /// its own Breakout); fails under CORTEX_NO_SKIP=1 when torch is missing.
    func testQuickRunPrintsBothSidesAsJSON() throws {
        let version = try pytorchBench(["--version"])
        XCTAssertTrue(version.contains("\"torch\""), version)
        let result = try runCortex([
            "bench", "pytorch", "--quick", "--rounds", "1", "--workloads", "matmul-256,layernorm,dqn-loop", "--json"
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let last = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any], last)
        XCTAssertEqual(json["threads"] as? Int, 2)
        XCTAssertTrue((json["pytorch"] as? String ?? "").contains("("), "\(json["pytorch"] ?? "nil")")
        XCTAssertNotNil((json["machine"] as? [String: Any])?["cpu"])
        let rows = try XCTUnwrap(json["workloads"] as? [[String: Any]])
        XCTAssertEqual(rows.compactMap { $0["name"] as? String }, ["matmul-256", "layernorm", "dqn-loop"])
        for row in rows {
            let cortex = try XCTUnwrap(row["cortex_ms"] as? Double), torch = try XCTUnwrap(row["pytorch_ms"] as? Double)
            XCTAssertGreaterThan(cortex, 0)
            XCTAssertGreaterThan(torch, 0)
            XCTAssertEqual(try XCTUnwrap(row["ratio"] as? Double), torch / cortex, accuracy: 1e-9 * torch / cortex)
        }
        XCTAssertTrue(result.stderr.contains("PyTorch"), result.stderr)
    }

    func testUnknownWorkloadIsAUsageError() throws {
        let result = try runCortex(["bench", "pytorch", "--workloads", "matmul-256,nope"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("unknown workload 'nope'"), result.stderr)
    }
}
