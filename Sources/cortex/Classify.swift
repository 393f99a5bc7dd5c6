import ArgumentParser
import Cortex
import Data
import Foundation
import Models

/// `cortex classify --checkpoint FILE IMAGE…`: the top classes of pictures on disk.
struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify PNG/PGM/PPM pictures with a trained ViT or LeNet-5 (top-3 classes with probabilities).",
        discussion: """
            Each picture is converted to the model's channels (grey by ITU-R BT.601), resized to its input \
            (area averaging when shrinking, bilinear when enlarging) and normalised as in training.
            """)

    @Option(help: "Checkpoint written by `cortex train vit|lenet`.")
    var checkpoint: String
    @Option(help: "Classes to list per picture.")
    var top = 3
    @Argument(help: "Pictures: PNG, PGM or PPM.")
    var images: [String]
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("name at least one picture") }
        guard top >= 1 else { throw ValidationError("--top must be at least 1, got \(top)") }
    }

    func run() throws {
        try reportingFailures("classify") {
            Runtime.configure(threads: common.threads)
            let classifier = try ImageClassifier.load(path: checkpoint).classifier
            let normalization = ImageNormalization(mean: classifier.mean, std: classifier.std)
            var rows: [[String: Any]] = []
            for path in images {
                let picture = try PixelImage.read(path: path)
                let input = picture.modelInput(channels: classifier.channels, height: classifier.imageSize,
                                               width: classifier.imageSize, normalization: normalization)
                let probabilities = classifier.probabilities(input).scalars
                let best = ImageClassifier.top(min(top, probabilities.count), of: probabilities)
                print("\(path) (\(picture.width)x\(picture.height)):")
                for (rank, entry) in best.enumerated() {
                    print(String(format: "  %d. %@ %6.2f%%", rank + 1, classifier.classNames[entry.index] as NSString,
                                 100 * entry.probability))
                }
                rows.append(["image": path, "top": best.map { ["class": classifier.classNames[$0.index], "index": $0.index,
                                                                "probability": Double($0.probability)] as [String: Any] }])
            }
            if common.json { printJSON(["model": classifier.kind.rawValue, "results": rows]) }
        }
    }
}
