import ArgumentParser
import Cortex
import Data
import Foundation
import Models

/// Everything a `cortex train vit|lenet` run is set up with; logged to `config.json` first.
struct VisionTrainConfig: Codable {
    var model: ImageModelKind
    var data: String
    var seed: UInt64
    var epochs: Int
    var batchSize: Int
    /// Peak learning rate of AdamW (Loshchilov & Hutter 2019).
    var learningRate: Float
    /// Floor of the cosine decay.
    var minimumLearningRate: Float
    /// Linear warmup steps (optimizer updates) before the cosine decay.
    var warmupSteps: Int
    var weightDecay: Float
    /// Gradients are clipped to this global norm (0: no clipping).
    var maxGradNorm: Float
    var cropPadding: Int
    var horizontalFlip: Bool
    var vit: ViTConfig?
    var lenet: LeNetConfig?
}

/// Options shared by `cortex train vit` and `cortex train lenet`.
struct VisionTrainOptions: ParsableArguments {
    @Option(help: "Directory of an IDX set (MNIST, Fashion-MNIST; plain or .gz) or CIFAR-10 binary batches.")
    var data: String = FashionMNIST.defaultDirectory
    @Option(help: "Passes over the training set (default: 20 for vit, 15 for lenet).")
    var epochs: Int?
    @Option(help: "Minibatch size.")
    var batch: Int = 128
    @Option(help: "Peak learning rate.")
    var lr: Float = 2e-3
    @Option(help: "AdamW weight decay (matrices only).")
    var weightDecay: Float = 0.05
    @Option(help: "Warmup epochs before the cosine decay.")
    var warmupEpochs: Double = 1
    @Option(help: "Random-crop padding in pixels, 0 for none (default: 1 for vit, 0 for lenet).")
    var cropPadding: Int?
    @Flag(help: "Random horizontal flips.")
    var flip = false
    @Option(help: "Run folder (default runs/<model>-s<seed>).")
    var out: String?
    @Flag(help: "Resume the run in --out from its last.safetensors.")
    var resume = false
    @Option(help: "Train on only the first N training images (for quick trials).")
    var limit: Int?
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1, got \(batch)") }
        guard lr > 0 else { throw ValidationError("--lr must be positive, got \(lr)") }
        guard weightDecay >= 0, warmupEpochs >= 0 else { throw ValidationError("--weight-decay and --warmup-epochs must not be negative") }
        guard (cropPadding ?? 0) >= 0 else { throw ValidationError("--crop-padding must not be negative") }
        if let limit, limit < 1 { throw ValidationError("--limit must be positive") }
    }
}

/// ViT size flags.
struct ViTOptions: ParsableArguments {
    @Option(help: "Patch side in pixels.") var patch = 4
    @Option(help: "Token width.") var dim = 64
    @Option(help: "Encoder blocks.") var depth = 4
    @Option(help: "Attention heads.") var heads = 4
    @Option(help: "MLP hidden width.") var mlp = 128
    @Option(help: "Dropout probability.") var dropout: Float = 0
}

/// `cortex train vit`.
struct TrainViT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vit",
        abstract: "Train a Vision Transformer (Dosovitskiy et al. 2020) on Fashion-MNIST or any IDX/CIFAR-10 set.")
    @OptionGroup var options: VisionTrainOptions
    @OptionGroup var sizes: ViTOptions

    func run() throws {
        try reportingFailures("train vit") {
            try VisionTraining(kind: .vit, options: options, vit: sizes).run()
        }
    }
}

/// `cortex train lenet`.
struct TrainLeNet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lenet",
        abstract: "Train LeNet-5 (LeCun et al. 1998, ReLU variant) on Fashion-MNIST or any IDX/CIFAR-10 set.")
    @OptionGroup var options: VisionTrainOptions

    func run() throws {
        try reportingFailures("train lenet") {
            try VisionTraining(kind: .lenet, options: options, vit: nil).run()
        }
    }
}

/// Test-set accuracy and predictions of a classifier, in evaluation mode.
func evaluateClassifier(_ classifier: ImageClassifier, on dataset: ImageDataset, batchSize: Int = 500)
    -> (accuracy: Double, predictions: [Int], loss: Double) {
    let loader = ImageLoader(dataset: dataset, batchSize: batchSize, shuffle: false,
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
struct VisionTraining {
    let kind: ImageModelKind
    let options: VisionTrainOptions
    let vit: ViTOptions?

    func run() throws {
        Interrupt.install()
        Runtime.configure(threads: options.common.threads)
        let seed = options.common.seed
        var train = try ImageDataset.load(directory: options.data, split: .train)
        let test = try ImageDataset.load(directory: options.data, split: .test)
        if let limit = options.limit, limit < train.count { train = train.subset(Array(0..<limit)) }
        guard test.channels == train.channels, test.height == train.height, test.width == train.width else {
            throw CommandFailure("\(options.data): test images (\(test.channels)x\(test.height)x\(test.width)) differ from training images (\(train.channels)x\(train.height)x\(train.width))")
        }
        guard train.height == train.width else {
            throw CommandFailure("\(options.data): images are \(train.width)x\(train.height); the models take square images")
        }
        var vitConfig: ViTConfig?, lenetConfig: LeNetConfig?
        switch kind {
        case .vit:
            let sizes = vit!
            let config = ViTConfig(channels: train.channels, imageSize: train.height, patchSize: sizes.patch,
                                   dimension: sizes.dim, depth: sizes.depth, heads: sizes.heads, mlpDimension: sizes.mlp,
                                   classes: train.classCount, dropout: sizes.dropout)
            if let problem = config.problem { throw ValidationError(problem) }
            vitConfig = config
        case .lenet:
            let config = LeNetConfig(channels: train.channels, imageSize: train.height, classes: train.classCount)
            guard config.featureSize >= 1 else { throw ValidationError("LeNet-5 needs images of at least 12 pixels, got \(train.height)") }
            lenetConfig = config
        }
        // Measured (docs/vision.md): the ViT overfits before 90 % without crops; with 1-pixel
        // crops it keeps improving to the end of 20 epochs.
        let epochs = options.epochs ?? (kind == .vit ? 20 : 15)
        let cropPadding = options.cropPadding ?? (kind == .vit ? 1 : 0)
        let stepsPerEpoch = (train.count + options.batch - 1) / options.batch
        let config = VisionTrainConfig(
            model: kind, data: options.data, seed: seed, epochs: epochs, batchSize: options.batch,
            learningRate: options.lr, minimumLearningRate: options.lr / 100,
            warmupSteps: Int(options.warmupEpochs * Double(stepsPerEpoch)), weightDecay: options.weightDecay,
            maxGradNorm: 1, cropPadding: cropPadding, horizontalFlip: options.flip,
            vit: vitConfig, lenet: lenetConfig)
        let folder = options.out ?? "runs/\(kind.rawValue)-s\(seed)"
        let totalSteps = epochs * stepsPerEpoch

        let normalization = ImageNormalization.computed(from: train)
        var generator = RandomGenerator(seed: seed)
        let classifier = ImageClassifier.make(kind: kind, vit: vitConfig ?? ViTConfig(), lenet: lenetConfig ?? LeNetConfig(),
                                              classNames: train.classNames, mean: normalization.mean,
                                              std: normalization.std, generator: &generator)
        let model = classifier.network
        let optimizer = AdamW(model.weightDecayGroups(weightDecay: config.weightDecay), learningRate: config.learningRate)
        let schedule = WarmupCosineLR(maximum: config.learningRate, minimum: config.minimumLearningRate,
                                      warmupSteps: min(config.warmupSteps, max(totalSteps - 1, 0)),
                                      decaySteps: max(totalSteps, 1))

        var firstEpoch = 0
        var bestAccuracy = -1.0
        let lastPath = folder + "/last.safetensors", bestPath = folder + "/best.safetensors"
        if options.resume {
            guard FileManager.default.fileExists(atPath: lastPath) else {
                throw CommandFailure("no checkpoint to resume from at \(lastPath)")
            }
            let meta = try Checkpoint.load(into: model, optimizer: optimizer, from: lastPath)
            firstEpoch = Int(meta["epoch"] ?? "") ?? 0
            bestAccuracy = Double(meta["best_test_accuracy"] ?? "") ?? -1
            printError("resuming from \(lastPath) after epoch \(firstEpoch)")
        }
        let log = try RunLogger(folder: folder, config: config)
        let configJSON = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        printError("config: \(configJSON)")
        printError("\(kind.rawValue): \(model.parameterCount) parameters; \(train.count) training and \(test.count) test images of \(train.channels)x\(train.height)x\(train.width); normalisation mean \(normalization.mean) std \(normalization.std)")
        printError("run folder: \(folder) (TensorBoard: tensorboard --logdir \((folder as NSString).deletingLastPathComponent))")

        var trainSeconds = 0.0, trainCPUSeconds = 0.0, epochsRun = 0
        var lastAccuracy = Double.nan
        for epoch in firstEpoch..<epochs {
            // A loader per epoch, seeded by (seed, epoch): a resumed run sees the same order.
            let loader = ImageLoader(dataset: train, batchSize: config.batchSize, normalization: normalization,
                                     augmentation: ImageAugmentation(cropPadding: config.cropPadding,
                                                                     horizontalFlip: config.horizontalFlip),
                                     seed: seed &* 1_000_003 &+ UInt64(epoch))
            let progress = Progress(total: stepsPerEpoch, label: "epoch \(epoch + 1)/\(epochs)")
            model.train()
            let start = DispatchTime.now().uptimeNanoseconds, startCPU = processCPUSeconds()
            var lossSum = 0.0, correct = 0, seen = 0
            for (index, batch) in loader.epoch().enumerated() {
                let step = epoch * stepsPerEpoch + index
                optimizer.learningRate = schedule.learningRate(at: step)
                let logits = model(batch.images)
                let loss = crossEntropy(logits: logits, targets: batch.labels)
                optimizer.zeroGrad()
                loss.backward()
                let norm = config.maxGradNorm > 0 ? clipGradNorm(model.parameters(), maxNorm: config.maxGradNorm) : 0
                optimizer.step()
                let value = Double(loss.item)
                lossSum += value * Double(batch.labels.count)
                seen += batch.labels.count
                for (p, label) in zip(logits.argmaxIndices(axis: 1), batch.labels) where p == label { correct += 1 }
                if step % 50 == 0 {
                    try log.log(step: step, [("train/loss", value), ("train/grad_norm", Double(norm)),
                                             ("train/lr", Double(optimizer.learningRate))])
                }
                progress.update(index + 1, metrics: [("loss", lossSum / Double(seen)), ("acc", Double(correct) / Double(seen))])
                if Interrupt.requested { break }
            }
            progress.finish()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let cpuSeconds = processCPUSeconds() - startCPU
            if Interrupt.requested {
                printError("interrupted during epoch \(epoch + 1); \(lastPath) keeps the end of epoch \(epoch)")
                throw ExitCode(130)
            }
            trainSeconds += seconds
            trainCPUSeconds += cpuSeconds
            epochsRun += 1
            let result = evaluateClassifier(classifier, on: test)
            lastAccuracy = result.accuracy
            let step = (epoch + 1) * stepsPerEpoch
            try log.log(step: step, [("train/epoch_loss", lossSum / Double(seen)), ("train/accuracy", Double(correct) / Double(seen)),
                                     ("test/loss", result.loss), ("test/accuracy", result.accuracy),
                                     ("epoch", Double(epoch + 1)), ("s_per_epoch", seconds), ("cpu_s_per_epoch", cpuSeconds)])
            let improved = result.accuracy > bestAccuracy
            if improved { bestAccuracy = result.accuracy }
            let extra = ["epoch": "\(epoch + 1)", "test_accuracy": "\(result.accuracy)", "best_test_accuracy": "\(bestAccuracy)",
                         "seed": "\(seed)"]
            try classifier.save(to: lastPath, optimizer: optimizer, extra: extra)
            if improved { try classifier.save(to: bestPath, extra: extra) }
            printError(String(format: "epoch %d/%d: train loss %.4f acc %.2f%%, test loss %.4f acc %.2f%%%@, %.1f s (%.1f CPU s)",
                              epoch + 1, epochs, lossSum / Double(seen), 100 * Double(correct) / Double(seen),
                              result.loss, 100 * result.accuracy, (improved ? " (best)" : "") as NSString, seconds, cpuSeconds))
        }
        let perEpoch = epochsRun > 0 ? trainSeconds / Double(epochsRun) : 0
        let cpuPerEpoch = epochsRun > 0 ? trainCPUSeconds / Double(epochsRun) : 0
        printError("checkpoints: \(lastPath), best \(bestPath) (\(String(format: "%.2f%%", 100 * bestAccuracy))); logs: \(folder)")
        if options.common.json {
            printJSON(["epochs": epochs, "test_accuracy": lastAccuracy, "best_test_accuracy": bestAccuracy,
                       "s_per_epoch": perEpoch, "cpu_s_per_epoch": cpuPerEpoch, "checkpoint": lastPath, "best_checkpoint": bestPath, "model": kind.rawValue,
                       "parameters": model.parameterCount])
        }
    }
}
