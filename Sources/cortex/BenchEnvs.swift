import ArgumentParser
import Dispatch
import Envs
import Foundation

/// `cortex bench envs`: steps per second of every game on one core, with uniformly random
/// actions and resets included — in `grid` mode (step + object planes) and in `pixels` mode
/// (step + drawing + 84 × 84 downsampling). With `--random-stats`, also the average return and
/// length of a random policy (sticky actions 0.1, as MinAtar plays) for comparison with MinAtar.
struct BenchEnvs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "envs",
        abstract: "Game speed (steps/s, grid and pixels) and random-policy statistics.")

    @OptionGroup var common: CommonOptions

    @Option(help: "Steps per timed run in grid mode.")
    var gridSteps = 2_000_000

    @Option(help: "Steps per timed run in pixels mode.")
    var pixelSteps = 200_000

    @Option(help: "Timed runs per measurement (the best is kept).")
    var repetitions = 3

    @Option(help: "Games to measure, comma-separated.")
    var games: String = Games.names.joined(separator: ",")

    @Flag(help: "Also play random-policy episodes and report average return and length.")
    var randomStats = false

    @Option(help: "Episodes per game for --random-stats.")
    var episodes = 1000

    func validate() throws {
        guard gridSteps >= 1, pixelSteps >= 1 else {
            throw ValidationError("--grid-steps and --pixel-steps must be at least 1")
        }
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1, got \(repetitions)") }
        guard episodes >= 1 else { throw ValidationError("--episodes must be at least 1, got \(episodes)") }
        for name in gameList where (try? Games.make(name)) == nil {
            throw ValidationError(GameError.unknownGame(name).description)
        }
    }

    var gameList: [String] { games.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

    func run() throws {
        printError(
            "bench envs: one core, random actions, best of \(repetitions); grid \(gridSteps) steps, pixels \(pixelSteps) steps"
        )
        var rows: [(game: String, mode: ObservationMode, stepsPerSecond: Double)] = []
        for game in gameList {
            for mode in ObservationMode.allCases {
                let steps = mode == .grid ? gridSteps : pixelSteps
                var best = 0.0
                for repetition in 0..<repetitions {
                    let start = DispatchTime.now().uptimeNanoseconds
                    let finished = try Games.randomRollout(
                        game, observation: mode, steps: steps,
                        seed: common.seed &+ UInt64(repetition))
                    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                    best = max(best, Double(steps) / seconds)
                    if finished.isEmpty && steps > 100_000 {
                        printError("  \(game): no episode ended in \(steps) steps")
                    }
                }
                rows.append((game, mode, best))
                printError("  \(game) \(mode.rawValue): \(Int(best)) steps/s")
            }
        }
        print("game             mode          steps/s")
        for row in rows {
            print(
                padded(row.game, 16) + " " + padded(row.mode.rawValue, 6)
                    + String(format: " %14.0f", row.stepsPerSecond))
        }

        printError("vector environments: N copies stepped together, \(common.threads) thread(s)")
        let vector = try benchVectorEnvironments(
            games: gameList, steps: gridSteps / 4, seed: common.seed, threads: common.threads)
        print("game             vector N      steps/s")
        for row in vector {
            print(
                padded(row["game"] as! String, 16)
                    + String(format: " %8d %12.0f", row["envs"] as! Int, row["steps_per_s"] as! Double))
        }

        var statistics: [(game: String, meanReturn: Double, meanLength: Double, standardError: Double)] = []
        if randomStats {
            for game in gameList {
                let records = try Games.randomEpisodes(
                    game, count: episodes, seed: common.seed, stickyActionProbability: 0.1)
                let returns = records.map { Double($0.totalReward) }
                let mean = returns.reduce(0, +) / Double(returns.count)
                let variance =
                    returns.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(1, returns.count - 1))
                let meanLength = Double(records.map(\.length).reduce(0, +)) / Double(records.count)
                statistics.append((game, mean, meanLength, (variance / Double(returns.count)).squareRoot()))
            }
            print("random policy, \(episodes) episodes, sticky actions 0.1")
            print("game             mean return   ± s.e.   mean length")
            for row in statistics {
                print(
                    padded(row.game, 16)
                        + String(format: " %11.3f %8.3f %13.1f", row.meanReturn, row.standardError, row.meanLength))
            }
        }

        if common.json {
            var object: [String: Any] = [
                "envs": rows.map {
                    ["game": $0.game, "mode": $0.mode.rawValue, "steps_per_s": $0.stepsPerSecond] as [String: Any]
                },
                "vector": vector
            ]
            if randomStats {
                object["random_policy"] = statistics.map {
                    [
                        "game": $0.game, "episodes": episodes, "sticky": 0.1, "mean_return": $0.meanReturn,
                        "return_standard_error": $0.standardError, "mean_length": $0.meanLength
                    ] as [String: Any]
                }
            }
            printJSON(object)
        }
    }
}

/// `text` padded with spaces to `width` characters.
private func padded(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}
