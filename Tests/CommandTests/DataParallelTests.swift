import Cortex
import CortexTestSupport
import Data
import Foundation
import Models
import XCTest

/// Data-parallel training: the sharding and the agreement check in one process, and the real
/// thing under `mpirun --oversubscribe -np 2` on loopback (cortex built with `--traits MPI`).
final class DataParallelTests: TemporaryFolderTestCase {
    // MARK: in one process

    func testShardsCoverTheBatchInNearlyEqualParts() {
        // 10 rows over 3 ranks: 4, 3, 3 (by hand).
        XCTAssertEqual((0..<3).map { DataParallel.shard(count: 10, rank: $0, size: 3) }, [0..<4, 4..<7, 7..<10])
        XCTAssertEqual((0..<2).map { DataParallel.shard(count: 1, rank: $0, size: 2) }, [0..<1, 1..<1])
    }

    /// A rank whose parameters differ from rank 0's by one bit makes the check throw.
    func testParameterCheckCatchesOneBitDifference() throws {
        let mine = Tensor(shape: [3], data: [1, 2, 3])
        let rootHash = DataParallel(parameters: [("w", mine.copy())], communicator: SingleProcess()).parameterHash()
        let agreeing = DataParallel(parameters: [("w", mine)], communicator: SecondRank(rootValue: rootHash))
        XCTAssertNoThrow(try agreeing.checkParametersAgree())
        mine.storage.pointer[1] = Float(bitPattern: Float(2).bitPattern + 1)
        XCTAssertThrowsError(try agreeing.checkParametersAgree()) { error in
            XCTAssertTrue("\(error)".contains("differ from rank 0's"), "\(error)")
        }
    }

    // MARK: under mpirun

    /// Two ranks over the same global batches end where one process ends (float tolerance:
    /// the sums are grouped differently), and the run's own check found the ranks' parameters
    /// bit-identical at every epoch (it stops the run otherwise).
    func testTwoRanksMatchOneProcess() throws {
        try requireMPI()
        let single = try runMPI(ranks: 1, lenet(out: folder + "/one", epochs: 2))
        XCTAssertEqual(single.status, 0, single.stderr)
        let pair = try runMPI(ranks: 2, lenet(out: folder + "/two", epochs: 2))
        XCTAssertEqual(pair.status, 0, pair.stderr)
        XCTAssertTrue(pair.stderr.contains("data parallel: 2 ranks, global batch 64 (32 on rank 0)"), pair.stderr)
        try assertClose(folder + "/one/last.safetensors", folder + "/two/last.safetensors")
    }

    /// Fused buckets and one allreduce per tensor give the same bits on both ranks, equal to the
    /// average computed here: rank r sends (r + 1)·k − 6 with k = (i + 7p) mod 13, weighted ½,
    /// so the average is 1.5k − 6 exactly.
    func testBucketedAllreduceEqualsPerTensorAllreduce() throws {
        try requireMPI()
        let result = try runMPI(
            ranks: 2, ["bench", "allreduce", "--model", "vit", "--rounds", "2", "--bucket", "5000", "--save", folder])
        XCTAssertEqual(result.status, 0, result.stderr)
        var expected: [Float] = []
        var generator = RandomGenerator(seed: 0)
        let counts = VisionTransformer(ViTConfig(), generator: &generator).namedParameters().map(\.tensor.count)
        for (p, count) in counts.enumerated() {
            for i in 0..<count { expected.append(1.5 * Float((i + 7 * p) % 13) - 6) }
        }
        for name in ["rank0-bucketed", "rank1-bucketed", "rank0-per-tensor", "rank1-per-tensor"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(name).f32"))
            let values = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            XCTAssertEqual(values.count, expected.count, name)
            XCTAssertTrue(values == expected, "\(name) differs from the exact average")
        }
    }

    /// Killing one rank mid-run ends the job with a non-zero status within the timeout, and
    /// the checkpoint written before stays loadable.
    func testKilledRankEndsTheJobAndKeepsTheCheckpoint() throws {
        try requireMPI()
        let out = folder + "/run"
        let job = try startMPI(ranks: 2, lenet(out: out, epochs: 200))
        let checkpoint = out + "/last.safetensors"
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: checkpoint) && job.process.isRunning && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.2)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint), "no checkpoint after the first epoch")
        let victim = try XCTUnwrap(rankProcess(1, under: job.process.processIdentifier), "rank 1 not found")
        kill(victim, SIGKILL)
        let killed = Date()
        let finished = job.wait(timeout: 60)
        XCTAssertTrue(finished, "the job still runs 60 s after rank 1 was killed")
        if !finished { job.process.terminate() }
        XCTAssertLessThan(Date().timeIntervalSince(killed), 60)
        XCTAssertNotEqual(job.process.terminationStatus, 0)
        let stderr = job.stderr()
        XCTAssertTrue(
            stderr.contains("cortex: rank 0: stopped by the MPI launcher (another rank failed or the job was cancelled)"),
            stderr)
        let state = try SafeTensors.read(from: checkpoint)
        XCTAssertNotNil(state.dictionary["conv1.weight"] ?? state.tensors.first?.tensor, "empty checkpoint")
    }

    /// Ranks started with different flags are refused at start-up with one clear line.
    func testConfigMismatchIsRefused() throws {
        try requireMPI()
        let base = lenet(out: folder + "/run", epochs: 1)
        let result = try runMPI(
            arguments: ["-np", "1", try cortexExecutable()] + base + ["--lr", "0.001"]
                + [":", "-np", "1", try cortexExecutable()] + base + ["--lr", "0.002"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(
            result.stderr.contains("cortex train lenet: 1 of 2 ranks were started with a config that differs from rank 0's"),
            result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/run/last.safetensors"))
    }

    /// A checkpoint written by two ranks resumes in one, and the reverse; both end where a
    /// one-process run resumed in one process ends.
    func testCheckpointResumesAcrossRankCounts() throws {
        try requireMPI()
        for (name, first, second) in [("11", 1, 1), ("21", 2, 1), ("12", 1, 2)] {
            let out = folder + "/" + name
            let start = try runMPI(ranks: first, lenet(out: out, epochs: 1))
            XCTAssertEqual(start.status, 0, start.stderr)
            let resumed = try runMPI(ranks: second, lenet(out: out, epochs: 2) + ["--resume"])
            XCTAssertEqual(resumed.status, 0, resumed.stderr)
            XCTAssertTrue(resumed.stderr.contains("resuming after epoch 1"), resumed.stderr)
        }
        try assertClose(folder + "/11/last.safetensors", folder + "/21/last.safetensors")
        try assertClose(folder + "/11/last.safetensors", folder + "/12/last.safetensors")
    }

    /// `--per-rank-batch` makes the global batch the per-rank batch times the ranks.
    func testPerRankBatchScalesTheGlobalBatch() throws {
        try requireMPI()
        var arguments = lenet(out: folder + "/per-rank", epochs: 1)
        let at = try XCTUnwrap(arguments.firstIndex(of: "--batch"))
        arguments.replaceSubrange(at...(at + 1), with: ["--per-rank-batch", "16"])
        let pair = try runMPI(ranks: 2, arguments)
        XCTAssertEqual(pair.status, 0, pair.stderr)
        XCTAssertTrue(pair.stderr.contains("data parallel: 2 ranks, global batch 32 (16 on rank 0)"), pair.stderr)
        let both = try runMPI(ranks: 1, arguments + ["--batch", "8"])
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.stderr.contains("--per-rank-batch takes a positive size and replaces --batch"), both.stderr)
    }

    /// PQN over two ranks (each its own environments, gradients averaged): the run's own
    /// check finds the parameters bit-identical at every checkpoint, frames count over both
    /// ranks, and its checkpoint resumes in one process.
    func testPQNOverTwoRanksStaysInStepAndResumesInOne() throws {
        try requireMPI()
        let out = folder + "/pqn"
        let pqn = ["train", "breakout", "--algo", "pqn", "--eval-every", "0", "--threads", "1", "--seed", "2", "--out", out]
        let pair = try runMPI(ranks: 2, pqn + ["--frames", "16384", "--json"])
        XCTAssertEqual(pair.status, 0, pair.stderr)
        XCTAssertTrue(pair.stderr.contains("(× 2 ranks, gradients averaged)"), pair.stderr)
        let summary = try XCTUnwrap(pair.stdout.split(separator: "\n").last.map(String.init))
        let object = try JSONSerialization.jsonObject(with: Data(summary.utf8)) as! [String: Any]
        XCTAssertEqual(object["ranks"] as? Int, 2)
        XCTAssertGreaterThanOrEqual(object["frames"] as? Int ?? 0, 16384)
        XCTAssertEqual(pair.stdout.split(separator: "\n").count, 1, "one JSON line, from rank 0 only")
        let resumed = try runMPI(ranks: 1, pqn + ["--frames", "32768", "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("resuming at frame"), resumed.stderr)
    }

    /// The segmenter over two ranks (each draws half of every step's scenes): the run's own check
    /// finds the parameters bit-identical at every evaluation, only rank 0 prints, the training
    /// loss falls, and the checkpoint resumes in one process.
    func testSegmenterOverTwoRanksStaysInStepAndResumesInOne() throws {
        try requireMPI()
        let out = folder + "/segmenter"
        let segmenter = [
            "train", "segmenter", "--widths", "8,16", "--batch", "8", "--eval-every", "15", "--test-scenes", "10",
            "--threads", "1", "--seed", "3", "--out", out
        ]
        let pair = try runMPI(ranks: 2, segmenter + ["--steps", "30", "--json"])
        XCTAssertEqual(pair.status, 0, pair.stderr)
        XCTAssertTrue(pair.stderr.contains("data parallel: 2 ranks, global batch 8 (4 on rank 0)"), pair.stderr)
        XCTAssertEqual(pair.stdout.split(separator: "\n").count, 1, "one JSON line, from rank 0 only")
        let losses = pair.stderr.split(separator: "\n").compactMap { line -> Double? in
            guard line.hasPrefix("step "), let range = line.range(of: "train loss ") else { return nil }
            return Double(line[range.upperBound...].prefix(while: { $0 != "," }))
        }
        XCTAssertEqual(losses.count, 2, pair.stderr)
        if losses.count == 2 { XCTAssertLessThan(losses[1], losses[0], pair.stderr) }
        let resumed = try runMPI(ranks: 1, segmenter + ["--steps", "45", "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("resuming after step 30"), resumed.stderr)
    }

    // MARK: helpers

    private func lenet(out: String, epochs: Int) -> [String] {
        [
            "train", "lenet", "--limit", "256", "--batch", "64", "--epochs", "\(epochs)", "--threads", "1",
            "--seed", "5", "--out", out
        ]
    }

    /// Every model tensor of two checkpoints within 1e-4 (relative to 1 + |value|).
    private func assertClose(_ a: String, _ b: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let left = try SafeTensors.read(from: a).dictionary, right = try SafeTensors.read(from: b).dictionary
        let names = left.keys.filter { !$0.hasPrefix(Checkpoint.optimizerPrefix) }
        XCTAssertFalse(names.isEmpty, file: file, line: line)
        for name in names {
            let x = left[name]!.scalars, y = try XCTUnwrap(right[name], name, file: file, line: line).scalars
            XCTAssertEqual(x.count, y.count, name, file: file, line: line)
            let worst = zip(x, y).map { abs($0 - $1) / (1 + abs($0)) }.max() ?? 0
            XCTAssertLessThan(worst, 1e-4, "\(name): \(a) vs \(b)", file: file, line: line)
        }
    }

    private func requireMPI() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/mpirun") else {
            throw missingPrerequisite("no mpirun (scripts/setup installs openmpi-bin)")
        }
        guard FashionMNIST.isInstalled else {
            throw missingPrerequisite("Fashion-MNIST is not installed (scripts/setup installs dataset-fashion-mnist)")
        }
        let probe = try runMPI(ranks: 1, ["bench", "allreduce", "--model", "lenet", "--rounds", "1"])
        if probe.stderr.contains("built without MPI") {
            throw missingPrerequisite("cortex was built without the MPI trait (scripts/test builds with --traits default,MPI)")
        }
        XCTAssertEqual(probe.status, 0, probe.stderr)
    }
}

/// Rank 1 of two, for checks in one process: a broadcast from rank 0 delivers `rootValue`
/// (eight bytes); sums add nothing from rank 0.
private final class SecondRank: Communicator {
    let rootValue: UInt64
    init(rootValue: UInt64) { self.rootValue = rootValue }
    var rank: Int { 1 }
    var size: Int { 2 }
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {}
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {}
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        precondition(buffer.count == 8)
        withUnsafeBytes(of: rootValue) { buffer.copyMemory(from: $0) }
    }
    func barrier() throws {}
}

/// A job under mpirun whose output goes to files.
private struct MPIJob {
    let process: Process
    let folder: URL

    func wait(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        if process.isRunning { return false }
        process.waitUntilExit()
        return true
    }

    func stdout() -> String { (try? String(contentsOf: folder.appendingPathComponent("out"), encoding: .utf8)) ?? "" }
    func stderr() -> String { (try? String(contentsOf: folder.appendingPathComponent("err"), encoding: .utf8)) ?? "" }
}

private let mpirunFlags = ["--allow-run-as-root", "--oversubscribe", "--mca", "btl_tcp_if_include", "lo"]

private func startMPI(arguments: [String]) throws -> MPIJob {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cortex-mpi-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let out = folder.appendingPathComponent("out"), err = folder.appendingPathComponent("err")
    FileManager.default.createFile(atPath: out.path, contents: nil)
    FileManager.default.createFile(atPath: err.path, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/mpirun")
    process.arguments = mpirunFlags + arguments
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    process.standardInput = FileHandle.nullDevice
    try process.run()
    return MPIJob(process: process, folder: folder)
}

private func startMPI(ranks: Int, _ arguments: [String]) throws -> MPIJob {
    try startMPI(arguments: ["-np", "\(ranks)", try cortexExecutable()] + arguments)
}

/// Runs a job to its end (at most 600 s) and returns its status and output.
private func runMPI(arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let job = try startMPI(arguments: arguments)
    defer { try? FileManager.default.removeItem(at: job.folder) }
    if !job.wait(timeout: 600) {
        job.process.terminate()
        job.process.waitUntilExit()
        XCTFail("mpirun \(arguments.joined(separator: " ")) ran for more than 600 s")
    }
    return (job.process.terminationStatus, job.stdout(), job.stderr())
}

private func runMPI(ranks: Int, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    try runMPI(arguments: ["-np", "\(ranks)", try cortexExecutable()] + arguments)
}

/// The process of rank `rank` among the descendants of `launcher` (read from /proc: the
/// rank is in its environment as OMPI_COMM_WORLD_RANK).
private func rankProcess(_ rank: Int, under launcher: Int32) -> Int32? {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
    for entry in entries {
        guard let pid = Int32(entry), pid != launcher,
            let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ"),
            let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            stat.contains("(cortex)")
        else { continue }
        let variables = environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        if variables.contains("OMPI_COMM_WORLD_RANK=\(rank)") && isDescendant(pid, of: launcher) { return pid }
    }
    return nil
}

private func isDescendant(_ pid: Int32, of ancestor: Int32) -> Bool {
    var current = pid
    for _ in 0..<8 {
        guard let stat = try? String(contentsOfFile: "/proc/\(current)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 1, let parent = Int32(fields[1]) else { return false }
        if parent == ancestor { return true }
        current = parent
    }
    return false
}
