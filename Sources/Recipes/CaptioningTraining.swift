import Cortex
import Data
import Foundation
import Models

/// The words of the scene captions' grammar (`SceneCaptions`) with the three special tokens
/// first: id 0 `<pad>`, 1 `<start>`, 2 `<end>` (the ids `Captioner` uses), then every word in
/// sorted order. Tokens are BLEU's: words split at spaces, with `,` a token of its own.
public struct CaptionVocabulary: Equatable, Sendable {
    public static let specials = ["<pad>", "<start>", "<end>"]
    public let words: [String]
    let index: [String: Int]

    public init(words: [String]) {
        self.words = words
        var index: [String: Int] = [:]
        for (i, w) in words.enumerated() where index[w] == nil { index[w] = i }
        self.index = index
    }

    /// Every word the grammar can write: nouns, plurals, numbers, and the phrases' words.
    public static let grammar: CaptionVocabulary = {
        let phrases =
            SceneCaptions.nouns + SceneCaptions.plurals + SceneCaptions.numbers + SceneConfig.backgrounds + [
                "a picture of", ", and", ", with", "to the left of", "to the right of", "above", "below", "at the",
                "top left", "top right", "bottom left", "bottom right", "middle", "on a", "background",
                "an empty picture", "nothing"
            ]
        let words = Set(phrases.flatMap { BLEU.tokenize($0) })
        return CaptionVocabulary(words: specials + words.sorted())
    }()

    public var count: Int { words.count }

    /// The ids of a caption's tokens (no `<start>`/`<end>`), or nil when a word is not known.
    public func encode(_ caption: String) -> [Int]? {
        var ids: [Int] = []
        for token in BLEU.tokenize(caption) {
            guard let id = index[token], id >= Self.specials.count else { return nil }
            ids.append(id)
        }
        return ids
    }

    /// The caption of word ids: special tokens left out, words joined by spaces, commas
    /// attached to the word before (the grammar's spelling).
    public func decode(_ ids: [Int]) -> String {
        ids.filter { $0 >= Self.specials.count && $0 < words.count }.map { words[$0] }
            .joined(separator: " ").replacingOccurrences(of: " ,", with: ",")
    }
}

/// Everything a `cortex train captioner` run is set up with; logged to `config.json` first.
/// Every default lives here (measured in docs/vision.md, "Captioning"): batches of 32 scenes
/// drawn on the fly from Fashion-MNIST's training pictures (scene `step·batch + i`, each with a
/// random one of its reference captions), Adam(W) at 1e-3 with 300 warmup steps then cosine to
/// 1/100, clipping at norm 5; evaluation on 1,000 test scenes (test pictures, seed
/// `seed + 1_000_003`) every 1,000 steps (greedy) and at the end (greedy and beam, with the
/// nearest-neighbour baseline).
public struct CaptionerConfig: Codable, Equatable, Sendable {
    /// Directory of Fashion-MNIST (IDX files).
    public var data = FashionMNIST.defaultDirectory
    public var seed: UInt64 = 0
    /// Optimizer steps (one batch each).
    public var steps = 5000
    /// Scenes per batch.
    public var batchSize = 32
    /// Peak learning rate of AdamW (Loshchilov & Hutter 2019).
    public var learningRate: Float = 1e-3
    /// The cosine decay ends at the peak divided by this.
    public var finalLearningRateDivisor: Float = 100
    /// Linear warmup steps before the cosine decay.
    public var warmupSteps = 300
    /// AdamW weight decay (matrices and kernels only).
    public var weightDecay: Float = 0.01
    /// Gradients are clipped to this global norm (0: no clipping); 5 as in the paper's common
    /// re-implementations.
    public var maxGradNorm: Float = 5
    /// Label smoothing of the word cross-entropy (Szegedy et al. 2016).
    public var labelSmoothing: Float = 0
    /// Weight of the auxiliary count loss: cross-entropy of each class's item count (0…maxCount)
    /// predicted from the mean feature (0: off; the network's count head stays unused).
    public var countLossWeight: Float = 1
    /// Weight λ of the paper's "doubly stochastic" attention regulariser
    /// `λ Σ_i (1 − Σ_t α_ti)²` (Xu et al. 2015, eq. 14), per scene (0: off).
    public var attentionRegularization: Float = 0
    /// Beam width of the final evaluation (and the checkpoint's default for `cortex caption`).
    public var beamWidth = 3
    /// Longest caption decoded, in tokens.
    public var maxLength = 32
    /// How scenes are drawn (`seed` is replaced by the run's seed for training scenes and by
    /// `seed + testSeedOffset` for test scenes).
    public var scenes = SceneConfig()
    /// Test scenes evaluated (every `evalEvery` steps and at the end).
    public var evalScenes = 1000
    /// Steps between evaluations and checkpoints.
    public var evalEvery = 1000
    /// Test scenes use the seed `seed + testSeedOffset`.
    public var testSeedOffset: UInt64 = 1_000_003
    /// Training scenes (the first of the training stream) the nearest-neighbour baseline
    /// searches (0: no baseline).
    public var neighbourScenes = 5000
    /// Network sizes; channels, image size and vocabulary come from the scenes and the grammar.
    public var network = CaptionerNetworkConfig()
    /// A `cortex train detector` checkpoint whose backbone (`backbone.*`, the same
    /// `convolutionStages`) starts the encoder (`encoder.*`) instead of random weights, as the
    /// paper's encoder starts from an ImageNet network; nil: random. The whole network trains.
    public var encoderFrom: String?
    public var threads = 2

    public init() {}

    /// The first setting that cannot work, as one line, or nil.
    public var problem: String? {
        if steps < 1 { return "steps must be at least 1, got \(steps)" }
        if batchSize < 2 { return "the batch size must be at least 2 (BatchNorm), got \(batchSize)" }
        if !(learningRate > 0) { return "the learning rate must be positive, got \(learningRate)" }
        if weightDecay < 0 || warmupSteps < 0 || maxGradNorm < 0 { return "weight decay, warmup and clipping must not be negative" }
        if !(finalLearningRateDivisor >= 1) { return "the final learning-rate divisor must be at least 1" }
        if !(0...1).contains(labelSmoothing) { return "label smoothing must lie in 0…1, got \(labelSmoothing)" }
        if countLossWeight < 0 || attentionRegularization < 0 { return "loss weights must not be negative" }
        if beamWidth < 1 || beamWidth > 100 { return "the beam width must lie in 1…100, got \(beamWidth)" }
        if maxLength < 1 || maxLength > 1000 { return "the longest caption must lie in 1…1000 tokens, got \(maxLength)" }
        if evalScenes < 1 || evalScenes > 100_000 || evalEvery < 1 {
            return "evaluation needs 1…100000 scenes and a positive interval"
        }
        if neighbourScenes < 0 || neighbourScenes > 1_000_000 { return "neighbour scenes must lie in 0…1000000" }
        if let problem = scenes.problem { return problem }
        if countLossWeight > 0 && scenes.maxObjects > network.maxCount {
            return "the count head counts up to \(network.maxCount) items, but scenes hold up to \(scenes.maxObjects)"
        }
        return sized.network.problem
    }

    /// The config with the network sized for its scenes and the grammar's vocabulary.
    public var sized: CaptionerConfig {
        var c = self
        c.network.imageSize = scenes.size
        c.network.channels = 1
        c.network.vocabularySize = CaptionVocabulary.grammar.count
        if countLossWeight == 0 { c.network.countClasses = 0 }
        return c
    }

    /// The test scenes' `SceneConfig`, seed included.
    public var testSceneConfig: SceneConfig {
        var s = scenes
        s.seed = seed &+ testSeedOffset
        return s
    }
}

/// Captions of a set of scenes scored against their references.
public struct CaptionScores: Sendable {
    /// Corpus BLEU-1…4 on sacrebleu's 0–100 scale.
    public var bleu: [Double]
    /// Share of scenes whose caption names exactly the scene's objects, counted by class.
    public var objectSetAccuracy: Double
    /// Per class: scenes whose caption gets that class's count wrong.
    public var countErrors: [Int]
    /// Scenes whose caption does not parse as the grammar's list.
    public var unparsed: Int
    public var captions: [String]

    /// Scores of `captions` (one per scene) against the scenes' references and objects.
    public init(captions: [String], scenes: [Scene], classes: Int = 10) {
        precondition(captions.count == scenes.count, "CaptionScores: \(captions.count) captions for \(scenes.count) scenes")
        self.captions = captions
        let references = scenes.map(\.captions)
        bleu = (1...4).map { BLEU.corpus(hypotheses: captions, references: references, maxOrder: $0).score }
        var right = 0, unparsed = 0
        var errors = [Int](repeating: 0, count: classes)
        for (caption, scene) in zip(captions, scenes) {
            let truth = SceneCaptions.objectCounts(scene)
            let said = SceneCaptions.objectCounts(caption)
            if said == nil { unparsed += 1 }
            if said == truth { right += 1 }
            for c in 0..<classes where (said?[c] ?? 0) != (truth[c] ?? 0) { errors[c] += 1 }
        }
        objectSetAccuracy = scenes.isEmpty ? 0 : Double(right) / Double(scenes.count)
        countErrors = errors
        self.unparsed = unparsed
    }

    /// "count errors by class: T-shirt/top 3, …" for a progress line.
    public func countErrorLine(names: [String]) -> String {
        "count errors by class: "
            + zip(names, countErrors).map { "\($0) \($1)" }.joined(separator: ", ")
            + (unparsed > 0 ? "; \(unparsed) captions do not parse" : "")
    }
}

/// A trained captioner with its vocabulary and decoding settings.
public final class SceneCaptioner {
    public let network: Captioner
    public let vocabulary: CaptionVocabulary
    public var beamWidth: Int
    public var maxLength: Int

    public init(network: Captioner, vocabulary: CaptionVocabulary = .grammar, beamWidth: Int = 3, maxLength: Int = 32) {
        precondition(
            network.config.vocabularySize == vocabulary.count,
            "SceneCaptioner: network of \(network.config.vocabularySize) words, vocabulary of \(vocabulary.count)")
        self.network = network
        self.vocabulary = vocabulary
        self.beamWidth = beamWidth
        self.maxLength = maxLength
    }

    /// Decoded captions of scenes, greedily (`beamWidth` nil or 0) or by beam search, in batches.
    public func decode(_ scenes: [Scene], beamWidth: Int? = nil, batchSize: Int = 100) -> [DecodedCaption] {
        var out: [DecodedCaption] = []
        for start in stride(from: 0, to: scenes.count, by: batchSize) {
            let images = SceneDetector.input(Array(scenes[start..<min(scenes.count, start + batchSize)]))
            if let beamWidth, beamWidth > 0 {
                out += network.beamSearch(images, width: beamWidth, maxLength: maxLength)
            } else {
                out += network.greedy(images, maxLength: maxLength)
            }
        }
        return out
    }

    /// Caption strings of scenes (see `decode`).
    public func caption(_ scenes: [Scene], beamWidth: Int? = nil) -> [String] {
        decode(scenes, beamWidth: beamWidth).map { vocabulary.decode($0.tokens) }
    }

    /// Mean-pooled encoder features `[N, C]` of scenes, in evaluation mode.
    public func pooledFeatures(_ scenes: [Scene], batchSize: Int = 100) -> [[Float]] {
        network.eval()
        var out: [[Float]] = []
        for start in stride(from: 0, to: scenes.count, by: batchSize) {
            let images = SceneDetector.input(Array(scenes[start..<min(scenes.count, start + batchSize)]))
            let pooled = withNoGrad { network.encode(images).mean(axes: [1]) }
            let C = pooled.shape[1], values = pooled.scalars
            for b in 0..<pooled.shape[0] { out.append(Array(values[(b * C)..<((b + 1) * C)])) }
        }
        return out
    }

    /// Checkpoint metadata describing the network, the vocabulary and the decoding.
    public func metadata() -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return [
            "model": "captioner",
            "config": String(decoding: try! encoder.encode(network.config), as: UTF8.self),
            "vocabulary": String(decoding: try! encoder.encode(vocabulary.words), as: UTF8.self),
            "beam_width": "\(beamWidth)", "max_length": "\(maxLength)"
        ]
    }

    /// Loads the captioner a `cortex train captioner` checkpoint holds; a file that is not one
    /// throws a `TrainingError` naming it.
    public static func load(path: String) throws -> SceneCaptioner {
        guard FileManager.default.fileExists(atPath: path) else { throw TrainingError("no checkpoint at \(path)") }
        let file = try SafeTensors.read(from: path)
        guard file.metadata["model"] == "captioner", let text = file.metadata["config"],
            let config = try? JSONDecoder().decode(CaptionerNetworkConfig.self, from: Data(text.utf8)),
            config.problem == nil, config.imageSize <= 1024, config.widths.allSatisfy({ $0 <= 1024 }),
            let words = file.metadata["vocabulary"].flatMap({ try? JSONDecoder().decode([String].self, from: Data($0.utf8)) }),
            words.count == config.vocabularySize, Array(words.prefix(3)) == CaptionVocabulary.specials
        else {
            throw TrainingError(
                "\(path) is not a captioner checkpoint (metadata 'model' should be captioner, with its sizes and vocabulary)")
        }
        var generator = RandomGenerator(seed: 0)
        let network = Captioner(config, generator: &generator)
        try Checkpoint.load(into: network, from: path)
        return SceneCaptioner(
            network: network, vocabulary: CaptionVocabulary(words: words),
            beamWidth: Int(file.metadata["beam_width"] ?? "").flatMap { (1...100).contains($0) ? $0 : nil } ?? 3,
            maxLength: Int(file.metadata["max_length"] ?? "").flatMap { (1...1000).contains($0) ? $0 : nil } ?? 32)
    }
}

/// The nearest-neighbour baseline: each test scene gets the first reference caption of the
/// training scene whose mean-pooled encoder features are closest (Euclidean).
public func nearestNeighbourCaptions(
    _ captioner: SceneCaptioner, test: [Scene], train: [Scene]
) -> [String] {
    let trainFeatures = captioner.pooledFeatures(train)
    return captioner.pooledFeatures(test).map { query in
        var best = 0, bestDistance = Float.infinity
        for (i, candidate) in trainFeatures.enumerated() {
            var d: Float = 0
            for k in 0..<query.count { d += (query[k] - candidate[k]) * (query[k] - candidate[k]) }
            if d < bestDistance { (best, bestDistance) = (i, d) }
        }
        return train[best].captions.first ?? ""
    }
}

/// What a finished (or interrupted) captioner run reports.
public struct CaptionerTrainingSummary: Sendable {
    public var steps: Int
    public var greedy: CaptionScores
    public var beam: CaptionScores?
    /// The nearest-neighbour baseline (nil with `neighbourScenes` 0).
    public var neighbour: CaptionScores?
    public var bestObjectSetAccuracy: Double
    /// Training wall seconds per 1,000 steps, and in all.
    public var secondsPer1000Steps: Double
    public var trainingSeconds: Double
    /// Wall seconds of the whole run (training, evaluations, baseline).
    public var seconds: Double
    public var checkpoint: String
    public var bestCheckpoint: String
    public var parameters: Int
    public var interrupted: Bool
}

/// Loss terms of one training step.
public struct CaptionLoss {
    public var total: Tensor
    public var words: Tensor
    public var counts: Tensor?
    public var attention: Tensor?
}

/// `cortex train captioner`: "Show, Attend and Tell" on scenes drawn on the fly, teacher
/// forcing on a random reference caption per scene, AdamW with warmup and cosine decay,
/// greedy scores on the test scenes every `evalEvery` steps with `last.safetensors` (with the
/// optimizer; resumable) and `best.safetensors` (best object-set accuracy); at the end greedy
/// and beam scores and the nearest-neighbour baseline.
public final class CaptionerTrainer {
    public let config: CaptionerConfig
    public let captioner: SceneCaptioner
    public let trainingRun: TrainingRun
    let generator: SceneGenerator
    public let testScenes: [Scene]
    let optimizer: AdamW
    let schedule: WarmupCosineLR
    var firstStep = 0
    var bestAccuracy: Double?
    public var log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    public init(config: CaptionerConfig, folder: String, resume: Bool = false) throws {
        if let problem = config.problem { throw TrainingError(problem) }
        var config = config.sized
        config.scenes.seed = config.seed
        self.config = config
        generator = try SceneGenerator(
            source: try FashionMNIST.load(split: .train, directory: config.data), config: config.scenes)
        let test = try SceneGenerator(
            source: try FashionMNIST.load(split: .test, directory: config.data), config: config.testSceneConfig)
        testScenes = (0..<config.evalScenes).map { test.scene($0) }
        var random = RandomGenerator(seed: config.seed)
        captioner = SceneCaptioner(
            network: Captioner(config.network, generator: &random), beamWidth: config.beamWidth,
            maxLength: config.maxLength)
        let network = captioner.network
        optimizer = AdamW(network.weightDecayGroups(weightDecay: config.weightDecay), learningRate: config.learningRate)
        schedule = WarmupCosineLR(
            maximum: config.learningRate, minimum: config.learningRate / config.finalLearningRateDivisor,
            warmupSteps: min(config.warmupSteps, max(config.steps - 1, 0)), decaySteps: config.steps)
        trainingRun = try TrainingRun(folder: folder, config: config, resume: resume)
        if let path = config.encoderFrom, trainingRun.resumeCheckpoint == nil {
            try Self.loadEncoder(of: network, fromDetector: path)
        }
        if let checkpoint = trainingRun.resumeCheckpoint {
            let meta = try Checkpoint.load(into: network, optimizer: optimizer, from: checkpoint)
            guard meta["model"] == "captioner", let step = Int(meta["step"] ?? "") else {
                throw TrainingError("\(checkpoint) is not a captioner training checkpoint (no 'model: captioner' and 'step')")
            }
            firstStep = step
            bestAccuracy = Double(meta["best_object_set_accuracy"] ?? "")
        }
        trainingRun.startLines(config: config).forEach(log)
        log(
            "captioner: \(network.parameterCount) parameters, \(config.network.gridSize)x\(config.network.gridSize) regions of \(config.network.featureSize), LSTM \(config.network.hiddenSize), vocabulary \(captioner.vocabulary.count); scenes \(config.scenes.size)x\(config.scenes.size) from Fashion-MNIST (train split, on the fly), \(testScenes.count) test scenes (test split, seed \(config.testSceneConfig.seed))"
        )
        if resume { log("resuming after step \(firstStep)") }
    }

    /// Copies a detector checkpoint's `backbone.*` tensors (weights and BatchNorm statistics)
    /// into the captioner's encoder; every encoder tensor must be there with its shape.
    public static func loadEncoder(of network: Captioner, fromDetector path: String) throws {
        let file: SafeTensors
        do { file = try SafeTensors.read(from: path) } catch {
            throw TrainingError("--encoder-from \(path): \(error)")
        }
        let prefix = "backbone."
        let backbone = Dictionary(
            file.tensors.filter { $0.name.hasPrefix(prefix) }.map { (String($0.name.dropFirst(prefix.count)), $0.tensor) },
            uniquingKeysWith: { first, _ in first })
        guard !backbone.isEmpty else {
            throw TrainingError("--encoder-from \(path) holds no detector backbone (no 'backbone.*' tensors)")
        }
        do { try network.encoder.loadStateDict(backbone) } catch {
            throw TrainingError("--encoder-from \(path): its backbone does not fit the captioner's encoder: \(error)")
        }
    }

    /// Scenes `step·batch ..< (step + 1)·batch` of the training stream.
    func batch(step: Int) -> [Scene] {
        (0..<config.batchSize).map { generator.scene(step * config.batchSize + $0) }
    }

    /// Teacher-forcing inputs and targets of captions (padded with `<pad>` to the longest + 1).
    public static func sequences(_ captions: [[Int]]) -> (inputs: [[Int]], targets: [[Int]]) {
        let T = (captions.map(\.count).max() ?? 0) + 1
        let pad = Captioner.padToken
        let inputs = captions.map { [Captioner.startToken] + $0 + [Int](repeating: pad, count: T - 1 - $0.count) }
        let targets = captions.map { $0 + [Captioner.endToken] + [Int](repeating: pad, count: T - 1 - $0.count) }
        return (inputs, targets)
    }

    /// The loss of scenes with the given captions (word ids): mean word cross-entropy (padding
    /// left out) plus the weighted count and attention terms.
    public static func loss(
        _ network: Captioner, scenes: [Scene], captions: [[Int]], config: CaptionerConfig
    ) -> CaptionLoss {
        let (inputs, targets) = sequences(captions)
        let (logits, weights, features) = network(images: SceneDetector.input(scenes), inputs: inputs)
        let words = crossEntropy(
            logits: logits, targets: targets.flatMap { $0 }, labelSmoothing: config.labelSmoothing,
            ignoreIndex: Captioner.padToken)
        var total = words
        var counts: Tensor?
        if config.countLossWeight > 0, let countLogits = network.countLogits(features) {
            let K = network.config.countClasses, top = network.config.maxCount
            let truth = scenes.flatMap { scene -> [Int] in
                let n = SceneCaptions.objectCounts(scene)
                return (0..<K).map { min(top, n[$0] ?? 0) }
            }
            let term = crossEntropy(logits: countLogits, targets: truth)
            counts = term
            total = total + config.countLossWeight * term
        }
        var attention: Tensor?
        if config.attentionRegularization > 0 {
            // Σ_t α_ti over the words that are not padding, per scene and region.
            let (B, T) = (targets.count, targets[0].count)
            let mask = Tensor(shape: [B, T, 1], data: targets.flatMap { $0.map { $0 == Captioner.padToken ? Float(0) : 1 } })
            let coverage = (weights * mask).sum(axes: [1])  // [B, L]
            let term = ((1 - coverage) * (1 - coverage)).sum(axes: [1]).mean()
            attention = term
            total = total + config.attentionRegularization * term
        }
        return CaptionLoss(total: total, words: words, counts: counts, attention: attention)
    }

    /// A random reference caption per scene (the stream of step `step`, so a resumed run draws
    /// the same ones).
    func captions(for scenes: [Scene], step: Int) -> [[Int]] {
        var random = RandomGenerator(seed: config.seed ^ (0xC0FF_EE00_0000_0000 &+ UInt64(step)))
        return scenes.map { scene in
            let text = scene.captions[random.nextInt(below: scene.captions.count)]
            guard let ids = captioner.vocabulary.encode(text) else {
                preconditionFailure("CaptionerTrainer: '\(text)' has a word outside the grammar's vocabulary")
            }
            return ids
        }
    }

    /// One AdamW step on the scenes of `step`; returns the loss terms before it (total, words, counts).
    @discardableResult
    public func step(_ step: Int) -> [Double] {
        let network = captioner.network
        network.train()
        let scenes = batch(step: step)
        let loss = Self.loss(network, scenes: scenes, captions: captions(for: scenes, step: step), config: config)
        optimizer.zeroGrad()
        loss.total.backward()
        if config.maxGradNorm > 0 { _ = clipGradNorm(network.parameters(), maxNorm: config.maxGradNorm) }
        optimizer.step()
        return [loss.total.item, loss.words.item, loss.counts?.item ?? 0].map(Double.init)
    }

    /// Trains to `config.steps`; `shouldStop` is polled every step (Ctrl-C). A stopped run keeps
    /// the checkpoint of its last evaluation.
    public func run(shouldStop: () -> Bool = { false }) throws -> CaptionerTrainingSummary {
        let begin = DispatchTime.now().uptimeNanoseconds
        let network = captioner.network
        let names = FashionMNIST.classNames
        var trainSeconds = 0.0, stepsRun = 0
        var last: CaptionScores?
        var interrupted = false
        let progress = Cortex.Progress(total: config.steps, label: "captioner")
        var sums = [Double](repeating: 0, count: 3), counted = 0
        var step = firstStep
        while step < config.steps {
            optimizer.learningRate = schedule.learningRate(at: step)
            let start = DispatchTime.now().uptimeNanoseconds
            let losses = self.step(step)
            trainSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            stepsRun += 1
            for k in 0..<3 { sums[k] += losses[k] }
            counted += 1
            if step % 50 == 0 {
                try trainingRun.logger.log(
                    step: step,
                    [
                        ("train/loss", losses[0]), ("train/word_loss", losses[1]), ("train/count_loss", losses[2]),
                        ("train/lr", Double(optimizer.learningRate))
                    ])
            }
            step += 1
            progress.update(
                step,
                metrics: [
                    ("loss", sums[0] / Double(counted)), ("words", sums[1] / Double(counted)),
                    ("steps/s", Double(stepsRun) / trainSeconds)
                ])
            if step % config.evalEvery == 0 || step == config.steps {
                let scores = CaptionScores(captions: captioner.caption(testScenes), scenes: testScenes)
                last = scores
                let improved = TrainingRun.improves(scores.objectSetAccuracy, on: &bestAccuracy)
                var scalars: [(String, Double)] = [
                    ("test/object_set_accuracy", scores.objectSetAccuracy),
                    ("train/epoch_loss", sums[0] / Double(counted)),
                    ("s_per_1000_steps", 1000 * trainSeconds / Double(stepsRun))
                ]
                for n in 0..<4 { scalars.append(("test/bleu\(n + 1)", scores.bleu[n])) }
                try trainingRun.logger.log(step: step, scalars)
                let meta = captioner.metadata().merging([
                    "step": "\(step)", "object_set_accuracy": "\(scores.objectSetAccuracy)",
                    "bleu4": "\(scores.bleu[3])", "best_object_set_accuracy": "\(bestAccuracy ?? scores.objectSetAccuracy)",
                    "seed": "\(config.seed)"
                ]) { $1 }
                try Checkpoint.save(network, optimizer: optimizer, metadata: meta, to: trainingRun.lastCheckpoint)
                if improved { try Checkpoint.save(network, metadata: meta, to: trainingRun.bestCheckpoint) }
                progress.message(
                    String(
                        format: "step %d: loss %.4f, test object-set accuracy %.4f%@, BLEU-4 %.2f (greedy); e.g. \"%@\"",
                        step, sums[0] / Double(counted), scores.objectSetAccuracy,
                        (improved ? " (best)" : "") as NSString, scores.bleu[3], scores.captions[0] as NSString))
                sums = [Double](repeating: 0, count: 3)
                counted = 0
            }
            if shouldStop() {
                interrupted = true
                break
            }
        }
        progress.finish()
        if interrupted { log("interrupted at step \(step); \(trainingRun.lastCheckpoint) keeps the last evaluation") }
        let greedy = last ?? CaptionScores(captions: captioner.caption(testScenes), scenes: testScenes)
        log(greedy.countErrorLine(names: names) + " (greedy)")
        var beam: CaptionScores?, neighbour: CaptionScores?
        if !interrupted {
            log("beam search (width \(config.beamWidth)) on \(testScenes.count) test scenes …")
            let scores = CaptionScores(
                captions: captioner.caption(testScenes, beamWidth: config.beamWidth), scenes: testScenes)
            log(scores.countErrorLine(names: names) + " (beam)")
            beam = scores
            if config.neighbourScenes > 0 {
                log("nearest-neighbour baseline over \(config.neighbourScenes) training scenes …")
                let train = (0..<config.neighbourScenes).map { generator.scene($0) }
                neighbour = CaptionScores(
                    captions: nearestNeighbourCaptions(captioner, test: testScenes, train: train), scenes: testScenes)
            }
        }
        let secondsPer1000 = stepsRun > 0 ? 1000 * trainSeconds / Double(stepsRun) : 0
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9
        var metrics: [(name: String, value: Double)] = [
            ("object_set_accuracy", greedy.objectSetAccuracy), ("bleu4", greedy.bleu[3]),
            ("best_object_set_accuracy", bestAccuracy ?? greedy.objectSetAccuracy),
            ("s_per_1000_steps", secondsPer1000)
        ]
        if let beam { metrics += [("beam_object_set_accuracy", beam.objectSetAccuracy), ("bleu4_beam", beam.bleu[3])] }
        if let neighbour { metrics += [("nn_object_set_accuracy", neighbour.objectSetAccuracy), ("nn_bleu4", neighbour.bleu[3])] }
        try trainingRun.finish(metrics: metrics, step: step)
        func line(_ name: String, _ s: CaptionScores) -> String {
            String(
                format: "%@: BLEU-1..4 %.2f %.2f %.2f %.2f, object-set accuracy %.4f", name as NSString, s.bleu[0],
                s.bleu[1], s.bleu[2], s.bleu[3], s.objectSetAccuracy)
        }
        log(line("greedy", greedy))
        if let beam { log(line("beam \(config.beamWidth)", beam)) }
        if let neighbour { log(line("nearest neighbour", neighbour)) }
        log(
            String(
                format: "%d test scenes; %.1f s per 1000 steps, %.0f s in all; checkpoints: %@, best %@",
                testScenes.count, secondsPer1000, seconds, trainingRun.lastCheckpoint as NSString,
                trainingRun.bestCheckpoint as NSString))
        return CaptionerTrainingSummary(
            steps: step, greedy: greedy, beam: beam, neighbour: neighbour,
            bestObjectSetAccuracy: bestAccuracy ?? greedy.objectSetAccuracy, secondsPer1000Steps: secondsPer1000,
            trainingSeconds: trainSeconds, seconds: seconds, checkpoint: trainingRun.lastCheckpoint,
            bestCheckpoint: trainingRun.bestCheckpoint, parameters: network.parameterCount, interrupted: interrupted)
    }
}
