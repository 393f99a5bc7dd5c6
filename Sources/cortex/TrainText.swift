import ArgumentParser
import Cortex
import Foundation
import Models
import Recipes

extension TextModelKind: ExpressibleByArgument {}

/// `cortex train text`: a char-level GPT or RNN on a text file. Every default is the model's
/// recipe in `TextTrainConfig`; a flag overrides one field.
struct TrainText: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text",
        abstract: "Train a character-level GPT or LSTM/GRU/RNN language model (default corpus: data/shakespeare.txt).")

    @Option(help: "Model (default gpt).") var model: TextModelKind?
    @Option(
        help: "UTF-8 text file to train on (default data/shakespeare.txt, built by scripts/fetch-shakespeare).",
        completion: .file())
    var data: String?
    @Option(help: "Training iterations (default 2000 for gpt, 1000 otherwise).") var iters: Int?
    @Option(help: "Sequences per batch (default 12 for gpt, 32 otherwise).") var batch: Int?
    @Option(
        help: "Under mpirun: the batch of each rank; the global batch is this times the ranks (instead of --batch split over them).")
    var perRankBatch: Int?
    @Option(help: "Sequence length / GPT context (default 64).") var block: Int?
    @Option(help: "Layers (default 4 for gpt, 2 otherwise).") var layers: Int?
    @Option(help: "GPT attention heads (default 4).") var heads: Int?
    @Option(help: "Embedding width (default 128 for gpt, 64 otherwise).") var embed: Int?
    @Option(help: "Recurrent hidden size (default 256).") var hidden: Int?
    @Option(help: "Dropout (default 0).") var dropout: Float?
    @Flag(inversion: .prefixedNo, help: "GPT: biases in the linear layers (nanoGPT's bias; default on).") var bias:
        Bool?
    @Option(help: "Learning rate (default 1e-3 for gpt, 2e-3 otherwise).") var lr: Float?
    @Option(help: "GPT: final learning rate of the cosine decay (default 1e-4).") var minLr: Float?
    @Option(help: "GPT: warmup iterations (default 100; fewer when the decay is shorter).") var warmup: Int?
    @Option(help: "GPT: iterations of the cosine decay (default: --iters).") var decayIters: Int?
    @Option(help: "GPT: AdamW weight decay on matrices (default 0.1).") var weightDecay: Float?
    @Option(help: "Gradient-norm clip (default 1 for gpt, 5 otherwise; 0 = none).") var gradClip: Float?
    @Option(help: "Iterations between evaluations and checkpoints (default 250).") var evalEvery: Int?
    @Option(help: "Fixed batches per loss estimate (default 20).") var evalBatches: Int?
    @OptionGroup var runFolder: RunFolderOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if let problem = try config().problem { throw ValidationError(problem) }
        if let dropout, !(dropout >= 0 && dropout < 1) {
            throw ValidationError("--dropout must be in [0, 1), got \(dropout)")
        }
    }

    /// The model's recipe with the flags that were given written over it.
    func config() throws -> TextTrainConfig {
        var c = TextTrainConfig(model: model ?? .gpt)
        if let file = runFolder.config {
            c = try ConfigFile.load(file, over: c)
            if let model, model != c.model {
                throw ValidationError("--config \(file) is a \(c.model.rawValue) config, not \(model.rawValue)")
            }
        }
        c.seed = common.seed
        c.threads = common.threads
        if c.data == TextTrainConfig.defaultCorpus { c.data = ShippedModels.projectFile(c.data) }
        if let data { c.data = data }
        if let iters {
            c.iterations = iters
            c.decayIterations = iters
        }
        if let batch { c.batchSize = batch }
        if let block {
            c.blockSize = block
            c.gpt.blockSize = block
        }
        if let layers {
            c.gpt.layers = layers
            c.recurrent.layers = layers
        }
        if let heads { c.gpt.heads = heads }
        if let embed {
            c.gpt.embedDimension = embed
            c.recurrent.embedDimension = embed
        }
        if let hidden { c.recurrent.hiddenSize = hidden }
        if let dropout {
            c.gpt.dropout = dropout
            c.recurrent.dropout = dropout
        }
        if let bias { c.gpt.bias = bias }
        if let lr { c.learningRate = lr }
        if let minLr { c.minimumLearningRate = minLr }
        if let warmup { c.warmupIterations = warmup }
        if let decayIters { c.decayIterations = decayIters }
        if let weightDecay, c.isGPT { c.weightDecay = weightDecay }
        if let gradClip { c.gradientClip = gradClip }
        if let evalEvery { c.evalEvery = evalEvery }
        if let evalBatches { c.evalBatches = evalBatches }
        return c
    }

    func run() throws {
        try reportingFailures("train text") {
            Interrupt.install()
            Runtime.configure(threads: common.threads)
            var config = try config()
            let folder = runFolder.out ?? "runs/text-\(config.model.rawValue)-s\(config.seed)"
            let group = try ProcessGroup.start()
            if let perRankBatch {
                guard perRankBatch >= 1, batch == nil else {
                    throw ValidationError("--per-rank-batch takes a positive size and replaces --batch; give one of them")
                }
                config.batchSize = perRankBatch * group.size
            }
            let trainer = try TextTrainer(
                config: &config, folder: folder, resume: runFolder.resume, communicator: group)
            let summary = try trainer.run(shouldStop: { Interrupt.requested })
            group.removeScratchFolder(trainer.trainingRun.folder)
            ProcessGroup.finish(group)
            if common.json && group.isRoot {
                printJSON([
                    "iters": summary.iterations, "train_loss": Double(summary.trainLoss),
                    "val_loss": Double(summary.validationLoss), "ms_per_iter": summary.millisecondsPerIteration,
                    "checkpoint": summary.checkpoint, "best_checkpoint": summary.bestCheckpoint,
                    "seconds": summary.seconds, "model": config.model.rawValue
                ])
            }
            if Interrupt.requested { throw ExitCode(130) }
        }
    }
}
