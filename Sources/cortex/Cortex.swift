import ArgumentParser
import Cortex

@main
struct CortexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cortex",
        abstract: "Deep learning and reinforcement learning sandbox: train, evaluate, watch, benchmark.",
        version: "0.1.0",
        subcommands: [Train.self, Eval.self, Classify.self, Bench.self, Play.self, Watch.self,
                      GTPCommand.self, MatchCommand.self, Generate.self])
}
