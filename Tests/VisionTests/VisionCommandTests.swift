import Cortex
import Data
import Foundation
import Models
import XCTest

/// The commands end to end on a small IDX set the test writes: train, eval (with pictures),
/// classify, bad input.
final class VisionCommandTests: XCTestCase {
    private func barDataset() throws -> String {
        let folder = try makeTemporaryDirectory(self)
        try writeBarDataset(directory: folder, split: "train", count: 96, seed: 1)
        try writeBarDataset(directory: folder, split: "t10k", count: 32, seed: 2)
        return folder
    }

    func testTrainEvalClassifyLeNet() throws {
        let data = try barDataset()
        let run = "\(data)/run"
        let train = try runCortex([
            "train", "lenet", "--data", data, "--epochs", "2", "--batch", "16", "--lr", "3e-3",
            "--out", run, "--threads", "1", "--json"
        ])
        XCTAssertEqual(train.status, 0, train.stderr)
        let summary = try lastJSONLine(train.stdout)
        XCTAssertEqual(
            Set(summary.keys).isSuperset(of: ["epochs", "test_accuracy", "s_per_epoch", "checkpoint"]), true,
            "\(summary)")
        XCTAssertEqual(summary["epochs"] as? Int, 2)
        XCTAssertEqual(summary["checkpoint"] as? String, "\(run)/last.safetensors")
        let accuracy = try XCTUnwrap(summary["test_accuracy"] as? Double)
        XCTAssertGreaterThan(accuracy, 0.9, "four bar positions are easy: \(train.stderr)")
        for file in ["best.safetensors", "last.safetensors", "metrics.csv", "config.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(run)/\(file)"), file)
        }
        XCTAssertTrue(
            try FileManager.default.contentsOfDirectory(atPath: run).contains { $0.hasPrefix("events.out.tfevents") })

        // eval agrees with the training run's last test accuracy and writes the grid.
        let grid = "\(data)/grid.png"
        let eval = try runCortex([
            "eval", "lenet", "--checkpoint", "\(run)/last.safetensors", "--data", data,
            "--grid", grid, "--picture-count", "12", "--json"
        ])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let figures = try lastJSONLine(eval.stdout)
        XCTAssertEqual(figures["test_accuracy"] as? Double, accuracy)
        let confusion = try XCTUnwrap(figures["confusion_matrix"] as? [[Int]])
        // Rows are the true classes: 8 test images of each bar; the set's directory name gives it the digits' names.
        XCTAssertEqual(confusion.map { $0.reduce(0, +) }, [8, 8, 8, 8, 0, 0, 0, 0, 0, 0])
        let picture = try PixelImage.read(path: grid)
        XCTAssertEqual(picture.channels, 3)
        XCTAssertGreaterThan(picture.width, 8 * 84)

        // classify on a PNG written here gives the prediction of the same tensor in memory.
        let (classifier, _, _) = try ImageClassifier.load(path: "\(run)/last.safetensors")
        let test = try ImageDataset.load(directory: data, split: .test)
        let loader = ImageLoader(
            dataset: test, batchSize: 4, shuffle: false,
            normalization: ImageNormalization(mean: classifier.mean, std: classifier.std), seed: 0)
        var paths: [String] = []
        for index in 0..<3 {
            let path = "\(data)/image\(index).png"
            try test.image(at: index).write(to: path)
            paths.append(path)
        }
        let memory = classifier.probabilities(loader.batch(indices: [0, 1, 2]).images)
        let classify = try runCortex(["classify", "--checkpoint", "\(run)/last.safetensors", "--json"] + paths)
        XCTAssertEqual(classify.status, 0, classify.stderr)
        let results = try XCTUnwrap(try lastJSONLine(classify.stdout)["results"] as? [[String: Any]])
        XCTAssertEqual(results.count, 3)
        for (row, result) in results.enumerated() {
            let top = try XCTUnwrap(result["top"] as? [[String: Any]])
            XCTAssertEqual(top.count, 3)
            let probabilities = (0..<4).map { memory[row, $0] }
            let best = probabilities.indices.max { probabilities[$0] < probabilities[$1] }!
            XCTAssertEqual(top[0]["index"] as? Int, best)
            XCTAssertEqual(top[0]["class"] as? String, classifier.classNames[best])
            XCTAssertEqual(Float(top[0]["probability"] as! Double), probabilities[best], accuracy: 1e-6)
        }

        // A file that is not an image, and a checkpoint that is not one, each give one line.
        let text = "\(data)/notes.png"
        try Data("not a picture".utf8).write(to: URL(fileURLWithPath: text))
        let bad = try runCortex(["classify", "--checkpoint", "\(run)/last.safetensors", text])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("not an image"), bad.stderr)
        XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1, bad.stderr)
        let wrong = try runCortex(["eval", "lenet", "--checkpoint", text, "--data", data])
        XCTAssertEqual(wrong.status, 1)
        XCTAssertEqual(wrong.stderr.split(separator: "\n").count, 1, wrong.stderr)
    }

    func testTrainViTAndAttentionPicture() throws {
        let data = try barDataset()
        let run = "\(data)/vit"
        let train = try runCortex([
            "train", "vit", "--data", data, "--epochs", "1", "--batch", "32", "--dim", "16",
            "--depth", "1", "--heads", "2", "--mlp", "32", "--out", run, "--threads", "1", "--json"
        ])
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertEqual(try lastJSONLine(train.stdout)["epochs"] as? Int, 1)
        let attention = "\(data)/attention.png"
        let eval = try runCortex([
            "eval", "vit", "--checkpoint", "\(run)/best.safetensors", "--data", data,
            "--attention", attention, "--picture-count", "8", "--json"
        ])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        XCTAssertEqual(try lastJSONLine(eval.stdout)["attention"] as? String, attention)
        XCTAssertEqual(try PixelImage.read(path: attention).channels, 3)
        // The wrong model kind is refused in one line.
        let mismatch = try runCortex(["eval", "lenet", "--checkpoint", "\(run)/best.safetensors", "--data", data])
        XCTAssertEqual(mismatch.status, 1)
        XCTAssertTrue(mismatch.stderr.contains("holds a vit model, not lenet"), mismatch.stderr)
    }

    /// Reads every tensor of a checkpoint, by name.
    private func tensors(_ path: String) throws -> [String: [Float]] {
        let file = try SafeTensors.read(from: path)
        var result: [String: [Float]] = [:]
        for (name, tensor) in file.tensors { result[name] = tensor.scalars }
        return result
    }

    func testResNetTrainsEvaluatesAndTransfersWithAFrozenBackbone() throws {
        let data = try barDataset()
        let pretrained = "\(data)/pre"
        let sizes = ["--widths", "4,8", "--blocks", "1,1", "--threads", "1", "--batch", "16"]
        let train = try runCortex(
            ["train", "resnet", "--data", data, "--epochs", "2", "--classes", "0,1", "--out", pretrained, "--json"]
                + sizes)
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertNotNil(try lastJSONLine(train.stdout)["test_accuracy"] as? Double)
        let eval = try runCortex(["eval", "resnet", "--checkpoint", "\(pretrained)/last.safetensors", "--data", data])
        // Two classes were kept, the data has ten names: eval refuses in one line rather than guessing.
        XCTAssertEqual(eval.status, 1, eval.stdout)
        XCTAssertEqual(eval.stderr.split(separator: "\n").count, 1, eval.stderr)

        // Linear probe on the other two classes: the backbone's tensors come out bit-identical.
        let probe = "\(data)/probe"
        let frozen = try runCortex(
            [
                "train", "resnet", "--data", data, "--epochs", "2", "--classes", "2,3", "--labels-per-class", "10",
                "--init-from", "\(pretrained)/last.safetensors", "--freeze", "backbone", "--out", probe, "--json"
            ] + sizes)
        XCTAssertEqual(frozen.status, 0, frozen.stderr)
        let before = try tensors("\(pretrained)/last.safetensors"), after = try tensors("\(probe)/last.safetensors")
        var backbone = 0
        for (name, values) in after where !name.hasPrefix("optimizer.") {
            if name.hasPrefix("fc.") {
                XCTAssertNotEqual(before[name], values, "the new head trains: \(name)")
            } else {
                XCTAssertEqual(before[name], values, "frozen: \(name)")
                backbone += 1
            }
        }
        // conv1 + bn1 (5 entries); layer1.0: 2 convs + 2 BatchNorms; layer2.0: the same + downsample conv and BatchNorm.
        XCTAssertEqual(backbone, 6 + 12 + 18, "every backbone tensor compared")
        XCTAssertFalse(after.keys.contains { $0.hasPrefix("optimizer.layer") }, "the optimizer holds only the head")

        // Full fine-tuning from the same start moves the backbone.
        let tuned = "\(data)/tuned"
        let fine = try runCortex(
            [
                "train", "resnet", "--data", data, "--epochs", "1", "--classes", "2,3",
                "--init-from", "\(pretrained)/last.safetensors", "--freeze", "none", "--out", tuned
            ] + sizes)
        XCTAssertEqual(fine.status, 0, fine.stderr)
        XCTAssertNotEqual(try tensors("\(tuned)/last.safetensors")["conv1.weight"], before["conv1.weight"])

        // --freeze without a checkpoint to start from is a usage error.
        let usage = try runCortex(["train", "resnet", "--data", data, "--freeze", "backbone", "--out", "\(data)/x"])
        XCTAssertEqual(usage.status, 64, usage.stderr)
        XCTAssertEqual(usage.stderr.split(separator: "\n").count, 1, usage.stderr)
        // A ResNet checkpoint trained on all classes evaluates and classifies.
        let all = "\(data)/all"
        let full = try runCortex(["train", "resnet", "--data", data, "--epochs", "1", "--out", all] + sizes)
        XCTAssertEqual(full.status, 0, full.stderr)
        let evaluated = try runCortex(
            ["eval", "resnet", "--checkpoint", "\(all)/last.safetensors", "--data", data, "--json"])
        XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
        XCTAssertNotNil(try lastJSONLine(evaluated.stdout)["test_accuracy"] as? Double)
        let picture = "\(data)/one.png"
        try ImageDataset.load(directory: data, split: .test).image(at: 0).write(to: picture)
        let classify = try runCortex(["classify", "--checkpoint", "\(all)/last.safetensors", picture])
        XCTAssertEqual(classify.status, 0, classify.stderr)
    }

    /// `--eval-every 2` over three epochs tests after epochs 2 and 3 only, writes `last` after
    /// every epoch, and keeps `best` from the tested ones; 0 is refused.
    func testEvalEveryTestsOnlyEveryNthEpochAndTheLast() throws {
        let data = try barDataset()
        let out = "\(data)/every"
        let run = try runCortex([
            "train", "resnet", "--data", data, "--epochs", "3", "--eval-every", "2", "--widths", "4,8", "--blocks", "1,1",
            "--threads", "1", "--batch", "16", "--out", out, "--json"
        ])
        XCTAssertEqual(run.status, 0, run.stderr)
        let epochLines = run.stderr.split(separator: "\n").filter { $0.hasPrefix("epoch ") && $0.contains(": train loss") }
        XCTAssertEqual(epochLines.count, 3, run.stderr)
        XCTAssertTrue(epochLines[0].contains("next test after epoch 2") && !epochLines[0].contains("test loss"), "\(epochLines[0])")
        XCTAssertTrue(epochLines[1].contains("test loss"), "\(epochLines[1])")
        XCTAssertTrue(epochLines[2].contains("test loss"), "\(epochLines[2])")
        XCTAssertNotNil(try lastJSONLine(run.stdout)["test_accuracy"] as? Double)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/best.safetensors"))
        XCTAssertEqual(try SafeTensors.read(from: "\(out)/last.safetensors").metadata["epoch"], "3")
        let zero = try runCortex(["train", "resnet", "--data", data, "--eval-every", "0", "--out", "\(data)/zero"])
        XCTAssertEqual(zero.status, 64, zero.stderr)
    }
}
