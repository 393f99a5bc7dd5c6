import ArgumentParser
import Cortex
import Data
import Foundation
import Models

/// `cortex classify --checkpoint FILE IMAGE…`: the top classes of pictures on disk.
struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Classify PNG/JPEG/PGM/PPM pictures, or folders of them, with a trained ViT or LeNet-5 (top-3 classes with probabilities).",
        discussion: """
            Each picture is converted to the model's channels (grey by ITU-R BT.601), resized to its input \
            (area averaging when shrinking, bilinear when enlarging) and normalised as in training.
            """)

    @Option(
        help: "Checkpoint written by `cortex train vit|lenet|resnet`.", completion: .file(extensions: ["safetensors"]),
        transform: ShippedModels.resolve)
    var checkpoint: String
    @Option(help: "Classes to list per picture.")
    var top = 3
    @Argument(help: "Pictures (PNG, JPEG, PGM or PPM) or folders of them (every picture directly inside, by name).")
    var images: [String]
    @Option(
        help:
            "Also write the results as CSV (timm's inference.py columns: image, then class and probability per rank).",
        completion: .file(extensions: ["csv"]))
    var csv: String?
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
            var table = "image," + (1...top).map { "class_\($0),probability_\($0)" }.joined(separator: ",") + "\n"
            for path in try Self.pictures(in: images) {
                let picture = try PixelImage.read(path: path)
                let input = picture.modelInput(
                    channels: classifier.channels, height: classifier.imageSize,
                    width: classifier.imageSize, normalization: normalization)
                let probabilities = classifier.probabilities(input).scalars
                let best = ImageClassifier.top(min(top, probabilities.count), of: probabilities)
                print("\(path) (\(picture.width)x\(picture.height)):")
                for (rank, entry) in best.enumerated() {
                    print(
                        String(
                            format: "  %d. %@ %6.2f%%", rank + 1, classifier.classNames[entry.index] as NSString,
                            100 * entry.probability))
                }
                table +=
                    ([Self.csvField(path)]
                    + best.flatMap {
                        [
                            Self.csvField(classifier.classNames[$0.index]),
                            String(format: "%.6f", $0.probability)
                        ]
                    })
                    .joined(separator: ",") + "\n"
                rows.append([
                    "image": path,
                    "top": best.map {
                        [
                            "class": classifier.classNames[$0.index], "index": $0.index,
                            "probability": Double($0.probability)
                        ] as [String: Any]
                    }
                ])
            }
            if let csv {
                do {
                    try table.write(toFile: csv, atomically: true, encoding: .utf8)
                } catch {
                    throw CommandFailure("cannot write \(csv): \(error.localizedDescription)")
                }
                printError("wrote \(csv) (\(rows.count) pictures)")
            }
            if common.json { printJSON(["model": classifier.kind.rawValue, "results": rows]) }
        }
    }

    /// The files named, with each folder replaced by the pictures directly inside it (files
    /// whose first bytes are a PNG, JPEG or PNM header), sorted by name.
    static func pictures(in arguments: [String]) throws -> [String] {
        var result: [String] = []
        for argument in arguments {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isFolder), isFolder.boolValue else {
                result.append(argument)
                continue
            }
            let names = try FileManager.default.contentsOfDirectory(atPath: argument).sorted()
            let inside = names.map { (argument as NSString).appendingPathComponent($0) }.filter(isPicture)
            guard !inside.isEmpty else {
                throw CommandFailure("\(argument): no PNG, JPEG, PGM or PPM pictures in this folder")
            }
            result += inside
        }
        return result
    }

    private static func isPicture(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = [UInt8](handle.readData(ofLength: 8))
        return head.starts(with: [0x89, 0x50, 0x4E, 0x47]) || head.starts(with: [0xFF, 0xD8, 0xFF])
            || (head.count >= 2 && head[0] == UInt8(ascii: "P")
                && (UInt8(ascii: "1")...UInt8(ascii: "7")).contains(head[1]))
    }

    /// A CSV field, quoted when it holds a comma, quote or line break (RFC 4180).
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
