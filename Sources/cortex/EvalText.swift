import Cortex
import Data
import Foundation
import Models
import Recipes

/// `cortex eval text --checkpoint FILE [--data TEXT]`: the loss of a char-level model on the
/// validation split (the last 10 %) of any UTF-8 text in its vocabulary, over fixed batches as
/// `cortex train text` estimates it.
struct TextEvaluation {
    let checkpoint: String
    let data: String
    let batches: Int
    let batchSize: Int
    let blockSize: Int?
    let json: Bool

    func run() throws {
        let loaded = try TextCheckpoint(path: checkpoint)
        let text = try TextFile.read(path: data)
        let corpus: CharCorpus
        do {
            corpus = try CharCorpus(text: text, tokenizer: loaded.tokenizer)
        } catch let error as DataError {
            throw CommandFailure(
                "\(data): \(error) — the model's vocabulary has \(loaded.tokenizer.vocabularySize) characters")
        }
        var block = blockSize ?? 64
        if case .gpt(let gpt) = loaded.model { block = min(block, gpt.config.blockSize) }
        guard corpus.validation.count > block + 1 else {
            throw CommandFailure(
                "\(data): the \(corpus.validation.count)-token validation split is too short for blocks of \(block)")
        }
        let evaluation = corpus.evaluationBatches(.validation, count: batches, batchSize: batchSize, blockSize: block)
        var losses: [Double] = []
        withNoGrad {
            for batch in evaluation {
                losses.append(
                    Double(
                        loaded.model.loss(
                            inputs: batch.inputs, targets: batch.targets,
                            batchSize: batch.batchSize
                        ).item))
            }
        }
        let mean = losses.reduce(0, +) / Double(losses.count)
        let spread =
            losses.count > 1
            ? (losses.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(losses.count - 1)).squareRoot()
                / Double(losses.count).squareRoot()
            : 0
        print(
            String(
                format:
                    "%@ on %@: validation loss %.4f ± %.4f (standard error; %d batches of %d × %d characters, %d-character validation split)",
                checkpoint as NSString, data as NSString, mean, spread, batches, batchSize, block,
                corpus.validation.count))
        if json {
            printJSON([
                "val_loss": mean, "standard_error": spread, "batches": batches, "batch_size": batchSize,
                "block_size": block, "validation_tokens": corpus.validation.count, "model": loaded.model.kind
            ])
        }
    }
}
