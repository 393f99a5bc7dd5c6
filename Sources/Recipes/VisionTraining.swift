import Cortex
import Data
import Foundation
import Models

/// Everything a `cortex train vit|lenet` run is set up with; logged to `config.json` first.
/// Every default lives here; `VisionTrainConfig(model:)` fills the model's recipe (measured in
/// docs/vision.md): AdamW 2e-3 with weight decay 0.05 on matrices, one warmup epoch then
/// cosine to 1/100 of the peak, clip 1, batch 128; ViT 20 epochs with 1-pixel random crops
/// (without them it overfits before 90%), LeNet-5 15 epochs without augmentation.
public struct VisionTrainConfig: Codable, Equatable, Sendable {
    public var model: ImageModelKind
    /// Directory of an IDX set (MNIST, Fashion-MNIST; plain or .gz) or CIFAR-10 binary batches.
    public var data = FashionMNIST.defaultDirectory
    public var seed: UInt64 = 0
    public var epochs: Int
    public var batchSize = 128
    /// Peak learning rate of AdamW (Loshchilov & Hutter 2019).
    public var learningRate: Float = 2e-3
    /// The cosine decay ends at the peak divided by this.
    public var finalLearningRateDivisor: Float = 100
    /// Linear warmup before the cosine decay, in epochs.
    public var warmupEpochs: Double = 1
    /// AdamW weight decay (matrices only).
    public var weightDecay: Float = 0.05
    /// Gradients are clipped to this global norm (0: no clipping).
    public var maxGradNorm: Float = 1
    /// Random-crop padding in pixels (0: none).
    public var cropPadding: Int
    public var horizontalFlip = false
    /// Train on only the first `limit` training images (quick trials); nil: all.
    public var limit: Int?
    /// Model sizes; channels, image size and classes come from the data.
    public var vit: ViTConfig?
    public var lenet: LeNetConfig?
    public var threads = 2

    public init(model: ImageModelKind) {
        self.model = model
        switch model {
        case .vit:
            epochs = 20
            cropPadding = 1
            vit = ViTConfig()
        case .lenet:
            epochs = 15
            cropPadding = 0
            lenet = LeNetConfig()
        }
    }

    /// The first setting that cannot work, as one line, or nil.
    public var problem: String? {
        if epochs < 1 { return "epochs must be at least 1, got \(epochs)" }
        if batchSize < 1 { return "the batch size must be at least 1, got \(batchSize)" }
        if !(learningRate > 0) { return "the learning rate must be positive, got \(learningRate)" }
        if weightDecay < 0 || warmupEpochs < 0 { return "weight decay and warmup epochs must not be negative" }
        if !(finalLearningRateDivisor >= 1) { return "the final learning-rate divisor must be at least 1" }
        if cropPadding < 0 { return "the crop padding must not be negative, got \(cropPadding)" }
        if let limit, limit < 1 { return "the image limit must be positive, got \(limit)" }
        return nil
    }
}

/// What a finished (or interrupted) image run reports.
public struct VisionTrainingSummary: Sendable {
    public var epochs: Int
    public var testAccuracy: Double
    public var bestTestAccuracy: Double
    public var secondsPerEpoch: Double
    public var cpuSecondsPerEpoch: Double
    public var checkpoint: String
    public var bestCheckpoint: String
    public var parameters: Int
    /// Stopped inside an epoch; the checkpoint keeps the end of the epoch before.
    public var interrupted: Bool
}

/// Test-set accuracy and predictions of a classifier, in evaluation mode.
public func evaluateClassifier(
    _ classifier: ImageClassifier, on dataset: ImageDataset, batchSize: Int = 500
)
    -> (accuracy: Double, predictions: [Int], loss: Double)
{
    let loader = ImageLoader(
        dataset: dataset, batchSize: batchSize, shuffle: false,
        normalization: ImageNormalization(mean: classifier.mean, std: classifier.std), seed: 0)
    var predictions: [Int] = []
    predictions.reserveCapacity(dataset.count)
    var correct = 0, lossSum = 0.0
    for batch in loader.epoch() {
        let logits = classifier.logits(batch.images, batchSize: batchSize)
        lossSum += Double(withNoGrad { crossEntropy(logits: logits, targets: batch.labels, reduction: .sum) }.item)
        let predicted = logits.argmaxIndices(axis: 1)
        for (p, label) in zip(predicted, batch.labels) where p == label { correct += 1 }
        predictions += predicted
    }
    return (Double(correct) / Double(dataset.count), predictions, lossSum / Double(dataset.count))
}

/// The training loop of both image models: AdamW, linear warmup then cosine decay per step,
/// a seeded shuffle per epoch, test accuracy after every epoch, `last.safetensors` every
/// epoch and `best.safetensors` when the test accuracy improves.
///
/// Under a `Communicator` of several ranks it trains data-parallel (`DataParallel`): every
/// rank draws the same global batch, takes its shard of it, and the gradients are averaged
/// before the common optimizer step; rank 0 alone evaluates, logs and writes checkpoints.
public final class VisionTrainer {
    public let config: VisionTrainConfig
    public let classifier: ImageClassifier
    public let trainingRun: TrainingRun
    let train: ImageDataset
    let test: ImageDataset
    let normalization: ImageNormalization
    let optimizer: AdamW
    let schedule: WarmupCosineLR
    let stepsPerEpoch: Int
    var firstEpoch = 0
    var bestAccuracy: Double?
    /// The ranks this run is spread over (one by default).
    public let parallel: DataParallel
    /// Where one-line messages go (standard error by default; nowhere on ranks other than 0).
    public var log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    /// Loads the data and builds the model; the sizes that come from the data (channels, image
    /// size, classes) are written into `config`. With `resume`, continues from the folder's
    /// `last.safetensors`.
    public init(
        config: inout VisionTrainConfig, folder: String, resume: Bool = false,
        communicator: Communicator = SingleProcess()
    ) throws {
        if let problem = config.problem { throw TrainingError(problem) }
        try DataParallel.checkStart(config, batchSize: config.batchSize, examples: "images", communicator: communicator)
        if !communicator.isRoot { log = { _ in } }
        var train = try ImageDataset.load(directory: config.data, split: .train)
        let test = try ImageDataset.load(directory: config.data, split: .test)
        if let limit = config.limit, limit < train.count { train = train.subset(Array(0..<limit)) }
        guard test.channels == train.channels, test.height == train.height, test.width == train.width else {
            throw TrainingError(
                "\(config.data): test images (\(test.channels)x\(test.height)x\(test.width)) differ from training images (\(train.channels)x\(train.height)x\(train.width))"
            )
        }
        guard train.height == train.width else {
            throw TrainingError(
                "\(config.data): images are \(train.width)x\(train.height); the models take square images")
        }
        switch config.model {
        case .vit:
            var sizes = config.vit ?? ViTConfig()
            sizes.channels = train.channels
            sizes.imageSize = train.height
            sizes.classes = train.classCount
            if let problem = sizes.problem { throw TrainingError(problem) }
            config.vit = sizes
        case .lenet:
            let sizes = LeNetConfig(channels: train.channels, imageSize: train.height, classes: train.classCount)
            guard sizes.featureSize >= 1 else {
                throw TrainingError("LeNet-5 needs images of at least 12 pixels, got \(train.height)")
            }
            config.lenet = sizes
        }
        self.config = config
        self.train = train
        self.test = test
        stepsPerEpoch = (train.count + config.batchSize - 1) / config.batchSize
        let totalSteps = config.epochs * stepsPerEpoch
        normalization = ImageNormalization.computed(from: train)
        var generator = RandomGenerator(seed: config.seed)
        classifier = ImageClassifier.make(
            kind: config.model, vit: config.vit ?? ViTConfig(), lenet: config.lenet ?? LeNetConfig(),
            classNames: train.classNames, mean: normalization.mean,
            std: normalization.std, generator: &generator)
        let model = classifier.network
        optimizer = AdamW(model.weightDecayGroups(weightDecay: config.weightDecay), learningRate: config.learningRate)
        let warmupSteps = Int(config.warmupEpochs * Double(stepsPerEpoch))
        schedule = WarmupCosineLR(
            maximum: config.learningRate,
            minimum: config.learningRate / config.finalLearningRateDivisor,
            warmupSteps: min(warmupSteps, max(totalSteps - 1, 0)), decaySteps: max(totalSteps, 1))
        trainingRun = try TrainingRun(
            folder: communicator.runFolder(folder, resume: resume), config: config, resume: resume)
        if let resume = trainingRun.resumeCheckpoint {
            let meta = try Checkpoint.load(into: model, optimizer: optimizer, from: resume)
            firstEpoch = Int(meta["epoch"] ?? "") ?? 0
            bestAccuracy = Double(meta["best_test_accuracy"] ?? "")
        }
        parallel = DataParallel(parameters: model.namedParameters(), communicator: communicator)
        if communicator.size > 1 { try parallel.broadcastParameters() }
        trainingRun.startLines(config: config).forEach(log)
        if communicator.size > 1 { log(parallel.startLine(globalBatch: config.batchSize)) }
        log(
            "\(config.model.rawValue): \(model.parameterCount) parameters; \(train.count) training and \(test.count) test images of \(train.channels)x\(train.height)x\(train.width); normalisation mean \(normalization.mean) std \(normalization.std)"
        )
        if resume { log("resuming after epoch \(firstEpoch)") }
    }

    /// Trains to `config.epochs`; `shouldStop` is polled every batch (Ctrl-C). A run stopped
    /// inside an epoch keeps the checkpoint of the epoch before.
    public func run(shouldStop: () -> Bool = { false }) throws -> VisionTrainingSummary {
        let model = classifier.network
        let seed = config.seed
        let lastPath = trainingRun.lastCheckpoint, bestPath = trainingRun.bestCheckpoint
        var trainSeconds = 0.0, trainCPUSeconds = 0.0, epochsRun = 0
        var lastAccuracy = Double.nan
        var interrupted = false
        for epoch in firstEpoch..<config.epochs {
            // A loader per epoch, seeded by (seed, epoch): a resumed run sees the same order.
            let loader = ImageLoader(
                dataset: train, batchSize: config.batchSize, normalization: normalization,
                augmentation: ImageAugmentation(
                    cropPadding: config.cropPadding,
                    horizontalFlip: config.horizontalFlip),
                seed: seed &* 1_000_003 &+ UInt64(epoch))
            let progress = Cortex.Progress(
                total: stepsPerEpoch, label: "epoch \(epoch + 1)/\(config.epochs)", output: parallel.progressOutput)
            model.train()
            let start = DispatchTime.now().uptimeNanoseconds, startCPU = processCPUSeconds()
            var lossSum = 0.0, correct = 0, seen = 0
            for (index, globalBatch) in loader.epoch().enumerated() {
                let step = epoch * stepsPerEpoch + index
                optimizer.learningRate = schedule.learningRate(at: step)
                // This rank's rows of the global batch (all of it in one process).
                let rows = parallel.shard(count: globalBatch.labels.count)
                let labels = Array(globalBatch.labels[rows])
                optimizer.zeroGrad()
                var value = 0.0, right = 0
                if !rows.isEmpty {
                    let images =
                        rows.count == globalBatch.labels.count
                        ? globalBatch.images
                        : globalBatch.images.slice(axis: 0, start: rows.lowerBound, end: rows.upperBound)
                    let logits = model(images)
                    let loss = crossEntropy(logits: logits, targets: labels)
                    loss.backward()
                    value = Double(loss.item)
                    for (p, label) in zip(logits.argmaxIndices(axis: 1), labels) where p == label { right += 1 }
                }
                var stop = shouldStop()
                if parallel.size > 1 {
                    // The batch's loss and hits over all ranks, and whether any rank was asked to
                    // stop, travel with the gradients.
                    let totals = try parallel.averageGradients(
                        localCount: rows.count, globalCount: globalBatch.labels.count,
                        extras: [Float(value) * Float(rows.count), Float(right), stop ? 1 : 0])
                    value = Double(totals[0]) / Double(globalBatch.labels.count)
                    right = Int(totals[1])
                    stop = totals[2] > 0
                }
                let norm = config.maxGradNorm > 0 ? clipGradNorm(model.parameters(), maxNorm: config.maxGradNorm) : 0
                optimizer.step()
                lossSum += value * Double(globalBatch.labels.count)
                seen += globalBatch.labels.count
                correct += right
                if step % 50 == 0 {
                    try trainingRun.logger.log(
                        step: step,
                        [
                            ("train/loss", value), ("train/grad_norm", Double(norm)),
                            ("train/lr", Double(optimizer.learningRate))
                        ])
                }
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                progress.update(
                    index + 1,
                    metrics: [("loss", lossSum / Double(seen)), ("acc", Double(correct) / Double(seen))]
                        + parallel.progressMetrics(examplesPerSecond: Double(seen) / elapsed, unit: "img/s"))
                if stop {
                    interrupted = true
                    break
                }
            }
            progress.finish()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let cpuSeconds = processCPUSeconds() - startCPU
            if interrupted {
                log("interrupted during epoch \(epoch + 1); \(lastPath) keeps the end of epoch \(epoch)")
                break
            }
            trainSeconds += seconds
            trainCPUSeconds += cpuSeconds
            epochsRun += 1
            if parallel.size > 1 {
                try parallel.checkParametersAgree()
                // Rank 0 alone evaluates, logs and writes checkpoints.
                guard parallel.communicator.isRoot else { continue }
            }
            let result = evaluateClassifier(classifier, on: test)
            lastAccuracy = result.accuracy
            let step = (epoch + 1) * stepsPerEpoch
            try trainingRun.logger.log(
                step: step,
                [
                    ("train/epoch_loss", lossSum / Double(seen)), ("train/accuracy", Double(correct) / Double(seen)),
                    ("test/loss", result.loss), ("test/accuracy", result.accuracy),
                    ("epoch", Double(epoch + 1)), ("s_per_epoch", seconds), ("cpu_s_per_epoch", cpuSeconds)
                ])
            try trainingRun.logHistograms(of: model, step: step)
            let grid = Self.predictionGrid(test, predictions: result.predictions)
            try trainingRun.logger.tensorBoard.addImage(
                "test/predictions", width: grid.width, height: grid.height,
                channels: grid.channels, pixels: grid.pixels, step: step)
            let improved = TrainingRun.improves(result.accuracy, on: &bestAccuracy)
            let extra = [
                "epoch": "\(epoch + 1)", "test_accuracy": "\(result.accuracy)",
                "best_test_accuracy": "\(bestAccuracy ?? result.accuracy)", "seed": "\(seed)"
            ]
            try classifier.save(to: lastPath, optimizer: optimizer, extra: extra)
            if improved { try classifier.save(to: bestPath, extra: extra) }
            log(
                String(
                    format: "epoch %d/%d: train loss %.4f acc %.2f%%, test loss %.4f acc %.2f%%%@, %.1f s (%.1f CPU s)",
                    epoch + 1, config.epochs, lossSum / Double(seen), 100 * Double(correct) / Double(seen),
                    result.loss, 100 * result.accuracy, (improved ? " (best)" : "") as NSString, seconds, cpuSeconds))
        }
        let best = bestAccuracy ?? .nan
        try trainingRun.finish(
            metrics: [("test_accuracy", lastAccuracy), ("best_test_accuracy", best)],
            step: config.epochs * stepsPerEpoch)
        log(
            "checkpoints: \(lastPath), best \(bestPath) (\(String(format: "%.2f%%", 100 * best))); logs: \(trainingRun.folder)"
        )
        return VisionTrainingSummary(
            epochs: config.epochs, testAccuracy: lastAccuracy, bestTestAccuracy: best,
            secondsPerEpoch: epochsRun > 0 ? trainSeconds / Double(epochsRun) : 0,
            cpuSecondsPerEpoch: epochsRun > 0 ? trainCPUSeconds / Double(epochsRun) : 0,
            checkpoint: lastPath, bestCheckpoint: bestPath, parameters: model.parameterCount,
            interrupted: interrupted)
    }

    /// The first 16 test images in a 4×4 grid, each framed green when predicted right and red
    /// when wrong (RGB), for TensorBoard's images tab.
    static func predictionGrid(_ test: ImageDataset, predictions: [Int], side: Int = 4) -> PixelImage {
        let border = 2
        let cellWidth = test.width + 2 * border, cellHeight = test.height + 2 * border
        var grid = PixelImage(width: side * cellWidth, height: side * cellHeight, fill: [0, 0, 0])
        for index in 0..<min(side * side, test.count, predictions.count) {
            let picture = test.image(at: index).rgb()
            let right = predictions[index] == test.labels[index]
            let frame: [UInt8] = right ? [40, 200, 60] : [220, 40, 40]
            let x0 = (index % side) * cellWidth, y0 = (index / side) * cellHeight
            for y in 0..<cellHeight {
                for x in 0..<cellWidth {
                    let inside = x >= border && y >= border && x < border + test.width && y < border + test.height
                    for c in 0..<3 {
                        grid[x0 + x, y0 + y, c] = inside ? picture[x - border, y - border, c] : frame[c]
                    }
                }
            }
        }
        return grid
    }
}
