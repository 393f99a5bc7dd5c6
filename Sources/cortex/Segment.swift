import ArgumentParser
import Cortex
import Data
import Foundation
import Models
import Recipes

extension UNetUpsampling: ExpressibleByArgument {}

/// `cortex train segmenter`: a U-Net on Fashion-MNIST scenes drawn on the fly.
struct TrainSegmenter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segmenter",
        abstract: "Train a U-Net (Ronneberger et al. 2015) to label every pixel of Fashion-MNIST scenes (11 classes).",
        discussion: """
            Step s trains on training scenes s·batch … s·batch + batch − 1 (items from Fashion-MNIST's training \
            split, seed --seed), so no scene repeats. Every --eval-every steps it measures the test scenes \
            (test split, seed --seed + 1000003): mean IoU over the 10 object classes (`miou`), the same with \
            background (`miou_with_background`) and pixel accuracy of the per-pixel argmax, or with \
            --region-vote after region voting (each connected foreground segment takes the class its pixels \
            favour together; the per-pixel score is always reported as `miou_per_pixel`); a class in neither truth nor prediction is \
            left out of the mean. Writes last.safetensors (with the optimizer), best.safetensors (best mIoU), \
            TensorBoard and CSV logs, and at the end predictions.png (scene | true mask | predicted mask). \
            Under mpirun each rank draws its share of every step's scenes and the gradients are averaged \
            (data parallel); rank 0 evaluates and writes.
            """)
    @Option(help: "Fashion-MNIST directory (default: Debian's).", completion: .directory) var data: String?
    @Option(help: "Optimizer steps (default 3000).") var steps: Int?
    @Option(help: "Scenes per step (default 16).") var batch: Int?
    @Option(help: "Peak AdamW learning rate (default 2e-3).") var lr: Float?
    @Option(help: "AdamW weight decay on kernels (default 0.05).") var weightDecay: Float?
    @Option(help: "Linear warmup steps before the cosine decay (default 150).") var warmupSteps: Int?
    @Option(help: "Weight of background pixels in the cross-entropy; objects weigh 1 (default 1).")
    var backgroundWeight: Float?
    @Flag(inversion: .prefixedNo, help: "Region voting: every connected foreground segment takes one class (default off).")
    var regionVote: Bool?
    @Flag(inversion: .prefixedNo, help: "Evaluate each test scene averaged with its mirror image (flip test-time augmentation; default off).")
    var flipTest: Bool?
    @Option(help: "Evaluate and write checkpoints every N steps (default 500).") var evalEvery: Int?
    @Option(help: "Test scenes to measure on (default 1000).") var testScenes: Int?
    @Option(help: "Channels of each U-Net level, comma-separated (default 16,32,64).") var widths: String?
    @Option(help: "Decoder upsampling: transposed (2x2 up-convolution) or nearest (upsample + 3x3 conv).")
    var upsampling: UNetUpsampling?
    @OptionGroup var scene: SceneOptions
    @OptionGroup var runFolder: RunFolderOptions
    @OptionGroup var common: CommonOptions

    func config() throws -> SegmenterConfig {
        var c = SegmenterConfig()
        if let file = runFolder.config { c = try ConfigFile.load(file, over: c) }
        c.seed = common.seed
        c.threads = common.threads
        if let data { c.data = data }
        if let steps { c.steps = steps }
        if let batch { c.batchSize = batch }
        if let lr { c.learningRate = lr }
        if let weightDecay { c.weightDecay = weightDecay }
        if let warmupSteps { c.warmupSteps = warmupSteps }
        if let backgroundWeight { c.backgroundWeight = backgroundWeight }
        if let evalEvery { c.evaluateEvery = evalEvery }
        if let regionVote { c.regionVote = regionVote }
        if let flipTest { c.flipTest = flipTest }
        if let testScenes { c.testScenes = testScenes }
        if let widths { c.unet.widths = try ResNetOptions.list(widths, "widths") }
        if let upsampling { c.unet.upsampling = upsampling }
        scene.apply(to: &c.scenes)
        return c
    }

    func validate() throws {
        if runFolder.config == nil, let problem = try config().problem { throw ValidationError(problem) }
    }

    func run() throws {
        try reportingFailures("train segmenter") {
            Interrupt.install()
            Runtime.configure(threads: common.threads)
            let config = try config()
            let group = try ProcessGroup.start()
            let trainer = try SegmentationTrainer(
                config: config, folder: runFolder.out ?? "runs/segmenter-s\(config.seed)", resume: runFolder.resume,
                communicator: group)
            let summary = try trainer.run(shouldStop: { Interrupt.requested })
            group.removeScratchFolder(trainer.trainingRun.folder)
            ProcessGroup.finish(group)
            if summary.interrupted { throw ExitCode(130) }
            if common.json && group.isRoot {
                let s = summary.scores
                printJSON([
                    "steps": summary.steps, "miou": s?.meanIoU ?? Double.nan,
                    "miou_with_background": s?.meanIoUWithBackground ?? Double.nan,
                    "miou_per_pixel": s?.rawMeanIoU ?? Double.nan, "region_vote": summary.regionVote, "flip_test": config.flipTest,
                    "pixel_accuracy": s?.pixelAccuracy ?? Double.nan, "best_miou": summary.bestMeanIoU,
                    "s_per_1000_steps": summary.secondsPer1000Steps,
                    "cpu_s_per_1000_steps": summary.cpuSecondsPer1000Steps, "train_seconds": summary.trainSeconds,
                    "ms_per_image": 1000 * (s?.secondsPerImage ?? Double.nan), "checkpoint": summary.checkpoint,
                    "best_checkpoint": summary.bestCheckpoint, "predictions": summary.picture,
                    "parameters": summary.parameters
                ])
            }
        }
    }
}

/// `cortex segment --checkpoint CKPT scene.png --out mask.png`.
struct Segment: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Label every pixel of a grey scene picture with a `cortex train segmenter` checkpoint.",
        discussion: """
            The picture (PNG, JPEG, PGM or PPM; colour is made grey) must have the scene size the network was \
            trained on. Writes a colour overlay, each class's colour blended over the picture (background left \
            as it is), and prints the classes found with their pixel counts.
            """)
    @Option(help: "Checkpoint written by `cortex train segmenter`.", completion: .file(extensions: ["safetensors"]))
    var checkpoint: String
    @Argument(help: "Scene picture of the network's scene size (e.g. from `cortex scenes`).") var image: String
    @Option(help: "Where to write the coloured overlay (PNG).") var out: String
    @Flag(inversion: .prefixedNo, help: "Region voting: every connected foreground segment takes one class.")
    var regionVote = false
    @Flag(help: "Average the prediction with the mirror image's (flip test-time augmentation).")
    var flipTest = false
    @OptionGroup var common: CommonOptions

    func run() throws {
        try reportingFailures("segment") {
            Runtime.configure(threads: common.threads)
            guard FileManager.default.fileExists(atPath: checkpoint) else {
                throw CommandFailure("no checkpoint at \(checkpoint)")
            }
            let (unet, size, names) = try SegmentationTrainer.load(path: checkpoint)
            let picture = try PixelImage.read(path: image).grayscale()
            guard picture.width == size, picture.height == size else {
                throw CommandFailure(
                    "\(image) is \(picture.width)x\(picture.height); this network segments \(size)x\(size) scenes")
            }
            let input = Tensor(shape: [1, 1, size, size], data: picture.pixels.map { Float($0) / 255 })
            let begin = DispatchTime.now().uptimeNanoseconds
            let probabilities = SegmentationTrainer.predict(unet, input, flip: flipTest).probabilities
            let classes =
                regionVote
                ? SegmentationTrainer.votedClasses(probabilities: probabilities)
                : probabilities.argmaxIndices(axis: 1)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9
            try SegmentationTrainer.overlay(pixels: picture.pixels, classes: classes, side: size).write(to: out)
            var counts = [Int](repeating: 0, count: names.count)
            for c in classes { counts[c] += 1 }
            print("\(image) (\(size)x\(size)):")
            for (c, n) in counts.enumerated() where n > 0 {
                print("  " + names[c].padding(toLength: 12, withPad: " ", startingAt: 0) + String(format: "%5d pixels", n))
            }
            printError(String(format: "wrote %@ (%.1f ms)", out as NSString, 1000 * seconds))
            if common.json {
                printJSON([
                    "overlay": out,
                    "classes": counts.enumerated().filter { $0.element > 0 }.map { ["class": names[$0.offset], "index": $0.offset, "pixels": $0.element] as [String: Any] }
                ])
            }
        }
    }
}
