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
            GTPCommand.self, MatchCommand.self, Generate.self, GenerateImages.self, Export.self, PlotRuns.self,
            ScenesCommand.self, Segment.self, Detect.self, Caption.self
        ])

    /// Parses and runs a command. Usage errors print as the argument parser prints them; any
    /// other error a command throws prints as one line, `cortex <command>: <what went wrong>`,
    /// and the process exits with status 1 — never a trace.
    static func main() {
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exitOnUsageError(error, command: commandNames(in: Array(CommandLine.arguments.dropFirst())))
            exit(withError: error)
        }
        do {
            try command.run()
        } catch let error where String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
            exitOnUsageError(error, command: path(of: type(of: command)))
            exit(withError: error)
        } catch {
            let what = (error as? CustomStringConvertible)?.description ?? error.localizedDescription
            printError("cortex \(path(of: type(of: command)).joined(separator: " ")): \(what)")
            Foundation.exit(1)
        }
    }

    /// A flag that is unknown, missing or out of range (found while parsing or when the run
    /// builds its config) ends the process with one line and status 64 (EX_USAGE); other
    /// errors return.
    static func exitOnUsageError(_ error: Error, command names: [String]) {
        guard exitCode(for: error) == .validationFailure else { return }
        let lines = message(for: error).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let name = (["cortex"] + names).joined(separator: " ")
        printError("\(name): \(lines.joined(separator: "; ")) (see \(name) --help)")
        Foundation.exit(ExitCode.validationFailure.rawValue)
    }

    /// The subcommand names the arguments start with (`train text --embed 0` → `["train", "text"]`).
    static func commandNames(in arguments: [String]) -> [String] {
        var names: [String] = []
        var commands = configuration.subcommands
        for argument in arguments {
            guard let next = commands.first(where: { $0._commandName == argument }) else { break }
            names.append(argument)
            commands = next.configuration.subcommands
        }
        return names
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
