import ArgumentParser
import Cortex
import Data
import Foundation
import Models
import Recipes

/// `cortex generate`: text from a `cortex train text` checkpoint, streamed as it is drawn.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text from a trained char-level model (GPT with a key/value cache, RNNs with carried state)."
    )

    @Option(
        help: "Checkpoint written by cortex train text (best.safetensors or last.safetensors).",
        completion: .file(extensions: ["safetensors"]), transform: ShippedModels.resolve) var checkpoint: String
    @Option(help: "Text to start from (default: a newline).") var prompt: String?
    @Option(help: "Read the prompt from this file ('-': standard input).", completion: .file()) var promptFile: String?
    @Option(help: "Independent samples from the same prompt, separated by a line of dashes.") var numSamples = 1
    @Option(help: "Characters to generate.") var length = 500
    @Option(help: "Softmax temperature (0 = always the most likely character).") var temperature: Float = 0.8
    @Option(help: "Sample among the k most likely characters only (0 = all).") var topK = 40
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard length >= 0 else { throw ValidationError("--length must not be negative, got \(length)") }
        guard temperature >= 0 else { throw ValidationError("--temperature must not be negative, got \(temperature)") }
        guard topK >= 0 else { throw ValidationError("--top-k must not be negative, got \(topK)") }
        guard numSamples >= 1 else { throw ValidationError("--num-samples must be at least 1, got \(numSamples)") }
        if prompt != nil && promptFile != nil { throw ValidationError("give --prompt or --prompt-file, not both") }
    }

    func run() throws {
        try reportingFailures("generate") {
            Runtime.configure(threads: common.threads)
            let (model, tokenizer) = try {
                let c = try TextCheckpoint(path: checkpoint)
                return (c.model, c.tokenizer)
            }()
            let given =
                try promptFile.map { file in
                    if file == "-" {
                        return String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                    }
                    return try TextFile.read(path: file)
                } ?? prompt
            let start = given ?? (tokenizer.vocabulary.contains("\n") ? "\n" : String(tokenizer.vocabulary[0]))
            guard !start.isEmpty else { throw CommandFailure("the prompt is empty") }
            let promptTokens = try tokenizer.encode(start)
            var generator = RandomGenerator(seed: common.seed)
            let output = FileHandle.standardOutput
            let begin = DispatchTime.now().uptimeNanoseconds
            var samples: [String] = []
            var generated = 0
            for sample in 0..<numSamples {
                if sample > 0 { output.write(Data("---------------\n".utf8)) }
                output.write(Data(start.utf8))
                let tokens = generate(
                    session: model.makeSession(), prompt: promptTokens, count: length,
                    temperature: temperature, topK: topK > 0 ? topK : nil, generator: &generator
                ) { token in
                    output.write(Data(tokenizer.decode([token]).utf8))
                }
                output.write(Data("\n".utf8))
                samples.append(start + tokenizer.decode(tokens))
                generated += tokens.count
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9
            let rate = seconds > 0 ? Double(generated) / seconds : 0
            printError(
                String(
                    format: "%d characters in %.3f s (%.0f characters/s, %@)", generated, seconds, rate,
                    model.kind == "gpt" ? "key/value cache" : "carried state"))
            if common.json {
                printJSON([
                    "chars": generated, "chars_per_s": rate, "seconds": seconds, "model": model.kind,
                    "text": samples[0], "samples": samples
                ])
            }
        }
    }
}
