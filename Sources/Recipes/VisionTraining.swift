import Cortex
import Data
import Foundation
import Models

/// Which parameters a run started from `--init-from` trains.
public enum FreezeMode: String, Codable, CaseIterable, Sendable {
    /// Everything (full fine-tuning).
    case none
    /// Only the new head (a linear probe): the backbone's parameters and BatchNorm statistics stay
    /// exactly as loaded, its layers run in evaluation mode and build no graph.
    case backbone
}

/// Everything a `cortex train vit|lenet|resnet` run is set up with; logged to `config.json` first.
/// Every default lives here; `VisionTrainConfig(model:)` fills the model's recipe (measured in
/// docs/vision.md): AdamW 2e-3 with weight decay 0.05 on matrices, one warmup epoch then
/// cosine to 1/100 of the peak, clip 1, batch 128; ViT 20 epochs with 1-pixel random crops
/// (without them it overfits before 90%), LeNet-5 15 epochs without augmentation; ResNet-20
/// 30 epochs with 2-pixel crops, flips and label smoothing 0.1 (the usual small-image recipe,
/// not yet confirmed by a full run here).
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
    /// Probability of random erasing per image (Zhong et al. 2020; 0: none).
    public var erasing: Float = 0
    /// Side of the cutout square (DeVries & Taylor 2017; 0: none).
    public var cutout = 0
    /// Label smoothing ε of the cross-entropy (Szegedy et al. 2016; 0: none).
    public var labelSmoothing: Float = 0
    /// Keep only these labels of the data, renumbered 0, 1, … in this order (nil: all classes).
    public var classes: [Int]?
    /// Train on this many images per class, drawn with the seed (nil: all).
    public var labelsPerClass: Int?
    /// Start from this image-classifier checkpoint's backbone (same model and sizes) with a new head.
    public var initFrom: String?
    /// What a run from `initFrom` trains.
    public var freeze = FreezeMode.none
    /// Train on only the first `limit` training images (quick trials); nil: all.
    public var limit: Int?
    /// Evaluate on the test set (and write `best.safetensors`) after every `evalEvery`-th epoch
    /// and after the last; `last.safetensors` is written after every epoch regardless. Runs on a
    /// few labelled images have epochs of a few steps, where a full test pass would dominate.
    public var evalEvery = 1
    /// Model sizes; channels, image size and classes come from the data.
    public var vit: ViTConfig?
    public var lenet: LeNetConfig?
    public var resnet: ResNetConfig?
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
        case .resnet:
            epochs = 30
            cropPadding = 2
            horizontalFlip = true
            labelSmoothing = 0.1
            resnet = ResNetConfig()
        }
    }

    /// The augmentation pipeline these settings ask for.
    public var augmentation: ImageAugmentation {
        ImageAugmentation(cropPadding: cropPadding, horizontalFlip: horizontalFlip, erasing: erasing, cutout: cutout)
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
        if !(erasing >= 0 && erasing <= 1) { return "the erasing probability must lie in [0, 1], got \(erasing)" }
        if cutout < 0 { return "the cutout size must not be negative, got \(cutout)" }
        if !(labelSmoothing >= 0 && labelSmoothing < 1) {
            return "label smoothing must lie in [0, 1), got \(labelSmoothing)"
        }
        if let classes, classes.count < 2 || Set(classes).count != classes.count || classes.contains(where: { $0 < 0 }) {
            return "--classes needs at least two distinct labels, got \(classes)"
        }
        if let labelsPerClass, labelsPerClass < 1 { return "labels per class must be positive, got \(labelsPerClass)" }
        if evalEvery < 1 { return "--eval-every must be at least 1 epoch, got \(evalEvery)" }
        if freeze != .none && initFrom == nil { return "--freeze \(freeze.rawValue) needs --init-from CHECKPOINT" }
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

/// `x` with its last axis reversed (the left–right mirror image of `[…, H, W]`), outside the graph.
public func mirroredLastAxis(_ x: Tensor) -> Tensor {
    let W = x.shape.last ?? 1, values = x.scalars
    var out = values
    for row in stride(from: 0, to: values.count, by: W) {
        for c in 0..<W { out[row + c] = values[row + W - 1 - c] }
    }
    return Tensor(shape: x.shape, data: out)
}

/// Test-set accuracy and predictions of a classifier, in evaluation mode. With `flip` each
/// image is classified by the mean of its class probabilities and its mirror image's
/// (horizontal-flip test-time augmentation); the loss is always the plain pass's.
public func evaluateClassifier(
    _ classifier: ImageClassifier, on dataset: ImageDataset, batchSize: Int = 500, flip: Bool = false
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
        let predicted =
            flip
            ? withNoGrad {
                logits.softmax(axis: -1) + classifier.logits(mirroredLastAxis(batch.images), batchSize: batchSize).softmax(axis: -1)
            }.argmaxIndices(axis: 1)
            : logits.argmaxIndices(axis: 1)
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
    /// The network's head (`fc`, `head`, `fc3`) and whether only it trains.
    let headName: String
    let frozen: Bool
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
        var test = try ImageDataset.load(directory: config.data, split: .test)
        if let classes = config.classes {
            if classes.contains(where: { $0 >= train.classCount }) {
                throw TrainingError(
                    "--classes: \(config.data) has labels 0…\(train.classCount - 1), got \(classes.map(String.init).joined(separator: ","))"
                )
            }
            train = train.keepingClasses(classes)
            test = test.keepingClasses(classes)
        }
        if let perClass = config.labelsPerClass { train = train.sampled(perClass: perClass, seed: config.seed) }
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
        // A run from a pretrained checkpoint keeps its sizes (all but the classes) and its
        // input normalisation, so the backbone sees what it was trained on.
        let pretrained = try config.initFrom.map { path in
            let loaded = try ImageClassifier.load(path: path).classifier
            guard loaded.kind == config.model else {
                throw TrainingError("--init-from \(path) holds a \(loaded.kind.rawValue) model, not \(config.model.rawValue)")
            }
            guard loaded.channels == train.channels, loaded.imageSize == train.height else {
                throw TrainingError(
                    "--init-from \(path) takes \(loaded.channels)x\(loaded.imageSize)x\(loaded.imageSize) images, the data has \(train.channels)x\(train.height)x\(train.width)"
                )
            }
            switch loaded.network {
            case let vit as VisionTransformer: config.vit = vit.config
            case let lenet as LeNet5: config.lenet = lenet.config
            case let resnet as ResNet: config.resnet = resnet.config
            default: break
            }
            return loaded
        }
        switch config.model {
        case .vit:
            config.vit = try (config.vit ?? ViTConfig()).fitted(to: train)
        case .lenet:
            let sizes = LeNetConfig(channels: train.channels, imageSize: train.height, classes: train.classCount)
            guard sizes.featureSize >= 1 else {
                throw TrainingError("LeNet-5 needs images of at least 12 pixels, got \(train.height)")
            }
            config.lenet = sizes
        case .resnet:
            config.resnet = try (config.resnet ?? ResNetConfig()).fitted(to: train)
        }
        self.config = config
        self.train = train
        self.test = test
        stepsPerEpoch = (train.count + config.batchSize - 1) / config.batchSize
        let totalSteps = config.epochs * stepsPerEpoch
        normalization =
            pretrained.map { ImageNormalization(mean: $0.mean, std: $0.std) } ?? ImageNormalization.computed(from: train)
        var generator = RandomGenerator(seed: config.seed)
        classifier = ImageClassifier.make(
            kind: config.model, vit: config.vit ?? ViTConfig(), lenet: config.lenet ?? LeNetConfig(),
            resnet: config.resnet ?? ResNetConfig(), classNames: train.classNames, mean: normalization.mean,
            std: normalization.std, generator: &generator)
        let model = classifier.network
        headName = config.model.headName
        if let pretrained {
            let prefix = headName + "."
            let backbone = pretrained.network.stateDict().filter { !$0.name.hasPrefix(prefix) }
            try model.loadStateDict(Dictionary(uniqueKeysWithValues: backbone), strict: false)
        }
        frozen = config.freeze == .backbone
        if frozen {
            for (name, parameter) in model.namedParameters() where !name.hasPrefix(headName + ".") {
                parameter.requiresGrad = false
            }
        }
        let trained = Self.trainedModule(of: model, headName: headName, frozen: frozen)
        optimizer = AdamW(trained.weightDecayGroups(weightDecay: config.weightDecay), learningRate: config.learningRate)
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
        if let path = config.initFrom {
            log("backbone from \(path); \(frozen ? "training only the new head '\(headName)'" : "fine-tuning everything")")
        }
        if resume { log("resuming after epoch \(firstEpoch)") }
    }

    /// The module whose parameters the optimizer updates: the whole network, or only its head
    /// when the backbone is frozen.
    static func trainedModule(of model: any UnaryLayer, headName: String, frozen: Bool) -> any Module {
        guard frozen, let head = model.children.first(where: { $0.name == headName }) else { return model }
        return Prefixed(name: headName, module: head.module)
    }

    /// Training mode for the network, but a frozen backbone stays in evaluation mode (BatchNorm
    /// keeps its loaded statistics, dropout is off).
    func setTrainingMode() {
        let model = classifier.network
        model.train()
        if frozen {
            for (name, child) in model.children where name != headName { child.eval() }
        }
    }

    /// Trains to `config.epochs`; `shouldStop` is polled every batch (Ctrl-C). A run stopped
    /// inside an epoch keeps the checkpoint of the epoch before.
    public func run(shouldStop: () -> Bool = { false }) throws -> VisionTrainingSummary {
        let model = classifier.network
        let optimizerParameters = Self.trainedModule(of: model, headName: headName, frozen: frozen).parameters()
        let seed = config.seed
        let lastPath = trainingRun.lastCheckpoint, bestPath = trainingRun.bestCheckpoint
        var trainSeconds = 0.0, trainCPUSeconds = 0.0, epochsRun = 0
        var lastAccuracy = Double.nan
        var interrupted = false
        for epoch in firstEpoch..<config.epochs {
            // A loader per epoch, seeded by (seed, epoch): a resumed run sees the same order.
            let loader = ImageLoader(
                dataset: train, batchSize: config.batchSize, normalization: normalization,
                augmentation: config.augmentation,
                seed: seed &* 1_000_003 &+ UInt64(epoch))
            let progress = Cortex.Progress(
                total: stepsPerEpoch, label: "epoch \(epoch + 1)/\(config.epochs)", output: parallel.progressOutput)
            setTrainingMode()
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
                    let loss = crossEntropy(logits: logits, targets: labels, labelSmoothing: config.labelSmoothing)
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
                let norm = config.maxGradNorm > 0 ? clipGradNorm(optimizerParameters, maxNorm: config.maxGradNorm) : 0
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
            if (epoch + 1) % config.evalEvery != 0 && epoch + 1 != config.epochs {
                try trainingRun.logger.log(
                    step: (epoch + 1) * stepsPerEpoch,
                    [
                        ("train/epoch_loss", lossSum / Double(seen)), ("train/accuracy", Double(correct) / Double(seen)),
                        ("epoch", Double(epoch + 1)), ("s_per_epoch", seconds), ("cpu_s_per_epoch", cpuSeconds)
                    ])
                var extra = ["epoch": "\(epoch + 1)", "seed": "\(seed)"]
                if let bestAccuracy { extra["best_test_accuracy"] = "\(bestAccuracy)" }
                try classifier.save(to: lastPath, optimizer: optimizer, extra: extra)
                log(
                    String(
                        format: "epoch %d/%d: train loss %.4f acc %.2f%%, %.1f s (%.1f CPU s); next test after epoch %d",
                        epoch + 1, config.epochs, lossSum / Double(seen), 100 * Double(correct) / Double(seen), seconds,
                        cpuSeconds, min(config.epochs, (epoch + 1) / config.evalEvery * config.evalEvery + config.evalEvery)))
                continue
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

/// A module seen under its name in a parent (`fc`), so its parameters keep their full names
/// (`fc.weight`) in the optimizer's state.
final class Prefixed: Module {
    let name: String
    let module: any Module
    var isTraining = true

    init(name: String, module: any Module) {
        self.name = name
        self.module = module
    }

    var children: [(name: String, module: any Module)] { [(name, module)] }
}

/// Model sizes whose input shape and class count come from the data.
protocol DataSizedConfig {
    var channels: Int { get set }
    var imageSize: Int { get set }
    var classes: Int { get set }
    var problem: String? { get }
}

extension ViTConfig: DataSizedConfig {}
extension ResNetConfig: DataSizedConfig {}

extension DataSizedConfig {
    /// These sizes with the channels, image size and classes of `data`; throws when they cannot work.
    func fitted(to data: ImageDataset) throws -> Self {
        var sizes = self
        sizes.channels = data.channels
        sizes.imageSize = data.height
        sizes.classes = data.classCount
        if let problem = sizes.problem { throw TrainingError(problem) }
        return sizes
    }
}
