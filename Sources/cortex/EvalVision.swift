import ArgumentParser
import Cortex
import Data
import Foundation
import Models
import Recipes

/// Options of `cortex eval vit|lenet` that games do not have.
struct VisionEvalOptions: ParsableArguments {
    @Option(
        help:
            "vit/lenet: dataset directory (default: Fashion-MNIST from dataset-fashion-mnist); text: a UTF-8 file (default data/shakespeare.txt).",
        completion: .file())
    var data: String?
    @Option(help: "vit/lenet: write a grid of test images labelled with predicted and true class (PNG).")
    var grid: String?
    @Option(help: "vit: write the class token's attention rollout over test images (PNG).")
    var attention: String?
    @Option(help: "vit/lenet: images in --grid and --attention pictures.")
    var pictureCount = 32
    @Flag(help: "vit/lenet/resnet: classify each test image by the mean of its and its mirror image's class probabilities (flip test-time augmentation).")
    var flipTest = false

    func validate() throws {
        guard pictureCount >= 1 else {
            throw ValidationError("--picture-count must be at least 1, got \(pictureCount)")
        }
    }
}

/// `cortex eval vit|lenet --checkpoint FILE`: test accuracy, per-class accuracy and the
/// confusion matrix (rows: true class, columns: predicted), with optional pictures.
struct VisionEvaluation {
    let kind: ImageModelKind
    let checkpoint: String
    let options: VisionEvalOptions
    let common: CommonOptions

    func run() throws {
        Runtime.configure(threads: common.threads)
        let classifier = try ImageClassifier.load(path: checkpoint).classifier
        guard classifier.kind == kind else {
            throw CommandFailure("\(checkpoint) holds a \(classifier.kind.rawValue) model, not \(kind.rawValue)")
        }
        if options.attention != nil && kind != .vit {
            throw CommandFailure(
                "--attention needs a ViT checkpoint (attention rollout); \(checkpoint) is \(kind.rawValue)")
        }
        let directory = options.data ?? FashionMNIST.defaultDirectory
        let test = try ImageDataset.load(directory: directory, split: .test)
        guard test.channels == classifier.channels, test.height == classifier.imageSize,
            test.width == classifier.imageSize
        else {
            throw CommandFailure(
                "\(directory): test images are \(test.channels)x\(test.height)x\(test.width), the model takes \(classifier.channels)x\(classifier.imageSize)x\(classifier.imageSize)"
            )
        }
        guard test.classCount == classifier.classNames.count else {
            throw CommandFailure(
                "\(directory) has \(test.classCount) classes, the model \(classifier.classNames.count)")
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let result = evaluateClassifier(classifier, on: test, flip: options.flipTest)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let classes = classifier.classNames.count
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        for (label, predicted) in zip(test.labels, result.predictions) { confusion[label][predicted] += 1 }
        let perClass = (0..<classes).map { c in
            Double(confusion[c][c]) / Double(max(1, confusion[c].reduce(0, +)))
        }

        print(
            String(
                format: "%@ on %d test images%@: accuracy %.2f%%, loss %.4f (%.1f s)",
                kind.rawValue as NSString, test.count, (options.flipTest ? " with flip test-time augmentation" : "") as NSString,
                100 * result.accuracy, result.loss, seconds))
        let width = max(12, classifier.classNames.map(\.count).max() ?? 0)
        print("per-class accuracy:")
        for (c, name) in classifier.classNames.enumerated() {
            print(
                "  " + name.padding(toLength: width, withPad: " ", startingAt: 0)
                    + String(format: " %6.2f%%", 100 * perClass[c]))
        }
        print("confusion matrix (rows: true class, columns: predicted class, in the order above):")
        for (c, row) in confusion.enumerated() {
            print(
                "  "
                    + String(classifier.classNames[c].prefix(width)).padding(
                        toLength: width, withPad: " ", startingAt: 0)
                    + row.map { String(format: "%5d", $0) }.joined())
        }

        var pictures: [String: String] = [:]
        let count = min(options.pictureCount, test.count)
        let shown = Array(0..<count)
        let images = shown.map { test.image(at: $0) }
        if let path = options.grid {
            let picture = VisionPictures.grid(
                images: images, predicted: shown.map { result.predictions[$0] },
                truth: shown.map { test.labels[$0] }, classNames: classifier.classNames)
            try picture.write(to: path)
            pictures["grid"] = path
            printError("wrote \(path)")
        }
        if let path = options.attention, let vit = classifier.visionTransformer {
            let loader = ImageLoader(
                dataset: test, batchSize: count, shuffle: false,
                normalization: ImageNormalization(mean: classifier.mean, std: classifier.std), seed: 0)
            let rollout = vit.attentionRollout(loader.batch(indices: shown).images)
            let picture = VisionPictures.attention(
                images: images, maps: rollout.maps, gridSize: vit.config.gridSize,
                predicted: rollout.logits.argmaxIndices(axis: 1),
                truth: shown.map { test.labels[$0] }, classNames: classifier.classNames)
            try picture.write(to: path)
            pictures["attention"] = path
            printError("wrote \(path)")
        }
        if common.json {
            var object: [String: Any] = [
                "model": kind.rawValue, "test_accuracy": result.accuracy, "test_loss": result.loss,
                "images": test.count, "classes": classifier.classNames,
                "per_class_accuracy": perClass, "confusion_matrix": confusion, "flip_test": options.flipTest
            ]
            for (key, value) in pictures { object[key] = value }
            printJSON(object)
        }
    }
}
