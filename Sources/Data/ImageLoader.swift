import Cortex

/// Per-channel standardisation of pixels scaled to [0, 1]: `x = (v / 255 − mean[c]) / std[c]`
/// (torchvision's `ToTensor` then `Normalize`).
public struct ImageNormalization: Equatable, Sendable {
    public var mean: [Float]
    public var std: [Float]

    public init(mean: [Float], std: [Float]) {
        precondition(
            mean.count == std.count && std.allSatisfy { $0 > 0 },
            "ImageNormalization: \(mean.count) means and \(std.count) stds, all stds positive")
        self.mean = mean
        self.std = std
    }

    /// Mean and population standard deviation of each channel over every pixel of `dataset`
    /// (Fashion-MNIST train: 0.2860, 0.3530).
    public static func computed(from dataset: ImageDataset) -> ImageNormalization {
        let plane = dataset.height * dataset.width
        var sums = [UInt64](repeating: 0, count: dataset.channels), squares = sums
        dataset.pixels.withUnsafeBufferPointer { pixels in
            for image in 0..<dataset.count {
                for c in 0..<dataset.channels {
                    let start = pixels.baseAddress! + (image * dataset.channels + c) * plane
                    var sum: UInt64 = 0, square: UInt64 = 0
                    for p in 0..<plane {
                        let v = UInt64(start[p])
                        sum &+= v
                        square &+= v * v
                    }
                    sums[c] += sum
                    squares[c] += square
                }
            }
        }
        let n = Double(dataset.count * plane)
        let mean = sums.map { Double($0) / n / 255 }
        let std = (0..<dataset.channels).map { c in
            (max(Double(squares[c]) / n / (255 * 255) - mean[c] * mean[c], 1e-12)).squareRoot()
        }
        return ImageNormalization(mean: mean.map(Float.init), std: std.map(Float.init))
    }
}

/// One mini-batch: images `[B, C, H, W]` and their labels.
public struct ImageBatch {
    public let images: Tensor
    public let labels: [Int]
    /// Positions of the images in the dataset.
    public let indices: [Int]
}

/// Hands out a dataset as mini-batches: a new seeded shuffle each epoch, normalisation and
/// augmentation applied while converting bytes to floats.
///
/// Per pixel the work is one table look-up (`v → (v/255 − mean)/std`, 256 entries per channel)
/// through raw pointers, so a 60,000-image epoch of 28×28 costs tens of milliseconds.
public final class ImageLoader {
    public let dataset: ImageDataset
    public let batchSize: Int
    public let shuffle: Bool
    /// Drop the last, smaller batch of an epoch.
    public let dropLast: Bool
    public let normalization: ImageNormalization?
    public var augmentation: ImageAugmentation
    var generator: RandomGenerator
    /// `channels × 256` floats: the value of byte `v` in channel `c` at `c·256 + v`.
    private let lookup: [Float]

    public init(
        dataset: ImageDataset, batchSize: Int, shuffle: Bool = true, dropLast: Bool = false,
        normalization: ImageNormalization? = nil, augmentation: ImageAugmentation = .none, seed: UInt64
    ) {
        precondition(batchSize > 0, "ImageLoader: batch size must be positive, got \(batchSize)")
        if let normalization {
            precondition(
                normalization.mean.count == dataset.channels,
                "ImageLoader: normalisation for \(normalization.mean.count) channels, images have \(dataset.channels)")
        }
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.normalization = normalization
        self.augmentation = augmentation
        generator = RandomGenerator(seed: seed)
        lookup = ImageLoader.lookupTable(channels: dataset.channels, normalization: normalization)
    }

    /// Byte-to-float tables for each channel.
    static func lookupTable(channels: Int, normalization: ImageNormalization?) -> [Float] {
        var table = [Float](repeating: 0, count: channels * 256)
        for c in 0..<channels {
            let mean = normalization?.mean[c] ?? 0, std = normalization?.std[c] ?? 1
            for v in 0..<256 { table[c * 256 + v] = (Float(v) / 255 - mean) / std }
        }
        return table
    }

    public var batchesPerEpoch: Int {
        dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize
    }

    /// The batches of one pass over the data, in a fresh order when `shuffle` is on.
    public func epoch() -> ImageEpoch {
        var order = Array(0..<dataset.count)
        if shuffle {
            // Fisher–Yates with our generator, so the order depends only on the seed.
            for i in stride(from: order.count - 1, to: 0, by: -1) {
                order.swapAt(i, generator.nextInt(below: i + 1))
            }
        }
        return ImageEpoch(loader: self, order: order)
    }

    /// The images at `indices` as one batch; augmented only when `augment` is set.
    public func batch(indices: [Int], augment: Bool = false) -> ImageBatch {
        let (C, H, W) = (dataset.channels, dataset.height, dataset.width)
        let imageSize = C * H * W
        let storage = TensorStorage(uninitializedCount: indices.count * imageSize)
        let transforms = augment ? augmentation.transforms : []
        let scratch = TensorStorage(uninitializedCount: transforms.isEmpty ? 1 : imageSize)
        let black = (0..<C).map { lookup[$0 * 256] }
        var labels = [Int](repeating: 0, count: indices.count)
        dataset.pixels.withUnsafeBufferPointer { pixels in
            lookup.withUnsafeBufferPointer { table in
                black.withUnsafeBufferPointer { black in
                    dataset.labels.withUnsafeBufferPointer { allLabels in
                        for (row, index) in indices.enumerated() {
                            precondition(
                                index >= 0 && index < dataset.count,
                                "ImageLoader.batch: index \(index) outside 0..<\(dataset.count)")
                            labels[row] = allLabels[index]
                            let target = storage.pointer + row * imageSize
                            ImageLoader.render(
                                pixels.baseAddress! + index * imageSize, count: imageSize, planeSize: H * W,
                                into: target, lookup: table.baseAddress!)
                            let image = ImageBuffer(
                                pixels: target, channels: C, height: H, width: W, black: black.baseAddress!,
                                scratch: scratch.pointer)
                            for transform in transforms { transform.apply(to: image, generator: &generator) }
                        }
                    }
                }
            }
        }
        return ImageBatch(
            images: Tensor(shape: [indices.count, C, H, W], storage: storage), labels: labels, indices: indices)
    }

    /// Converts one `[C, H, W]` byte image (`count` bytes, planes of `planeSize`) to floats
    /// through `lookup`: `out[c, p] = lookup[c·256 + src[c, p]]`.
    public static func render(
        _ source: UnsafePointer<UInt8>, count: Int, planeSize: Int, into target: UnsafeMutablePointer<Float>,
        lookup: UnsafePointer<Float>
    ) {
        for start in stride(from: 0, to: count, by: planeSize) {
            let table = lookup + (start / planeSize) * 256
            for p in start..<(start + planeSize) { target[p] = table[Int(source[p])] }
        }
    }
}

/// The batches of one epoch, in order; each carries fresh augmentation draws.
public struct ImageEpoch: Sequence, IteratorProtocol {
    let loader: ImageLoader
    /// The dataset positions in this epoch's order.
    public let order: [Int]
    private var position = 0

    init(loader: ImageLoader, order: [Int]) {
        self.loader = loader
        self.order = order
    }

    public mutating func next() -> ImageBatch? {
        let remaining = order.count - position
        if remaining <= 0 || (loader.dropLast && remaining < loader.batchSize) { return nil }
        let end = position + Swift.min(loader.batchSize, remaining)
        let indices = Array(order[position..<end])
        position = end
        return loader.batch(indices: indices, augment: loader.augmentation.isEnabled)
    }
}
