import Agents
import ArgumentParser
import Cortex
import Envs
import Foundation
import Models
import Recipes

/// `cortex eval <game> --checkpoint FILE`: evaluation episodes of a trained agent;
/// `cortex eval vit|lenet|resnet --checkpoint FILE`: test accuracy of an image classifier.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Evaluate a trained model: a DQN agent on its game (mean, std, min, max return), a Go agent against the random player, or an image classifier (accuracy, per class, confusion matrix)."
    )

    @Argument(
        help:
            "What to evaluate: a game (\(Games.names.joined(separator: ", "))), go, an image model (vit, lenet, resnet) or text.",
        completion: .list(Eval.targets))
    var target: String
    static let targets = Games.names + ["go", "vit", "lenet", "resnet", "text"]
    @Option(
        help: "Checkpoint written by `cortex train`.", completion: .file(extensions: ["safetensors"]),
        transform: ShippedModels.resolve)
    var checkpoint: String
    @Option(help: "Evaluation episodes.")
    var episodes: Int = 100
    @Option(help: "ε of the ε-greedy policy (DQN paper's evaluation: 0.05).")
    var epsilon: Float = 0.05
    @Option(help: "Go: board size (default: the one the agent trained on; the network plays any size).")
    var size: Int?
    @Option(help: "Go: komi.")
    var komi = 7.5
    @Option(help: "Episodes are truncated after this many steps (a good Breakout policy can play forever).")
    var maxSteps: Int = 10_000
    @Option(help: "text: fixed batches in the loss estimate.")
    var evalBatches = 200
    @Option(help: "text: sequences per batch.")
    var batch = 12
    @Option(help: "text: sequence length (default 64, at most a GPT's context).")
    var block: Int?
    @OptionGroup var vision: VisionEvalOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard episodes > 0 else { throw ValidationError("--episodes must be positive, got \(episodes)") }
        guard (0...1).contains(epsilon) else { throw ValidationError("--epsilon must be in [0, 1], got \(epsilon)") }
        guard maxSteps > 0 else { throw ValidationError("--max-steps must be positive, got \(maxSteps)") }
    }

    func run() throws {
        if target == "go" { return try reportingFailures("eval go") { try evaluateGo() } }
        if target == "text" {
            guard evalBatches >= 1, batch >= 1, (block ?? 1) >= 1 else {
                throw ValidationError("--eval-batches, --batch and --block must be at least 1")
            }
            Runtime.configure(threads: common.threads)
            return try TextEvaluation(
                checkpoint: checkpoint, data: vision.data ?? ShippedModels.projectFile(TextTrainConfig.defaultCorpus),
                batches: evalBatches, batchSize: batch, blockSize: block, json: common.json
            ).run()
        }
        if let kind = ImageModelKind(rawValue: target) {
            try reportingFailures("eval \(target)") {
                try VisionEvaluation(kind: kind, checkpoint: checkpoint, options: vision, common: common).run()
            }
            return
        }
        guard Games.names.contains(target) else {
            throw ValidationError(
                "unknown evaluation target '\(target)'; expected one of \(Games.names.joined(separator: ", ")), go, vit, lenet, resnet, text"
            )
        }
        guard FileManager.default.fileExists(atPath: checkpoint) else {
            throw CommandFailure("no such checkpoint: \(checkpoint)")
        }
        Runtime.configure(threads: common.threads)
        // A PQN checkpoint (its metadata says so) plays batched, 16 episodes at a time; a DQN one one by one.
        let pqn = PQNCheckpoint.isPQN(checkpoint) ? try PQNCheckpoint.loadNetwork(checkpoint) : nil
        let dqn = pqn == nil ? try DQNCheckpoint.loadNetwork(checkpoint) : nil
        var config = pqn?.config.environmentSettings ?? dqn!.config
        guard config.game == target else {
            throw CommandFailure("\(checkpoint) is an agent for \(config.game), not \(target)")
        }
        config.evalMaxSteps = maxSteps
        let progress = Progress(total: episodes, label: "\(target) episodes")
        var returns: [Float] = []
        let onEpisode = { (index: Int, episode: DQNEvaluation.Episode) in
            returns.append(episode.totalReward)
            progress.update(
                index + 1,
                metrics: [
                    ("return", Double(episode.totalReward)),
                    ("mean", Double(returns.reduce(0, +) / Float(returns.count)))
                ])
        }
        let results: DQNEvaluation.Results
        if let pqn {
            let settings = config
            results = try PQNEvaluation.run(
                network: pqn.network, episodes: episodes, epsilon: epsilon, seed: common.seed,
                maxSteps: maxSteps, make: { try DQNEnvironments.make(settings, seed: $0, maxSteps: $1) },
                onEpisode: onEpisode)
        } else {
            results = try DQNEvaluation.run(
                network: dqn!.network, config: config,
                episodes: episodes, epsilon: epsilon, seed: common.seed, onEpisode: onEpisode)
        }
        progress.finish()
        let totals = results.episodes.map(\.totalReward)
        let (mean, std) = (results.meanReturn, results.stdReturn)
        print(
            "\(target) (\(config.observation)), \(episodes) episodes, ε = \(epsilon), sticky actions \(config.stickyActions):"
        )
        print(
            String(format: "  return mean %.2f  std %.2f  min %.0f  max %.0f", mean, std, totals.min()!, totals.max()!))
        print(
            String(
                format: "  episode length mean %.0f; %d truncated at %d steps",
                Double(results.episodes.map(\.length).reduce(0, +)) / Double(episodes), results.truncatedCount, maxSteps
            ))
        if common.json {
            printJSON([
                "episodes": episodes, "mean": Double(mean), "std": Double(std), "min": Double(totals.min()!),
                "max": Double(totals.max()!), "truncated": results.truncatedCount
            ])
        }
    }
}

extension Eval {
    /// `cortex eval go`: greedy games of the agent against the random eye-preserving player,
    /// colours alternating, 16 games at a time with one batched forward per turn.
    func evaluateGo() throws {
        Runtime.configure(threads: common.threads)
        var (config, network) = try GoDQNCheckpoint.loadNetwork(checkpoint)
        let trainedSize = config.size
        if let size {
            guard (2...25).contains(size) else { throw CommandFailure("--size must be in 2...25, got \(size)") }
            config.size = size
        }
        config.komi = komi
        config.maxMoves = 0
        let progress = Progress(total: episodes, label: "go \(config.size)×\(config.size) games")
        var wins = 0.0
        let result = GoEvaluation.versusRandom(network: network, config: config, games: episodes, seed: common.seed) {
            finished, margin in
            wins += margin > 0 ? 1 : margin == 0 ? 0.5 : 0
            progress.update(finished, metrics: [("win_rate", wins / Double(finished))])
        }
        progress.finish()
        let black = stride(from: 0, to: episodes, by: 2).map { result.margins[$0] }
        let white = stride(from: 1, to: episodes, by: 2).map { result.margins[$0] }
        func score(_ margins: [Double]) -> Double { margins.map { $0 > 0 ? 1 : $0 == 0 ? 0.5 : 0 }.reduce(0, +) }
        let (low, high) = wilsonInterval(successes: Double(result.winRate) * Double(episodes), trials: episodes)
        let capped = result.lengths.filter { $0 >= config.moveCap }.count
        print(
            "go \(config.size)×\(config.size), komi \(komi), \(episodes) greedy games against the random player (agent trained on \(trainedSize)×\(trainedSize)):"
        )
        print(
            String(
                format: "  win rate %.1f%% [95%%: %.1f%%, %.1f%%]; as black %.1f/%d, as white %.1f/%d",
                100 * Double(result.winRate), 100 * low, 100 * high, score(black), black.count, score(white),
                white.count))
        print(
            String(
                format: "  mean margin %+.1f; mean length %.0f moves; %d capped at %d moves",
                result.meanMargin, result.meanLength, capped, config.moveCap))
        if common.json {
            printJSON([
                "games": episodes, "size": config.size, "win_rate": Double(result.winRate), "ci_low": low,
                "ci_high": high,
                "wins_as_black": score(black), "wins_as_white": score(white), "mean_margin": result.meanMargin,
                "mean_length": result.meanLength, "capped": capped
            ])
        }
    }
}
