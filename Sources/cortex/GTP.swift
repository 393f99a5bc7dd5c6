import Agents
import ArgumentParser
import Cortex
import Envs
import Foundation

/// `cortex gtp`: a Go Text Protocol v2 engine on stdin/stdout, for GoGui, Sabaki, or a match.
struct GTPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gtp",
        abstract:
            "Play Go through GTP v2 on standard input and output: a trained agent (--checkpoint) or the random eye-preserving player.",
        discussion: """
            Besides the GTP v2 commands, a player that can show its thinking (--checkpoint, --mcts) answers \
            the analysis commands of Go GUIs: `lz-analyze [color] [interval]` (Leela Zero's format, for \
            Lizzie and Sabaki) and `kata-analyze [color] [interval]` (KataGo's, for Sabaki, KaTrain and \
            Lizzie), which stream one `info move … visits … winrate … prior … lcb … order … pv …` line \
            every interval (centiseconds) until the next command arrives; and `gogui-analyze_commands` with \
            `cortex-policy` and `cortex-winrates` for GoGui's Analyze menu. --mcts searches while analysing \
            and keeps the tree for the next genmove; --checkpoint answers from one network evaluation \
            (priors softmax(Q/0.1), win rate (Q + 1)/2, visits 1). The random player offers none of them. \
            `printsgf FILE` writes the game record to FILE. Engine command for a GUI: \
            `cortex gtp --mcts --size 9` or `cortex gtp --checkpoint <file or shipped name>`.
            """
    )

    @OptionGroup var common: CommonOptions

    @Option(help: "Initial board size (GTP boardsize changes it).")
    var size = 19

    @Option(help: "Initial komi.")
    var komi = 7.5

    @Option(
        help: "A `cortex train go` (DQN) or `cortex train go-imitation|go-selfplay` (tree search over its policy/value network) checkpoint (default: the random eye-preserving player).",
        completion: .file(extensions: ["safetensors"]), transform: ShippedModels.resolve)
    var checkpoint: String?

    @OptionGroup var search: GoSearchOptions

    func validate() throws {
        guard (2...25).contains(size) else { throw ValidationError("--size must be in 2...25, got \(size)") }
        if search.mcts && checkpoint != nil { throw ValidationError("--mcts and --checkpoint exclude each other") }
    }

    func run() throws {
        var generator: GoMoveGenerator = GoRandomPlayer(seed: common.seed)
        var searcher: GoMCTSPlayer?
        if let checkpoint {
            try reportingFailures("gtp") {
                Runtime.configure(threads: common.threads)
                generator = try GoCheckpointPlayer.make(
                    checkpoint: checkpoint, seed: common.seed, search: search.overrides(threads: common.threads),
                    name: "cortex")
                searcher = generator as? GoMCTSPlayer
            }
        }
        if search.mcts {
            searcher = GoMCTSPlayer(
                config: search.config(threads: common.threads), threads: common.threads,
                seed: common.seed)
        }
        if let player = searcher {
            // One progress line per move on stderr, where GTP controllers show engine output.
            player.onSearch = { result in
                printError(
                    String(
                        format: "%@: win rate %.1f%%, %d playouts in %.2f s (%.0f/s), line %@",
                        result.move.vertex(size: player.search.size), 100 * result.winRate, result.playouts,
                        result.seconds, Double(result.playouts) / max(result.seconds, 1e-9),
                        result.principalVariation.map { $0.vertex(size: player.search.size) }.joined(separator: " ")))
            }
            generator = player
        }
        let engine = GTPEngine(
            size: size, komi: komi, generator: generator,
            name: "Cortex", version: CortexCommand.configuration.version)
        let stdout = FileHandle.standardOutput
        // FileHandle writes go straight to the descriptor: each response (and each analysis
        // line) reaches the controller at once, with no stdio buffering in between.
        engine.run(input: GTPInput(), write: { stdout.write(Data($0.utf8)) })
    }
}
