import Cortex
import Foundation

/// Errors a user can cause with a text-model checkpoint.
public enum LanguageModelError: Error, CustomStringConvertible, LocalizedError, Equatable {
    case badCheckpoint(path: String, reason: String)

    public var description: String {
        switch self {
        case .badCheckpoint(let path, let reason): "\(path): not a text-model checkpoint: \(reason)"
        }
    }
    public var errorDescription: String? { description }
}

/// A character-level language model of either family, with what training, checkpoints and
/// generation need from it.
///
/// Checkpoint metadata: `text.model` (`gpt`, `lstm`, `gru`, `rnn`), `text.config` (JSON of
/// `GPTConfig` or `CharRNNConfig`); the caller adds the vocabulary and its training state.
public enum LanguageModel {
    case gpt(GPT)
    case recurrent(CharRNN)

    public static let kindKey = "text.model"
    public static let configKey = "text.config"

    /// A freshly initialised model of `kind` (`gpt`, `lstm`, `gru`, `rnn`).
    public static func make(
        kind: String, gpt: GPTConfig, recurrent: CharRNNConfig,
        generator: inout RandomGenerator
    ) -> LanguageModel {
        if kind == "gpt" { return .gpt(GPT(config: gpt, generator: &generator)) }
        var config = recurrent
        config.cell = RecurrentCellKind(rawValue: kind) ?? .lstm
        return .recurrent(CharRNN(config: config, generator: &generator))
    }

    public var module: any Module {
        switch self {
        case .gpt(let model): model
        case .recurrent(let model): model
        }
    }

    /// `gpt`, `lstm`, `gru` or `rnn`.
    public var kind: String {
        switch self {
        case .gpt: "gpt"
        case .recurrent(let model): model.config.cell.rawValue
        }
    }

    public var vocabularySize: Int {
        switch self {
        case .gpt(let model): model.config.vocabularySize
        case .recurrent(let model): model.config.vocabularySize
        }
    }

    /// Mean next-token cross-entropy on `[B, T]` inputs and targets.
    public func loss(inputs: [Int], targets: [Int], batchSize: Int) -> Tensor {
        switch self {
        case .gpt(let model): model.loss(inputs: inputs, targets: targets, batchSize: batchSize)
        case .recurrent(let model): model.loss(inputs: inputs, targets: targets, batchSize: batchSize)
        }
    }

    /// A generation session (evaluation mode): KV cache for a GPT, carried state for an RNN.
    public func makeSession() -> GenerationSession {
        switch self {
        case .gpt(let model): GPTSession(model: model)
        case .recurrent(let model): CharRNNSession(model: model)
        }
    }

    /// `text.model` and `text.config` for a checkpoint.
    public func metadata() -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let config: Data
        switch self {
        case .gpt(let model): config = try! encoder.encode(model.config)
        case .recurrent(let model): config = try! encoder.encode(model.config)
        }
        return [Self.kindKey: kind, Self.configKey: String(decoding: config, as: UTF8.self)]
    }

    /// The model a checkpoint describes, with its weights loaded, and the file's metadata.
    public static func load(from path: String) throws -> (model: LanguageModel, metadata: [String: String]) {
        let file = try SafeTensors.read(from: path)
        guard let kind = file.metadata[kindKey], let json = file.metadata[configKey] else {
            throw LanguageModelError.badCheckpoint(
                path: path,
                reason: "its metadata has no '\(kindKey)' and '\(configKey)' (was it written by `cortex train text`?)")
        }
        var generator = RandomGenerator(seed: 0)
        let model: LanguageModel
        let decoder = JSONDecoder()
        if kind == "gpt" {
            guard let config = try? decoder.decode(GPTConfig.self, from: Data(json.utf8)) else {
                throw LanguageModelError.badCheckpoint(path: path, reason: "'\(configKey)' is not a GPT configuration")
            }
            if let problem = config.problem {
                throw LanguageModelError.badCheckpoint(path: path, reason: "'\(configKey)': \(problem)")
            }
            model = .gpt(GPT(config: config, generator: &generator))
        } else if RecurrentCellKind(rawValue: kind) != nil {
            guard let config = try? decoder.decode(CharRNNConfig.self, from: Data(json.utf8)),
                config.cell.rawValue == kind
            else {
                throw LanguageModelError.badCheckpoint(
                    path: path, reason: "'\(configKey)' is not a \(kind) configuration")
            }
            if let problem = config.problem {
                throw LanguageModelError.badCheckpoint(path: path, reason: "'\(configKey)': \(problem)")
            }
            model = .recurrent(CharRNN(config: config, generator: &generator))
        } else {
            throw LanguageModelError.badCheckpoint(path: path, reason: "unknown model kind '\(kind)'")
        }
        var tensors: [String: Tensor] = [:]
        for (name, tensor) in file.tensors where !name.hasPrefix(Checkpoint.optimizerPrefix) { tensors[name] = tensor }
        try model.module.loadStateDict(tensors)
        model.module.eval()
        return (model, file.metadata)
    }
}
