import ArgumentParser
import Cortex
import Data
import Foundation
import Models
import Recipes

/// `cortex train detector`: the one-stage detector on Fashion-MNIST scenes.
struct TrainDetector: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detector",
        abstract: "Train a one-stage detector (YOLO, Redmon et al. 2016, with YOLOv2 anchors) on Fashion-MNIST scenes.",
        discussion: """
            Scenes are drawn on the fly from Fashion-MNIST's training pictures (scene step*batch+i); mAP@0.5 and \
            mAP@[.5:.95] (COCO's 101-point AP) are measured on test scenes from the test pictures every \
            --eval-every steps. Writes last.safetensors, best.safetensors (best mAP@0.5), metrics.csv, \
            TensorBoard events and, at the end, test-scenes.png (predicted boxes in colour, true boxes in grey).
            """)
    @Option(help: "Fashion-MNIST directory (default: Debian's).", completion: .directory) var data: String?
    @Option(help: "Optimizer steps (default 8000).") var steps: Int?
    @Option(help: "Scenes per batch (default 32).") var batch: Int?
    @Option(help: "Peak learning rate of AdamW (default 2e-3).") var lr: Float?
    @Option(help: "Warmup steps (default 300).") var warmupSteps: Int?
    @Option(help: "AdamW weight decay on kernels (default 0.01).") var weightDecay: Float?
    @Option(help: "Test scenes evaluated (default 1000).") var evalScenes: Int?
    @Option(help: "Steps between evaluations and checkpoints (default 1000).") var evalEvery: Int?
    @Option(help: "Channels of each stage, comma-separated (default 16,32,64,128).") var widths: String?
    @Option(help: "3x3 convolutions per stage, comma-separated (default 1,2,2,2).") var convolutions: String?
    @Option(help: "Anchors as WxH pixels, comma-separated (default 16x24,25x14,28x32).") var anchors: String?
    @Option(help: "Weight of the box loss (default 5).") var boxWeight: Float?
    @Option(help: "Background anchors whose box overlaps a true box this much are ignored (default 0.6).")
    var ignoreIoU: Double?
    @Option(help: "Ignored anchors also learn the class of the box they overlap: true (default) or false.")
    var overlapClasses: Bool?
    @OptionGroup var scene: SceneOptions
    @OptionGroup var runFolder: RunFolderOptions
    @OptionGroup var common: CommonOptions

    func config() throws -> DetectorConfig {
        var c = DetectorConfig()
        if let file = runFolder.config { c = try ConfigFile.load(file, over: c) }
        c.seed = common.seed
        c.threads = common.threads
        if let data { c.data = data }
        if let steps { c.steps = steps }
        if let batch { c.batchSize = batch }
        if let lr { c.learningRate = lr }
        if let warmupSteps { c.warmupSteps = warmupSteps }
        if let weightDecay { c.weightDecay = weightDecay }
        if let evalScenes { c.evalScenes = evalScenes }
        if let evalEvery { c.evalEvery = evalEvery }
        if let widths { c.network.widths = try ResNetOptions.list(widths, "widths") }
        if let convolutions { c.network.convolutions = try ResNetOptions.list(convolutions, "convolutions") }
        if let anchors {
            let pairs = anchors.split(separator: ",").map { $0.split(separator: "x").compactMap { Double($0) } }
            guard !pairs.isEmpty, pairs.allSatisfy({ $0.count == 2 }) else {
                throw ValidationError("--anchors takes WxH pairs such as 16x24,25x14, got '\(anchors)'")
            }
            c.network.anchors = pairs
        }
        if let boxWeight { c.loss.box = boxWeight }
        if let ignoreIoU { c.loss.ignoreIoU = ignoreIoU }
        if let overlapClasses { c.loss.overlapClasses = overlapClasses }
        scene.apply(to: &c.scenes)
        return c
    }

    func validate() throws {
        if let problem = try config().problem { throw ValidationError(problem) }
    }

    func run() throws {
        try reportingFailures("train detector") {
            Interrupt.install()
            Runtime.configure(threads: common.threads)
            let config = try config()
            let folder = runFolder.out ?? "runs/detector-s\(config.seed)"
            let trainer = try DetectorTrainer(config: config, folder: folder, resume: runFolder.resume)
            let summary = try trainer.run(shouldStop: { Interrupt.requested })
            let scenes = Array(trainer.testScenes.prefix(8))
            let picture = trainer.trainingRun.logger.path("test-scenes.png")
            try DetectionPictures.sheet(
                scenes: scenes, detections: trainer.detector.detect(scenes), classNames: trainer.detector.classNames,
                minimumScore: 0.3
            ).write(to: picture)
            printError("test scenes with predicted (colour) and true (grey) boxes: \(picture)")
            if summary.interrupted { throw ExitCode(130) }
            if common.json {
                var perClass: [String: Any] = [:]
                for (c, ap) in summary.classAP50.enumerated() {
                    if let ap { perClass[trainer.detector.classNames[c]] = ap }
                }
                printJSON([
                    "steps": summary.steps, "map50": summary.map50, "map": summary.map,
                    "best_map50": summary.bestMap50, "ap50_per_class": perClass,
                    "s_per_1000_steps": summary.secondsPer1000Steps, "training_seconds": summary.trainingSeconds,
                    "ms_per_image": summary.msPerImage, "checkpoint": summary.checkpoint,
                    "best_checkpoint": summary.bestCheckpoint, "parameters": summary.parameters,
                    "picture": picture
                ])
            }
        }
    }
}

/// `cortex detect --checkpoint CKPT scene.png --out boxes.png`, or `--test-scenes N` for mAP.
struct Detect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Find Fashion-MNIST items in a scene with a `cortex train detector` checkpoint.",
        discussion: """
            Prints one line per detection (class, score, box x y width height in pixels) and, with --out, \
            draws the boxes with their labels in colour on the scene. With --test-scenes N instead of a \
            picture: mAP@0.5 and mAP@[.5:.95] on the first N test scenes of the checkpoint's run.
            """)
    @Option(help: "Checkpoint written by `cortex train detector`.", completion: .file(extensions: ["safetensors"]))
    var checkpoint: String
    @Argument(help: "A grey (or colour, averaged) scene picture of the detector's size (PNG, JPEG, PGM/PPM).")
    var image: String?
    @Option(help: "Where to write the picture with the boxes (PNG).") var out: String?
    @Option(help: "Lowest score shown (default 0.3).") var minScore: Double = 0.3
    @Option(help: "Instead of a picture: evaluate on this many of the run's test scenes.") var testScenes: Int?
    @Option(help: "With --test-scenes: lowest score kept before NMS (default: the checkpoint's, 0.01).")
    var scoreThreshold: Double?
    @Option(help: "Fashion-MNIST directory for --test-scenes (default: Debian's).", completion: .directory)
    var data: String?
    @Option(
        help:
            "With --test-scenes: also name every true item with this 28x28 classifier (train resnet/vit/lenet) from its original picture and from its crop of the scene, and report the object-set accuracy that gives.",
        completion: .file(extensions: ["safetensors"]))
    var oracleClassifier: String?
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (0...1).contains(minScore) else { throw ValidationError("--min-score must lie in 0…1, got \(minScore)") }
        guard (image == nil) != (testScenes == nil) else {
            throw ValidationError("give either a scene picture or --test-scenes N")
        }
        if let testScenes, testScenes < 1 { throw ValidationError("--test-scenes must be at least 1, got \(testScenes)") }
        if oracleClassifier != nil && testScenes == nil { throw ValidationError("--oracle-classifier needs --test-scenes N") }
        if let scoreThreshold, !(0..<1).contains(scoreThreshold) {
            throw ValidationError("--score-threshold must lie in [0, 1), got \(scoreThreshold)")
        }
    }

    func run() throws {
        try reportingFailures("detect") {
            Runtime.configure(threads: common.threads)
            let detector = try SceneDetector.load(path: checkpoint)
            if let testScenes {
                try evaluate(detector, count: testScenes)
                return
            }
            detector.decoding.scoreThreshold = min(detector.decoding.scoreThreshold, minScore)
            let image = image!
            let picture = try PixelImage.read(path: image).grayscale()
            let side = detector.network.config.imageSize
            guard picture.width == side, picture.height == side else {
                throw TrainingError(
                    "\(image) is \(picture.width)x\(picture.height); this detector takes \(side)x\(side) scenes")
            }
            let scene = Scene(size: side, pixels: picture.pixels, mask: [], objects: [], captions: [])
            let found = detector.detect([scene])[0].filter { $0.score >= minScore }
            for d in found {
                print(
                    String(
                        format: "%@ %.3f %.1f %.1f %.1f %.1f", detector.classNames[d.classIndex] as NSString, d.score,
                        d.box.x, d.box.y, d.box.width, d.box.height))
            }
            if let out {
                try DetectionPictures.sheet(
                    scenes: [scene], detections: [found], classNames: detector.classNames, minimumScore: minScore,
                    showTruth: false
                ).write(to: out)
                printError("wrote \(out)")
            }
            if common.json {
                printJSON([
                    "detections": found.map {
                        [
                            "class": detector.classNames[$0.classIndex], "score": $0.score,
                            "box": [$0.box.x, $0.box.y, $0.box.width, $0.box.height]
                        ] as [String: Any]
                    }
                ])
            }
        }
    }

    /// mAP on the checkpoint run's test scenes.
    func evaluate(_ detector: SceneDetector, count: Int) throws {
        let file = try SafeTensors.read(from: checkpoint)
        guard let scenes = detectorTestSceneConfig(metadata: file.metadata) else {
            throw TrainingError("\(checkpoint) does not say which test scenes its run used (metadata 'test_scenes')")
        }
        if let scoreThreshold { detector.decoding.scoreThreshold = scoreThreshold }
        let source = try FashionMNIST.load(split: .test, directory: data ?? FashionMNIST.defaultDirectory)
        let generator = try SceneGenerator(source: source, config: scenes)
        let testScenes = (0..<count).map { generator.scene($0) }
        let result = evaluateDetector(detector, on: testScenes)
        let e = result.evaluation
        printError(e.classAP50Line(names: detector.classNames))
        printError(
            String(
                format: "mAP@0.5 %.4f, mAP@[.5:.95] %.4f, mAP@0.75 %.4f on %d test scenes (seed %llu); %.2f ms/image",
                e.map50, e.map, e.map75, count, scenes.seed, result.msPerImage))
        let setAccuracy = objectSetAccuracy(detections: result.predictions, scenes: testScenes, minScore: minScore)
        printError(
            String(
                format: "object-set accuracy %.4f (detections scoring at least %.2f name exactly each scene's items)",
                setAccuracy, minScore))
        var object: [String: Any] = [
            "map50": e.map50, "map": e.map, "map75": e.map75, "ms_per_image": result.msPerImage,
            "scenes": count, "score_threshold": detector.decoding.scoreThreshold,
            "object_set_accuracy": setAccuracy, "min_score": minScore
        ]
        if let oracleClassifier {
            for (key, value) in try oracle(oracleClassifier, scenes: testScenes, source: source) { object[key] = value }
        }
        if common.json { printJSON(object) }
    }

    /// The object-set accuracy of a reader that knows every item's place and names it with the
    /// classifier at `path`: from the item's original 28×28 picture (no scaling, no cover) and
    /// from its crop of the scene (`Scene.crop`).
    func oracle(_ path: String, scenes: [Scene], source: ImageDataset) throws -> [String: Double] {
        guard FileManager.default.fileExists(atPath: path) else { throw CommandFailure("no checkpoint at \(path)") }
        let classifier = try ImageClassifier.load(path: path).classifier
        guard classifier.channels == 1, classifier.imageSize == 28, classifier.classNames.count == 10 else {
            throw CommandFailure(
                "\(path) classifies \(classifier.channels)x\(classifier.imageSize)x\(classifier.imageSize) images into \(classifier.classNames.count) classes; the oracle needs Fashion-MNIST's 1x28x28 and 10")
        }
        let items = scenes.flatMap(\.objects)
        let truth = items.map(\.classIndex)
        // Both sets go through the classifier's own evaluation (its normalisation and batches).
        let pristine = evaluateClassifier(classifier, on: source.subset(items.map(\.sourceIndex))).predictions
        let crops = ImageDataset(
            channels: 1, height: 28, width: 28,
            pixels: scenes.flatMap { scene in scene.objects.flatMap { scene.crop($0.box) } }, labels: truth,
            classNames: source.classNames)
        let cropped = evaluateClassifier(classifier, on: crops).predictions
        var result: [String: Double] = [:]
        for (name, predicted) in [("pristine", pristine), ("crop", cropped)] {
            var lists: [[Int]] = [], next = 0
            for scene in scenes {
                lists.append(Array(predicted[next..<(next + scene.objects.count)]))
                next += scene.objects.count
            }
            let itemAccuracy = Double(zip(predicted, truth).filter { $0 == $1 }.count) / Double(max(items.count, 1))
            let setAccuracy = objectSetAccuracy(scenes: scenes, labels: lists)
            result["oracle_\(name)_item_accuracy"] = itemAccuracy
            result["oracle_\(name)_object_set_accuracy"] = setAccuracy
            printError(
                String(
                    format: "oracle, true places named by %@ from each item's %@: item accuracy %.4f, object-set accuracy %.4f (%d items)",
                    classifier.kind.rawValue as NSString,
                    (name == "pristine" ? "original 28x28 picture" : "crop of the scene") as NSString, itemAccuracy,
                    setAccuracy, items.count))
        }
        return result
    }
}
