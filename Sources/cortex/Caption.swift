import ArgumentParser
import Cortex
import Data
import Envs
import Foundation
import Models
import Recipes

/// `cortex train captioner`: "Show, Attend and Tell" on Fashion-MNIST scenes.
struct TrainCaptioner: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "captioner",
        abstract: "Train an attention captioner (Show, Attend and Tell, Xu et al. 2015) on Fashion-MNIST scenes.",
        discussion: """
            Scenes are drawn on the fly from Fashion-MNIST's training pictures (scene step*batch+i), each with a \
            random one of its reference captions. Every --eval-every steps the test scenes (test pictures, seed \
            --seed + 1000003) are captioned greedily; at the end also by beam search, and a nearest-neighbour \
            baseline captions each test scene with the caption of the training scene of closest mean encoder \
            features. Scores: corpus BLEU-1..4 (as sacrebleu) and object-set accuracy (the share of scenes whose \
            caption names exactly their items, counted by class). Writes last.safetensors, best.safetensors \
            (best object-set accuracy), metrics.csv and TensorBoard events.
            """)
    @Option(help: "Fashion-MNIST directory (default: Debian's).", completion: .directory) var data: String?
    @Option(help: "Optimizer steps (default 5000).") var steps: Int?
    @Option(help: "Scenes per batch (default 32).") var batchSize: Int?
    @Option(help: "Peak learning rate of AdamW (default 1e-3).") var lr: Float?
    @Option(help: "Warmup steps (default 300).") var warmupSteps: Int?
    @Option(help: "Beam width of the final evaluation (default 3).") var beamWidth: Int?
    @Option(help: "Test scenes evaluated (default 1000).") var evalScenes: Int?
    @Option(help: "Steps between evaluations and checkpoints (default 1000).") var evalEvery: Int?
    @Option(help: "Weight of the auxiliary per-class count loss; 0 turns it off (default 1).") var countLossWeight: Float?
    @Option(help: "Weight of the doubly stochastic attention regulariser (default 0).") var attentionRegularization: Float?
    @Option(help: "Label smoothing of the word loss (default 0).") var labelSmoothing: Float?
    @Option(help: "Training scenes the nearest-neighbour baseline searches; 0: none (default 5000).")
    var neighbourScenes: Int?
    @Option(help: "Channels of each encoder stage, comma-separated (default 16,32,64,128).") var widths: String?
    @Option(help: "3x3 convolutions per stage, comma-separated (default 1,2,2,2).") var convolutions: String?
    @Option(help: "LSTM hidden size (default 256).") var hiddenSize: Int?
    @Option(
        help: "Start the encoder from this `cortex train detector` checkpoint's backbone (same widths and convolutions).",
        completion: .file(extensions: ["safetensors"]))
    var encoderFrom: String?
    @OptionGroup var scene: SceneOptions
    @OptionGroup var runFolder: RunFolderOptions
    @OptionGroup var common: CommonOptions

    func config() throws -> CaptionerConfig {
        var c = CaptionerConfig()
        if let file = runFolder.config { c = try ConfigFile.load(file, over: c) }
        c.seed = common.seed
        c.threads = common.threads
        if let data { c.data = data }
        if let steps { c.steps = steps }
        if let batchSize { c.batchSize = batchSize }
        if let lr { c.learningRate = lr }
        if let warmupSteps { c.warmupSteps = warmupSteps }
        if let beamWidth { c.beamWidth = beamWidth }
        if let evalScenes { c.evalScenes = evalScenes }
        if let evalEvery { c.evalEvery = evalEvery }
        if let countLossWeight { c.countLossWeight = countLossWeight }
        if let attentionRegularization { c.attentionRegularization = attentionRegularization }
        if let labelSmoothing { c.labelSmoothing = labelSmoothing }
        if let neighbourScenes { c.neighbourScenes = neighbourScenes }
        if let widths { c.network.widths = try ResNetOptions.list(widths, "widths") }
        if let convolutions { c.network.convolutions = try ResNetOptions.list(convolutions, "convolutions") }
        if let hiddenSize { c.network.hiddenSize = hiddenSize }
        if let encoderFrom { c.encoderFrom = encoderFrom }
        scene.apply(to: &c.scenes)
        return c
    }

    func validate() throws {
        if let problem = try config().problem { throw ValidationError(problem) }
    }

    func run() throws {
        try reportingFailures("train captioner") {
            Interrupt.install()
            Runtime.configure(threads: common.threads)
            let config = try config()
            let folder = runFolder.out ?? "runs/captioner-s\(config.seed)"
            let trainer = try CaptionerTrainer(config: config, folder: folder, resume: runFolder.resume)
            let summary = try trainer.run(shouldStop: { Interrupt.requested })
            if summary.interrupted { throw ExitCode(130) }
            if common.json {
                var figures: [String: Any] = [
                    "steps": summary.steps, "object_set_accuracy": summary.greedy.objectSetAccuracy,
                    "best_object_set_accuracy": summary.bestObjectSetAccuracy,
                    "s_per_1000_steps": summary.secondsPer1000Steps, "training_seconds": summary.trainingSeconds,
                    "seconds": summary.seconds, "checkpoint": summary.checkpoint,
                    "best_checkpoint": summary.bestCheckpoint, "parameters": summary.parameters,
                    "count_errors_by_class": Dictionary(
                        uniqueKeysWithValues: zip(FashionMNIST.classNames, summary.greedy.countErrors))
                ]
                for n in 0..<4 { figures["bleu\(n + 1)"] = summary.greedy.bleu[n] }
                if let beam = summary.beam {
                    for n in 0..<4 { figures["bleu\(n + 1)_beam"] = beam.bleu[n] }
                    figures["beam_object_set_accuracy"] = beam.objectSetAccuracy
                    figures["beam_width"] = config.beamWidth
                }
                if let nn = summary.neighbour {
                    figures["nn_bleu4"] = nn.bleu[3]
                    figures["nn_object_set_accuracy"] = nn.objectSetAccuracy
                }
                printJSON(figures)
            }
        }
    }
}

/// `cortex caption --checkpoint CKPT scene.png [--attention maps.png] [--beam-width N]`.
struct Caption: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Caption a scene picture with a `cortex train captioner` checkpoint.",
        discussion: """
            Prints the caption (beam search of the checkpoint's width unless --beam-width says otherwise; 1 is \
            greedy decoding) and, with --attention, draws one cell per word: the scene with the attention that \
            produced the word laid over it as a heat map, the word underneath.
            """)
    @Option(help: "Checkpoint written by `cortex train captioner`.", completion: .file(extensions: ["safetensors"]))
    var checkpoint: String
    @Argument(help: "A grey (or colour, averaged) scene picture of the captioner's size (PNG, JPEG, PGM/PPM).")
    var image: String
    @Option(help: "Where to write the attention maps, one per word (PNG).") var attention: String?
    @Option(help: "Beam width (default: the checkpoint's, 3; 1 is greedy).") var beamWidth: Int?
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if let beamWidth, !(1...100).contains(beamWidth) {
            throw ValidationError("--beam-width must lie in 1…100, got \(beamWidth)")
        }
    }

    func run() throws {
        try reportingFailures("caption") {
            Runtime.configure(threads: common.threads)
            let captioner = try SceneCaptioner.load(path: checkpoint)
            let picture = try PixelImage.read(path: image).grayscale()
            let side = captioner.network.config.imageSize
            guard picture.width == side, picture.height == side else {
                throw TrainingError(
                    "\(image) is \(picture.width)x\(picture.height); this captioner takes \(side)x\(side) scenes")
            }
            let scene = Scene(size: side, pixels: picture.pixels, mask: [], objects: [], captions: [])
            let width = beamWidth ?? captioner.beamWidth
            let decoded = captioner.decode([scene], beamWidth: width)[0]
            let text = captioner.vocabulary.decode(decoded.tokens)
            print(text)
            if let attention {
                try CaptionPictures.attention(
                    scene: picture, words: decoded.tokens.map { captioner.vocabulary.words[$0] },
                    maps: decoded.attention, gridSize: captioner.network.config.gridSize
                ).write(to: attention)
                printError("wrote \(attention)")
            }
            if common.json {
                printJSON([
                    "caption": text, "beam_width": width, "log_probability": decoded.logProbability,
                    "words": decoded.tokens.map { captioner.vocabulary.words[$0] }
                ])
            }
        }
    }
}

/// Attention pictures of a caption: one cell per word.
enum CaptionPictures {
    static let scale = 4

    /// The scene (×4) with each word's attention over the `gridSize × gridSize` regions laid
    /// over it, the word under each cell; 6 cells a row.
    static func attention(scene: PixelImage, words: [String], maps: [[Float]], gridSize: Int, columns: Int = 6)
        -> PixelImage
    {
        let cells = words.isEmpty ? [scene.scaled(by: scale).rgb()] : maps.map {
            scene.scaled(by: scale).overlaying(heat: $0, heatWidth: gridSize, heatHeight: gridSize, opacity: 0.5)
        }
        let labels = words.isEmpty ? ["(no words)"] : words
        let side = scene.width * scale
        var grid = ImageGrid(
            count: cells.count, columns: columns, cellWidth: side, cellHeight: scene.height * scale,
            captionHeight: BitmapFont.glyphHeight + 6, padding: 6)
        for (index, image) in cells.enumerated() { grid.place(image, at: index) }
        var canvas = PixelCanvas(image: grid.canvas)
        for (index, word) in labels.enumerated() {
            let caption = grid.captionRect(at: index)
            BitmapFont.drawText(
                VisionPictures.fit(word, width: caption.width), into: &canvas, x: caption.x + 1, y: caption.y + 3,
                color: RGB(0, 0, 0))
        }
        return canvas.image
    }
}
