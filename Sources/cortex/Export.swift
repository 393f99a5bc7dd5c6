import ArgumentParser
import Cortex
import Foundation
import Models

/// File layouts `cortex export` writes.
enum ExportFormat: String, CaseIterable, ExpressibleByArgument {
    /// Cortex's own keys, weights only: loads back into every cortex command and, key for key,
    /// into the equivalent PyTorch module.
    case cortex
    /// A char-GPT under nanoGPT's keys (`transformer.h.0.attn.c_attn.weight`, `lm_head.weight`).
    case nanogpt
}

/// `cortex export`: a training checkpoint as a weights-only file.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a checkpoint's weights alone (no optimizer state, target network or training progress).",
        discussion: """
            The result is what model hubs ship: a few times smaller than a training checkpoint, and \
            still accepted by every cortex command that reads that kind of model. --format nanogpt \
            renames a char-GPT's tensors to nanoGPT's, so load_state_dict(strict=True) of nanoGPT's \
            GPT (or scripts/reference/gpt.py) takes them.
            """)

    @Option(
        help: "Checkpoint written by cortex train.", completion: .file(extensions: ["safetensors"]),
        transform: ShippedModels.resolve) var checkpoint: String
    @Option(help: "Where to write the weights (.safetensors).", completion: .file(extensions: ["safetensors"])) var out:
        String
    @Option(help: "Key layout.") var format: ExportFormat = .cortex

    func run() throws {
        let file = try SafeTensors.read(from: checkpoint)
        var exported = Checkpoint.weightsOnly(file)
        if format == .nanogpt {
            guard file.metadata[LanguageModel.kindKey] == "gpt",
                let renamed = GPT.nanoGPTStateDict(exported.tensors)
            else {
                throw CommandFailure(
                    "\(checkpoint) is not a char-GPT checkpoint (cortex train text --model gpt); --format nanogpt needs one"
                )
            }
            // nanoGPT keeps its GPTConfig beside the weights (`model_args` in ckpt.pt): here in
            // the metadata, under the same names.
            guard case .gpt(let gpt) = try LanguageModel.load(from: checkpoint).model else {
                throw CommandFailure("\(checkpoint) is not a char-GPT checkpoint")
            }
            let c = gpt.config
            let modelArgs =
                "{\"n_layer\": \(c.layers), \"n_head\": \(c.heads), \"n_embd\": \(c.embedDimension), "
                + "\"block_size\": \(c.blockSize), \"bias\": \(c.bias), \"vocab_size\": \(c.vocabularySize), "
                + "\"dropout\": \(c.dropout)}"
            exported = SafeTensors(
                tensors: renamed,
                metadata: ["format": "pt", "source": "cortex export --format nanogpt", "model_args": modelArgs])
        }
        try exported.write(to: out)
        let bytes = { (path: String) in ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int) ?? 0
        }
        printError(
            "wrote \(out): \(exported.tensors.count) tensors, \(bytes(out)) bytes (checkpoint \(bytes(checkpoint)) bytes)"
        )
    }
}
