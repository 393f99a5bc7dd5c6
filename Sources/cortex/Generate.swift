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
        abstract: "Generate text from a trained char-level model (GPT with a key/value cache, RNNs with carried state).")

    @Option(help: "Checkpoint written by cortex train text (best.safetensors or last.safetensors).") var checkpoint: String
    @Option(help: "Text to start from (default: a newline).") var prompt: String?
    @Option(help: "Characters to generate.") var length = 500
    @Option(help: "Softmax temperature (0 = always the most likely character).") var temperature: Float = 0.8
    @Option(help: "Sample among the k most likely characters only (0 = all).") var topK = 40
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard length >= 0 else { throw ValidationError("--length must not be negative, got \(length)") }
        guard temperature >= 0 else { throw ValidationError("--temperature must not be negative, got \(temperature)") }
        guard topK >= 0 else { throw ValidationError("--top-k must not be negative, got \(topK)") }
    }

    func run() throws {
        try reportingFailures("generate") {
            Runtime.configure(threads: common.threads)
            let (model, metadata) = try LanguageModel.load(from: checkpoint)
            guard let vocabulary = metadata[TextTrainer.vocabularyKey] else {
                throw LanguageModelError.badCheckpoint(path: checkpoint, reason: "its metadata has no '\(TextTrainer.vocabularyKey)'")
            }
            let tokenizer = try CharTokenizer(serialized: vocabulary)
            guard tokenizer.vocabularySize == model.vocabularySize else {
                throw LanguageModelError.badCheckpoint(path: checkpoint, reason: "\(tokenizer.vocabularySize) characters for a model of \(model.vocabularySize) tokens")
            }
            let start = prompt ?? (tokenizer.vocabulary.contains("\n") ? "\n" : String(tokenizer.vocabulary[0]))
            guard !start.isEmpty else { throw ValidationError("--prompt must not be empty") }
            let promptTokens = try tokenizer.encode(start)
            var generator = RandomGenerator(seed: common.seed)
            let output = FileHandle.standardOutput
            output.write(Data(start.utf8))
            let begin = DispatchTime.now().uptimeNanoseconds
            let tokens = generate(session: model.makeSession(), prompt: promptTokens, count: length, temperature: temperature,
                                  topK: topK > 0 ? topK : nil, generator: &generator) { token in
                output.write(Data(tokenizer.decode([token]).utf8))
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9
            output.write(Data("\n".utf8))
            let rate = seconds > 0 ? Double(tokens.count) / seconds : 0
            printError(String(format: "%d characters in %.3f s (%.0f characters/s, %@)", tokens.count, seconds, rate,
                              model.kind == "gpt" ? "key/value cache" : "carried state"))
            if common.json {
                printJSON(["chars": tokens.count, "chars_per_s": rate, "seconds": seconds, "model": model.kind,
                           "text": start + tokenizer.decode(tokens)])
            }
        }
    }
}
