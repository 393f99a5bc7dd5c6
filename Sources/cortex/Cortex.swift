import ArgumentParser
import Cortex

@main
struct CortexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cortex",
        abstract: "Deep learning and reinforcement learning sandbox: train, evaluate, watch, benchmark.",
        version: "0.1.0",
        // BenchGo sits at the root until `cortex bench` (Bench.swift) is on main; then it moves
        // into Bench's subcommands.
        subcommands: [GTPCommand.self, MatchCommand.self, BenchGo.self])
}
