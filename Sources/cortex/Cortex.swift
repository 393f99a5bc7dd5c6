import ArgumentParser
import Cortex
import Foundation

@main
struct CortexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cortex",
        abstract: "Deep learning and reinforcement learning sandbox: train, evaluate, watch, benchmark.",
        version: "0.1.0",
        subcommands: [
            Train.self, Eval.self, Classify.self, Bench.self, Play.self, Watch.self,
            GTPCommand.self, MatchCommand.self, Generate.self, Export.self, PlotRuns.self
        ])

    /// Parses and runs a command. Usage errors print as the argument parser prints them; any
    /// other error a command throws prints as one line, `cortex <command>: <what went wrong>`,
    /// and the process exits with status 1 — never a trace.
    static func main() {
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            try command.run()
        } catch let error where String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
            exit(withError: error)
        } catch {
            let what = (error as? CustomStringConvertible)?.description ?? error.localizedDescription
            printError("cortex \(path(of: type(of: command)).joined(separator: " ")): \(what)")
            Foundation.exit(1)
        }
    }

    /// The subcommand names from the root down to `target` (`["train", "breakout"]`).
    static func path(of target: ParsableCommand.Type, in commands: [ParsableCommand.Type]? = nil) -> [String] {
        for command in commands ?? configuration.subcommands {
            let name = command.configuration.commandName ?? String(describing: command).lowercased()
            if command == target { return [name] }
            let below = path(of: target, in: command.configuration.subcommands)
            if !below.isEmpty { return [name] + below }
        }
        return []
    }
}
