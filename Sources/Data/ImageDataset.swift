import Cortex
import Foundation

/// A labelled set of same-sized 8-bit images held in memory, as the readers produce it.
///
/// Layout: `pixels` is `[count, channels, height, width]` row-major (channel planes, the layout
/// of a `[B, C, H, W]` tensor and of CIFAR's files); `labels[i]` is in `0..<classNames.count`.
public struct ImageDataset: Sendable {
    public let count: Int
    public let channels: Int
    public let height: Int
    public let width: Int
    public var pixels: [UInt8]
    public var labels: [Int]
    /// Human names of the classes, indexed by label.
    public var classNames: [String]

    /// Bytes of one image: `channels · height · width`.
    public var imageSize: Int { channels * height * width }
    /// Number of classes.
    public var classCount: Int { classNames.count }

    public init(channels: Int, height: Int, width: Int, pixels: [UInt8], labels: [Int], classNames: [String]) {
        let size = channels * height * width
        precondition(
            size > 0 && pixels.count == labels.count * size,
            "ImageDataset: \(labels.count) labels of \(channels)x\(height)x\(width) images need \(labels.count * size) pixels, got \(pixels.count)"
        )
        precondition(
            labels.allSatisfy { $0 >= 0 && $0 < classNames.count },
            "ImageDataset: labels must lie in 0..<\(classNames.count)")
        self.count = labels.count
        self.channels = channels
        self.height = height
        self.width = width
        self.pixels = pixels
        self.labels = labels
        self.classNames = classNames
    }

    /// How many images carry each label.
    public func labelHistogram() -> [Int] {
        var histogram = [Int](repeating: 0, count: classCount)
        for label in labels { histogram[label] += 1 }
        return histogram
    }

    /// The images at `indices`, in that order (e.g. the first 64 for an overfitting test).
    public func subset(_ indices: [Int]) -> ImageDataset {
        let size = imageSize
        var out = [UInt8](repeating: 0, count: indices.count * size)
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                for (row, index) in indices.enumerated() {
                    precondition(
                        index >= 0 && index < count, "ImageDataset.subset: index \(index) outside 0..<\(count)")
                    (target.baseAddress! + row * size).update(from: source.baseAddress! + index * size, count: size)
                }
            }
        }
        return ImageDataset(
            channels: channels, height: height, width: width, pixels: out,
            labels: indices.map { labels[$0] }, classNames: classNames)
    }

    /// Only the images labelled with one of `classes`, relabelled by their position in it
    /// (`classes = [5, 7]`: label 5 becomes 0, label 7 becomes 1), in dataset order.
    public func keepingClasses(_ classes: [Int]) -> ImageDataset {
        precondition(
            classes.allSatisfy { $0 >= 0 && $0 < classCount } && Set(classes).count == classes.count,
            "ImageDataset.keepingClasses: \(classes) are not distinct labels of 0..<\(classCount)")
        var newLabel = [Int](repeating: -1, count: classCount)
        for (position, label) in classes.enumerated() { newLabel[label] = position }
        let kept = (0..<count).filter { newLabel[labels[$0]] >= 0 }
        var result = subset(kept)
        result.labels = kept.map { newLabel[labels[$0]] }
        result.classNames = classes.map { classNames[$0] }
        return result
    }

    /// `perClass` images of each class (all of a class that has fewer), drawn without
    /// replacement by a generator seeded with `seed`, kept in dataset order.
    public func sampled(perClass: Int, seed: UInt64) -> ImageDataset {
        var generator = RandomGenerator(seed: seed)
        var order = Array(0..<count)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, generator.nextInt(below: i + 1)) }
        var taken = [Int](repeating: 0, count: classCount)
        var chosen: [Int] = []
        for index in order where taken[labels[index]] < perClass {
            taken[labels[index]] += 1
            chosen.append(index)
        }
        return subset(chosen.sorted())
    }

    /// Image `index` as an interleaved picture (for grids and for writing PNGs).
    public func image(at index: Int) -> PixelImage {
        precondition(index >= 0 && index < count, "ImageDataset.image(at:): index \(index) outside 0..<\(count)")
        let plane = height * width
        var interleaved = [UInt8](repeating: 0, count: imageSize)
        pixels.withUnsafeBufferPointer { source in
            let image = source.baseAddress! + index * imageSize
            for c in 0..<channels {
                for p in 0..<plane { interleaved[p * channels + c] = image[c * plane + p] }
            }
        }
        return PixelImage(width: width, height: height, channels: channels, pixels: interleaved)
    }
}

/// Which half of a dataset.
public enum DatasetSplit: String, Sendable, CaseIterable {
    case train, test
}

// MARK: - IDX image sets (MNIST, Fashion-MNIST, …)

extension ImageDataset {
    /// Joins an IDX image file (`0x00000803`, `[N, H, W]`) and an IDX label file (`0x00000801`,
    /// `[N]`) into a one-channel dataset. Without `classNames`, classes are named "0", "1", ….
    ///
    /// - Throws: the readers' errors; `countMismatch` when N differs; `invalidContents` for a
    ///   label outside `classNames`.
    public static func idx(imagesPath: String, labelsPath: String, classNames: [String]? = nil) throws -> ImageDataset {
        let images = try IDXArray.read(path: imagesPath, expectedMagic: IDXMagic.images)
        let labelArray = try IDXArray.read(path: labelsPath, expectedMagic: IDXMagic.labels)
        guard images.shape[0] > 0, images.shape[1] > 0, images.shape[2] > 0 else {
            throw DataError.invalidContents(path: imagesPath, reason: "no images (shape \(images.shape))")
        }
        guard images.shape[0] == labelArray.shape[0] else {
            throw DataError.countMismatch(
                imagesPath: imagesPath, images: images.shape[0],
                labelsPath: labelsPath, labels: labelArray.shape[0])
        }
        guard images.shape[1] > 0, images.shape[2] > 0 else {
            throw DataError.invalidContents(
                path: imagesPath, reason: "images of size \(images.shape[1])x\(images.shape[2])")
        }
        let labels = labelArray.bytes.map { Int($0) }
        let names = classNames ?? (0...(labels.max() ?? 0)).map(String.init)
        try checkLabels(labels, classCount: names.count, path: labelsPath)
        return ImageDataset(
            channels: 1, height: images.shape[1], width: images.shape[2],
            pixels: images.bytes, labels: labels, classNames: names)
    }

    /// An IDX set from a directory holding `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
    /// `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each optionally `.gz` (the names of
    /// LeCun's MNIST and of Fashion-MNIST; `train-images.idx3-ubyte` is accepted too).
    public static func idx(directory: String, split: DatasetSplit, classNames: [String]? = nil) throws -> ImageDataset {
        let prefix = split == .train ? "train" : "t10k"
        let images = try findFile(in: directory, names: ["\(prefix)-images-idx3-ubyte", "\(prefix)-images.idx3-ubyte"])
        let labels = try findFile(in: directory, names: ["\(prefix)-labels-idx1-ubyte", "\(prefix)-labels.idx1-ubyte"])
        return try idx(imagesPath: images, labelsPath: labels, classNames: classNames)
    }

    /// A dataset from a directory: CIFAR-10 binary batches when `data_batch_1.bin` is there (also
    /// inside `cifar-10-batches-bin/`), else an IDX set; Fashion-MNIST's class names when the
    /// directory's name says "fashion", else the digits.
    public static func load(directory: String, split: DatasetSplit) throws -> ImageDataset {
        for candidate in [directory, directory + "/cifar-10-batches-bin"]
        where FileManager.default.fileExists(atPath: candidate + "/data_batch_1.bin") {
            return try CIFAR10.load(directory: candidate, split: split)
        }
        let names = directory.lowercased().contains("fashion") ? FashionMNIST.classNames : MNIST.classNames
        return try idx(directory: directory, split: split, classNames: names)
    }

    static func checkLabels(_ labels: [Int], classCount: Int, path: String) throws {
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= classCount }) {
            throw DataError.invalidContents(
                path: path, reason: "label \(labels[bad]) of item \(bad) is outside 0..<\(classCount)")
        }
    }

    /// The first of `names` (plain or `.gz`) present in `directory`.
    static func findFile(in directory: String, names: [String]) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError.fileNotFound(path: directory)
        }
        for name in names {
            for path in ["\(directory)/\(name)", "\(directory)/\(name).gz"]
            where FileManager.default.fileExists(atPath: path) {
                return path
            }
        }
        throw DataError.fileNotFound(path: "\(directory)/\(names[0])[.gz]")
    }
}

/// Handwritten digits (LeCun et al. 1998), from any directory holding the four IDX files.
public enum MNIST {
    public static let classNames = (0...9).map(String.init)

    public static func load(directory: String, split: DatasetSplit) throws -> ImageDataset {
        try ImageDataset.idx(directory: directory, split: split, classNames: classNames)
    }
}

/// Zalando's Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 60,000 + 10,000 grey 28×28 images of
/// ten kinds of clothing, 6,000 + 1,000 per class; MNIST's file format and sizes.
public enum FashionMNIST {
    /// Where Debian's `dataset-fashion-mnist` package puts the files.
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"
    /// The label names in label order, as the authors publish them.
    public static let classNames = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"
    ]

    /// Whether the default directory holds the training images.
    public static var isInstalled: Bool {
        (try? ImageDataset.findFile(in: defaultDirectory, names: ["train-images-idx3-ubyte"])) != nil
    }

    public static func load(split: DatasetSplit, directory: String = defaultDirectory) throws -> ImageDataset {
        try ImageDataset.idx(directory: directory, split: split, classNames: classNames)
    }
}

// MARK: - CIFAR-10

/// CIFAR-10 (Krizhevsky 2009) in its binary version: each record is 1 label byte followed by
/// 3072 pixel bytes — the 1024 red, then green, then blue values of a 32×32 image, row-major.
/// Training data is `data_batch_1.bin` … `data_batch_5.bin` (10,000 records each), test data
/// `test_batch.bin`; `batches.meta.txt` names the classes one per line.
public enum CIFAR10 {
    public static let channels = 3, height = 32, width = 32
    /// Bytes per record: label + 3·32·32 pixels.
    public static let recordSize = 1 + channels * height * width
    /// The class names in label order (used when `batches.meta.txt` is missing).
    public static let classNames = [
        "airplane", "automobile", "bird", "cat", "deer",
        "dog", "frog", "horse", "ship", "truck"
    ]

    /// Parses the records of one batch file's bytes (`path` is for messages).
    /// - Throws: `emptyFile`, `truncated` when the size is not a whole number of records,
    ///   `invalidContents` for a label outside `0..<classCount`.
    public static func parseRecords(
        _ bytes: [UInt8], path: String, classCount: Int = 10
    )
        throws -> (pixels: [UInt8], labels: [Int])
    {
        if bytes.isEmpty { throw DataError.emptyFile(path: path) }
        let records = bytes.count / recordSize
        if bytes.count % recordSize != 0 {
            throw DataError.truncated(path: path, expectedBytes: (records + 1) * recordSize, actualBytes: bytes.count)
        }
        let imageSize = recordSize - 1
        var pixels = [UInt8](repeating: 0, count: records * imageSize)
        var labels = [Int](repeating: 0, count: records)
        bytes.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { target in
                for r in 0..<records {
                    let record = source.baseAddress! + r * recordSize
                    labels[r] = Int(record[0])
                    (target.baseAddress! + r * imageSize).update(from: record + 1, count: imageSize)
                }
            }
        }
        try ImageDataset.checkLabels(labels, classCount: classCount, path: path)
        return (pixels, labels)
    }

    /// The training (50,000) or test (10,000) images of a directory of binary batches.
    public static func load(directory: String, split: DatasetSplit) throws -> ImageDataset {
        let names = split == .train ? (1...5).map { "data_batch_\($0).bin" } : ["test_batch.bin"]
        let classes = try readClassNames(directory: directory)
        var pixels: [UInt8] = [], labels: [Int] = []
        for name in names {
            let path = try ImageDataset.findFile(in: directory, names: [name])
            let batch = try parseRecords(FileInput.readAll(path), path: path, classCount: classes.count)
            pixels += batch.pixels
            labels += batch.labels
        }
        return ImageDataset(
            channels: channels, height: height, width: width, pixels: pixels,
            labels: labels, classNames: classes)
    }

    /// Class names from `batches.meta.txt` (blank lines dropped), else `classNames`.
    static func readClassNames(directory: String) throws -> [String] {
        let path = directory + "/batches.meta.txt"
        guard FileManager.default.fileExists(atPath: path) else { return classNames }
        let names = try TextFile.read(path: path).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if names.isEmpty { throw DataError.emptyFile(path: path) }
        return names
    }
}
