import Agents
import ArgumentParser
import Cortex
import Foundation

/// `cortex bench dqn`: DQN update steps per second for both Q-networks and frames per
/// second of the whole training loop. PyTorch on the same updates: `cortex bench pytorch`.
struct BenchDQN: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dqn",
        abstract: "DQN: update steps/s of the MinAtar and Nature networks, and training-loop frames/s.")

    @Option(help: "Timed updates per network.")
    var updates = 300
    @Option(help: "Frames of the timed training loop (after 1,000 frames of random play).")
    var frames = 5_000
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard updates > 0, frames > 0 else { throw ValidationError("--updates and --frames must be positive") }
    }

    /// Seconds per update of an agent on random batches (replay sampling excluded).
    private func updateSeconds(shape: [Int], actions: Int, count: Int) -> Double {
        // As `cortex train <game>` runs the small network: one-thread GEMMs, passes side by side.
        Runtime.configure(threads: common.threads, smallMatrices: shape[1] <= 10)
        defer { Runtime.configure(threads: common.threads) }
        let (agent, batch) = dqnUpdateFixture(shape: shape, actions: actions, batchSize: 32, seed: common.seed)
        for _ in 0..<min(20, count) { agent.update(batch) }
        var times: [Double] = []
        for _ in 0..<count {
            let start = DispatchTime.now().uptimeNanoseconds
            agent.update(batch)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
        }
        return times.sorted()[times.count / 2]
    }

    func run() throws {
        Runtime.configure(threads: common.threads)
        printError("bench dqn: \(common.threads) thread(s); median of \(updates) updates per network")
        printError("  against PyTorch in one run: cortex bench pytorch --workloads dqn-minatar,dqn-nature")
        let minAtar = updateSeconds(shape: [4, 10, 10], actions: 3, count: updates)
        printError("  MinAtar network: \(String(format: "%.3f", minAtar * 1000)) ms/update")
        let nature = updateSeconds(shape: [4, 84, 84], actions: 4, count: max(1, updates / 10))
        printError("  Nature network: \(String(format: "%.3f", nature * 1000)) ms/update")

        // The whole loop: env step + ε-greedy act + replay + one batch-32 update per frame.
        var config = DQNConfig()
        config.seed = common.seed
        config.learningStarts = 1_000
        config.frames = config.learningStarts + frames
        config.evalEvery = 0
        config.checkpointEvery = Int.max
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cortex-bench-dqn-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        Runtime.configure(threads: common.threads, smallMatrices: true)
        defer { Runtime.configure(threads: common.threads) }
        let trainer = try DQNTrainer(config: config, folder: folder)
        var timedStart: (frame: Int, time: UInt64, cpu: Double)?
        var timedEnd: (frame: Int, time: UInt64, cpu: Double)?
        trainer.onProgress = { frame, _ in
            let now = DispatchTime.now().uptimeNanoseconds, cpu = processCPUSeconds()
            if frame >= config.learningStarts + 500 && timedStart == nil { timedStart = (frame, now, cpu) }
            timedEnd = (frame, now, cpu)
        }
        _ = try trainer.run()
        var loopRate = Double.nan, cpuPerFrame = Double.nan
        if let s = timedStart, let e = timedEnd, e.frame > s.frame {
            loopRate = Double(e.frame - s.frame) / (Double(e.time - s.time) * 1e-9)
            cpuPerFrame = (e.cpu - s.cpu) / Double(e.frame - s.frame)
        }
        print("DQN (batch 32, Double DQN, Huber, \(config.optimizer.rawValue), \(common.threads) thread(s))")
        print(String(format: "  MinAtar net 4×10×10:  %8.0f updates/s  (%.3f ms)", 1 / minAtar, minAtar * 1000))
        print(String(format: "  Nature net 4×84×84:   %8.1f updates/s  (%.2f ms)", 1 / nature, nature * 1000))
        let replayKind = "\(config.prioritized ? "prioritized" : "uniform") replay, \(config.nSteps)-step returns"
        print(
            "  training loop, Breakout grid, defaults (\(replayKind)): "
                + String(
                    format: "%.0f frames/s (one update per frame; %.3f ms of CPU per frame over all threads)", loopRate,
                    cpuPerFrame * 1000))
        // PQN's loop on the same machine in the same run (its Breakout preset).
        let pqn = try benchPQNLoop(frames: 20 * frames, seed: common.seed)
        print(
            "  PQN training loop, Breakout grid, preset (128 envs × 32 steps, 2 × 32 minibatches of 128): "
                + String(
                    format: "%.0f frames/s (%.3f ms of CPU per frame; %.1f× the DQN loop)", pqn.framesPerSecond,
                    pqn.cpuMillisecondsPerFrame, pqn.framesPerSecond / loopRate))
        if common.json {
            printJSON([
                "minatar_updates_per_s": 1 / minAtar, "nature_updates_per_s": 1 / nature,
                "loop_frames_per_s": loopRate, "loop_cpu_ms_per_frame": cpuPerFrame * 1000, "threads": common.threads,
                "pqn_loop_frames_per_s": pqn.framesPerSecond, "pqn_loop_cpu_ms_per_frame": pqn.cpuMillisecondsPerFrame
            ])
        }
    }
}

/// A DQN agent (the defaults of `cortex train`: Double DQN, Huber, Adam) for `shape`, and a fixed
/// random batch of `batchSize` transitions to update it on. Call after `Runtime.configure`: the
/// agent overlaps its forward passes when the kernels have two threads and BLAS one.
func dqnUpdateFixture(shape: [Int], actions: Int, batchSize: Int, seed: UInt64) -> (DQNAgent, ReplayBatch) {
    var config = DQNConfig()
    config.seed = seed
    config.batchSize = batchSize
    let agent = DQNAgent(config: config, observationShape: shape, actionCount: actions)
    agent.overlapTargets = Runtime.kernelThreads > 1 && Runtime.blasThreads == 1
    var generator = RandomGenerator(seed: seed)
    var batch = ReplayBatch(size: batchSize, observationSize: shape.reduce(1, *))
    for i in 0..<batch.states.count {
        batch.states[i] = generator.nextFloat() < 0.2 ? 1 : 0
        batch.nextStates[i] = generator.nextFloat() < 0.2 ? 1 : 0
    }
    for row in 0..<batch.size {
        batch.actions[row] = generator.nextInt(below: actions)
        batch.returns[row] = generator.nextFloat()
        batch.discounts[row] = 0.99
    }
    return (agent, batch)
}
