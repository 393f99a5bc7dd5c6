import ArgumentParser
import Cortex
import Data
import Foundation

/// Scene settings shared by `cortex scenes` and the scene trainers.
struct SceneOptions: ParsableArguments {
    @Option(help: "Scene side in pixels.")
    var sceneSize: Int?
    @Option(help: "Fewest items in a scene.")
    var minObjects: Int?
    @Option(help: "Most items in a scene.")
    var maxObjects: Int?
    @Option(help: "Smallest side of a pasted item in pixels.")
    var minScale: Int?
    @Option(help: "Largest side of a pasted item in pixels.")
    var maxScale: Int?
    @Option(help: "Largest IoU between two items' boxes.")
    var maxOverlap: Double?
    @Option(help: "Background: plain, noise or texture.")
    var background: String?

    func apply(to c: inout SceneConfig) {
        if let sceneSize { c.size = sceneSize }
        if let minObjects { c.minObjects = minObjects }
        if let maxObjects { c.maxObjects = maxObjects }
        if let minScale { c.minScale = minScale }
        if let maxScale { c.maxScale = maxScale }
        if let maxOverlap { c.maxOverlap = maxOverlap }
        if let background { c.background = background }
    }
}

/// `cortex scenes`: writes Fashion-MNIST scenes with COCO-style boxes, masks and captions.
struct ScenesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenes",
        abstract: "Write scenes of Fashion-MNIST items with boxes, class masks and captions (COCO-style files).",
        discussion: """
            Scene i depends only on --seed and i: the detector, captioner and segmenter draw the same scenes on \
            the fly. --split test takes items from Fashion-MNIST's test pictures only. Writes <out>/images/*.png, \
            <out>/masks/*.png (0 background, 1 + class), <out>/annotations.json (COCO detection format, \
            category ids 1…10) and <out>/captions.json (COCO caption format).
            """)

    @Option(help: "Number of scenes.")
    var count = 100
    @Option(help: "Index of the first scene.")
    var first = 0
    @Option(help: "Output folder.", completion: .directory)
    var out: String
    @Option(help: "Where the items come from: train or test (Fashion-MNIST's split).")
    var split = "test"
    @Option(help: "Fashion-MNIST directory.", completion: .directory)
    var data = FashionMNIST.defaultDirectory
    @Option(help: "Seed of the scene generator.")
    var seed: UInt64 = 0
    @OptionGroup var scene: SceneOptions

    func config() -> SceneConfig {
        var c = SceneConfig()
        scene.apply(to: &c)
        c.seed = seed
        return c
    }

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1, got \(count)") }
        guard first >= 0 else { throw ValidationError("--first must be at least 0, got \(first)") }
        guard ["train", "test"].contains(split) else { throw ValidationError("--split must be train or test, got \(split)") }
        if let problem = config().problem { throw ValidationError(problem) }
    }

    func run() throws {
        let source = try FashionMNIST.load(split: split == "train" ? .train : .test, directory: data)
        let generator = try SceneGenerator(source: source, config: config())
        let progress = Progress(total: count, label: "scenes")
        try SceneExport.write(generator, indices: first..<(first + count), to: out) { progress.update($0) }
        progress.finish()
        printError("wrote \(count) scenes to \(out) (images/, masks/, annotations.json, captions.json)")
    }
}
