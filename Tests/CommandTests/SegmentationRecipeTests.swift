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
