import Cortex
import CortexTestSupport
import Data
import Foundation
import Models
import Recipes
import XCTest

/// The segmentation recipe's pieces: the weighted per-pixel loss, the overlay colours and the
/// evaluation's scores on a network whose answers are known.
final class SegmentationRecipeTests: XCTestCase {
    override func setUp() { Runtime.configure(threads: 1) }

    /// The mirror reverses the last axis only: [[1, 2, 3], [4, 5, 6]] → [[3, 2, 1], [6, 5, 4]].
    func testMirrorReversesRowsByHand() {
        let x = Tensor(shape: [1, 2, 3], data: [1, 2, 3, 4, 5, 6])
        let m = mirroredLastAxis(x)
        XCTAssertEqual(m.shape, [1, 2, 3])
        XCTAssertEqual(m.scalars, [3, 2, 1, 6, 5, 4])
    }

    /// Flip test-time augmentation: the averaged probabilities of a scene's mirror image are the
    /// mirror of the scene's (a forgotten mirror-back breaks it), they still sum to 1 per pixel,
    /// and they differ from the plain pass (the network itself is not mirror-symmetric).
    func testFlipAverageIsMirrorEquivariant() {
        var generator = RandomGenerator(seed: 4)
        var sizes = UNetConfig()
        sizes.widths = [4, 8]
        let unet = UNet(sizes, generator: &generator)
        unet.eval()
        let images = Tensor(shape: [2, 1, 16, 16], data: (0..<512).map { _ in generator.nextFloat() })
        let plain = SegmentationTrainer.predict(unet, images, flip: false).probabilities
        let averaged = SegmentationTrainer.predict(unet, images, flip: true).probabilities
        let ofMirror = SegmentationTrainer.predict(unet, mirroredLastAxis(images), flip: true).probabilities
        let expected = mirroredLastAxis(averaged).scalars
        XCTAssertEqual(ofMirror.shape, [2, 11, 16, 16])
        for (a, b) in zip(ofMirror.scalars, expected) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        let p = averaged.scalars
        for pixel in [0, 37, 255] {
            let total = (0..<11).map { p[$0 * 256 + pixel] }.reduce(0, +)
            XCTAssertEqual(total, 1, accuracy: 1e-5)
        }
        XCTAssertGreaterThan(zip(plain.scalars, p).map { abs($0 - $1) }.max() ?? 0, 1e-4)
    }

    func testPerPixelLossWithBackgroundWeightByHand() {
        // [B 1, K 2, H 1, W 2]: pixel 0 has logits (0, 0), pixel 1 (0, ln 3); targets 0 and 1.
        // Losses: −log ½ = ln 2 and −log ¾ = ln 4/3.
        let logits = Tensor(shape: [1, 2, 1, 2], data: [0, 0, 0, Float(log(3.0))], requiresGrad: true)
        let plain = segmentationLoss(logits: logits, targets: [0, 1])
        XCTAssertEqual(Double(plain.item), (log(2) + log(4.0 / 3)) / 2, accuracy: 1e-6)
        // Background weight ½: (½·ln 2 + ln 4/3) / 1.5.
        let weighted = segmentationLoss(logits: logits, targets: [0, 1], backgroundWeight: 0.5)
        XCTAssertEqual(Double(weighted.item), (0.5 * log(2) + log(4.0 / 3)) / 1.5, accuracy: 1e-6)
        var generator = RandomGenerator(seed: 4)
        let x = Tensor.randn([2, 3, 2, 2], using: &generator, requiresGrad: true)
        let targets = [0, 1, 2, 0, 0, 0, 2, 1]
        checkGradients([x]) { segmentationLoss(logits: $0[0], targets: targets, backgroundWeight: 0.3) }
        checkGradients([x]) { segmentationLoss(logits: $0[0], targets: targets) }
    }

    func testOverlayBlendsObjectsAndLeavesBackground() {
        // Grey 100 under class 1 (colour 230, 25, 75) at half opacity: 165, 62.5 → 63, 87.5 → 88.
        let picture = SegmentationTrainer.overlay(pixels: [100], classes: [0], side: 1, opacity: 0.5)
        XCTAssertEqual(picture.width, 1)
        XCTAssertEqual([picture[0, 0, 0], picture[0, 0, 1], picture[0, 0, 2]], [100, 100, 100])
        let two = SegmentationTrainer.overlay(pixels: [100, 100, 100, 100], classes: [0, 1, 0, 0], side: 2)
        XCTAssertEqual([two[1, 0, 0], two[1, 0, 1], two[1, 0, 2]], [165, 63, 88])
        XCTAssertEqual([two[0, 1, 0], two[0, 1, 1], two[0, 1, 2]], [100, 100, 100])
    }

    func testSceneBatchScalesPixelsAndKeepsMasks() {
        let scene = Scene(size: 2, pixels: [0, 51, 255, 102], mask: [0, 3, 1, 0], objects: [], captions: [])
        let (images, masks) = SceneBatch.make([scene, scene])
        XCTAssertEqual(images.shape, [2, 1, 2, 2])
        assertClose(Array(images.scalars[4..<8]), [0, 0.2, 1, 0.4])
        XCTAssertEqual(masks, [0, 3, 1, 0, 0, 3, 1, 0])
    }
}
