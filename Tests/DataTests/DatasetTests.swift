import CortexTestSupport
import Data
import XCTest

/// IDX (MNIST format) and CIFAR-10 binary readers, on files the tests write byte by byte.
final class DatasetTests: XCTestCase {
    /// Three 2×3 images (pixel values 10·image + position) and their labels 2, 0, 1.
    let imageBytes: [UInt8] =
        [0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 3]
        + [0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 20, 21, 22, 23, 24, 25]
    let labelBytes: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 3, 2, 0, 1]

    func testReadsPlainIDX() throws {
        let directory = try makeTemporaryDirectory(self)
        try writeFile(imageBytes, "\(directory)/images")
        let array = try IDXArray.read(path: "\(directory)/images", expectedMagic: IDXMagic.images)
        XCTAssertEqual(array.elementType, .uint8)
        XCTAssertEqual(array.shape, [3, 2, 3])
        XCTAssertEqual(array.bytes, Array(imageBytes[16...]))
        XCTAssertEqual(array.encoded(), imageBytes)
    }

    func testReadsGzipIDXDirectory() throws {
        let directory = try makeTemporaryDirectory(self)
        try writeGzip(imageBytes, "\(directory)/train-images-idx3-ubyte.gz")
        try writeGzip(labelBytes, "\(directory)/train-labels-idx1-ubyte.gz")
        // Test files plain: a directory may mix both.
        try writeFile(imageBytes, "\(directory)/t10k-images-idx3-ubyte")
        try writeFile(labelBytes, "\(directory)/t10k-labels-idx1-ubyte")
        for split in DatasetSplit.allCases {
            let set = try MNIST.load(directory: directory, split: split)
            XCTAssertEqual(set.count, 3)
            XCTAssertEqual([set.channels, set.height, set.width], [1, 2, 3])
            XCTAssertEqual(set.labels, [2, 0, 1])
            XCTAssertEqual(set.pixels[6..<12], [10, 11, 12, 13, 14, 15])
            XCTAssertEqual(set.classNames[2], "2")
            XCTAssertEqual(set.image(at: 2)[2, 1], 25)  // column 2, row 1 of image 2
        }
    }

    func testCorruptIDXFilesGiveOneLineErrors() throws {
        let directory = try makeTemporaryDirectory(self)
        let path = "\(directory)/bad"
        var badMagic = imageBytes
        badMagic[2] = 0x07
        try writeFile(badMagic, path)
        XCTAssertThrowsError(try IDXArray.read(path: path)) { error in
            XCTAssertEqual(
                error as? DataError, .badMagic(path: path, found: "0x00000703", expected: "0x000008xx (IDX)"))
            XCTAssertEqual("\(error)", "\(path): bad magic number 0x00000703, expected 0x000008xx (IDX)")
        }
        // A label file where images are expected.
        try writeFile(labelBytes, path)
        XCTAssertThrowsError(try IDXArray.read(path: path, expectedMagic: IDXMagic.images)) { error in
            XCTAssertEqual(error as? DataError, .badMagic(path: path, found: "0x00000801", expected: "0x00000803"))
        }
        // Two pixels missing: 16 + 18 bytes announced, 32 present.
        try writeFile(Array(imageBytes.dropLast(2)), path)
        XCTAssertThrowsError(try IDXArray.read(path: path)) { error in
            XCTAssertEqual(error as? DataError, .truncated(path: path, expectedBytes: 34, actualBytes: 32))
        }
        // The same cut inside a gzip stream, and a gzip stream itself cut short.
        try writeGzip(Array(imageBytes.dropLast(2)), path)
        XCTAssertThrowsError(try IDXArray.read(path: path)) { error in
            XCTAssertEqual(error as? DataError, .truncated(path: path, expectedBytes: 34, actualBytes: 32))
        }
        try writeGzip(imageBytes, path)
        let gz = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        try writeFile(Array(gz.dropLast(12)), path)
        XCTAssertThrowsError(try IDXArray.read(path: path)) { error in
            guard case .truncated = error as? DataError else { return XCTFail("\(error)") }
        }
        // Header cut inside the extents.
        try writeFile(Array(imageBytes[0..<10]), path)
        XCTAssertThrowsError(try IDXArray.read(path: path)) { error in
            XCTAssertEqual(error as? DataError, .truncated(path: path, expectedBytes: 16, actualBytes: 10))
        }
        try writeFile(imageBytes + [9], path)
        XCTAssertThrowsError(try IDXArray.read(path: path)) { error in
            guard case .invalidContents = error as? DataError else { return XCTFail("\(error)") }
        }
        try writeFile([], path)
        XCTAssertThrowsError(try IDXArray.read(path: path)) { XCTAssertEqual($0 as? DataError, .emptyFile(path: path)) }
        XCTAssertThrowsError(try IDXArray.read(path: "\(directory)/absent")) {
            XCTAssertEqual("\($0)", "\(directory)/absent: no such file or directory")
        }
    }

    func testImageAndLabelCountsMustAgree() throws {
        let directory = try makeTemporaryDirectory(self)
        try writeFile(imageBytes, "\(directory)/images")
        try writeFile([0, 0, 8, 1, 0, 0, 0, 2, 1, 1], "\(directory)/labels")
        XCTAssertThrowsError(try ImageDataset.idx(imagesPath: "\(directory)/images", labelsPath: "\(directory)/labels"))
        { error in
            XCTAssertEqual("\(error)", "\(directory)/images holds 3 images but \(directory)/labels holds 2 labels")
        }
        // A label beyond the named classes.
        try writeFile(labelBytes, "\(directory)/labels")
        XCTAssertThrowsError(
            try ImageDataset.idx(
                imagesPath: "\(directory)/images", labelsPath: "\(directory)/labels",
                classNames: ["a", "b"])
        ) { error in
            XCTAssertEqual(
                error as? DataError,
                .invalidContents(path: "\(directory)/labels", reason: "label 2 of item 0 is outside 0..<2"))
        }
    }

    func testFashionMNISTFromDebianPackage() throws {
        guard FashionMNIST.isInstalled else {
            throw missingPrerequisite("Fashion-MNIST is not installed (apt install dataset-fashion-mnist)")
        }
        let train = try FashionMNIST.load(split: .train)
        let test = try FashionMNIST.load(split: .test)
        XCTAssertEqual([train.count, train.channels, train.height, train.width], [60000, 1, 28, 28])
        XCTAssertEqual(test.count, 10000)
        XCTAssertEqual(train.labelHistogram(), [Int](repeating: 6000, count: 10))
        XCTAssertEqual(test.labelHistogram(), [Int](repeating: 1000, count: 10))
        XCTAssertEqual(train.classNames[9], "Ankle boot")
        XCTAssertEqual(
            try ImageDataset.load(directory: FashionMNIST.defaultDirectory, split: .test).classNames,
            FashionMNIST.classNames)
        // The first training image is an ankle boot (label 9), as in the authors' README picture.
        XCTAssertEqual(train.labels[0], 9)
        // Mean and std of the training pixels, as commonly published: 0.2860, 0.3530.
        let normalization = ImageNormalization.computed(from: train)
        XCTAssertEqual(normalization.mean[0], 0.2860, accuracy: 1e-4)
        XCTAssertEqual(normalization.std[0], 0.3530, accuracy: 1e-4)
    }

    func testCIFARRecords() throws {
        let directory = try makeTemporaryDirectory(self)
        // Two records: label 3 with every red byte 1, green 2, blue 3 except pixel (x 5, y 7) of
        // green = 200; label 9 with bytes counting 0, 1, 2, … mod 256.
        var first =
            [UInt8](repeating: 1, count: 1024) + [UInt8](repeating: 2, count: 1024) + [UInt8](repeating: 3, count: 1024)
        first[1024 + 7 * 32 + 5] = 200
        let second = (0..<3072).map { UInt8($0 % 256) }
        let file = [3] + first + [9] + second
        for k in 1...5 { try writeFile(file, "\(directory)/data_batch_\(k).bin") }
        try writeFile(file, "\(directory)/test_batch.bin")
        try writeFile(
            Array("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n".utf8),
            "\(directory)/batches.meta.txt")
        let test = try ImageDataset.load(directory: directory, split: .test)
        XCTAssertEqual([test.count, test.channels, test.height, test.width], [2, 3, 32, 32])
        XCTAssertEqual(test.labels, [3, 9])
        XCTAssertEqual(test.classNames[test.labels[0]], "cat")
        let picture = test.image(at: 0)
        XCTAssertEqual([picture[5, 7, 0], picture[5, 7, 1], picture[5, 7, 2]], [1, 200, 3])
        XCTAssertEqual([picture[0, 0, 0], picture[0, 0, 1], picture[0, 0, 2]], [1, 2, 3])
        XCTAssertEqual(test.image(at: 1)[3, 2, 2], UInt8((2048 + 2 * 32 + 3) % 256))
        XCTAssertEqual(try CIFAR10.load(directory: directory, split: .train).count, 10)

        try writeFile(Array(file.dropLast(100)), "\(directory)/test_batch.bin")
        XCTAssertThrowsError(try CIFAR10.load(directory: directory, split: .test)) { error in
            XCTAssertEqual(
                error as? DataError,
                .truncated(path: "\(directory)/test_batch.bin", expectedBytes: 6146, actualBytes: 6046))
        }
        try writeFile([10] + first, "\(directory)/test_batch.bin")
        XCTAssertThrowsError(try CIFAR10.load(directory: directory, split: .test)) { error in
            guard case .invalidContents = error as? DataError else { return XCTFail("\(error)") }
        }
    }
}

/// IDX headers that lie about their size fail as one error, before any large allocation.
final class ImpossibleIDXTests: XCTestCase {
    func testHeadersBeyondTheFileAndEmptySets() throws {
        let directory = try makeTemporaryDirectory(self)
        func header(_ magic: UInt32, _ extents: [UInt32]) -> [UInt8] {
            ([magic] + extents).flatMap { v in
                [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
            }
        }
        // 2²⁰ images of 1024×1024: 2⁴⁰ bytes claimed, 100 present.
        try writeFile(
            header(0x803, [1 << 20, 1 << 10, 1 << 10]) + [UInt8](repeating: 0, count: 100), "\(directory)/huge-images")
        try writeFile(header(0x801, [1 << 20]) + [UInt8](repeating: 0, count: 100), "\(directory)/huge-labels")
        XCTAssertThrowsError(
            try ImageDataset.idx(imagesPath: "\(directory)/huge-images", labelsPath: "\(directory)/huge-labels")
        ) {
            XCTAssertTrue("\($0)".contains("huge-images"), "\($0)")
        }
        // 2³⁰ images of 1024×1024 overflow the sanity bound of the header itself.
        try writeFile(header(0x803, [1 << 30, 1 << 10, 1 << 10]), "\(directory)/overflow-images")
        XCTAssertThrowsError(try IDXArray.read(path: "\(directory)/overflow-images")) {
            XCTAssertTrue("\($0)".contains("implausible"), "\($0)")
        }
        try writeFile(header(0x803, [0, 28, 28]), "\(directory)/empty-images")
        try writeFile(header(0x801, [0]), "\(directory)/empty-labels")
        XCTAssertThrowsError(
            try ImageDataset.idx(imagesPath: "\(directory)/empty-images", labelsPath: "\(directory)/empty-labels")
        ) {
            XCTAssertTrue("\($0)".contains("no images"), "\($0)")
        }
    }
}
