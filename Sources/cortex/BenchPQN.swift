import Agents
import Cortex
import Dispatch
import Envs
import Foundation

/// `cortex bench envs`, vector part: steps/s of a `VectorEnvironment` of N copies of each game
/// (grid observations written as one batch every step, uniformly random actions, autoreset),
/// for N = 1, 16, 128; steps count every copy's step.
func benchVectorEnvironments(games: [String], steps: Int, seed: UInt64, threads: Int) throws -> [[String: Any]] {
    var rows: [[String: Any]] = []
    for game in games {
        for count in [1, 16, 128] {
            var vector = VectorEnvironment(count: count) { _ in try! Games.makeMinAtar(game, seed: seed) }
            vector.threads = threads
            vector.reset(seed: seed)
            var batch = [Float](repeating: 0, count: count * vector.observationShape.count)
            var actions = [Int](repeating: 0, count: count)
            var random = RandomGenerator(seed: seed)
            let calls = max(1, steps / count)
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<calls {
                for i in 0..<count { actions[i] = random.nextInt(below: vector.actionCount) }
                actions.withUnsafeBufferPointer { vector.step($0) }
                batch.withUnsafeMutableBufferPointer { vector.writeObservations(into: $0) }
            }
            let rate = Double(calls * count) / (Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
            printError("  \(game) vector N = \(count): \(Int(rate)) steps/s")
            rows.append(["game": game, "envs": count, "threads": threads, "steps_per_s": rate])
        }
    }
    return rows
}

/// `cortex bench dqn`, PQN part: frames/s of the whole PQN loop on Breakout with the preset's
/// rollouts and minibatches (acting, Q(λ) targets and updates), after one warm-up rollout.
func benchPQNLoop(frames: Int, seed: UInt64) throws -> (framesPerSecond: Double, cpuMillisecondsPerFrame: Double) {
    var config = PQNConfig(preset: "breakout")
    config.seed = seed
    config.evalEvery = 0
    config.checkpointEvery = Int.max
    config.frames = config.rolloutSize + max(config.rolloutSize, frames)
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cortex-bench-pqn-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let threads = (Runtime.blasThreads, Runtime.kernelThreadsOverride)
    defer { (Runtime.blasThreads, Runtime.kernelThreadsOverride) = threads }
    let trainer = try PQNTrainer(config: config, folder: folder)
    var timed: (start: (Int, UInt64, Double)?, end: (Int, UInt64, Double)?) = (nil, nil)
    trainer.onProgress = { frame, _ in
        let mark = (frame, DispatchTime.now().uptimeNanoseconds, processCPUSeconds())
        if timed.start == nil { timed.start = mark } else { timed.end = mark }
    }
    _ = try trainer.run()
    guard let s = timed.start, let e = timed.end, e.0 > s.0 else { return (.nan, .nan) }
    return (Double(e.0 - s.0) / (Double(e.1 - s.1) * 1e-9), (e.2 - s.2) / Double(e.0 - s.0) * 1000)
}
