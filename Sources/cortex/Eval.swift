import Agents
import ArgumentParser
import Cortex
import Envs
import Foundation
import Models

/// `cortex eval <game> --checkpoint FILE`: evaluation episodes of a trained agent;
/// `cortex eval vit|lenet --checkpoint FILE`: test accuracy of an image classifier.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a trained model: a DQN agent on its game (mean, std, min, max return), or an image classifier (accuracy, per class, confusion matrix).")

    @Argument(help: "What to evaluate: a game (\(Games.names.joined(separator: ", "))) or an image model (vit, lenet).")
    var target: String
    @Option(help: "Checkpoint written by `cortex train`.")
    var checkpoint: String
    @Option(help: "Evaluation episodes.")
    var episodes: Int = 100
    @Option(help: "ε of the ε-greedy policy (DQN paper's evaluation: 0.05).")
    var epsilon: Float = 0.05
    @Option(help: "Episodes are truncated after this many steps (a good Breakout policy can play forever).")
    var maxSteps: Int = 10_000
    @OptionGroup var vision: VisionEvalOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard episodes > 0 else { throw ValidationError("--episodes must be positive, got \(episodes)") }
        guard (0...1).contains(epsilon) else { throw ValidationError("--epsilon must be in [0, 1], got \(epsilon)") }
        guard maxSteps > 0 else { throw ValidationError("--max-steps must be positive, got \(maxSteps)") }
    }

    func run() throws {
        if let kind = ImageModelKind(rawValue: target) {
            try reportingFailures("eval \(target)") {
                try VisionEvaluation(kind: kind, checkpoint: checkpoint, options: vision, common: common).run()
            }
            return
        }
        guard Games.names.contains(target) else {
            throw ValidationError("unknown evaluation target '\(target)'; expected one of \(Games.names.joined(separator: ", ")), vit, lenet")
        }
        guard FileManager.default.fileExists(atPath: checkpoint) else { throw ValidationError("no such checkpoint: \(checkpoint)") }
        Runtime.configure(threads: common.threads)
        var (config, network) = try DQNCheckpoint.loadNetwork(checkpoint)
        guard config.game == target else {
            throw ValidationError("\(checkpoint) is an agent for \(config.game), not \(target)")
        }
        config.evalMaxSteps = maxSteps
        let progress = Progress(total: episodes, label: "\(target) episodes")
        var returns: [Float] = []
        let results = try DQNEvaluation.run(network: network, config: config, episodes: episodes, epsilon: epsilon,
                                            seed: common.seed) { index, episode in
            returns.append(episode.totalReward)
            progress.update(index + 1, metrics: [("return", Double(episode.totalReward)),
                                                 ("mean", Double(returns.reduce(0, +) / Float(returns.count)))])
        }
        progress.finish()
        let totals = results.episodes.map(\.totalReward)
        let (mean, std) = (results.meanReturn, results.stdReturn)
        print("\(target) (\(config.observation)), \(episodes) episodes, ε = \(epsilon), sticky actions \(config.stickyActions):")
        print(String(format: "  return mean %.2f  std %.2f  min %.0f  max %.0f", mean, std, totals.min()!, totals.max()!))
        print(String(format: "  episode length mean %.0f; %d truncated at %d steps",
                     Double(results.episodes.map(\.length).reduce(0, +)) / Double(episodes), results.truncatedCount, maxSteps))
        if common.json {
            printJSON(["episodes": episodes, "mean": Double(mean), "std": Double(std), "min": Double(totals.min()!),
                       "max": Double(totals.max()!), "truncated": results.truncatedCount])
        }
    }
}
