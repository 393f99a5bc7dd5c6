import Cortex
import Data
import Foundation
import Models

/// Everything a `cortex train detector` run is set up with; logged to `config.json` first.
/// Every default lives here (measured in docs/vision.md, "Detection"): batches of 32 scenes
/// drawn on the fly from Fashion-MNIST's training pictures (scene `step·batch + i`), AdamW at
/// 2e-3 with weight decay 0.01 on kernels, 300 warmup steps then cosine to 1/100 of the peak,
/// gradients clipped to norm 10; evaluation on 1,000 test scenes (Fashion-MNIST's test
/// pictures, seed `seed + 1_000_003`) every 1,000 steps and at the end.
public struct DetectorConfig: Codable, Equatable, Sendable {
    /// Directory of Fashion-MNIST (IDX files).
    public var data = FashionMNIST.defaultDirectory
    public var seed: UInt64 = 0
    /// Optimizer steps (one batch each). 8,000 measured: mAP@0.5 0.911 in 24 minutes on one
    /// core (5,000: 0.894 and 0.906 over two seeds, the 0.90 goal inside the spread).
    public var steps = 8000
    /// Scenes per batch.
    public var batchSize = 32
    /// Peak learning rate of AdamW (Loshchilov & Hutter 2019).
    public var learningRate: Float = 2e-3
    /// The cosine decay ends at the peak divided by this.
    public var finalLearningRateDivisor: Float = 100
    /// Linear warmup steps before the cosine decay.
    public var warmupSteps = 300
    /// AdamW weight decay (convolution kernels only).
    public var weightDecay: Float = 0.01
    /// Gradients are clipped to this global norm (0: no clipping).
    public var maxGradNorm: Float = 10
    /// Loss weights and the ignore threshold.
    public var loss = DetectionLossWeights()
    /// How outputs become detections (for evaluation and the checkpoint).
    public var decoding = DetectionDecoding()
    /// How scenes are drawn (`seed` is replaced by the run's seed for training scenes and by
    /// `seed + testSeedOffset` for test scenes).
    public var scenes = SceneConfig()
    /// Test scenes evaluated (every `evalEvery` steps and at the end).
    public var evalScenes = 1000
    /// Steps between evaluations and checkpoints.
    public var evalEvery = 1000
    /// Test scenes use the seed `seed + testSeedOffset`, so they differ from training scenes
    /// even apart from coming from other pictures.
    public var testSeedOffset: UInt64 = 1_000_003
    /// Network sizes; channels, image size and classes come from the scenes.
    public var network = DetectorNetworkConfig()
    public var threads = 2

    public init() {}

    /// The first setting that cannot work, as one line, or nil.
    public var problem: String? {
        if steps < 1 { return "steps must be at least 1, got \(steps)" }
        if batchSize < 2 { return "the batch size must be at least 2 (BatchNorm), got \(batchSize)" }
        if !(learningRate > 0) { return "the learning rate must be positive, got \(learningRate)" }
        if weightDecay < 0 || warmupSteps < 0 || maxGradNorm < 0 { return "weight decay, warmup and clipping must not be negative" }
        if !(finalLearningRateDivisor >= 1) { return "the final learning-rate divisor must be at least 1" }
        if evalScenes < 1 || evalEvery < 1 { return "evaluation needs at least one scene and a positive interval" }
        if !(decoding.scoreThreshold >= 0 && decoding.scoreThreshold < 1) || !(decoding.nmsIoU > 0 && decoding.nmsIoU <= 1)
            || decoding.maxDetections < 1
        {
            return "the score threshold must lie in [0, 1), the NMS IoU in (0, 1] and max detections be positive"
        }
        if let problem = scenes.problem { return problem }
        var sized = network
        sized.imageSize = scenes.size
        return sized.problem
    }
}

/// What a finished (or interrupted) detector run reports.
public struct DetectorTrainingSummary: Sendable {
    public var steps: Int
    public var map50: Double
    public var map: Double
    public var bestMap50: Double
    /// AP at IoU 0.5 per class (nil: no test object of that class).
    public var classAP50: [Double?]
    /// Training wall seconds per 1,000 steps.
    public var secondsPer1000Steps: Double
    public var trainingSeconds: Double
    /// Evaluation time per test image (forward, decoding and NMS), in milliseconds.
    public var msPerImage: Double
    public var checkpoint: String
    public var bestCheckpoint: String
    public var parameters: Int
    public var interrupted: Bool
}

/// Loads Fashion-MNIST's test pictures and draws the test scenes of a detector run.
public func detectorTestScenes(config: DetectorConfig, count: Int? = nil) throws -> [Scene] {
    let test = try FashionMNIST.load(split: .test, directory: config.data)
    var sceneConfig = config.scenes
    sceneConfig.seed = config.seed &+ config.testSeedOffset
    let generator = try SceneGenerator(source: test, config: sceneConfig)
    return (0..<(count ?? config.evalScenes)).map { generator.scene($0) }
}

/// The test scenes' settings (seed included) as a checkpoint keeps them, for `cortex detect
/// --test-scenes`; for a checkpoint with only its run's seed, the default scenes of that seed.
public func detectorTestSceneConfig(metadata: [String: String]) -> SceneConfig? {
    if let text = metadata["test_scenes"] { return try? JSONDecoder().decode(SceneConfig.self, from: Data(text.utf8)) }
    guard let seed = metadata["seed"].flatMap({ UInt64($0) }) else { return nil }
    var scenes = SceneConfig()
    scenes.seed = seed &+ DetectorConfig().testSeedOffset
    return scenes
}

/// mAP of `detector` on `scenes` and the time per image (forward, decoding, NMS).
public func evaluateDetector(_ detector: SceneDetector, on scenes: [Scene], batchSize: Int = 100)
    -> (evaluation: DetectionEvaluation, predictions: [[Detection]], msPerImage: Double)
{
    var predictions: [[Detection]] = []
    var seconds = 0.0
    for start in stride(from: 0, to: scenes.count, by: batchSize) {
        let batch = Array(scenes[start..<min(scenes.count, start + batchSize)])
        let input = SceneDetector.input(batch)
        let begin = DispatchTime.now().uptimeNanoseconds
        predictions += detector.detect(images: input)
        seconds += Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9
    }
    let evaluation = DetectionEvaluation(
        predictions: predictions, truths: scenes.map(\.objects), classes: detector.network.config.classes,
        maxDetections: detector.decoding.maxDetections)
    return (evaluation, predictions, 1000 * seconds / Double(max(1, scenes.count)))
}

/// `cortex train detector`: the one-stage detector on scenes drawn on the fly, AdamW with
/// warmup and cosine decay, mAP on the test scenes every `evalEvery` steps with
/// `last.safetensors` (with the optimizer; resumable) and `best.safetensors` (best mAP@0.5).
public final class DetectorTrainer {
    public let config: DetectorConfig
    public let detector: SceneDetector
    public let trainingRun: TrainingRun
    let generator: SceneGenerator
    public let testScenes: [Scene]
    let optimizer: AdamW
    let schedule: WarmupCosineLR
    var firstStep = 0
    var bestMap50: Double?
    public var log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    public init(config: DetectorConfig, folder: String, resume: Bool = false) throws {
        var config = config
        if let problem = config.problem { throw TrainingError(problem) }
        config.network.imageSize = config.scenes.size
        config.network.channels = 1
        config.network.classes = 10
        config.scenes.seed = config.seed
        self.config = config
        let train = try FashionMNIST.load(split: .train, directory: config.data)
        generator = try SceneGenerator(source: train, config: config.scenes)
        testScenes = try detectorTestScenes(config: config)
        var random = RandomGenerator(seed: config.seed)
        detector = SceneDetector(
            network: Detector(config.network, generator: &random), decoding: config.decoding,
            classNames: FashionMNIST.classNames)
        let network = detector.network
        optimizer = AdamW(network.weightDecayGroups(weightDecay: config.weightDecay), learningRate: config.learningRate)
        schedule = WarmupCosineLR(
            maximum: config.learningRate, minimum: config.learningRate / config.finalLearningRateDivisor,
            warmupSteps: min(config.warmupSteps, max(config.steps - 1, 0)), decaySteps: config.steps)
        trainingRun = try TrainingRun(folder: folder, config: config, resume: resume)
        if let checkpoint = trainingRun.resumeCheckpoint {
            let meta = try Checkpoint.load(into: network, optimizer: optimizer, from: checkpoint)
            guard let step = Int(meta["step"] ?? "") else {
                throw TrainingError("\(checkpoint) is not a detector training checkpoint (no 'step')")
            }
            firstStep = step
            bestMap50 = Double(meta["best_map50"] ?? "")
        }
        trainingRun.startLines(config: config).forEach(log)
        log(
            "detector: \(network.parameterCount) parameters, \(config.network.gridSize)x\(config.network.gridSize) grid, \(config.network.anchors.count) anchors; scenes \(config.scenes.size)x\(config.scenes.size) from Fashion-MNIST (train split, on the fly), \(testScenes.count) test scenes (test split, seed \(config.seed &+ config.testSeedOffset))"
        )
        if resume { log("resuming after step \(firstStep)") }
    }

    /// The test scenes' `SceneConfig` (with their seed) as JSON.
    static func testSceneDescription(_ config: DetectorConfig) -> String {
        var scenes = config.scenes
        scenes.seed = config.seed &+ config.testSeedOffset
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try! encoder.encode(scenes), as: UTF8.self)
    }

    /// A class name as a TensorBoard tag: lower case, anything but letters and digits as `_`
    /// (`T-shirt/top` → `t_shirt_top`).
    static func tagName(_ name: String) -> String {
        String(name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    /// Scenes `step·batch ..< (step + 1)·batch` of the training stream.
    func batch(step: Int) -> [Scene] {
        (0..<config.batchSize).map { generator.scene(step * config.batchSize + $0) }
    }

    /// One AdamW step on `scenes`; returns the loss terms before it (total, box, object, class).
    @discardableResult
    public func step(_ scenes: [Scene]) -> [Double] {
        let network = detector.network
        network.train()
        let output = network(SceneDetector.input(scenes))
        let targets = detector.coder.targets(for: scenes.map(\.objects), output: output, weights: config.loss)
        let loss = detector.coder.loss(output, targets: targets, weights: config.loss)
        optimizer.zeroGrad()
        loss.total.backward()
        if config.maxGradNorm > 0 { _ = clipGradNorm(network.parameters(), maxNorm: config.maxGradNorm) }
        optimizer.step()
        return [loss.total, loss.box, loss.object, loss.classification].map { Double($0.item) }
    }

    /// Trains to `config.steps`; `shouldStop` is polled every step (Ctrl-C). A stopped run keeps
    /// the checkpoint of its last evaluation.
    public func run(shouldStop: () -> Bool = { false }) throws -> DetectorTrainingSummary {
        let network = detector.network
        var trainSeconds = 0.0, stepsRun = 0
        var last: (evaluation: DetectionEvaluation, predictions: [[Detection]], msPerImage: Double)?
        var interrupted = false
        let progress = Cortex.Progress(total: config.steps, label: "detector")
        var sums = [Double](repeating: 0, count: 4), counted = 0
        var step = firstStep
        while step < config.steps {
            optimizer.learningRate = schedule.learningRate(at: step)
            let begin = DispatchTime.now().uptimeNanoseconds
            let losses = self.step(batch(step: step))
            trainSeconds += Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9
            stepsRun += 1
            for k in 0..<4 { sums[k] += losses[k] }
            counted += 1
            if step % 50 == 0 {
                try trainingRun.logger.log(
                    step: step,
                    [
                        ("train/loss", losses[0]), ("train/box_loss", losses[1]), ("train/object_loss", losses[2]),
                        ("train/class_loss", losses[3]), ("train/lr", Double(optimizer.learningRate))
                    ])
            }
            step += 1
            progress.update(
                step, metrics: [("loss", sums[0] / Double(counted)), ("steps/s", Double(stepsRun) / trainSeconds)])
            if step % config.evalEvery == 0 || step == config.steps {
                let result = evaluateDetector(detector, on: testScenes)
                last = result
                let improved = TrainingRun.improves(result.evaluation.map50, on: &bestMap50)
                var scalars: [(String, Double)] = [
                    ("test/map50", result.evaluation.map50), ("test/map", result.evaluation.map),
                    ("test/map75", result.evaluation.map75), ("test/ms_per_image", result.msPerImage),
                    ("train/epoch_loss", sums[0] / Double(counted)),
                    ("s_per_1000_steps", 1000 * trainSeconds / Double(stepsRun))
                ]
                for (c, ap) in result.evaluation.classAP50.enumerated() {
                    if let ap { scalars.append(("test/ap50_\(Self.tagName(FashionMNIST.classNames[c]))", ap)) }
                }
                try trainingRun.logger.log(step: step, scalars)
                let meta = detector.metadata().merging([
                    "step": "\(step)", "map50": "\(result.evaluation.map50)", "map": "\(result.evaluation.map)",
                    "best_map50": "\(bestMap50 ?? result.evaluation.map50)", "seed": "\(config.seed)",
                    "test_scenes": Self.testSceneDescription(config)
                ]) { $1 }
                try Checkpoint.save(network, optimizer: optimizer, metadata: meta, to: trainingRun.lastCheckpoint)
                if improved { try Checkpoint.save(network, metadata: meta, to: trainingRun.bestCheckpoint) }
                progress.message(
                    String(
                        format: "step %d: loss %.4f, test mAP@0.5 %.4f, mAP@[.5:.95] %.4f%@, %.2f ms/image", step,
                        sums[0] / Double(counted), result.evaluation.map50, result.evaluation.map,
                        (improved ? " (best)" : "") as NSString, result.msPerImage))
                sums = [Double](repeating: 0, count: 4)
                counted = 0
            }
            if shouldStop() {
                interrupted = true
                break
            }
        }
        progress.finish()
        if interrupted { log("interrupted at step \(step); \(trainingRun.lastCheckpoint) keeps the last evaluation") }
        let final = last ?? evaluateDetector(detector, on: testScenes)
        let secondsPer1000 = stepsRun > 0 ? 1000 * trainSeconds / Double(stepsRun) : 0
        try trainingRun.finish(
            metrics: [
                ("map50", final.evaluation.map50), ("map", final.evaluation.map),
                ("best_map50", bestMap50 ?? final.evaluation.map50), ("ms_per_image", final.msPerImage),
                ("s_per_1000_steps", secondsPer1000)
            ], step: step)
        log(final.evaluation.classAP50Line(names: FashionMNIST.classNames))
        log(
            String(
                format: "test mAP@0.5 %.4f, mAP@[.5:.95] %.4f on %d scenes; %.2f ms/image; %.1f s per 1000 steps; checkpoints: %@, best %@",
                final.evaluation.map50, final.evaluation.map, testScenes.count, final.msPerImage, secondsPer1000,
                trainingRun.lastCheckpoint as NSString, trainingRun.bestCheckpoint as NSString))
        return DetectorTrainingSummary(
            steps: step, map50: final.evaluation.map50, map: final.evaluation.map,
            bestMap50: bestMap50 ?? final.evaluation.map50, classAP50: final.evaluation.classAP50,
            secondsPer1000Steps: secondsPer1000, trainingSeconds: trainSeconds, msPerImage: final.msPerImage,
            checkpoint: trainingRun.lastCheckpoint, bestCheckpoint: trainingRun.bestCheckpoint,
            parameters: network.parameterCount, interrupted: interrupted)
    }
}
