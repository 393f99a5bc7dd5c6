import Cortex
import Data
import Foundation
import Models

/// The language models `cortex train text` trains.
public enum TextModelKind: String, Codable, CaseIterable, Sendable {
    /// A GPT (nanoGPT's model).
    case gpt
    /// Char-RNNs (Karpathy 2015) with PyTorch's recurrent cells.
    case lstm, gru, rnn

    public var isGPT: Bool { self == .gpt }
}

/// Everything a text run is, logged first (`config.json`) and stored in its checkpoints. Every
/// default lives here: `TextTrainConfig(model:)` fills the model's recipe.
///
/// - GPT: nanoGPT's CPU configuration for character-level Shakespeare (4 layers, 4 heads, 128
///   dims, block 64, batch 12, AdamW 1e-3 with β₂ 0.99 and weight decay 0.1 on matrices, 100
///   warmup iterations then cosine to 1e-4 over 2000, clip 1.0).
/// - LSTM/GRU/RNN: 2 layers of 256 on 64-dim embeddings, sequences of 64, batch 32, Adam 2e-3
///   (constant), clip 5, 1000 iterations.
public struct TextTrainConfig: Codable, Equatable, Sendable {
    public var model: TextModelKind
    /// UTF-8 text file; the default corpus is built by `scripts/fetch-shakespeare`.
    public var data = TextTrainConfig.defaultCorpus
    public var iterations: Int
    public var seed: UInt64 = 0
    public var batchSize: Int
    /// Sequence length (the GPT's context).
    public var blockSize = 64
    public var gpt = GPTConfig()
    public var recurrent = CharRNNConfig()
    public var learningRate: Float
    /// Cosine floor (GPT); recurrent models use a constant rate.
    public var minimumLearningRate: Float = 1e-4
    /// Warmup iterations (GPT); a run shorter than the warmup warms up over part of it.
    public var warmupIterations = 100
    /// Iterations of the cosine decay (GPT).
    public var decayIterations: Int
    public var beta2: Float
    /// AdamW weight decay on matrices (GPT; 0 for recurrent models).
    public var weightDecay: Float
    /// Gradient-norm clip (0: none).
    public var gradientClip: Float
    /// Iterations between loss estimates and checkpoints, and the fixed batches per estimate.
    public var evalEvery = 250
    public var evalBatches = 20
    public var threads = 2

    public static let defaultCorpus = "data/shakespeare.txt"

    public init(model: TextModelKind = .gpt) {
        self.model = model
        let gpt = model.isGPT
        iterations = gpt ? 2000 : 1000
        batchSize = gpt ? 12 : 32
        recurrent.cell = RecurrentCellKind(rawValue: model.rawValue) ?? .lstm
        learningRate = gpt ? 1e-3 : 2e-3
        decayIterations = iterations
        beta2 = gpt ? 0.99 : 0.999
        weightDecay = gpt ? 0.1 : 0
        gradientClip = gpt ? 1 : 5
    }

    public var isGPT: Bool { model.isGPT }

    /// The first setting that cannot work, as one line, or nil.
    public var problem: String? {
        for (name, value) in [
            ("iterations", iterations), ("batch size", batchSize), ("block size", blockSize),
            ("evaluation interval", evalEvery), ("evaluation batches", evalBatches),
            ("decay iterations", decayIterations)
        ] where value < 1 {
            return "\(name) must be at least 1, got \(value)"
        }
        if isGPT {
            if gpt.layers < 1 || gpt.heads < 1 || gpt.embedDimension < 1 {
                return "GPT layers, heads and embedding width must be at least 1"
            }
            if gpt.embedDimension % gpt.heads != 0 {
                return "the embedding width \(gpt.embedDimension) must be divisible by the \(gpt.heads) heads"
            }
        } else if recurrent.layers < 1 || recurrent.embedDimension < 1 || recurrent.hiddenSize < 1 {
            return "recurrent layers, embedding width and hidden size must be at least 1"
        }
        // The model's own ranges (dropout included), which a config file can reach; vocabulary
        // and block size come from the corpus and the run.
        var (model, cell) = (gpt, recurrent)
        (model.vocabularySize, model.blockSize, cell.vocabularySize) = (1, blockSize, 1)
        if let problem = isGPT ? model.problem : cell.problem { return problem }
        if !(beta2 >= 0 && beta2 < 1) { return "beta2 must be in [0, 1), got \(beta2)" }
        if !(weightDecay >= 0) { return "weight decay must not be negative, got \(weightDecay)" }
        if !(minimumLearningRate >= 0) {
            return "the minimum learning rate must not be negative, got \(minimumLearningRate)"
        }
        if warmupIterations < 0 { return "warmup iterations must not be negative, got \(warmupIterations)" }
        if !(learningRate > 0) { return "the learning rate must be positive, got \(learningRate)" }
        return nil
    }
}

/// Progress saved in checkpoints so `--resume` continues the same run.
public struct TextTrainingState: Codable, Sendable {
    public var iteration = 0
    public var bestValidationLoss: Float?
    public var lastValidationLoss: Float?
    public var lastTrainLoss: Float?
    /// Seconds spent in training steps (not evaluation), for ms/iteration over resumed runs.
    public var trainSeconds = 0.0
    public var generator: RandomGenerator
}

/// What a finished (or interrupted) text run reports.
public struct TextTrainingSummary: Sendable {
    public var iterations: Int
    public var trainLoss: Float
    public var validationLoss: Float
    public var millisecondsPerIteration: Double
    public var seconds: Double
    public var checkpoint: String
    public var bestCheckpoint: String
}

/// The training loop: random blocks of the corpus, one optimizer step each, a loss estimate on
/// fixed train and validation batches every `evalEvery` iterations with `last`/`best`
/// checkpoints, TensorBoard + CSV logs.
///
/// Under a `Communicator` of several ranks it trains data-parallel (`DataParallel`): every
/// rank draws the same global batch from the same generator, takes its rows of it, and the
/// gradients are averaged before the common optimizer step; rank 0 alone estimates losses,
/// logs and writes checkpoints.
public final class TextTrainer {
    public let config: TextTrainConfig
    public let corpus: CharCorpus
    public let model: LanguageModel
    let optimizer: Optimizer
    let schedule: any LRSchedule
    public let trainingRun: TrainingRun
    public private(set) var state: TextTrainingState
    let evaluation: (train: [TokenBatch], validation: [TokenBatch])
    /// The ranks this run is spread over (one by default).
    public let parallel: DataParallel
    /// Where one-line messages go (standard error by default; nowhere on ranks other than 0).
    public var log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    public static let stateKey = "text.state"
    public static let vocabularyKey = "text.vocabulary"

    var lastPath: String { trainingRun.lastCheckpoint }
    var bestPath: String { trainingRun.bestCheckpoint }

    /// Builds a run in `folder`; with `resume`, continues from the folder's `last.safetensors`.
    /// The vocabulary size comes from the corpus and is written into `config`.
    public init(
        config: inout TextTrainConfig, folder: String, resume: Bool = false,
        communicator: Communicator = SingleProcess()
    ) throws {
        if let problem = config.problem { throw TrainingError(problem) }
        try DataParallel.checkStart(config, batchSize: config.batchSize, examples: "sequences", communicator: communicator)
        if !communicator.isRoot { log = { _ in } }
        if config.data.hasSuffix(TextTrainConfig.defaultCorpus) && !FileManager.default.fileExists(atPath: config.data)
        {
            throw TrainingError(
                "no \(config.data): run scripts/fetch-shakespeare (or scripts/setup), or pass --data FILE")
        }
        corpus = try CharCorpus(path: config.data)
        let shortest = min(corpus.train.count, corpus.validation.count)
        guard shortest > config.blockSize + 1 else {
            throw TrainingError(
                "\(config.data): the \(shortest)-token split is too short for blocks of \(config.blockSize)")
        }
        config.gpt.blockSize = config.blockSize
        config.gpt.vocabularySize = corpus.tokenizer.vocabularySize
        config.recurrent.vocabularySize = corpus.tokenizer.vocabularySize
        config.warmupIterations = min(config.warmupIterations, max(0, config.decayIterations - 1))
        self.config = config
        var generator = RandomGenerator(seed: config.seed)
        model = LanguageModel.make(
            kind: config.model.rawValue, gpt: config.gpt, recurrent: config.recurrent,
            generator: &generator)
        if config.isGPT {
            optimizer = AdamW(
                model.module.weightDecayGroups(weightDecay: config.weightDecay), learningRate: config.learningRate,
                beta1: 0.9, beta2: config.beta2, weightDecay: config.weightDecay)
            schedule = WarmupCosineLR(
                maximum: config.learningRate, minimum: config.minimumLearningRate,
                warmupSteps: config.warmupIterations, decaySteps: config.decayIterations)
        } else {
            optimizer = Adam(model.module.parameterGroups(), learningRate: config.learningRate)
            schedule = FixedLR(config.learningRate)
        }
        state = TextTrainingState(generator: generator)
        evaluation = (
            corpus.evaluationBatches(
                .train, count: config.evalBatches, batchSize: config.batchSize, blockSize: config.blockSize),
            corpus.evaluationBatches(
                .validation, count: config.evalBatches, batchSize: config.batchSize, blockSize: config.blockSize)
        )
        trainingRun = try TrainingRun(
            folder: communicator.runFolder(folder, resume: resume), config: config, resume: resume)
        if let resume = trainingRun.resumeCheckpoint {
            let metadata = try Checkpoint.load(into: model.module, optimizer: optimizer, from: resume)
            guard metadata[Self.vocabularyKey] == corpus.tokenizer.serialized() else {
                throw TrainingError("\(resume) was trained on another vocabulary than \(config.data)")
            }
            guard let json = metadata[Self.stateKey],
                let restored = try? JSONDecoder().decode(TextTrainingState.self, from: Data(json.utf8))
            else {
                throw LanguageModelError.badCheckpoint(path: resume, reason: "no training state in its metadata")
            }
            state = restored
        }
        parallel = DataParallel(parameters: model.module.namedParameters(), communicator: communicator)
        if communicator.size > 1 { try parallel.broadcastParameters() }
        trainingRun.startLines(config: config).forEach(log)
        if communicator.size > 1 { log(parallel.startLine(globalBatch: config.batchSize)) }
        log(
            "corpus: \(config.data), \(corpus.train.count) train + \(corpus.validation.count) validation tokens, vocabulary \(corpus.tokenizer.vocabularySize); model \(config.model.rawValue), \(model.module.parameterCount) parameters"
        )
        if resume { log("resuming at iteration \(state.iteration)") }
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
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        metadata[Self.stateKey] = String(decoding: try encoder.encode(state), as: UTF8.self)
        try Checkpoint.save(model.module, optimizer: optimizer, metadata: metadata, to: path)
    }

    /// Trains to `config.iterations`; `shouldStop` is polled every iteration (Ctrl-C), and a
    /// stopped run still estimates its loss and writes its checkpoint.
    public func run(shouldStop: () -> Bool = { false }) throws -> TextTrainingSummary {
        let progress = Cortex.Progress(
            total: config.iterations, label: "\(config.model.rawValue) iters", output: parallel.progressOutput)
        let start = Date()
        var recentLoss: Float?
        var stopped = false
        model.module.train()
        let tokensPerIteration = Double(config.batchSize * config.blockSize)
        while state.iteration < config.iterations {
            if parallel.size == 1 && shouldStop() {
                stopped = true
                break
            }
            let iteration = state.iteration
            let stepStart = DispatchTime.now().uptimeNanoseconds
            optimizer.learningRate = schedule.learningRate(at: iteration)
            let globalBatch = corpus.randomBatch(
                .train, batchSize: config.batchSize, blockSize: config.blockSize,
                generator: &state.generator)
            // This rank's sequences of the global batch (all of them in one process).
            let rows = parallel.shard(count: globalBatch.batchSize)
            let tokens = (rows.lowerBound * globalBatch.blockSize)..<(rows.upperBound * globalBatch.blockSize)
            let loss = model.loss(
                inputs: Array(globalBatch.inputs[tokens]), targets: Array(globalBatch.targets[tokens]),
                batchSize: rows.count)
            optimizer.zeroGrad()
            loss.backward()
            var value = loss.item
            var stopAfterStep = false
            if parallel.size > 1 {
                // The loss over all ranks and whether any rank was asked to stop (every rank
                // must stop after the same iteration) travel with the gradients.
                let totals = try parallel.averageGradients(
                    localCount: rows.count, globalCount: globalBatch.batchSize,
                    extras: [value * Float(rows.count), shouldStop() ? 1 : 0])
                value = totals[0] / Float(globalBatch.batchSize)
                stopAfterStep = totals[1] > 0
            }
            let norm =
                config.gradientClip > 0 ? clipGradNorm(model.module.parameters(), maxNorm: config.gradientClip) : .nan
            optimizer.step()
            state.trainSeconds += Double(DispatchTime.now().uptimeNanoseconds - stepStart) / 1e9
            state.iteration += 1
            recentLoss = recentLoss.map { 0.9 * $0 + 0.1 * value } ?? value
            if iteration % 10 == 0 {
                try trainingRun.logger.log(
                    step: iteration,
                    [
                        ("train/loss", Double(value)), ("train/lr", Double(optimizer.learningRate)),
                        ("train/grad_norm", Double(norm))
                    ])
            }
            progress.update(
                state.iteration,
                metrics: [
                    ("loss", Double(recentLoss!)),
                    ("ms/it", state.trainSeconds * 1000 / Double(state.iteration))
                ]
                    + parallel.progressMetrics(
                        examplesPerSecond: tokensPerIteration * Double(state.iteration) / state.trainSeconds,
                        unit: "tok/s"))
            if state.iteration % config.evalEvery == 0 || state.iteration == config.iterations {
                try evaluate(progress: progress)
            }
            if stopAfterStep {
                stopped = true
                break
            }
        }
        if stopped { try evaluate(progress: progress) }
        progress.finish()
        let seconds = Date().timeIntervalSince(start)
        let msPerIteration = state.iteration > 0 ? state.trainSeconds * 1000 / Double(state.iteration) : 0
        log(
            String(
                format: "trained %d iterations: train loss %.4f, val loss %.4f, %.1f ms/iteration (%.0f s in all)",
                state.iteration, state.lastTrainLoss ?? .nan, state.lastValidationLoss ?? .nan, msPerIteration, seconds)
        )
        log("checkpoints: \(lastPath), best \(bestPath); logs: \(trainingRun.folder)")
        try trainingRun.finish(
            metrics: [
                ("train_loss", Double(state.lastTrainLoss ?? .nan)),
                ("val_loss", Double(state.lastValidationLoss ?? .nan)),
                ("best_val_loss", Double(state.bestValidationLoss ?? .nan))
            ], step: state.iteration)
        return TextTrainingSummary(
            iterations: state.iteration, trainLoss: state.lastTrainLoss ?? .nan,
            validationLoss: state.lastValidationLoss ?? .nan, millisecondsPerIteration: msPerIteration,
            seconds: seconds, checkpoint: lastPath, bestCheckpoint: bestPath)
    }

    private func evaluate(progress: Cortex.Progress) throws {
        if parallel.size > 1 {
            try parallel.checkParametersAgree()
            // Rank 0 alone estimates, logs and writes checkpoints.
            guard parallel.communicator.isRoot else { return }
        }
        let train = estimate(evaluation.train), validation = estimate(evaluation.validation)
        state.lastTrainLoss = train
        state.lastValidationLoss = validation
        var message = String(format: "iter %d: train loss %.4f, val loss %.4f", state.iteration, train, validation)
        try trainingRun.logger.log(
            step: state.iteration, [("eval/train_loss", Double(train)), ("eval/val_loss", Double(validation))])
        try trainingRun.logHistograms(of: model.module, step: state.iteration)
        var best = state.bestValidationLoss.map(Double.init)
        if TrainingRun.improves(Double(validation), on: &best, higherIsBetter: false) {
            state.bestValidationLoss = validation
            try save(to: bestPath)
            message += " (best)"
        }
        try save(to: lastPath)
        progress.message(message)
    }
}
