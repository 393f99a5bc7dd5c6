import ArgumentParser
import Cortex
import Data
import Foundation
import Models
import Recipes

/// `cortex train gan`: a DCGAN on Fashion-MNIST (or any 28×28 IDX set).
struct TrainGAN: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gan",
        abstract: "Train a DCGAN (Radford et al. 2016) on Fashion-MNIST; a PNG grid of samples after every epoch.")
    @Option(help: "Directory of an IDX set of 28x28 images (default: Debian's Fashion-MNIST).", completion: .file())
    var data: String?
    @Option(help: "Passes over the training set (default 5).") var epochs: Int?
    @Option(help: "Minibatch size (default 128).") var batch: Int?
    @Option(help: "Adam learning rate of both networks (default 2e-4).") var lr: Float?
    @Option(help: "Adam β1 (default 0.5).") var beta1: Float?
    @Option(help: "Latent size (default 100).") var latent: Int?
    @Option(help: "Train on only the first N images (for quick trials).") var limit: Int?
    @Flag(help: "Class-conditional (Mirza & Osindero 2014): the generator and discriminator also take the label, one-hot.")
    var conditional = false
    @Option(
        help: "A `cortex train resnet` checkpoint: measure the Fréchet distance in its feature space at the end.",
        completion: .file(extensions: ["safetensors"]))
    var fidCheckpoint: String?
    @Option(help: "Generated images for the Fréchet distance (default 10000).") var fidSamples: Int?
    @Option(help: "Run folder (default runs/gan-s<seed>).") var out: String?
    @Flag(help: "Continue the run in --out from its last.safetensors (both networks, both optimizers).") var resume = false
    @OptionGroup var common: CommonOptions

    func config() -> GANTrainConfig {
        var c = GANTrainConfig()
        c.seed = common.seed
        c.threads = common.threads
        if let data { c.data = data }
        if let epochs { c.epochs = epochs }
        if let batch { c.batchSize = batch }
        if let lr { c.learningRate = lr }
        if let beta1 { c.beta1 = beta1 }
        if let latent { c.sizes.latent = latent }
        if let limit { c.limit = limit }
        c.conditional = conditional
        if let fidCheckpoint { c.fidCheckpoint = fidCheckpoint }
        if let fidSamples { c.fidSamples = fidSamples }
        return c
    }

    func validate() throws {
        if let problem = config().problem { throw ValidationError(problem) }
    }

    func run() throws {
        try reportingFailures("train gan") {
            Interrupt.install()
            Runtime.configure(threads: common.threads)
            let config = config()
            let trainer = try GANTrainer(config: config, folder: out ?? "runs/gan-s\(config.seed)", resume: resume)
            let summary = try trainer.run(shouldStop: { Interrupt.requested })
            if summary.interrupted { throw ExitCode(130) }
            if common.json {
                var object: [String: Any] = [
                    "epochs": summary.epochs, "s_per_epoch": summary.secondsPerEpoch,
                    "checkpoint": summary.checkpoint, "grid": summary.lastGrid
                ]
                if let fid = summary.fidResnet { object["fid_resnet"] = fid }
                if let floor = summary.fidFloor { object["fid_floor"] = floor }
                printJSON(object)
            }
        }
    }
}

/// `cortex generate-images --checkpoint runs/gan-s0/last.safetensors --grid out.png`.
struct GenerateImages: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate-images", abstract: "Draw a grid of images from a DCGAN checkpoint (cortex train gan).")
    @Option(help: "Checkpoint written by `cortex train gan`.", completion: .file(extensions: ["safetensors"]))
    var checkpoint: String
    @Option(help: "Where to write the PNG grid.") var grid: String
    @Option(help: "Images in the grid (8 per row); with --interpolate, the number of walks (rows).") var count = 64
    @Option(help: "Draw latent walks instead: each row goes from one random z to another in this many steps (slerp).")
    var interpolate: Int?
    @Option(name: .customLong("class"), help: "A conditional GAN's class to draw (default: every class, one per column).")
    var classIndex: Int?
    @Option(
        help: "A `cortex train resnet` checkpoint: also measure the Fréchet distance of the generator's samples to the test set in its feature space.",
        completion: .file(extensions: ["safetensors"]))
    var fidCheckpoint: String?
    @Option(help: "Generated images for the Fréchet distance.") var fidSamples = 10_000
    @Option(help: "Directory of the IDX set whose test images the samples are measured against (default: Debian's Fashion-MNIST).")
    var data: String?
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (1...1024).contains(count) else { throw ValidationError("--count must lie in 1…1024, got \(count)") }
        if let interpolate, !(2...64).contains(interpolate) {
            throw ValidationError("--interpolate must lie in 2…64 steps, got \(interpolate)")
        }
        guard fidSamples >= 2 else { throw ValidationError("--fid-samples must be at least 2, got \(fidSamples)") }
    }

    func run() throws {
        try reportingFailures("generate-images") {
            Runtime.configure(threads: common.threads)
            let gan = try GANTrainer.load(path: checkpoint)
            gan.eval()
            let K = gan.config.classes
            if let classIndex {
                guard K > 0 else { throw ValidationError("--class needs a conditional GAN; \(checkpoint) is unconditional") }
                guard (0..<K).contains(classIndex) else {
                    throw ValidationError("--class must lie in 0…\(K - 1) for this GAN, got \(classIndex)")
                }
            }
            var generator = RandomGenerator(seed: common.seed)
            if let steps = interpolate {
                try GANTrainer.grid(GANTrainer.interpolation(gan, rows: count, steps: steps, using: &generator), columns: steps)
                    .write(to: grid)
            } else if let classIndex {
                let z = Tensor.randn([count, gan.config.latent], using: &generator)
                try GANTrainer.grid(withNoGrad { gan.generator(z, labels: [Int](repeating: classIndex, count: count)) })
                    .write(to: grid)
            } else {
                // Conditional: `count` latents' worth of rows (at most 8), every class in a row.
                let z = Tensor.randn([K > 0 ? min(8, count) : count, gan.config.latent], using: &generator)
                let samples = GANTrainer.samples(gan, latents: z)
                try GANTrainer.grid(samples.images, columns: samples.columns).write(to: grid)
            }
            printError("wrote \(grid)")
            var object: [String: Any] = ["grid": grid, "images": count]
            if let fidCheckpoint {
                printError("measuring the Fréchet distance of \(fidSamples) samples in the feature space of \(fidCheckpoint)")
                let fid = try GANTrainer.frechetDistances(
                    gan, resnetCheckpoint: fidCheckpoint, data: data ?? FashionMNIST.defaultDirectory, samples: fidSamples,
                    latents: &generator)
                print(
                    String(
                        format: "Fréchet distance in ResNet feature space, test set against %d samples: %.3f (against %d training images: %.3f)",
                        fidSamples, fid.generated, fidSamples, fid.floor))
                object["fid_resnet"] = fid.generated
                object["fid_floor"] = fid.floor
            }
            if common.json { printJSON(object) }
        }
    }
}
