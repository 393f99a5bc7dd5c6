import Cortex
import CortexTestSupport
import Data
import Foundation
import Models
import Recipes
import XCTest

/// Horizontal-flip test-time augmentation of `evaluateClassifier`: the prediction is the argmax
/// of the mean of an image's and its mirror image's class probabilities, mirrored here by hand.
final class FlipTestAugmentationTests: XCTestCase {
    override func setUp() { Runtime.configure(threads: 1) }

    func testFlipPredictionsAverageTheMirrorImagesProbabilities() {
        var generator = RandomGenerator(seed: 12)
        let count = 40, side = 12
        var pixels = [UInt8](repeating: 0, count: count * side * side)
        for i in pixels.indices { pixels[i] = UInt8(generator.nextInt(below: 256)) }
        let labels = (0..<count).map { $0 % 10 }
        let dataset = ImageDataset(
            channels: 1, height: side, width: side, pixels: pixels, labels: labels,
            classNames: (0..<10).map { "c\($0)" })
        let classifier = ImageClassifier.make(
            kind: .lenet, lenet: LeNetConfig(channels: 1, imageSize: side, classes: 10),
            classNames: dataset.classNames, mean: [0.5], std: [0.25], generator: &generator)

        // By hand: the normalised images and their mirror images, row by row.
        var plain = [Float](repeating: 0, count: pixels.count), mirror = plain
        for image in 0..<count {
            for y in 0..<side {
                for x in 0..<side {
                    let value = (Float(pixels[(image * side + y) * side + x]) / 255 - 0.5) / 0.25
                    plain[(image * side + y) * side + x] = value
                    mirror[(image * side + y) * side + (side - 1 - x)] = value
                }
            }
        }
        let p = classifier.probabilities(Tensor(shape: [count, 1, side, side], data: plain)).scalars
        let q = classifier.probabilities(Tensor(shape: [count, 1, side, side], data: mirror)).scalars
        func argmax(_ values: [Float]) -> Int { values.indices.max { values[$0] < values[$1] }! }
        var expected: [Int] = [], unflipped: [Int] = []
        for image in 0..<count {
            let rows = (image * 10)..<(image * 10 + 10)
            let mean: [Float] = rows.map { p[$0] + q[$0] }
            expected.append(argmax(mean))
            unflipped.append(argmax(Array(p[rows])))
        }

        let flipped = evaluateClassifier(classifier, on: dataset, batchSize: 16, flip: true)
        XCTAssertEqual(flipped.predictions, expected)
        XCTAssertEqual(flipped.accuracy, Double(zip(expected, labels).filter { $0 == $1 }.count) / Double(count))
        let straight = evaluateClassifier(classifier, on: dataset, batchSize: 16)
        XCTAssertEqual(straight.predictions, unflipped)
        XCTAssertNotEqual(expected, unflipped, "random images and weights should make the mirror matter somewhere")
    }
}
