import ArgumentParser
import Cortex
import Data
import Foundation
import Models

/// `cortex bench vision`: seconds per training epoch (forward + backward + AdamW over 60,000
/// images, batch 128) of the ViT and LeNet-5. PyTorch on the same batches: `cortex bench pytorch`.
struct BenchVision: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vision",
        abstract: "Image models: seconds per 60,000-image training epoch of the ViT and LeNet-5.")

    @Option(
        help: "Directory of an IDX or CIFAR-10 dataset (default: Fashion-MNIST from dataset-fashion-mnist).",
        completion: .file())
    var data: String = FashionMNIST.defaultDirectory
    @Option(help: "Timed batches per model (the epoch time is extrapolated from them).")
    var batches = 60
    @Option(help: "Batch size.")
    var batch = 128
    @Option(help: "Models to time (comma-separated: vit, lenet, resnet).")
    var models = "vit,lenet"
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard batches >= 1, batch >= 1 else { throw ValidationError("--batches and --batch must be positive") }
        for name in models.split(separator: ",") where ImageModelKind(rawValue: String(name)) == nil {
            throw ValidationError("unknown model '\(name)' in --models; expected vit, lenet, resnet")
        }
    }

    func run() throws {
        Runtime.configure(threads: common.threads)
        let train = try ImageDataset.load(directory: data, split: .train)
        let epochImages = 60_000
        printError(
            "bench vision: \(common.threads) thread(s), batch \(batch), \(batches) timed batches per model after 5 warm-up batches"
        )
        printError(
            "  wall-clock figures count waiting for a core; on a busy machine compare the CPU seconds (all threads)")
        printError("  against PyTorch in one run: cortex bench pytorch --workloads vit-train,lenet-train")
        var rows: [[String: Any]] = []
        for name in models.split(separator: ",") {
            let kind = ImageModelKind(rawValue: String(name))!
            var generator = RandomGenerator(seed: common.seed)
            let normalization = ImageNormalization.computed(from: train)
            let classifier = ImageClassifier.make(
                kind: kind,
                vit: ViTConfig(channels: train.channels, imageSize: train.height, classes: train.classCount),
                lenet: LeNetConfig(channels: train.channels, imageSize: train.height, classes: train.classCount),
                resnet: ResNetConfig(channels: train.channels, imageSize: train.height, classes: train.classCount),
                classNames: train.classNames, mean: normalization.mean, std: normalization.std, generator: &generator)
            let model = classifier.network
            model.train()
            let optimizer = AdamW(model.weightDecayGroups(weightDecay: 0.05), learningRate: 1e-3)
            let loader = ImageLoader(dataset: train, batchSize: batch, normalization: normalization, seed: common.seed)
            var epoch = loader.epoch()
            func step() {
                guard let b = epoch.next() else { return }
                let loss = crossEntropy(logits: model(b.images), targets: b.labels)
                optimizer.zeroGrad()
                loss.backward()
                optimizer.step()
            }
            for _ in 0..<5 { step() }
            let start = DispatchTime.now().uptimeNanoseconds, startCPU = processCPUSeconds()
            for _ in 0..<batches { step() }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let cpuPerEpoch = (processCPUSeconds() - startCPU) / Double(batches * batch) * Double(epochImages)
            let perEpoch = seconds / Double(batches * batch) * Double(epochImages)
            printError(String(format: "  %@: %.1f ms/batch", kind.rawValue, seconds / Double(batches) * 1000))
            rows.append([
                "model": kind.rawValue, "parameters": model.parameterCount, "s_per_epoch": perEpoch,
                "ms_per_batch": seconds / Double(batches) * 1000, "cpu_s_per_epoch": cpuPerEpoch
            ])
        }
        print(
            "vision training epoch (60,000 images, batch \(batch), forward + backward + AdamW, \(common.threads) thread(s))"
        )
        for row in rows {
            print(
                String(
                    format:
                        "  %-6@ %7d parameters  %7.1f s/epoch; %.1f CPU s/epoch",
                    (row["model"] as! String) as NSString, row["parameters"] as! Int, row["s_per_epoch"] as! Double,
                    row["cpu_s_per_epoch"] as! Double))
        }
        if common.json { printJSON(["models": rows, "batch": batch, "threads": common.threads]) }
    }
}
