import ArgumentParser
import Envs
import Foundation

/// `cortex gtp`: a Go Text Protocol v2 engine on stdin/stdout, for GoGui, Sabaki, or a match.
struct GTPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gtp",
        abstract: "Play Go through GTP v2 on standard input and output (random eye-preserving player for now).")

    @OptionGroup var common: CommonOptions

    @Option(help: "Initial board size (GTP boardsize changes it).")
    var size = 19

    @Option(help: "Initial komi.")
    var komi = 7.5

    func validate() throws {
        guard (2...25).contains(size) else { throw ValidationError("--size must be in 2...25, got \(size)") }
    }

    func run() throws {
        // When the agent exists, `--checkpoint` selects it here; until then the baseline plays.
        let engine = GTPEngine(size: size, komi: komi, generator: GoRandomPlayer(seed: common.seed),
                               name: "Cortex", version: CortexCommand.configuration.version)
        let stdout = FileHandle.standardOutput
        // FileHandle writes go straight to the descriptor: each response reaches the
        // controller at once, with no stdio buffering in between.
        engine.run(readLine: { Swift.readLine(strippingNewline: true) },
                   write: { stdout.write(Data($0.utf8)) })
    }
}
