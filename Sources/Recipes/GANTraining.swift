import Cortex
import Data
import Foundation
import Models

/// Everything a `cortex train gan` run is set up with; logged to `config.json` first. Defaults
/// are the DCGAN paper's (Radford et al. 2016): Adam with learning rate 2e-4 and β1 = 0.5 for
/// both networks, batch 128, images scaled to [−1, 1].
public struct GANTrainConfig: Codable, Equatable, Sendable {
    /// Directory of an IDX set of 28×28 images (default: Debian's Fashion-MNIST).
    public var data = FashionMNIST.defaultDirectory
    public var seed: UInt64 = 0
    public var epochs = 5
    public var batchSize = 128
    public var learningRate: Float = 2e-4
    public var beta1: Float = 0.5
    /// Train on only the first `limit` images; nil: all.
    public var limit: Int?
    public var sizes = DCGANConfig()
    /// A class-conditional GAN over the data's classes (`sizes.classes` is set from the data).
    public var conditional = false
    /// A `train resnet` checkpoint whose features measure the samples at the end (nil: not measured).
    public var fidCheckpoint: String?
    /// Generated images compared with the test set for the Fréchet distance.
    public var fidSamples = 10_000
    public var threads = 2

    public init() {}

    /// The first setting that cannot work, as one line, or nil.
    public var problem: String? {
        if epochs < 1 { return "epochs must be at least 1, got \(epochs)" }
        if batchSize < 2 { return "the batch size must be at least 2 (BatchNorm), got \(batchSize)" }
        if !(learningRate > 0) || !(beta1 >= 0 && beta1 < 1) { return "the learning rate must be positive and β1 in [0, 1)" }
        if let limit, limit < 2 { return "the image limit must be at least 2, got \(limit)" }
        if fidSamples < 2 { return "the Fréchet distance needs at least 2 samples, got \(fidSamples)" }
        return sizes.problem
    }
}

/// The two losses of one step, each measured before its network's update.
public struct GANStepLosses: Sendable {
    /// −log D(x) − log(1 − D(G(z))), averaged over the batch.
    public var discriminator: Float
    /// The non-saturating generator loss −log D(G(z)) (Goodfellow et al. 2014, §3).
    public var generator: Float
}

/// One DCGAN with its two Adam optimizers and the alternating update.
public final class GANStepper {
    public let gan: DCGAN
    public let generatorOptimizer: Adam
    public let discriminatorOptimizer: Adam

    public init(gan: DCGAN, learningRate: Float, beta1: Float) {
        self.gan = gan
        generatorOptimizer = Adam(
            [ParameterGroup(gan.generator.namedParameters().map { ("generator." + $0.name, $0.tensor) })],
            learningRate: learningRate, beta1: beta1)
        discriminatorOptimizer = Adam(
            [ParameterGroup(gan.discriminator.namedParameters().map { ("discriminator." + $0.name, $0.tensor) })],
            learningRate: learningRate, beta1: beta1)
    }

    /// D's logits; a conditional GAN's images come with the classes they claim (`labels`).
    func judge(_ images: Tensor, labels: [Int]?) -> Tensor {
        if let labels { return gan.discriminator(images, labels: labels) }
        return gan.discriminator(images)
    }

    /// G's images of latents `z` (of the classes `labels` in a conditional GAN).
    public func generate(_ z: Tensor, labels: [Int]?) -> Tensor {
        if let labels { return gan.generator(z, labels: labels) }
        return gan.generator(z)
    }

    /// Discriminator loss on real images and fakes (BCE with logits, targets 1 and 0); in a
    /// conditional GAN both show the classes `labels`.
    public func discriminatorLoss(real: Tensor, fake: Tensor, labels: [Int]? = nil) -> Tensor {
        let realLogits = judge(real, labels: labels), fakeLogits = judge(fake, labels: labels)
        return binaryCrossEntropyWithLogits(realLogits, Tensor.ones(realLogits.shape))
            + binaryCrossEntropyWithLogits(fakeLogits, Tensor.zeros(fakeLogits.shape))
    }

    /// Non-saturating generator loss: BCE of D(G(z)) against the target "real".
    public func generatorLoss(fake: Tensor, labels: [Int]? = nil) -> Tensor {
        let logits = judge(fake, labels: labels)
        return binaryCrossEntropyWithLogits(logits, Tensor.ones(logits.shape))
    }

    /// One Adam update of D towards calling `real` real and `fake` fake; returns the loss before it.
    @discardableResult
    public func updateDiscriminator(real: Tensor, fake: Tensor, labels: [Int]? = nil) -> Float {
        let loss = discriminatorLoss(real: real, fake: fake, labels: labels)
        discriminatorOptimizer.zeroGrad()
        loss.backward()
        discriminatorOptimizer.step()
        return loss.item
    }

    /// One Adam update of G towards fooling D on G(z); D's parameters are not changed. Returns
    /// the loss before it.
    @discardableResult
    public func updateGenerator(z: Tensor, labels: [Int]? = nil) -> Float {
        let loss = generatorLoss(fake: generate(z, labels: labels), labels: labels)
        generatorOptimizer.zeroGrad()
        loss.backward()
        generatorOptimizer.step()
        gan.discriminator.zeroGrad()
        return loss.item
    }

    /// One update of D on `real` and G(z) (G's output detached), then one of G on the same z.
    /// A conditional GAN generates the batch's own classes (`labels`), so D sees real and fake
    /// images of the same classes.
    public func step(real: Tensor, z: Tensor, labels: [Int]? = nil) -> GANStepLosses {
        gan.train()
        let fake = withNoGrad { generate(z, labels: labels) }
        let d = updateDiscriminator(real: real, fake: fake, labels: labels)
        return GANStepLosses(discriminator: d, generator: updateGenerator(z: z, labels: labels))
    }
}

/// What a finished GAN run reports.
public struct GANTrainingSummary: Sendable {
    public var epochs: Int
    public var secondsPerEpoch: Double
    public var checkpoint: String
    public var lastGrid: String
    /// Fréchet distance between ResNet features of the test set and of generated images (nil: not measured).
    public var fidResnet: Double?
    /// The same distance between the test set and as many training images (the floor).
    public var fidFloor: Double?
    public var interrupted: Bool
}

/// `cortex train gan`: the DCGAN on 28×28 images, a grid of 64 samples from a fixed z as PNG
/// after every epoch (`samples-epoch<N>.png` in the run folder), `last.safetensors` (both
/// networks, metadata `model: dcgan` and the sizes) every epoch.
public final class GANTrainer {
    public let config: GANTrainConfig
    public let stepper: GANStepper
    public let trainingRun: TrainingRun
    /// The network's sizes: `config.sizes`, with the data's classes when conditional.
    public let sizes: DCGANConfig
    let train: ImageDataset
    let fixedLatents: Tensor
    public var log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    /// Progress saved in every checkpoint (metadata `gan.state`), so `--resume` continues the
    /// run exactly: the epochs done, the latent stream, the seconds spent.
    public struct State: Codable, Sendable {
        public var epoch = 0
        public var seconds = 0.0
        public var latentGenerator: RandomGenerator
    }
    public private(set) var state: State

    /// Builds a run in `folder`; with `resume`, continues from its `last.safetensors` (both
    /// networks, both optimizers, the progress).
    public init(config: GANTrainConfig, folder: String, resume: Bool = false) throws {
        if let problem = config.problem { throw TrainingError(problem) }
        var train = try ImageDataset.load(directory: config.data, split: .train)
        if let limit = config.limit, limit < train.count { train = train.subset(Array(0..<limit)) }
        guard train.height == 28, train.width == 28, train.channels == config.sizes.channels else {
            throw TrainingError(
                "\(config.data): the DCGAN takes \(config.sizes.channels)x28x28 images, got \(train.channels)x\(train.height)x\(train.width)"
            )
        }
        self.config = config
        self.train = train
        var sizes = config.sizes
        if config.conditional { sizes.classes = train.classCount }
        if let problem = sizes.problem { throw TrainingError(problem) }
        self.sizes = sizes
        var generator = RandomGenerator(seed: config.seed)
        stepper = GANStepper(gan: DCGAN(sizes, generator: &generator), learningRate: config.learningRate, beta1: config.beta1)
        fixedLatents = Tensor.randn([64, sizes.latent], using: &generator)
        state = State(latentGenerator: RandomGenerator(seed: config.seed &+ 17))
        trainingRun = try TrainingRun(folder: folder, config: config, resume: resume)
        if let path = trainingRun.resumeCheckpoint { state = try Self.restore(path, into: stepper, sizes: sizes) }
        trainingRun.startLines(config: config).forEach(log)
        if resume { log("resuming after epoch \(state.epoch)") }
    }

    /// The two optimizers' entries: `optimizer.g.` and `optimizer.d.` before their keys.
    static let optimizerKeys = ["g": "optimizer.g.", "d": "optimizer.d."]

    /// Writes both networks (their plain keys), both Adam states and the progress atomically.
    func save(to path: String) throws {
        var tensors = stepper.gan.stateDict()
        var metadata = Self.metadata(sizes)
        metadata["epoch"] = "\(state.epoch)"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        metadata["gan.state"] = String(decoding: try encoder.encode(state), as: UTF8.self)
        for (optimizer, prefix) in [(stepper.generatorOptimizer, "optimizer.g."), (stepper.discriminatorOptimizer, "optimizer.d.")] {
            let dict = optimizer.stateDict()
            for (name, tensor) in dict.tensors.sorted(by: { $0.key < $1.key }) { tensors.append((prefix + name, tensor)) }
            for (key, value) in dict.scalars { metadata[prefix + key] = "\(value)" }
        }
        metadata["format"] = "pt"
        try SafeTensors(tensors: tensors, metadata: metadata).write(to: path)
    }

    /// Loads a `save`d checkpoint into `stepper`; returns its progress.
    static func restore(_ path: String, into stepper: GANStepper, sizes: DCGANConfig) throws -> State {
        let file = try SafeTensors.read(from: path)
        guard let text = file.metadata["config"], let stored = try? JSONDecoder().decode(DCGANConfig.self, from: Data(text.utf8)),
            stored == sizes
        else { throw TrainingError("\(path): not a checkpoint of this DCGAN (its sizes differ or are missing)") }
        guard let json = file.metadata["gan.state"], let state = try? JSONDecoder().decode(State.self, from: Data(json.utf8)) else {
            throw TrainingError("\(path): no training state in its metadata (written before `train gan --resume` existed?)")
        }
        for (optimizer, prefix) in [(stepper.generatorOptimizer, "optimizer.g."), (stepper.discriminatorOptimizer, "optimizer.d.")] {
            var restored = OptimizerState(tensors: [:], scalars: [:])
            for (name, tensor) in file.tensors where name.hasPrefix(prefix) { restored.tensors[String(name.dropFirst(prefix.count))] = tensor }
            for (key, value) in file.metadata where key.hasPrefix(prefix) {
                guard let number = Double(value) else { throw TrainingError("\(path): optimizer value '\(key)' is not a number") }
                restored.scalars[String(key.dropFirst(prefix.count))] = number
            }
            do { try optimizer.loadStateDict(restored) } catch { throw TrainingError("\(path): \(error)") }
        }
        try Checkpoint.load(into: stepper.gan, from: path, strict: true, ignoring: ["optimizer."])
        return state
    }

    /// Checkpoint metadata of a DCGAN.
    public static func metadata(_ sizes: DCGANConfig) -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return ["model": "dcgan", "config": String(decoding: try! encoder.encode(sizes), as: UTF8.self)]
    }

    /// Loads the DCGAN a `train gan` checkpoint holds.
    public static func load(path: String) throws -> DCGAN {
        let file = try SafeTensors.read(from: path)
        guard file.metadata["model"] == "dcgan", let text = file.metadata["config"],
            let sizes = try? JSONDecoder().decode(DCGANConfig.self, from: Data(text.utf8)), sizes.problem == nil,
            sizes.latent <= 10_000, sizes.generatorWidth <= 4096, sizes.discriminatorWidth <= 4096
        else {
            throw TrainingError("\(path) is not a DCGAN checkpoint (metadata 'model' should be dcgan, with its sizes)")
        }
        var generator = RandomGenerator(seed: 0)
        let gan = DCGAN(sizes, generator: &generator)
        // Strict: a file that lacks a tensor of this GAN (or has one of another shape) is refused,
        // never half loaded.
        try Checkpoint.load(into: gan, from: path, strict: true, ignoring: ["optimizer."])
        return gan
    }

    /// Images `[B, C, 28, 28]` in [−1, 1] as a grid of `columns` per row, 2-pixel gaps.
    public static func grid(_ images: Tensor, columns: Int = 8) -> PixelImage {
        let (B, C, H, W) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
        let rows = (B + columns - 1) / columns, gap = 2
        var picture = PixelImage(
            width: columns * (W + gap) + gap, height: rows * (H + gap) + gap, fill: [UInt8](repeating: 0, count: C))
        let p = images.storage.pointer
        for b in 0..<B {
            let x0 = gap + (b % columns) * (W + gap), y0 = gap + (b / columns) * (H + gap)
            for c in 0..<C {
                for y in 0..<H {
                    for x in 0..<W {
                        let v = (p[((b * C + c) * H + y) * W + x] + 1) * 127.5
                        picture[x0 + x, y0 + y, c] = UInt8(max(0, min(255, v.rounded())))
                    }
                }
            }
        }
        return picture
    }

    public func run(shouldStop: () -> Bool = { false }) throws -> GANTrainingSummary {
        // Pixels to [−1, 1]: (v/255 − 0.5)/0.5.
        let normalization = ImageNormalization(
            mean: [Float](repeating: 0.5, count: train.channels), std: [Float](repeating: 0.5, count: train.channels))
        let stepsPerEpoch = train.count / config.batchSize
        var epochsRun = 0, interrupted = false, lastGrid = ""
        var latentGenerator = state.latentGenerator
        for epoch in state.epoch..<config.epochs {
            let loader = ImageLoader(
                dataset: train, batchSize: config.batchSize, dropLast: true, normalization: normalization,
                seed: config.seed &* 1_000_003 &+ UInt64(epoch))
            let progress = Cortex.Progress(total: stepsPerEpoch, label: "epoch \(epoch + 1)/\(config.epochs)")
            let start = DispatchTime.now().uptimeNanoseconds
            var dSum = 0.0, gSum = 0.0, steps = 0
            for (index, batch) in loader.epoch().enumerated() {
                let z = Tensor.randn([batch.labels.count, sizes.latent], using: &latentGenerator)
                let losses = stepper.step(real: batch.images, z: z, labels: sizes.classes > 0 ? batch.labels : nil)
                dSum += Double(losses.discriminator)
                gSum += Double(losses.generator)
                steps += 1
                let step = epoch * stepsPerEpoch + index
                if step % 50 == 0 {
                    try trainingRun.logger.log(
                        step: step, [("train/d_loss", Double(losses.discriminator)), ("train/g_loss", Double(losses.generator))])
                }
                progress.update(index + 1, metrics: [("d", dSum / Double(steps)), ("g", gSum / Double(steps))])
                if shouldStop() {
                    interrupted = true
                    break
                }
            }
            progress.finish()
            if interrupted { break }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            state.seconds += elapsed
            state.epoch = epoch + 1
            state.latentGenerator = latentGenerator
            epochsRun += 1
            stepper.gan.eval()
            let samples = Self.samples(stepper.gan, latents: fixedLatents)
            lastGrid = trainingRun.logger.path("samples-epoch\(epoch + 1).png")
            try Self.grid(samples.images, columns: samples.columns).write(to: lastGrid)
            try trainingRun.logger.log(
                step: (epoch + 1) * stepsPerEpoch,
                [("train/epoch_d_loss", dSum / Double(steps)), ("train/epoch_g_loss", gSum / Double(steps)),
                 ("s_per_epoch", elapsed)])
            try save(to: trainingRun.lastCheckpoint)
            log(
                String(
                    format: "epoch %d/%d: D loss %.4f, G loss %.4f, %.1f s; samples %@", epoch + 1, config.epochs,
                    dSum / Double(steps), gSum / Double(steps), elapsed, lastGrid as NSString))
        }
        if !interrupted && state.epoch > 0 {
            stepper.gan.eval()
            var walk = RandomGenerator(seed: config.seed &+ 23)
            let path = trainingRun.logger.path("interpolation.png")
            try Self.grid(Self.interpolation(stepper.gan, rows: 8, steps: 10, using: &walk), columns: 10).write(to: path)
            log("latent interpolation (8 walks of 10 steps): \(path)")
        }
        let done = max(1, state.epoch)
        let seconds = state.seconds
        var fid: (generated: Double, floor: Double)?
        if let path = config.fidCheckpoint, !interrupted {
            fid = try Self.frechetDistances(
                stepper.gan, resnetCheckpoint: path, data: config.data, samples: config.fidSamples, latents: &latentGenerator)
            log(
                String(
                    format: "Fréchet distance in ResNet feature space, test set against %d samples: %.3f (against %d training images: %.3f)",
                    config.fidSamples, fid!.generated, config.fidSamples, fid!.floor))
        }
        try trainingRun.finish(
            metrics: [("s_per_epoch", seconds / Double(done)), ("fid_resnet", fid?.generated ?? .nan)],
            step: config.epochs * stepsPerEpoch)
        _ = epochsRun
        return GANTrainingSummary(
            epochs: state.epoch, secondsPerEpoch: seconds / Double(done),
            checkpoint: trainingRun.lastCheckpoint, lastGrid: lastGrid, fidResnet: fid?.generated, fidFloor: fid?.floor,
            interrupted: interrupted)
    }

    /// Images along `rows` walks in latent space, each of `steps` points from one random z to
    /// another by spherical interpolation (slerp, White 2016; the DCGAN paper's §6.1 walks):
    /// `[rows · steps, C, 28, 28]` in [−1, 1], row by row.
    public static func interpolation(_ gan: DCGAN, rows: Int, steps: Int, using generator: inout RandomGenerator) -> Tensor {
        let L = gan.config.latent
        let ends = Tensor.randn([2 * rows, L], using: &generator)
        let e = ends.storage.pointer
        var z: [Float] = []
        z.reserveCapacity(rows * steps * L)
        for r in 0..<rows {
            let a = Array(UnsafeBufferPointer(start: e + 2 * r * L, count: L))
            let b = Array(UnsafeBufferPointer(start: e + (2 * r + 1) * L, count: L))
            for s in 0..<steps { z += slerp(a, b, t: steps == 1 ? 0 : Float(s) / Float(steps - 1)) }
        }
        let latents = Tensor(shape: [rows * steps, L], data: z)
        // A conditional GAN keeps one class along each walk (row r shows class r mod classes).
        let K = gan.config.classes
        return withNoGrad { K > 0 ? gan.generator(latents, labels: (0..<(rows * steps)).map { ($0 / steps) % K }) : gan.generator(latents) }
    }

    /// Spherical interpolation from `a` (t = 0) to `b` (t = 1) over the angle ω between them:
    /// sin((1 − t)ω)/sin ω · a + sin(tω)/sin ω · b; the straight line when they are parallel.
    public static func slerp(_ a: [Float], _ b: [Float], t: Float) -> [Float] {
        var dot: Float = 0, na: Float = 0, nb: Float = 0
        for i in a.indices {
            dot += a[i] * b[i]
            na += a[i] * a[i]
            nb += b[i] * b[i]
        }
        let omega = acos(max(-1, min(1, dot / max(1e-12, (na * nb).squareRoot()))))
        let (wa, wb) = sin(omega) < 1e-4 ? (1 - t, t) : (sin((1 - t) * omega) / sin(omega), sin(t * omega) / sin(omega))
        return zip(a, b).map { wa * $0 + wb * $1 }
    }

    /// Images to show of `latents`: G(z) for each (8 a row); a conditional GAN draws every
    /// class of each of the first 8 latents, one latent a row, one class a column.
    public static func samples(_ gan: DCGAN, latents: Tensor) -> (images: Tensor, columns: Int) {
        let K = gan.config.classes
        guard K > 0 else { return (withNoGrad { gan.generator(latents) }, 8) }
        let rows = min(8, latents.shape[0]), L = latents.shape[1], p = latents.storage.pointer
        var z: [Float] = []
        for r in 0..<rows { for _ in 0..<K { z.append(contentsOf: UnsafeBufferPointer(start: p + r * L, count: L)) } }
        let images = withNoGrad { gan.generator(Tensor(shape: [rows * K, L], data: z), labels: (0..<(rows * K)).map { $0 % K }) }
        return (images, K)
    }

    /// Fréchet distances in the feature space of a `train resnet` checkpoint (its pooled
    /// features before `fc`): the test set of `data` against `samples` images from `gan` (a
    /// conditional GAN draws the classes in turn), and against the first `samples` training
    /// images (the floor: what real images score). All images are normalised as the ResNet's
    /// training data.
    public static func frechetDistances(
        _ gan: DCGAN, resnetCheckpoint: String, data: String, samples: Int, latents: inout RandomGenerator
    ) throws -> (generated: Double, floor: Double) {
        let classifier = try ImageClassifier.load(path: resnetCheckpoint).classifier
        guard classifier.kind == .resnet, classifier.channels == gan.config.channels, classifier.imageSize == 28 else {
            throw TrainingError("\(resnetCheckpoint) must be a `cortex train resnet` checkpoint on \(gan.config.channels)x28x28 images")
        }
        let normalization = ImageNormalization(mean: classifier.mean, std: classifier.std)
        func features(_ set: ImageDataset, count: Int) -> FeatureStatistics {
            let loader = ImageLoader(dataset: set, batchSize: 500, shuffle: false, normalization: normalization, seed: 0)
            var parts: [Tensor] = []
            for start in stride(from: 0, to: min(count, set.count), by: 500) {
                let batch = loader.batch(indices: Array(start..<min(start + 500, count, set.count)))
                parts.append(resnetFeatures(classifier, images: batch.images))
            }
            return FeatureStatistics(features: Tensor.concat(parts, axis: 0))
        }
        let test = try ImageDataset.load(directory: data, split: .test)
        let real = features(test, count: test.count)
        let floor = frechetDistance(real, features(try ImageDataset.load(directory: data, split: .train), count: samples))
        gan.eval()
        var parts: [Tensor] = []
        let K = gan.config.classes
        for start in stride(from: 0, to: samples, by: 500) {
            let count = min(500, samples - start)
            let z = Tensor.randn([count, gan.config.latent], using: &latents)
            let images = withNoGrad { K > 0 ? gan.generator(z, labels: (start..<(start + count)).map { $0 % K }) : gan.generator(z) }
            // [−1, 1] to pixels in [0, 1], then the classifier's normalisation.
            let C = images.shape[1], plane = 28 * 28, p = images.storage.pointer
            for index in 0..<images.count {
                let c = (index / plane) % C
                p[index] = ((p[index] + 1) / 2 - classifier.mean[c]) / classifier.std[c]
            }
            parts.append(resnetFeatures(classifier, images: images))
        }
        return (frechetDistance(real, FeatureStatistics(features: Tensor.concat(parts, axis: 0))), floor)
    }
}
