import Cortex
import Foundation

/// The image models `cortex train` knows.
public enum ImageModelKind: String, Codable, CaseIterable, Sendable {
    case vit, lenet, resnet

    /// The name of the last layer, whose tensors (`<head>.weight`, `<head>.bias`) map features to
    /// classes; everything else is the backbone that transfer learning reuses.
    public var headName: String {
        switch self {
        case .vit: "head"
        case .lenet: "fc3"
        case .resnet: "fc"
        }
    }
}

/// A problem with an image-classifier checkpoint a user gave; one line.
public struct ImageClassifierError: Error, CustomStringConvertible, LocalizedError {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}

/// A trained image model with what is needed to use it on new pictures: the network, its kind
/// and sizes, the class names and the input normalisation (`(v/255 − mean[c]) / std[c]`).
///
/// Checkpoint metadata (besides the network's tensors and optional optimizer state):
/// `model` (`vit`, `lenet` or `resnet`), `config` (the sizes as JSON), `classes` (JSON array of names),
/// `mean` and `std` (JSON arrays, one per channel).
public final class ImageClassifier {
    /// Sorted keys, so the same model writes the same bytes.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()
    public let kind: ImageModelKind
    public let network: any UnaryLayer
    public let classNames: [String]
    public let mean: [Float]
    public let std: [Float]
    /// Input layout `[channels, imageSize, imageSize]`.
    public let channels: Int
    public let imageSize: Int

    public init(kind: ImageModelKind, network: any UnaryLayer, classNames: [String], mean: [Float], std: [Float]) {
        self.kind = kind
        self.network = network
        self.classNames = classNames
        self.mean = mean
        self.std = std
        switch network {
        case let vit as VisionTransformer: (channels, imageSize) = (vit.config.channels, vit.config.imageSize)
        case let lenet as LeNet5: (channels, imageSize) = (lenet.config.channels, lenet.config.imageSize)
        case let resnet as ResNet: (channels, imageSize) = (resnet.config.channels, resnet.config.imageSize)
        default: preconditionFailure("ImageClassifier: unknown network \(type(of: network))")
        }
        precondition(
            mean.count == channels && std.count == channels,
            "ImageClassifier: \(mean.count) means and \(std.count) stds for \(channels) channels")
    }

    /// A fresh network of `kind` (sizes from `vit`, `lenet` or `resnet`).
    public static func make(
        kind: ImageModelKind, vit: ViTConfig = ViTConfig(), lenet: LeNetConfig = LeNetConfig(),
        resnet: ResNetConfig = ResNetConfig(),
        classNames: [String], mean: [Float], std: [Float], generator: inout RandomGenerator
    ) -> ImageClassifier {
        let network: any UnaryLayer
        switch kind {
        case .vit: network = VisionTransformer(vit, generator: &generator)
        case .lenet: network = LeNet5(lenet, generator: &generator)
        case .resnet: network = ResNet(resnet, generator: &generator)
        }
        return ImageClassifier(kind: kind, network: network, classNames: classNames, mean: mean, std: std)
    }

    /// The ViT, if this is one.
    public var visionTransformer: VisionTransformer? { network as? VisionTransformer }

    /// The checkpoint metadata describing this classifier.
    public var metadata: [String: String] {
        let config: Data
        switch network {
        case let vit as VisionTransformer: config = try! Self.encoder.encode(vit.config)
        case let lenet as LeNet5: config = try! Self.encoder.encode(lenet.config)
        case let resnet as ResNet: config = try! Self.encoder.encode(resnet.config)
        default: preconditionFailure("ImageClassifier: unknown network \(type(of: network))")
        }
        return [
            "model": kind.rawValue, "config": String(decoding: config, as: UTF8.self),
            "classes": ImageClassifier.json(classNames), "mean": ImageClassifier.json(mean),
            "std": ImageClassifier.json(std)
        ]
    }

    /// Writes the network (and `optimizer`'s state) with this classifier's metadata plus `extra`, atomically.
    public func save(to path: String, optimizer: Optimizer? = nil, extra: [String: String] = [:]) throws {
        try Checkpoint.save(
            network, optimizer: optimizer, metadata: metadata.merging(extra) { _, new in new }, to: path)
    }

    /// Rebuilds the classifier a checkpoint describes and loads its weights (and `optimizer`'s
    /// state through `makeOptimizer`, given the network). Returns the metadata too.
    ///
    /// - Throws: `CheckpointError` for an unreadable file, `ImageClassifierError` for one that
    ///   is not an image classifier's.
    public static func load(
        path: String, makeOptimizer: ((any UnaryLayer) -> Optimizer)? = nil
    )
        throws -> (classifier: ImageClassifier, optimizer: Optimizer?, metadata: [String: String])
    {
        let file = try SafeTensors.read(from: path)
        let meta = file.metadata
        guard let kindName = meta["model"], let kind = ImageModelKind(rawValue: kindName) else {
            throw ImageClassifierError(
                "\(path) is not an image-classifier checkpoint (metadata 'model' is \(meta["model"].map { "'\($0)'" } ?? "missing"); expected vit, lenet or resnet)"
            )
        }
        func decode<T: Decodable>(_ key: String, as type: T.Type) throws -> T {
            guard let text = meta[key], let value = try? JSONDecoder().decode(T.self, from: Data(text.utf8)) else {
                throw ImageClassifierError("\(path): metadata '\(key)' is missing or malformed")
            }
            return value
        }
        let classes = try decode("classes", as: [String].self)
        let mean = try decode("mean", as: [Float].self), std = try decode("std", as: [Float].self)
        guard mean.allSatisfy(\.isFinite), std.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw ImageClassifierError(
                "\(path): metadata 'std' must be positive and 'mean' finite, got mean \(mean), std \(std)")
        }
        guard (2...100_000).contains(classes.count) else {
            throw ImageClassifierError("\(path): \(classes.count) class names, expected 2…100,000")
        }
        var generator = RandomGenerator(seed: 0)
        let classifier: ImageClassifier
        switch kind {
        case .vit:
            let config = try decode("config", as: ViTConfig.self)
            if let problem = config.problem { throw ImageClassifierError("\(path): \(problem)") }
            guard config.imageSize <= 1024, config.channels <= 16, config.depth <= 64, config.dimension <= 4096 else {
                throw ImageClassifierError(
                    "\(path): ViT sizes out of range (image \(config.imageSize) ≤ 1024, channels \(config.channels) ≤ 16, depth \(config.depth) ≤ 64, width \(config.dimension) ≤ 4096)"
                )
            }
            guard config.classes == classes.count, mean.count == config.channels, std.count == config.channels else {
                throw ImageClassifierError(
                    "\(path): \(classes.count) class names / \(mean.count) channel statistics do not fit the model")
            }
            classifier = ImageClassifier(
                kind: kind, network: VisionTransformer(config, generator: &generator),
                classNames: classes, mean: mean, std: std)
        case .lenet:
            let config = try decode("config", as: LeNetConfig.self)
            guard config.featureSize >= 1, config.imageSize <= 1024, (1...16).contains(config.channels),
                config.classes == classes.count, config.classes >= 2,
                mean.count == config.channels, std.count == config.channels
            else {
                throw ImageClassifierError(
                    "\(path): LeNet sizes, class names and channel statistics do not fit together")
            }
            classifier = ImageClassifier(
                kind: kind, network: LeNet5(config, generator: &generator),
                classNames: classes, mean: mean, std: std)
        case .resnet:
            let config = try decode("config", as: ResNetConfig.self)
            if let problem = config.problem { throw ImageClassifierError("\(path): \(problem)") }
            guard config.imageSize <= 1024, config.channels <= 16, config.classes == classes.count,
                mean.count == config.channels, std.count == config.channels
            else {
                throw ImageClassifierError(
                    "\(path): ResNet sizes, class names and channel statistics do not fit together")
            }
            classifier = ImageClassifier(
                kind: kind, network: ResNet(config, generator: &generator), classNames: classes, mean: mean, std: std)
        }
        let optimizer = makeOptimizer?(classifier.network)
        try Checkpoint.load(into: classifier.network, optimizer: optimizer, from: path)
        return (classifier, optimizer, meta)
    }

    /// Logits `[B, classes]` in evaluation mode, without a graph, in chunks of `batchSize`.
    public func logits(_ images: Tensor, batchSize: Int = 500) -> Tensor {
        network.eval()
        return withNoGrad {
            let B = images.shape[0]
            if B <= batchSize { return network(images) }
            var parts: [Tensor] = []
            for start in stride(from: 0, to: B, by: batchSize) {
                parts.append(network(images.slice(axis: 0, start: start, end: min(B, start + batchSize))))
            }
            return Tensor.concat(parts, axis: 0)
        }
    }

    /// Class probabilities `[B, classes]` (softmax of the logits).
    public func probabilities(_ images: Tensor) -> Tensor { logits(images).softmax(axis: -1) }

    /// The `k` most probable classes of one probability row, most probable first.
    public static func top(_ k: Int, of probabilities: [Float]) -> [(index: Int, probability: Float)] {
        Array(
            probabilities.enumerated().sorted {
                $0.element > $1.element || ($0.element == $1.element && $0.offset < $1.offset)
            }
            .prefix(k).map { ($0.offset, $0.element) })
    }

    static func json<T: Encodable>(_ value: T) -> String {
        String(decoding: try! Self.encoder.encode(value), as: UTF8.self)
    }
}
