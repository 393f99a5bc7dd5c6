import Cortex
import Data
import Foundation
import Models
import Recipes

/// A `cortex train text` checkpoint: its model (weights loaded, evaluation mode) and tokenizer.
struct TextCheckpoint {
    let model: LanguageModel
    let tokenizer: CharTokenizer

    init(path: String) throws {
        let (model, metadata) = try LanguageModel.load(from: path)
        guard let vocabulary = metadata[TextTrainer.vocabularyKey] else {
            throw LanguageModelError.badCheckpoint(
                path: path, reason: "its metadata has no '\(TextTrainer.vocabularyKey)'")
        }
        tokenizer = try CharTokenizer(serialized: vocabulary)
        guard tokenizer.vocabularySize == model.vocabularySize else {
            throw LanguageModelError.badCheckpoint(
                path: path,
                reason: "\(tokenizer.vocabularySize) characters for a model of \(model.vocabularySize) tokens")
        }
        self.model = model
    }
}
