import ArgumentParser
import Cortex
import Data
import Foundation
import Models
import Recipes

extension FreezeMode: ExpressibleByArgument {}

/// Options shared by `cortex train vit`, `lenet` and `resnet`. Every default is the model's
/// recipe in `VisionTrainConfig`; a flag overrides one field.
struct VisionTrainOptions: ParsableArguments {
    @Option(
        help:
            "Directory of an IDX set (MNIST, Fashion-MNIST; plain or .gz) or CIFAR-10 binary batches (default: Debian's Fashion-MNIST).",
        completion: .file())
    var data: String?
    @Option(help: "Passes over the training set (default: 20 for vit, 15 for lenet, 30 for resnet).")
    var epochs: Int?
    @Option(help: "Minibatch size (default 128).")
    var batch: Int?
    @Option(
        help: "Under mpirun: the batch of each rank; the global batch is this times the ranks (instead of --batch split over them).")
    var perRankBatch: Int?
    @Option(help: "Peak learning rate (default 2e-3).")
    var lr: Float?
    @Option(help: "AdamW weight decay, matrices only (default 0.05).")
    var weightDecay: Float?
    @Option(help: "Warmup epochs before the cosine decay (default 1).")
    var warmupEpochs: Double?
    @Option(help: "Random-crop padding in pixels, 0 for none (default: 1 for vit, 0 for lenet, 2 for resnet).")
    var cropPadding: Int?
    @Flag(help: "Random horizontal flips (on by default for resnet).")
    var flip = false
    @Flag(help: "No random horizontal flips.")
    var noFlip = false
    @Option(help: "Probability of random erasing per image, 0 for none (default 0).")
    var erasing: Float?
    @Option(help: "Side of the cutout square in pixels, 0 for none (default 0).")
    var cutout: Int?
    @Option(help: "Label smoothing of the cross-entropy (default: 0.1 for resnet, 0 otherwise).")
    var labelSmoothing: Float?
    @Option(help: "Train and test on only these labels, comma-separated (e.g. 5,6,7,8,9); they become classes 0, 1, ….")
    var classes: String?
    @Option(help: "Train on this many images per class, drawn with the seed.")
    var labelsPerClass: Int?
    @Option(
        help: "Start from this checkpoint's backbone (same model, any classes) with a new head.",
        completion: .file(extensions: ["safetensors"]))
    var initFrom: String?
    @Option(help: "With --init-from: train everything (none) or only the new head (backbone).")
    var freeze: FreezeMode?
    @Option(help: "Train on only the first N training images (for quick trials).")
    var limit: Int?
    @Option(help: "Test (and keep the best checkpoint) after every N-th epoch and the last (default 1).")
    var evalEvery: Int?
    @OptionGroup var runFolder: RunFolderOptions
    @OptionGroup var common: CommonOptions

    /// The model's recipe with the flags that were given written over it.
    func config(model: ImageModelKind) throws -> VisionTrainConfig {
        var c = VisionTrainConfig(model: model)
        if let file = runFolder.config {
            c = try ConfigFile.load(file, over: c)
            guard c.model == model else {
                throw ValidationError(
                    "--config \(file) is a \(c.model.rawValue) config; use it with cortex train \(c.model.rawValue)")
            }
        }
        c.seed = common.seed
        c.threads = common.threads
        if let data { c.data = data }
        if let epochs { c.epochs = epochs }
        if let batch { c.batchSize = batch }
        if let lr { c.learningRate = lr }
        if let weightDecay { c.weightDecay = weightDecay }
        if let warmupEpochs { c.warmupEpochs = warmupEpochs }
        if let cropPadding { c.cropPadding = cropPadding }
        if flip { c.horizontalFlip = true }
        if noFlip { c.horizontalFlip = false }
        if let erasing { c.erasing = erasing }
        if let cutout { c.cutout = cutout }
        if let labelSmoothing { c.labelSmoothing = labelSmoothing }
        if let classes {
            let labels = classes.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !labels.isEmpty, labels.allSatisfy({ $0 != nil }) else {
                throw ValidationError("--classes takes comma-separated labels such as 0,1,2,3,4, got '\(classes)'")
            }
            c.classes = labels.map { $0! }
        }
        if let labelsPerClass { c.labelsPerClass = labelsPerClass }
        if let initFrom { c.initFrom = initFrom }
        if let freeze { c.freeze = freeze }
        if let limit { c.limit = limit }
        if let evalEvery { c.evalEvery = evalEvery }
        return c
    }

    func validate() throws {
        if flip && noFlip { throw ValidationError("--flip and --no-flip contradict each other") }
        // The model's own checks run when its command builds the config.
        if runFolder.config == nil, let problem = try config(model: .lenet).problem { throw ValidationError(problem) }
    }

    /// Trains `config` and prints the summary.
    func train(_ config: VisionTrainConfig) throws {
        Interrupt.install()
        // LeNet's GEMMs are small (400 → 120 on a batch of 128): OpenBLAS on one thread, whose idle
        // workers would otherwise spin beside Cortex's own (docs/speed.md).
        Runtime.configure(threads: common.threads, smallMatrices: config.model == .lenet)
        var config = config
        let folder = runFolder.out ?? "runs/\(config.model.rawValue)-s\(config.seed)"
        let group = try ProcessGroup.start()
        if let perRankBatch {
            guard perRankBatch >= 1, batch == nil else {
                throw ValidationError("--per-rank-batch takes a positive size and replaces --batch; give one of them")
            }
            config.batchSize = perRankBatch * group.size
        }
        let trainer = try VisionTrainer(
            config: &config, folder: folder, resume: runFolder.resume, communicator: group)
        let summary = try trainer.run(shouldStop: { Interrupt.requested })
        group.removeScratchFolder(trainer.trainingRun.folder)
        ProcessGroup.finish(group)
        if summary.interrupted { throw ExitCode(130) }
        if common.json && group.isRoot {
            printJSON([
                "epochs": summary.epochs, "test_accuracy": summary.testAccuracy,
                "best_test_accuracy": summary.bestTestAccuracy, "s_per_epoch": summary.secondsPerEpoch,
                "cpu_s_per_epoch": summary.cpuSecondsPerEpoch, "checkpoint": summary.checkpoint,
                "best_checkpoint": summary.bestCheckpoint, "model": config.model.rawValue,
                "parameters": summary.parameters
            ])
        }
    }
}

/// ViT size flags (defaults: `ViTConfig`).
struct ViTOptions: ParsableArguments {
    @Option(help: "Patch side in pixels (default 4).") var patch: Int?
    @Option(help: "Token width (default 64).") var dim: Int?
    @Option(help: "Encoder blocks (default 4).") var depth: Int?
    @Option(help: "Attention heads (default 4).") var heads: Int?
    @Option(help: "MLP hidden width (default 128).") var mlp: Int?
    @Option(help: "Dropout probability (default 0).") var dropout: Float?

    func apply(to config: inout ViTConfig) {
        if let patch { config.patchSize = patch }
        if let dim { config.dimension = dim }
        if let depth { config.depth = depth }
        if let heads { config.heads = heads }
        if let mlp { config.mlpDimension = mlp }
        if let dropout { config.dropout = dropout }
    }
}

/// `cortex train vit`.
struct TrainViT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vit",
        abstract: "Train a Vision Transformer (Dosovitskiy et al. 2020) on Fashion-MNIST or any IDX/CIFAR-10 set.")
    @OptionGroup var options: VisionTrainOptions
    @OptionGroup var sizes: ViTOptions

    func run() throws {
        try reportingFailures("train vit") {
            var config = try options.config(model: .vit)
            sizes.apply(to: &config.vit!)
            try options.train(config)
        }
    }
}

/// ResNet size flags (defaults: `ResNetConfig`).
struct ResNetOptions: ParsableArguments {
    @Option(help: "Channels of each stage, comma-separated (default 16,32,64).") var widths: String?
    @Option(help: "Basic blocks in each stage, comma-separated (default 3,3,3: ResNet-20).") var blocks: String?

    static func list(_ text: String, _ flag: String) throws -> [Int] {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError("--\(flag) takes comma-separated positive numbers such as 16,32,64, got '\(text)'")
        }
        return values.map { $0! }
    }

    func apply(to config: inout ResNetConfig) throws {
        if let widths { config.widths = try Self.list(widths, "widths") }
        if let blocks { config.blocks = try Self.list(blocks, "blocks") }
        if let problem = config.problem { throw ValidationError(problem) }
    }
}

/// `cortex train resnet`.
struct TrainResNet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resnet",
        abstract:
            "Train a ResNet for small images (He et al. 2016) with augmentation on Fashion-MNIST or any IDX/CIFAR-10 set.")
    @OptionGroup var options: VisionTrainOptions
    @OptionGroup var sizes: ResNetOptions

    func validate() throws {
        var config = ResNetConfig()
        try sizes.apply(to: &config)
    }

    func run() throws {
        try reportingFailures("train resnet") {
            var config = try options.config(model: .resnet)
            try sizes.apply(to: &config.resnet!)
            try options.train(config)
        }
    }
}

/// `cortex train lenet`.
struct TrainLeNet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lenet",
        abstract: "Train LeNet-5 (LeCun et al. 1998, ReLU variant) on Fashion-MNIST or any IDX/CIFAR-10 set.")
    @OptionGroup var options: VisionTrainOptions

    func run() throws {
        try reportingFailures("train lenet") {
            try options.train(try options.config(model: .lenet))
        }
    }
}
