import Cortex
import Data
import XCTest

/// Batching, shuffling, normalisation and augmentation.
final class ImageLoaderTests: XCTestCase {
    /// Ten 1×4×4 images; pixel p of image i is 16·i + p; label i mod 3.
    let dataset = ImageDataset(
        channels: 1, height: 4, width: 4, pixels: (0..<160).map { UInt8($0) },
        labels: (0..<10).map { $0 % 3 }, classNames: ["a", "b", "c"])

    func testEpochVisitsEveryImageOnceInBatches() {
        let loader = ImageLoader(dataset: dataset, batchSize: 4, seed: 7)
        let batches = Array(loader.epoch())
        XCTAssertEqual(batches.map { $0.images.shape }, [[4, 1, 4, 4], [4, 1, 4, 4], [2, 1, 4, 4]])
        let indices = batches.flatMap(\.indices)
        XCTAssertEqual(indices.sorted(), Array(0..<10))
        XCTAssertNotEqual(indices, Array(0..<10), "a seeded shuffle of 10 should move something")
        for batch in batches {
            XCTAssertEqual(batch.labels, batch.indices.map { $0 % 3 })
            for (row, index) in batch.indices.enumerated() {
                // Unnormalised: v / 255 with v = 16·index + p.
                XCTAssertEqual(batch.images.scalars[row * 16 + 5], Float(16 * index + 5) / 255, accuracy: 1e-6)
            }
        }
        XCTAssertEqual(loader.batchesPerEpoch, 3)
        let dropping = ImageLoader(dataset: dataset, batchSize: 4, dropLast: true, seed: 7)
        XCTAssertEqual(Array(dropping.epoch()).count, 2)
        XCTAssertEqual(dropping.batchesPerEpoch, 2)
        let ordered = ImageLoader(dataset: dataset, batchSize: 10, shuffle: false, seed: 7)
        XCTAssertEqual(Array(ordered.epoch())[0].indices, Array(0..<10))
    }

    func testShuffleDependsOnlyOnTheSeed() {
        let a = ImageLoader(dataset: dataset, batchSize: 3, seed: 1)
        let b = ImageLoader(dataset: dataset, batchSize: 3, seed: 1)
        let c = ImageLoader(dataset: dataset, batchSize: 3, seed: 2)
        let first = a.epoch().order
        XCTAssertEqual(first, b.epoch().order)
        XCTAssertNotEqual(first, c.epoch().order)
        XCTAssertNotEqual(first, a.epoch().order, "each epoch reshuffles")
    }

    func testNormalisation() {
        let normalization = ImageNormalization(mean: [0.5], std: [0.25])
        let loader = ImageLoader(dataset: dataset, batchSize: 2, shuffle: false, normalization: normalization, seed: 0)
        let batch = loader.batch(indices: [9, 0])
        XCTAssertEqual(batch.images.scalars[15], (Float(159) / 255 - 0.5) / 0.25, accuracy: 1e-6)
        XCTAssertEqual(batch.images.scalars[16], -2, accuracy: 1e-6)
        // Two 1×1×2 images [0, 255] and [255, 255]: mean 3/4, std √(3/4 − 9/16) = 0.4330.
        let tiny = ImageDataset(
            channels: 1, height: 1, width: 2, pixels: [0, 255, 255, 255], labels: [0, 0], classNames: ["x"])
        let computed = ImageNormalization.computed(from: tiny)
        XCTAssertEqual(computed.mean[0], 0.75, accuracy: 1e-6)
        XCTAssertEqual(computed.std[0], 0.4330127, accuracy: 1e-6)
    }

    /// 4×4 image of 100s with one 200 at column 1, row 2, rendered with mean ½, std ½ so a
    /// padded (black) pixel reads −1.
    /// A 4×4 grey image of normalised 100s with one bright 200 at row 2, column 1, shifted by
    /// `RandomCrop.shift` and then mirrored by `RandomHorizontalFlip.mirror`; black is −1.
    func render(offsetY: Int, offsetX: Int, mirrored: Bool) -> [Float] {
        var source = [UInt8](repeating: 100, count: 16)
        source[2 * 4 + 1] = 200
        let table = (0..<256).map { (Float($0) / 255 - 0.5) / 0.5 }
        var out = [Float](repeating: .nan, count: 16), scratch = out, black: [Float] = [-1]
        out.withUnsafeMutableBufferPointer { out in
            ImageLoader.render(source, count: 16, planeSize: 16, into: out.baseAddress!, lookup: table)
            let image = ImageBuffer(
                pixels: out.baseAddress!, channels: 1, height: 4, width: 4, black: &black, scratch: &scratch)
            RandomCrop.shift(image, dy: offsetY, dx: offsetX)
            if mirrored { RandomHorizontalFlip.mirror(image) }
        }
        return out
    }

    func testCropWithPaddingMovesAKnownPixel() {
        let plain = (Float(100) / 255 - 0.5) / 0.5, bright = (Float(200) / 255 - 0.5) / 0.5
        // out[y][x] = src[y + 1][x − 1]: the bright pixel moves from (1, 2) to (2, 1); the last row
        // and first column come from the padding.
        let out = render(offsetY: 1, offsetX: -1, mirrored: false)
        for y in 0..<4 {
            for x in 0..<4 {
                let expected: Float = y == 3 || x == 0 ? -1 : (x == 2 && y == 1 ? bright : plain)
                XCTAssertEqual(out[y * 4 + x], expected, accuracy: 1e-6, "(\(x), \(y))")
            }
        }
        XCTAssertEqual(render(offsetY: 0, offsetX: 0, mirrored: false).firstIndex(of: bright), 2 * 4 + 1)
        // A shift by the whole width leaves only padding.
        XCTAssertEqual(render(offsetY: 0, offsetX: 4, mirrored: false), [Float](repeating: -1, count: 16))
    }

    func testFlipMirrors() {
        let bright = (Float(200) / 255 - 0.5) / 0.5
        // Column 1 mirrors to column 2 in a width of 4.
        XCTAssertEqual(render(offsetY: 0, offsetX: 0, mirrored: true).firstIndex(of: bright), 2 * 4 + 2)
        // Crop then flip: out[y][x] = src[y][3 − x + 1], so column 1 shows at x = 3; x = 0 is padding.
        let shifted = render(offsetY: 0, offsetX: 1, mirrored: true)
        XCTAssertEqual(shifted.firstIndex(of: bright), 2 * 4 + 3)
        XCTAssertEqual(shifted[0], -1)
    }

    /// Runs `transform` once on a 1×5×5 image of values 1…25 (value v at position v − 1).
    func transformed(_ transform: any ImageTransform, seed: UInt64 = 1) -> [Float] {
        var pixels = (1...25).map(Float.init), scratch = pixels, black: [Float] = [-9]
        var generator = RandomGenerator(seed: seed)
        pixels.withUnsafeMutableBufferPointer { pixels in
            let image = ImageBuffer(
                pixels: pixels.baseAddress!, channels: 1, height: 5, width: 5, black: &black, scratch: &scratch)
            transform.apply(to: image, generator: &generator)
        }
        return pixels
    }

    func testCutoutClearsAClippedSquare() {
        var pixels = (1...25).map(Float.init), scratch = pixels, black: [Float] = [-9]
        pixels.withUnsafeMutableBufferPointer { pixels in
            let image = ImageBuffer(
                pixels: pixels.baseAddress!, channels: 1, height: 5, width: 5, black: &black, scratch: &scratch)
            // Side 3 centred on (row 0, column 4): rows −1…1 and columns 3…5, clipped to rows 0–1, columns 3–4.
            Cutout.erase(image, centreY: 0, centreX: 4, size: 3, value: 0)
        }
        XCTAssertEqual(
            pixels,
            [1, 2, 3, 0, 0, 6, 7, 8, 0, 0] + (11...25).map(Float.init))
        // Drawn positions: exactly the clipped square around some pixel is zero, the rest kept.
        for seed in 0..<20 {
            let out = transformed(Cutout(size: 2), seed: UInt64(seed))
            let zeros = out.indices.filter { out[$0] == 0 }
            XCTAssertTrue((1...4).contains(zeros.count), "\(out)")
            for i in out.indices where out[i] != 0 { XCTAssertEqual(out[i], Float(i + 1)) }
            let rows = Set(zeros.map { $0 / 5 }), columns = Set(zeros.map { $0 % 5 })
            XCTAssertEqual(rows.count * columns.count, zeros.count, "a rectangle: \(out)")
        }
    }

    func testRandomErasingFillsOneRectangleOfTheDrawnSize() {
        // Probability 1 and a fixed area 0.36·25 = 9 with aspect 1: a 3×3 square of −5s somewhere.
        for seed in 0..<20 {
            let out = transformed(
                RandomErasing(probability: 1, scale: 0.36...0.36, ratio: 1...1, value: -5), seed: UInt64(seed))
            let erased = out.indices.filter { out[$0] == -5 }
            let rows = Set(erased.map { $0 / 5 }), columns = Set(erased.map { $0 % 5 })
            XCTAssertEqual(erased.count, 9, "\(out)")
            XCTAssertEqual(rows.count, 3)
            XCTAssertEqual(columns.count, 3)
            XCTAssertEqual(rows.max()! - rows.min()!, 2)
            XCTAssertEqual(columns.max()! - columns.min()!, 2)
            for i in out.indices where out[i] != -5 { XCTAssertEqual(out[i], Float(i + 1)) }
        }
        // Probability 0 never changes the image; a rectangle that cannot fit is never drawn.
        XCTAssertEqual(transformed(RandomErasing(probability: 0)), (1...25).map(Float.init))
        XCTAssertEqual(
            transformed(RandomErasing(probability: 1, scale: 0.99...0.99, ratio: 1...1)), (1...25).map(Float.init))
    }

    func testAugmentedBatchesKeepTheirLabels() {
        // Four 1×3×3 images labelled 0…3; every transform on, labels and order must not change.
        let set = ImageDataset(
            channels: 1, height: 3, width: 3, pixels: (0..<36).map { UInt8($0 * 7) }, labels: [2, 0, 3, 1],
            classNames: ["a", "b", "c", "d"])
        let loader = ImageLoader(
            dataset: set, batchSize: 4, shuffle: false,
            augmentation: ImageAugmentation(cropPadding: 1, horizontalFlip: true, erasing: 1, cutout: 1), seed: 9)
        for _ in 0..<10 {
            let batch = loader.batch(indices: [3, 1, 0], augment: true)
            XCTAssertEqual(batch.labels, [1, 0, 2])
            XCTAssertEqual(batch.images.shape, [3, 1, 3, 3])
        }
    }

    func testLoaderAugmentationDrawsOffsetsAndFlips() {
        // One 1×3×3 image with distinct values 1…9 (value v at position v − 1).
        let single = ImageDataset(
            channels: 1, height: 3, width: 3, pixels: (1...9).map { UInt8($0) },
            labels: [0], classNames: ["x"])
        let loader = ImageLoader(
            dataset: single, batchSize: 1, augmentation: ImageAugmentation(cropPadding: 1), seed: 3)
        var seenShifts = Set<[Int]>()
        for _ in 0..<200 {
            let values = loader.batch(indices: [0], augment: true).images.scalars.map { Int(($0 * 255).rounded()) }
            // The centre of a shifted image is the source pixel at (1 + dx, 1 + dy).
            let centre = values[4] - 1
            let (dy, dx) = (centre / 3 - 1, centre % 3 - 1)
            for y in 0..<3 {
                for x in 0..<3 {
                    let (sy, sx) = (y + dy, x + dx)
                    let expected = sy < 0 || sy > 2 || sx < 0 || sx > 2 ? 0 : 3 * sy + sx + 1
                    XCTAssertEqual(values[3 * y + x], expected)
                }
            }
            seenShifts.insert([dy, dx])
        }
        XCTAssertEqual(seenShifts.count, 9, "all offsets in [−1, 1]² should occur in 200 draws")

        let flipping = ImageLoader(
            dataset: single, batchSize: 1, augmentation: ImageAugmentation(horizontalFlip: true), seed: 3)
        var flips = 0
        for _ in 0..<200 {
            let values = flipping.batch(indices: [0], augment: true).images.scalars.map { Int(($0 * 255).rounded()) }
            if values == [3, 2, 1, 6, 5, 4, 9, 8, 7] { flips += 1 } else { XCTAssertEqual(values, Array(1...9)) }
        }
        XCTAssertTrue(flips > 60 && flips < 140, "about half the images flip, got \(flips) of 200")
        // Without `augment`, batches are never changed.
        XCTAssertEqual(flipping.batch(indices: [0]).images.scalars.map { Int(($0 * 255).rounded()) }, Array(1...9))
    }
}
