import Cortex
import Data
import Foundation
import Models

/// Everything a `cortex train segmenter` run is set up with; logged to `config.json` first.
/// Every default lives here (measured in docs/vision.md, "Segmentation"): a U-Net of widths
/// 16, 32, 64 on 64×64 scenes of 1–4 Fashion-MNIST items, AdamW 2e-3 with weight decay 0.05
/// on kernels, 150 warmup steps then cosine to 1/100 of the peak, clip 1, batch 16, 3000 steps
/// (48,000 scenes).
public struct SegmenterConfig: Codable, Equatable, Sendable {
    /// Directory of Fashion-MNIST (IDX files, plain or .gz).
    public var data = FashionMNIST.defaultDirectory
    /// Seed of the weights and of the training scenes; test scenes use `seed + 1_000_003`.
    public var seed: UInt64 = 0
    /// How scenes are drawn (`SceneConfig`'s defaults); its own `seed` is replaced by the ones above.
    public var scenes = SceneConfig()
    public var unet = UNetConfig()
    /// Optimizer steps. Step s trains on scenes s·batch … s·batch + batch − 1 of the training
    /// split's generator, so every scene is new.
    public var steps = 3000
    public var batchSize = 16
    /// Peak learning rate of AdamW (Loshchilov & Hutter 2019).
    public var learningRate: Float = 2e-3
    /// The cosine decay ends at the peak divided by this.
    public var finalLearningRateDivisor: Float = 100
    /// Linear warmup steps before the cosine decay.
    public var warmupSteps = 150
    /// AdamW weight decay (kernels only; BatchNorm gains and biases do not decay).
    public var weightDecay: Float = 0.05
    /// Gradients are clipped to this global norm (0: no clipping).
    public var maxGradNorm: Float = 1
    /// Weight of background pixels in the cross-entropy (objects weigh 1). 1: the plain
    /// per-pixel mean.
    public var backgroundWeight: Float = 1
    /// Whether predictions are region-voted (`RegionVote`, Farabet et al. 2013): every connected
    /// foreground segment takes the class its pixels' probabilities favour together. The scores
    /// (and the best checkpoint) follow this setting; the raw per-pixel scores are reported beside.
    /// Off by default: measured at step 500 it lowered object mIoU from 0.391 to 0.276, because
    /// touching items merge into one segment and lose one of their classes (docs/vision.md).
    public var regionVote = false
    /// Whether evaluation averages the class probabilities of each scene and of its mirror image
    /// (mirrored back): horizontal-flip test-time augmentation, twice the evaluation's forward
    /// passes. Off by default; training is unchanged by it.
    public var flipTest = false
    /// Evaluate on the test scenes and write checkpoints every this many steps (and at the end).
    public var evaluateEvery = 500
    /// Test scenes (Fashion-MNIST's test split, seed + 1_000_003) the scores are measured on.
    public var testScenes = 1000
    public var threads = 2

    public init() {}

    /// Seed of the test scenes' generator.
    public var testSeed: UInt64 { seed &+ 1_000_003 }

    /// The first setting that cannot work, as one line, or nil.
    public var problem: String? {
        if steps < 1 { return "steps must be at least 1, got \(steps)" }
        if batchSize < 2 { return "the batch size must be at least 2 (BatchNorm), got \(batchSize)" }
        if !(learningRate > 0) { return "the learning rate must be positive, got \(learningRate)" }
        if weightDecay < 0 || warmupSteps < 0 { return "weight decay and warmup steps must not be negative" }
        if !(finalLearningRateDivisor >= 1) { return "the final learning-rate divisor must be at least 1" }
        if !(backgroundWeight > 0) { return "the background weight must be positive, got \(backgroundWeight)" }
        if evaluateEvery < 1 { return "--eval-every must be at least 1, got \(evaluateEvery)" }
        if testScenes < 1 || testScenes > 100_000 { return "test scenes must lie in 1…100000, got \(testScenes)" }
        if let problem = scenes.problem { return problem }
        if let problem = unet.problem { return problem }
        if unet.inputChannels != 1 || unet.classes != 11 {
            return "the scene U-Net takes 1 grey channel and predicts 11 classes (background + 10)"
        }
        if scenes.size % unet.sizeMultiple != 0 {
            return "a U-Net of \(unet.widths.count) levels needs a scene size that is a multiple of \(unet.sizeMultiple), got \(scenes.size)"
        }
        return nil
    }
}

/// Scores of a segmenter on a set of scenes.
public struct SegmentationScores: Sendable {
    /// Pixels counted by true and predicted class, after region voting when it is on.
    public var confusion: ConfusionMatrix
    /// The same for the per-pixel argmax, without voting.
    public var rawConfusion: ConfusionMatrix
    /// Mean IoU over the 10 object classes of the per-pixel argmax (no voting).
    public var rawMeanIoU: Double { rawConfusion.meanIoU(over: Array(1..<rawConfusion.classes)) }
    /// Mean IoU over the 10 object classes (1…10) present in truth or prediction.
    public var meanIoU: Double { confusion.meanIoU(over: Array(1..<confusion.classes)) }
    /// Mean IoU over all 11 classes, background included.
    public var meanIoUWithBackground: Double { confusion.meanIoU() }
    public var pixelAccuracy: Double { confusion.pixelAccuracy }
    /// Mean cross-entropy per pixel.
    public var loss: Double
    /// Wall-clock seconds of the forward passes per scene.
    public var secondsPerImage: Double
}

/// What a finished (or interrupted) segmentation run reports.
public struct SegmentationSummary: Sendable {
    public var steps: Int
    public var scores: SegmentationScores?
    public var bestMeanIoU: Double
    /// Training seconds (wall clock, evaluations excluded) per 1000 steps.
    public var secondsPer1000Steps: Double
    /// Process CPU seconds (all threads) of training per 1000 steps.
    public var cpuSecondsPer1000Steps: Double
    public var trainSeconds: Double
    public var checkpoint: String
    public var bestCheckpoint: String
    public var picture: String
    public var parameters: Int
    public var interrupted: Bool
    /// Whether `scores` are region-voted.
    public var regionVote: Bool
}

/// Wall-clock and process CPU seconds since it was made.
struct Stopwatch {
    let wallStart = DispatchTime.now().uptimeNanoseconds
    let cpuStart = processCPUSeconds()
    var seconds: Double { Double(DispatchTime.now().uptimeNanoseconds - wallStart) / 1e9 }
    var cpuSeconds: Double { processCPUSeconds() - cpuStart }
}

/// Scenes as network input and per-pixel targets.
public enum SceneBatch {
    /// Pixels `[B, 1, S, S]` scaled to 0…1 and masks (0 background, 1 + class) in row-major order.
    public static func make(_ scenes: [Scene]) -> (images: Tensor, masks: [Int]) {
        let S = scenes[0].size
        var pixels = [Float](repeating: 0, count: scenes.count * S * S)
        var masks = [Int](repeating: 0, count: scenes.count * S * S)
        for (b, scene) in scenes.enumerated() {
            precondition(scene.size == S, "SceneBatch: scenes of sizes \(S) and \(scene.size)")
            for i in 0..<(S * S) {
                pixels[b * S * S + i] = Float(scene.pixels[i]) * (1 / 255)
                masks[b * S * S + i] = Int(scene.mask[i])
            }
        }
        return (Tensor(shape: [scenes.count, 1, S, S], data: pixels), masks)
    }
}

/// Per-pixel cross-entropy of logits `[B, K, H, W]` against class targets (row-major over B, H, W);
/// background pixels (class 0) weigh `backgroundWeight`, others 1, and the mean divides by the
/// total weight (PyTorch's `F.cross_entropy(weight=…)` rule).
public func segmentationLoss(logits: Tensor, targets: [Int], backgroundWeight: Float = 1) -> Tensor {
    let rows = logits.permuted([0, 2, 3, 1])  // [B, H, W, K]
    if backgroundWeight == 1 { return crossEntropy(logits: rows, targets: targets) }
    let weights = targets.map { $0 == 0 ? backgroundWeight : 1 }
    let perPixel = crossEntropy(logits: rows, targets: targets, reduction: .none)  // [B, H, W]
    let w = Tensor(shape: perPixel.shape, data: weights)
    return (perPixel * w).sum() * (1 / weights.reduce(0, +))
}

/// `cortex train segmenter`: a U-Net on Fashion-MNIST scenes drawn on the fly, per-pixel
/// cross-entropy, AdamW with warmup and cosine decay; every `evaluateEvery` steps the test
/// scenes' mean IoU, `last.safetensors` (with the optimizer) and `best.safetensors` when the
/// object mean IoU improves; at the end `predictions.png`, a few test scenes with their true
/// and predicted masks.
///
/// Under a `Communicator` of several ranks it trains data-parallel (`DataParallel`): each rank
/// draws only its shard of the step's scenes, the gradients are averaged before the common
/// AdamW step (BatchNorm normalises each rank's shard, as PyTorch's DDP without SyncBatchNorm),
/// and rank 0 alone evaluates, logs and writes checkpoints.
public final class SegmentationTrainer {
    public let config: SegmenterConfig
    public let unet: UNet
    public let trainingRun: TrainingRun
    let trainScenes: SceneGenerator
    let testScenes: [Scene]
    let optimizer: AdamW
    let schedule: WarmupCosineLR
    var firstStep = 0
    var bestMeanIoU: Double?
    /// The ranks this run is spread over (one by default).
    public let parallel: DataParallel
    public var log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    public init(
        config: SegmenterConfig, folder: String, resume: Bool = false, communicator: Communicator = SingleProcess()
    ) throws {
        if let problem = config.problem { throw TrainingError(problem) }
        try DataParallel.checkStart(config, batchSize: config.batchSize, examples: "scenes", communicator: communicator)
        if !communicator.isRoot { log = { _ in } }
        self.config = config
        var trainConfig = config.scenes, testConfig = config.scenes
        trainConfig.seed = config.seed
        testConfig.seed = config.testSeed
        trainScenes = try SceneGenerator(source: try FashionMNIST.load(split: .train, directory: config.data), config: trainConfig)
        let testGenerator = try SceneGenerator(
            source: try FashionMNIST.load(split: .test, directory: config.data), config: testConfig)
        testScenes = (0..<config.testScenes).map(testGenerator.scene)
        var generator = RandomGenerator(seed: config.seed)
        unet = UNet(config.unet, generator: &generator)
        optimizer = AdamW(unet.weightDecayGroups(weightDecay: config.weightDecay), learningRate: config.learningRate)
        schedule = WarmupCosineLR(
            maximum: config.learningRate, minimum: config.learningRate / config.finalLearningRateDivisor,
            warmupSteps: min(config.warmupSteps, config.steps - 1), decaySteps: max(config.steps, 1))
        trainingRun = try TrainingRun(
            folder: communicator.runFolder(folder, resume: resume), config: config, resume: resume)
        if let path = trainingRun.resumeCheckpoint {
            let meta = try Checkpoint.load(into: unet, optimizer: optimizer, from: path)
            guard meta["model"] == "unet", let step = Int(meta["step"] ?? "") else {
                throw TrainingError("\(path) is not a segmenter checkpoint (no 'model: unet' and 'step' metadata)")
            }
            firstStep = step
            bestMeanIoU = Double(meta["best_miou"] ?? "")
        }
        parallel = DataParallel(parameters: unet.namedParameters(), communicator: communicator)
        if communicator.size > 1 { try parallel.broadcastParameters() }
        trainingRun.startLines(config: config).forEach(log)
        if communicator.size > 1 { log(parallel.startLine(globalBatch: config.batchSize)) }
        log(
            "unet: \(unet.parameterCount) parameters, widths \(config.unet.widths), \(config.unet.upsampling.rawValue) upsampling; \(config.scenes.size)x\(config.scenes.size) scenes, batch \(config.batchSize), \(config.steps) steps; \(config.testScenes) test scenes"
        )
        if resume { log("resuming after step \(firstStep)") }
    }

    // MARK: Checkpoints

    /// Checkpoint metadata describing the network.
    public static func metadata(_ config: SegmenterConfig) -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return [
            "model": "unet", "config": String(decoding: try! encoder.encode(config.unet), as: UTF8.self),
            "scene_size": "\(config.scenes.size)",
            "class_names": (["background"] + FashionMNIST.classNames).joined(separator: "|")
        ]
    }

    /// The U-Net a `train segmenter` checkpoint holds, with its scene size and class names.
    public static func load(path: String) throws -> (unet: UNet, sceneSize: Int, classNames: [String]) {
        let file = try SafeTensors.read(from: path)
        guard file.metadata["model"] == "unet", let text = file.metadata["config"],
            let sizes = try? JSONDecoder().decode(UNetConfig.self, from: Data(text.utf8)), sizes.problem == nil,
            let size = Int(file.metadata["scene_size"] ?? ""), size >= 1, size <= 4096, size % sizes.sizeMultiple == 0
        else {
            throw TrainingError("\(path) is not a segmenter checkpoint (metadata 'model' should be unet, with its sizes)")
        }
        var generator = RandomGenerator(seed: 0)
        let unet = UNet(sizes, generator: &generator)
        try Checkpoint.load(into: unet, from: path, strict: false)
        let names = file.metadata["class_names"].map { $0.split(separator: "|").map(String.init) } ?? []
        let classNames = names.count == sizes.classes ? names : (0..<sizes.classes).map { "class \($0)" }
        unet.eval()
        return (unet, size, classNames)
    }

    // MARK: Evaluation

    /// Per-pixel classes `[B·H·W]` of class probabilities `[B, K, H, W]` after region voting.
    public static func votedClasses(probabilities: Tensor) -> [Int] {
        let shape = probabilities.shape
        return RegionVote.apply(
            batch: probabilities.scalars, images: shape[0], classes: shape[1], height: shape[2], width: shape[3])
    }

    /// The network's logits `[B, K, H, W]` for `images` and its class probabilities; with
    /// `flip`, the probabilities are the mean of the images' and of their mirror images'
    /// (mirrored back), so the prediction of a mirrored scene is the mirrored prediction.
    public static func predict(_ unet: UNet, _ images: Tensor, flip: Bool) -> (logits: Tensor, probabilities: Tensor) {
        withNoGrad {
            let logits = unet(images)
            var probabilities = logits.softmax(axis: 1)
            if flip {
                let back = mirroredLastAxis(unet(mirroredLastAxis(images)).softmax(axis: 1))
                probabilities = (probabilities + back) * 0.5
            }
            return (logits, probabilities)
        }
    }

    /// Scores of `unet` (in evaluation mode) on `scenes`, in batches of `batchSize`; with
    /// `regionVote` the predictions (and `confusion`) are region-voted; with `flip` each scene's
    /// probabilities are averaged with its mirror image's (`predict`). The loss is the plain pass's.
    public static func evaluate(
        _ unet: UNet, on scenes: [Scene], batchSize: Int = 50, regionVote: Bool = false, flip: Bool = false
    ) -> (
        scores: SegmentationScores, predictions: [[Int]]
    ) {
        unet.eval()
        var confusion = ConfusionMatrix(classes: unet.config.classes)
        var rawConfusion = confusion
        var lossSum = 0.0, pixels = 0, seconds = 0.0
        var predictions: [[Int]] = []
        for start in stride(from: 0, to: scenes.count, by: batchSize) {
            let part = Array(scenes[start..<min(start + batchSize, scenes.count)])
            let (images, masks) = SceneBatch.make(part)
            let begin = DispatchTime.now().uptimeNanoseconds
            let (logits, probabilities) = predict(unet, images, flip: flip)
            let raw = probabilities.argmaxIndices(axis: 1)
            let predicted = regionVote ? votedClasses(probabilities: probabilities) : raw
            seconds += Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9
            let loss = withNoGrad { crossEntropy(logits: logits.permuted([0, 2, 3, 1]), targets: masks, reduction: .sum) }
            lossSum += Double(loss.item)
            pixels += masks.count
            confusion.add(truth: masks, prediction: predicted)
            rawConfusion.add(truth: masks, prediction: raw)
            let plane = masks.count / part.count
            for b in 0..<part.count where predictions.count < 16 {
                predictions.append(Array(predicted[(b * plane)..<((b + 1) * plane)]))
            }
        }
        return (
            SegmentationScores(
                confusion: confusion, rawConfusion: rawConfusion, loss: lossSum / Double(max(pixels, 1)), secondsPerImage: seconds / Double(scenes.count)),
            predictions
        )
    }

    // MARK: Training

    /// Trains to `config.steps`; `shouldStop` is polled every step (Ctrl-C). A run stopped
    /// between evaluations keeps the checkpoint of the last one.
    public func run(shouldStop: () -> Bool = { false }) throws -> SegmentationSummary {
        let parameters = unet.parameters()
        let B = config.batchSize, total = config.steps
        var trainSeconds = 0.0, trainCPUSeconds = 0.0, stepsRun = 0, interrupted = false
        var scores: SegmentationScores?, predictions: [[Int]] = []
        var step = firstStep
        while step < total {
            let end = min(total, (step / config.evaluateEvery + 1) * config.evaluateEvery)
            let progress = Cortex.Progress(
                total: end - step, label: "steps \(step + 1)–\(end)/\(total)", output: parallel.progressOutput)
            unet.train()
            let watch = Stopwatch()
            var lossSum = 0.0, count = 0
            let first = step
            while step < end {
                // This rank's scenes of the step (all of them in one process).
                let rows = parallel.shard(count: B)
                optimizer.learningRate = schedule.learningRate(at: step)
                optimizer.zeroGrad()
                var value = 0.0
                if !rows.isEmpty {
                    let (images, masks) = SceneBatch.make(rows.map { trainScenes.scene(step * B + $0) })
                    let loss = segmentationLoss(
                        logits: unet(images), targets: masks, backgroundWeight: config.backgroundWeight)
                    loss.backward()
                    value = Double(loss.item)
                }
                var stop = shouldStop()
                if parallel.size > 1 {
                    // The step's loss over all ranks, and whether any rank was asked to stop,
                    // travel with the gradients.
                    let totals = try parallel.averageGradients(
                        localCount: rows.count, globalCount: B, extras: [Float(value) * Float(rows.count), stop ? 1 : 0])
                    value = Double(totals[0]) / Double(B)
                    stop = totals[1] > 0
                }
                let norm = config.maxGradNorm > 0 ? clipGradNorm(parameters, maxNorm: config.maxGradNorm) : 0
                optimizer.step()
                lossSum += value
                count += 1
                if step % 50 == 0 {
                    try trainingRun.logger.log(
                        step: step,
                        [("train/loss", value), ("train/grad_norm", Double(norm)), ("train/lr", Double(optimizer.learningRate))])
                }
                step += 1
                let rate = Double(count * B) / max(watch.seconds, 1e-9)
                progress.update(
                    step - first,
                    metrics: [("loss", lossSum / Double(count))]
                        + (parallel.size > 1
                            ? parallel.progressMetrics(examplesPerSecond: rate, unit: "scenes/s") : [("scenes/s", rate)]))
                interrupted = stop
                if interrupted { break }
            }
            progress.finish()
            let (seconds, cpuSeconds) = (watch.seconds, watch.cpuSeconds)
            if interrupted {
                log("interrupted at step \(step); \(trainingRun.lastCheckpoint) keeps step \(first)")
                break
            }
            trainSeconds += seconds
            trainCPUSeconds += cpuSeconds
            stepsRun += step - first
            if parallel.size > 1 {
                try parallel.checkParametersAgree()
                // Rank 0 alone evaluates, logs and writes checkpoints.
                guard parallel.communicator.isRoot else { continue }
            }
            let result = Self.evaluate(unet, on: testScenes, regionVote: config.regionVote, flip: config.flipTest)
            scores = result.scores
            predictions = result.predictions
            let s = result.scores
            let improved = TrainingRun.improves(s.meanIoU, on: &bestMeanIoU)
            try trainingRun.logger.log(
                step: step,
                [
                    ("train/round_loss", lossSum / Double(count)), ("test/loss", s.loss), ("test/miou", s.meanIoU),
                    ("test/miou_with_background", s.meanIoUWithBackground), ("test/miou_raw", s.rawMeanIoU), ("test/pixel_accuracy", s.pixelAccuracy),
                    ("s_per_1000_steps", 1000 * seconds / Double(step - first)),
                    ("cpu_s_per_1000_steps", 1000 * cpuSeconds / Double(step - first)),
                    ("test/ms_per_image", 1000 * s.secondsPerImage)
                ])
            var meta = Self.metadata(config)
            meta["step"] = "\(step)"
            meta["miou"] = "\(s.meanIoU)"
            meta["best_miou"] = "\(bestMeanIoU ?? s.meanIoU)"
            meta["seed"] = "\(config.seed)"
            try Checkpoint.save(unet, optimizer: optimizer, metadata: meta, to: trainingRun.lastCheckpoint)
            if improved { try Checkpoint.save(unet, metadata: meta, to: trainingRun.bestCheckpoint) }
            log(
                String(
                    format:
                        "step %d/%d: train loss %.4f, test loss %.4f, mIoU %.4f (with background %.4f, per-pixel %.4f), pixel accuracy %.2f%%%@, %.1f s (%.1f CPU s)",
                    step, total, lossSum / Double(count), s.loss, s.meanIoU, s.meanIoUWithBackground, s.rawMeanIoU, 100 * s.pixelAccuracy,
                    (improved ? " (best)" : "") as NSString, seconds, cpuSeconds))
        }
        var picture = ""
        if !interrupted && parallel.communicator.isRoot {
            if scores == nil {
                // A resumed run that had nothing left to train still reports its scores.
                let result = Self.evaluate(unet, on: testScenes, regionVote: config.regionVote, flip: config.flipTest)
                scores = result.scores
                predictions = result.predictions
            }
            picture = trainingRun.logger.path("predictions.png")
            let grid = Self.comparisonPicture(Array(testScenes.prefix(8)), predictions: predictions)
            try grid.write(to: picture)
            try trainingRun.logger.tensorBoard.addImage(
                "test/predictions", width: grid.width, height: grid.height, channels: grid.channels, pixels: grid.pixels,
                step: step)
            if let s = scores {
                let names = ["background"] + FashionMNIST.classNames
                let perClass = (0..<s.confusion.classes).map { c in
                    "\(names[c]) \(s.confusion.iou(c).map { String(format: "%.3f", $0) } ?? "–")"
                }
                log("IoU per class: " + perClass.joined(separator: ", "))
            }
        }
        let best = bestMeanIoU ?? .nan
        try trainingRun.finish(
            metrics: [
                ("test/miou", scores?.meanIoU ?? .nan), ("best_miou", best),
                ("s_per_1000_steps", stepsRun > 0 ? 1000 * trainSeconds / Double(stepsRun) : .nan)
            ],
            step: step)
        log("checkpoints: \(trainingRun.lastCheckpoint), best \(trainingRun.bestCheckpoint); predictions: \(picture)")
        return SegmentationSummary(
            steps: step, scores: scores, bestMeanIoU: best,
            secondsPer1000Steps: stepsRun > 0 ? 1000 * trainSeconds / Double(stepsRun) : .nan,
            cpuSecondsPer1000Steps: stepsRun > 0 ? 1000 * trainCPUSeconds / Double(stepsRun) : .nan, trainSeconds: trainSeconds,
            checkpoint: trainingRun.lastCheckpoint, bestCheckpoint: trainingRun.bestCheckpoint, picture: picture,
            parameters: unet.parameterCount, interrupted: interrupted, regionVote: config.regionVote)
    }

    // MARK: Pictures

    /// RGB colour of each class: background black (left unblended), then ten distinct hues.
    public static let palette: [[UInt8]] = [
        [0, 0, 0], [230, 25, 75], [60, 180, 75], [0, 130, 200], [255, 225, 25], [245, 130, 48],
        [70, 240, 240], [145, 30, 180], [240, 50, 230], [210, 245, 60], [250, 190, 212]
    ]

    /// The grey picture `[side × side]` in RGB with each non-background pixel of `classes`
    /// blended half and half with its class colour.
    public static func overlay(pixels: [UInt8], classes: [Int], side: Int, opacity: Float = 0.5) -> PixelImage {
        var picture = PixelImage(width: side, height: side, fill: [0, 0, 0])
        for y in 0..<side {
            for x in 0..<side {
                let i = y * side + x, grey = Float(pixels[i]), c = classes[i]
                for k in 0..<3 {
                    let colour = Float(palette[c % palette.count][k])
                    let value = c == 0 ? grey : (1 - opacity) * grey + opacity * colour
                    picture[x, y, k] = UInt8(max(0, min(255, value.rounded())))
                }
            }
        }
        return picture
    }

    /// One row per scene: the scene, its true mask over it and the predicted mask over it,
    /// each enlarged 2×, with 4-pixel gaps.
    public static func comparisonPicture(_ scenes: [Scene], predictions: [[Int]], scale: Int = 2) -> PixelImage {
        let count = min(scenes.count, predictions.count)
        guard count > 0 else { return PixelImage(width: 1, height: 1, fill: [0, 0, 0]) }
        let side = scenes[0].size * scale, gap = 4
        var canvas = PixelImage(
            width: 3 * side + 4 * gap, height: count * (side + gap) + gap, fill: [255, 255, 255])
        for row in 0..<count {
            let scene = scenes[row], y = gap + row * (side + gap)
            let panels = [
                scene.image.rgb(), overlay(pixels: scene.pixels, classes: scene.mask.map(Int.init), side: scene.size),
                overlay(pixels: scene.pixels, classes: predictions[row], side: scene.size)
            ]
            for (column, panel) in panels.enumerated() {
                canvas.paste(panel, x: gap + column * (side + gap), y: y, scale: scale)
            }
        }
        return canvas
    }
}
