import ArgumentParser
import Cortex
import Data
import Foundation
import Models

/// Everything a `cortex train text` run is, logged first and stored in its checkpoints.
/// Defaults per model: GPT = nanoGPT's CPU configuration for character-level Shakespeare
/// (4 layers, 4 heads, 128 dims, block 64, batch 12, AdamW 1e-3 with β₂ 0.99 and weight decay
/// 0.1 on matrices, 100 warmup iterations then cosine to 1e-4 over 2000, clip 1.0); LSTM/GRU/RNN
/// = 2 layers of 256 on 64-dim embeddings, sequences of 64, batch 32, Adam 2e-3.
struct TextTrainConfig: Codable {
    var model = "gpt"
    var data = "data/shakespeare.txt"
    var iterations = 2000
    var seed: UInt64 = 0
    var batchSize = 12
    var blockSize = 64
    var gpt = GPTConfig()
    var recurrent = CharRNNConfig()
    var learningRate: Float = 1e-3
    /// Cosine floor (GPT); recurrent models use a constant rate.
    var minimumLearningRate: Float = 1e-4
    var warmupIterations = 100
    var decayIterations = 2000
    var beta2: Float = 0.99
    var weightDecay: Float = 0.1
    var gradientClip: Float = 1
    var evalEvery = 250
    var evalBatches = 20
    var threads = 2

    var isGPT: Bool { model == "gpt" }
}

/// Progress saved in checkpoints so `--resume` continues the same run.
struct TextTrainingState: Codable {
    var iteration = 0
    var bestValidationLoss: Float?
    var lastValidationLoss: Float?
    var lastTrainLoss: Float?
    /// Seconds spent in training steps (not evaluation), for ms/iteration over resumed runs.
    var trainSeconds = 0.0
    var generator: RandomGenerator
}

/// `cortex train text`: a char-level GPT or RNN on a text file.
struct TrainText: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text",
        abstract: "Train a character-level GPT or LSTM/GRU/RNN language model (default corpus: data/shakespeare.txt).")

    @Option(help: "Model: gpt, lstm, gru or rnn.") var model = "gpt"
    @Option(help: "UTF-8 text file to train on (default data/shakespeare.txt, built by scripts/fetch-shakespeare).")
    var data: String?
    @Option(help: "Training iterations (default 2000 for gpt, 1000 otherwise).") var iters: Int?
    @Option(help: "Run folder (default runs/text-<model>-s<seed>).") var out: String?
    @Flag(help: "Resume the run in --out from its last.safetensors.") var resume = false
    @Option(help: "Sequences per batch (default 12 for gpt, 32 otherwise).") var batch: Int?
    @Option(help: "Sequence length / GPT context (default 64).") var block = 64
    @Option(help: "Layers (default 4 for gpt, 2 otherwise).") var layers: Int?
    @Option(help: "GPT attention heads.") var heads = 4
    @Option(help: "Embedding width (default 128 for gpt, 64 otherwise).") var embed: Int?
    @Option(help: "Recurrent hidden size.") var hidden = 256
    @Option(help: "Dropout.") var dropout: Float = 0
    @Flag(inversion: .prefixedNo, help: "GPT: biases in the linear layers (nanoGPT's bias).") var bias = true
    @Option(help: "Learning rate (default 1e-3 for gpt, 2e-3 otherwise).") var lr: Float?
    @Option(help: "GPT: final learning rate of the cosine decay.") var minLr: Float = 1e-4
    @Option(help: "GPT: warmup iterations (fewer when the decay is shorter).") var warmup = 100
    @Option(help: "GPT: iterations of the cosine decay (default: --iters).") var decayIters: Int?
    @Option(help: "GPT: AdamW weight decay on matrices.") var weightDecay: Float = 0.1
    @Option(help: "Gradient-norm clip (default 1 for gpt, 5 otherwise; 0 = none).") var gradClip: Float?
    @Option(help: "Iterations between evaluations and checkpoints.") var evalEvery = 250
    @Option(help: "Fixed batches per loss estimate.") var evalBatches = 20
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard ["gpt", "lstm", "gru", "rnn"].contains(model) else {
            throw ValidationError("--model must be gpt, lstm, gru or rnn, got '\(model)'")
        }
        for (name, value) in [("--iters", iters ?? 1), ("--batch", batch ?? 1), ("--block", block), ("--layers", layers ?? 1),
                              ("--heads", heads), ("--embed", embed ?? 1), ("--hidden", hidden), ("--eval-every", evalEvery),
                              ("--eval-batches", evalBatches), ("--decay-iters", decayIters ?? 1)] where value < 1 {
            throw ValidationError("\(name) must be at least 1, got \(value)")
        }
        if model == "gpt" && (embed ?? 128) % heads != 0 {
            throw ValidationError("--embed \(embed ?? 128) must be divisible by --heads \(heads)")
        }
        guard warmup >= 0 else { throw ValidationError("--warmup must not be negative, got \(warmup)") }
        guard dropout >= 0 && dropout < 1 else { throw ValidationError("--dropout must be in [0, 1), got \(dropout)") }
        if let lr, !(lr > 0) { throw ValidationError("--lr must be positive, got \(lr)") }
    }

    func config() -> TextTrainConfig {
        var c = TextTrainConfig()
        let gpt = model == "gpt"
        c.model = model
        c.data = data ?? c.data
        c.iterations = iters ?? (gpt ? 2000 : 1000)
        c.seed = common.seed
        c.batchSize = batch ?? (gpt ? 12 : 32)
        c.blockSize = block
        c.gpt = GPTConfig(blockSize: block, layers: layers ?? 4, heads: heads, embedDimension: embed ?? 128, dropout: dropout,
                          bias: bias)
        c.recurrent = CharRNNConfig(cell: RecurrentCellKind(rawValue: model) ?? .lstm, embedDimension: embed ?? 64,
                                    hiddenSize: hidden, layers: layers ?? 2, dropout: dropout)
        c.learningRate = lr ?? (gpt ? 1e-3 : 2e-3)
        c.minimumLearningRate = minLr
        c.decayIterations = max(1, decayIters ?? c.iterations)
        // A run shorter than the warmup (a smoke test) warms up over part of it instead.
        c.warmupIterations = min(warmup, c.decayIterations - 1)
        c.beta2 = gpt ? 0.99 : 0.999
        c.weightDecay = gpt ? weightDecay : 0
        c.gradientClip = gradClip ?? (gpt ? 1 : 5)
        c.evalEvery = evalEvery
        c.evalBatches = evalBatches
        c.threads = common.threads
        return c
    }

    func run() throws {
        try reportingFailures("train text") {
            Interrupt.install()
            Runtime.configure(threads: common.threads)
            var config = config()
            let folder = out ?? "runs/text-\(config.model)-s\(config.seed)"
            let trainer = try TextTrainer(config: &config, folder: folder, resume: resume ? folder + "/last.safetensors" : nil)
            let summary = try trainer.run()
            if common.json {
                printJSON(["iters": summary.iterations, "train_loss": Double(summary.trainLoss),
                           "val_loss": Double(summary.validationLoss), "ms_per_iter": summary.millisecondsPerIteration,
                           "checkpoint": summary.checkpoint, "best_checkpoint": summary.bestCheckpoint,
                           "seconds": summary.seconds, "model": config.model])
            }
            if Interrupt.requested { throw ExitCode(130) }
        }
    }
}

/// What a finished (or interrupted) text run reports.
struct TextTrainingSummary {
    var iterations: Int
    var trainLoss: Float
    var validationLoss: Float
    var millisecondsPerIteration: Double
    var seconds: Double
    var checkpoint: String
    var bestCheckpoint: String
}

/// The training loop: random blocks of the corpus, one optimizer step each, a loss estimate on
/// fixed train and validation batches every `evalEvery` iterations with `last`/`best`
/// checkpoints, TensorBoard + CSV logs.
final class TextTrainer {
    let config: TextTrainConfig
    let corpus: CharCorpus
    let model: LanguageModel
    let optimizer: Optimizer
    let schedule: any LRSchedule
    let logger: RunLogger
    var state: TextTrainingState
    let evaluation: (train: [TokenBatch], validation: [TokenBatch])

    static let stateKey = "text.state"
    static let vocabularyKey = "text.vocabulary"

    var lastPath: String { logger.path("last.safetensors") }
    var bestPath: String { logger.path("best.safetensors") }

    init(config: inout TextTrainConfig, folder: String, resume: String?) throws {
        if config.data == TextTrainConfig().data && !FileManager.default.fileExists(atPath: config.data) {
            throw ValidationError("no \(config.data): run scripts/fetch-shakespeare (or scripts/setup), or pass --data FILE")
        }
        corpus = try CharCorpus(path: config.data)
        let shortest = min(corpus.train.count, corpus.validation.count)
        guard shortest > config.blockSize + 1 else {
            throw ValidationError("\(config.data): the \(shortest)-token split is too short for blocks of \(config.blockSize)")
        }
        config.gpt.vocabularySize = corpus.tokenizer.vocabularySize
        config.recurrent.vocabularySize = corpus.tokenizer.vocabularySize
        self.config = config
        var generator = RandomGenerator(seed: config.seed)
        model = LanguageModel.make(kind: config.model, gpt: config.gpt, recurrent: config.recurrent, generator: &generator)
        if config.isGPT {
            optimizer = AdamW(model.module.weightDecayGroups(weightDecay: config.weightDecay), learningRate: config.learningRate,
                              beta1: 0.9, beta2: config.beta2, weightDecay: config.weightDecay)
            schedule = WarmupCosineLR(maximum: config.learningRate, minimum: config.minimumLearningRate,
                                      warmupSteps: config.warmupIterations, decaySteps: config.decayIterations)
        } else {
            optimizer = Adam(model.module.parameterGroups(), learningRate: config.learningRate)
            schedule = ConstantLR(config.learningRate)
        }
        state = TextTrainingState(generator: generator)
        evaluation = (corpus.evaluationBatches(.train, count: config.evalBatches, batchSize: config.batchSize, blockSize: config.blockSize),
                      corpus.evaluationBatches(.validation, count: config.evalBatches, batchSize: config.batchSize, blockSize: config.blockSize))
        logger = try RunLogger(folder: folder, config: config)
        if let resume {
            guard FileManager.default.fileExists(atPath: resume) else { throw CommandFailure("no checkpoint to resume from at \(resume)") }
            let metadata = try Checkpoint.load(into: model.module, optimizer: optimizer, from: resume)
            guard metadata[Self.vocabularyKey] == corpus.tokenizer.serialized() else {
                throw ValidationError("\(resume) was trained on another vocabulary than \(config.data)")
            }
            guard let json = metadata[Self.stateKey],
                  let restored = try? JSONDecoder().decode(TextTrainingState.self, from: Data(json.utf8)) else {
                throw LanguageModelError.badCheckpoint(path: resume, reason: "no training state in its metadata")
            }
            state = restored
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        printError("config: \(String(decoding: try encoder.encode(config), as: UTF8.self))")
        printError("corpus: \(config.data), \(corpus.train.count) train + \(corpus.validation.count) validation tokens, vocabulary \(corpus.tokenizer.vocabularySize); model \(config.model), \(model.module.parameterCount) parameters")
        printError("run folder: \(folder) (TensorBoard: tensorboard --logdir \((folder as NSString).deletingLastPathComponent))")
        if resume != nil { printError("resuming at iteration \(state.iteration)") }
    }

    /// Mean loss over fixed batches, in evaluation mode and without a graph.
    func estimate(_ batches: [TokenBatch]) -> Float {
        model.module.eval()
        defer { model.module.train() }
        return withNoGrad {
            var total: Float = 0
            for batch in batches {
                total += model.loss(inputs: batch.inputs, targets: batch.targets, batchSize: batch.batchSize).item
            }
            return total / Float(batches.count)
        }
    }

    func save(to path: String) throws {
        var metadata = model.metadata()
        metadata[Self.vocabularyKey] = corpus.tokenizer.serialized()
        metadata[Self.stateKey] = String(decoding: try JSONEncoder().encode(state), as: UTF8.self)
        try Checkpoint.save(model.module, optimizer: optimizer, metadata: metadata, to: path)
    }

    func run() throws -> TextTrainingSummary {
        let progress = Cortex.Progress(total: config.iterations, label: "\(config.model) iters")
        let start = Date()
        var recentLoss: Float?
        model.module.train()
        while state.iteration < config.iterations && !Interrupt.requested {
            let iteration = state.iteration
            let stepStart = DispatchTime.now().uptimeNanoseconds
            optimizer.learningRate = schedule.learningRate(at: iteration)
            let batch = corpus.randomBatch(.train, batchSize: config.batchSize, blockSize: config.blockSize,
                                           generator: &state.generator)
            let loss = model.loss(inputs: batch.inputs, targets: batch.targets, batchSize: batch.batchSize)
            optimizer.zeroGrad()
            loss.backward()
            let norm = config.gradientClip > 0 ? clipGradNorm(model.module.parameters(), maxNorm: config.gradientClip) : .nan
            optimizer.step()
            state.trainSeconds += Double(DispatchTime.now().uptimeNanoseconds - stepStart) / 1e9
            state.iteration += 1
            let value = loss.item
            recentLoss = recentLoss.map { 0.9 * $0 + 0.1 * value } ?? value
            if iteration % 10 == 0 {
                try logger.log(step: iteration, [("train/loss", Double(value)), ("train/lr", Double(optimizer.learningRate)),
                                                 ("train/grad_norm", Double(norm))])
            }
            progress.update(state.iteration, metrics: [("loss", Double(recentLoss!)),
                                                       ("ms/it", state.trainSeconds * 1000 / Double(state.iteration))])
            if state.iteration % config.evalEvery == 0 || state.iteration == config.iterations {
                try evaluate(progress: progress)
            }
        }
        if Interrupt.requested {
            try evaluate(progress: progress)
        }
        progress.finish()
        let seconds = Date().timeIntervalSince(start)
        let msPerIteration = state.iteration > 0 ? state.trainSeconds * 1000 / Double(state.iteration) : 0
        printError(String(format: "trained %d iterations: train loss %.4f, val loss %.4f, %.1f ms/iteration (%.0f s in all)",
                          state.iteration, state.lastTrainLoss ?? .nan, state.lastValidationLoss ?? .nan, msPerIteration, seconds))
        printError("checkpoints: \(lastPath), best \(bestPath); logs: \(logger.folder)")
        return TextTrainingSummary(iterations: state.iteration, trainLoss: state.lastTrainLoss ?? .nan,
                                   validationLoss: state.lastValidationLoss ?? .nan, millisecondsPerIteration: msPerIteration,
                                   seconds: seconds, checkpoint: lastPath, bestCheckpoint: bestPath)
    }

    private func evaluate(progress: Cortex.Progress) throws {
        let train = estimate(evaluation.train), validation = estimate(evaluation.validation)
        state.lastTrainLoss = train
        state.lastValidationLoss = validation
        var message = String(format: "iter %d: train loss %.4f, val loss %.4f", state.iteration, train, validation)
        try logger.log(step: state.iteration, [("eval/train_loss", Double(train)), ("eval/val_loss", Double(validation))])
        if validation < state.bestValidationLoss ?? .infinity {
            state.bestValidationLoss = validation
            try save(to: bestPath)
            message += " (best)"
        }
        try save(to: lastPath)
        progress.message(message)
    }
}
