import Cortex
import CortexTestSupport
import Data
import Foundation
import Models
import Recipes
import XCTest

/// Box metrics (hand-computed cases and pycocotools), NMS, YOLOv2 box coding, the detector's
/// loss (value by hand, gradient by finite differences), overfitting a few scenes and resuming.
final class DetectionTests: XCTestCase {
    func box(_ x: Double, _ y: Double, _ w: Double, _ h: Double) -> SceneBox { SceneBox(x: x, y: y, width: w, height: h) }
    func truth(_ c: Int, _ b: SceneBox) -> SceneObject { SceneObject(classIndex: c, box: b, sourceIndex: 0) }
    func det(_ c: Int, _ s: Double, _ b: SceneBox) -> Detection { Detection(classIndex: c, score: s, box: b) }

    // MARK: - IoU and NMS

    func testIoUByHand() {
        // 9×10 overlap of two 10×10 boxes: 90 / (100 + 100 − 90).
        XCTAssertEqual(box(0, 0, 10, 10).iou(box(1, 0, 10, 10)), 90.0 / 110, accuracy: 1e-12)
        XCTAssertEqual(box(0, 0, 10, 10).iou(box(0, 0, 10, 5)), 0.5, accuracy: 1e-12)
        XCTAssertEqual(box(0, 0, 10, 10).iou(box(10, 0, 10, 10)), 0)  // touching edges
    }

    func testClassWiseNMSByHand() {
        let a = det(0, 0.9, box(0, 0, 10, 10))
        let b = det(0, 0.8, box(1, 0, 10, 10))  // IoU 0.82 with a: suppressed
        let c = det(1, 0.7, box(1, 0, 10, 10))  // same place, other class: kept
        let d = det(0, 0.6, box(20, 20, 10, 10))  // far away: kept
        let e = det(0, 0.5, box(0, 0, 10, 5))  // IoU exactly 0.5 with a: kept (only > suppresses)
        XCTAssertEqual(nonMaximumSuppression([d, b, e, c, a], iouThreshold: 0.5), [a, c, d, e])
        XCTAssertEqual(nonMaximumSuppression([d, b, e, c, a], iouThreshold: 0.5, limit: 2), [a, c])
        XCTAssertEqual(nonMaximumSuppression([], iouThreshold: 0.5), [])
        // Equal scores: the first in input order wins.
        let f = det(0, 0.9, box(0.5, 0, 10, 10))
        XCTAssertEqual(nonMaximumSuppression([f, a], iouThreshold: 0.5), [f])
        XCTAssertEqual(nonMaximumSuppression([a, f], iouThreshold: 0.5), [a])
    }

    // MARK: - COCO metrics by hand

    func testDuplicatesMatchOneTruth() {
        // TP, FP (duplicate of the same truth), TP: precision 1, ½, ⅔ → monotone 1, ⅔, ⅔ at
        // recall ½, ½, 1. Recall points 0…0.50 (51) read 1, 0.51…1 (50) read ⅔:
        // AP = (51 + 50·⅔)/101 = 253/303 at every threshold (the boxes are exact).
        let truths = [[truth(0, box(0, 0, 10, 10)), truth(0, box(20, 20, 10, 10))]]
        let predictions = [[
            det(0, 0.9, box(0, 0, 10, 10)), det(0, 0.8, box(0, 0, 10, 10)), det(0, 0.7, box(20, 20, 10, 10))
        ]]
        let e = DetectionEvaluation(predictions: predictions, truths: truths, classes: 1)
        XCTAssertEqual(e.map50, 253.0 / 303, accuracy: 1e-12)
        XCTAssertEqual(e.map, 253.0 / 303, accuracy: 1e-12)
    }

    func testTiesInScoreKeepInputOrder() {
        // A miss and a hit of equal score: pycocotools' stable sort keeps them in input order.
        // Miss first: precision 0, ½ → monotone ½, ½: AP ½. Hit first: AP 1.
        let truths = [[truth(0, box(0, 0, 10, 10))]]
        let miss = det(0, 0.5, box(40, 40, 10, 10)), hit = det(0, 0.5, box(0, 0, 10, 10))
        XCTAssertEqual(DetectionEvaluation(predictions: [[miss, hit]], truths: truths, classes: 1).map50, 0.5, accuracy: 1e-12)
        XCTAssertEqual(DetectionEvaluation(predictions: [[hit, miss]], truths: truths, classes: 1).map50, 1, accuracy: 1e-12)
        // Across images, ties keep image order.
        let two = [[truth(0, box(0, 0, 10, 10))], []]
        XCTAssertEqual(
            DetectionEvaluation(predictions: [[hit], [miss]], truths: two, classes: 1).map50, 1, accuracy: 1e-12)
        XCTAssertEqual(
            DetectionEvaluation(predictions: [[miss], [hit]], truths: [[], [truth(0, box(0, 0, 10, 10))]], classes: 1)
                .map50, 0.5, accuracy: 1e-12)
    }

    func testClassesWithoutTruthOrPredictions() {
        // Class 0: one exact hit (AP 1). Class 1: a detection but no truth (no AP, left out).
        // Class 2: a truth and no detection (AP 0). mAP = (1 + 0)/2.
        let truths = [[truth(0, box(0, 0, 10, 10)), truth(2, box(30, 30, 10, 10))]]
        let predictions = [[det(0, 0.9, box(0, 0, 10, 10)), det(1, 0.8, box(30, 30, 10, 10))]]
        let e = DetectionEvaluation(predictions: predictions, truths: truths, classes: 3)
        // (Precision 1 is tp/(tp + fp + ε) as pycocotools computes it: 1 − 2⁻⁵³.)
        XCTAssertEqual(try XCTUnwrap(e.classAP50[0]), 1, accuracy: 1e-12)
        XCTAssertNil(e.classAP50[1])
        XCTAssertEqual(e.classAP50[2], 0)
        XCTAssertEqual(e.truthCounts, [1, 0, 1])
        XCTAssertEqual(e.map50, 0.5, accuracy: 1e-12)
        // No predictions at all: 0; no truth at all: no mean.
        XCTAssertEqual(DetectionEvaluation(predictions: [[]], truths: truths, classes: 3).map, 0)
        XCTAssertTrue(DetectionEvaluation(predictions: predictions, truths: [[]], classes: 3).map.isNaN)
    }

    func testIoUThresholds() {
        // IoU 0.72 matches at 0.50, 0.55, 0.60, 0.65, 0.70 and misses at 0.75…0.95: mAP ½.
        let e = DetectionEvaluation(
            predictions: [[det(0, 0.9, box(0, 0, 10, 7.2))]], truths: [[truth(0, box(0, 0, 10, 10))]], classes: 1)
        XCTAssertEqual(e.map50, 1, accuracy: 1e-12)
        XCTAssertEqual(e.map75, 0)
        XCTAssertEqual(e.map, 0.5, accuracy: 1e-12)
        XCTAssertEqual(DetectionEvaluation.iouThresholds.count, 10)
        XCTAssertEqual(DetectionEvaluation.recallThresholds.count, 101)
    }

    func testMaxDetectionsPerImageAndClass() {
        // Three misses above the hit: with maxDetections 3 the hit is cut, AP 0; with 4, the
        // hit is fourth: precision ¼ at recall 1, AP ¼.
        let truths = [[truth(0, box(0, 0, 10, 10))]]
        let misses = (1...3).map { det(0, 0.9, box(Double(15 * $0), 40, 10, 10)) }
        let predictions = [misses + [det(0, 0.5, box(0, 0, 10, 10))]]
        XCTAssertEqual(DetectionEvaluation(predictions: predictions, truths: truths, classes: 1, maxDetections: 3).map50, 0)
        XCTAssertEqual(
            DetectionEvaluation(predictions: predictions, truths: truths, classes: 1, maxDetections: 4).map50, 0.25,
            accuracy: 1e-12)
    }

    // MARK: - pycocotools

    /// A few hundred seeded boxes over 20 images and 5 categories (one without truth), scores
    /// on a 0.05 grid so ties happen, written as COCO JSON and evaluated by pycocotools.
    func testAgreesWithPycocotools() throws {
        var random = RandomGenerator(seed: 23)
        func uniform(_ low: Double, _ high: Double) -> Double { low + random.nextDouble() * (high - low) }
        func quarter(_ v: Double) -> Double { (v * 4).rounded() / 4 }
        let images = 20, classes = 5
        var truths: [[SceneObject]] = []
        var predictions: [[Detection]] = []
        for _ in 0..<images {
            var gt: [SceneObject] = []
            for _ in 0..<random.nextInt(below: 7) {
                let w = quarter(uniform(8, 30)), h = quarter(uniform(8, 30))
                gt.append(truth(random.nextInt(below: 4), box(quarter(uniform(0, 60 - w)), quarter(uniform(0, 60 - h)), w, h)))
            }
            var dt: [Detection] = []
            for object in gt {
                // Jittered copies (sometimes of the wrong class), some of them duplicates.
                for _ in 0..<(1 + random.nextInt(below: 4)) {
                    let b = object.box
                    let jitter = uniform(0, 6)
                    let c = random.nextDouble() < 0.2 ? random.nextInt(below: classes) : object.classIndex
                    dt.append(
                        det(
                            c, Double(1 + random.nextInt(below: 20)) / 20,
                            box(
                                quarter(b.x + uniform(-jitter, jitter)), quarter(b.y + uniform(-jitter, jitter)),
                                quarter(max(1, b.width + uniform(-jitter, jitter))),
                                quarter(max(1, b.height + uniform(-jitter, jitter))))))
                }
            }
            for _ in 0..<random.nextInt(below: 12) {
                dt.append(
                    det(
                        random.nextInt(below: classes), Double(1 + random.nextInt(below: 20)) / 20,
                        box(quarter(uniform(0, 50)), quarter(uniform(0, 50)), quarter(uniform(4, 20)), quarter(uniform(4, 20)))))
            }
            truths.append(gt)
            predictions.append(dt)
        }
        let boxes = predictions.joined().count + truths.joined().count
        XCTAssertTrue((250...400).contains(boxes), "a few hundred boxes, got \(boxes)")
        let folder = try makeTemporaryDirectory(self)
        var annotations: [[String: Any]] = []
        var results: [[String: Any]] = []
        for (i, gt) in truths.enumerated() {
            for o in gt {
                annotations.append([
                    "id": annotations.count + 1, "image_id": i + 1, "category_id": o.classIndex + 1,
                    "bbox": [o.box.x, o.box.y, o.box.width, o.box.height], "area": o.box.area, "iscrowd": 0
                ])
            }
            for d in predictions[i] {
                results.append([
                    "image_id": i + 1, "category_id": d.classIndex + 1, "score": d.score,
                    "bbox": [d.box.x, d.box.y, d.box.width, d.box.height]
                ])
            }
        }
        let groundTruth: [String: Any] = [
            "images": (1...images).map { ["id": $0, "width": 64, "height": 64, "file_name": "\($0).png"] },
            "annotations": annotations,
            "categories": (1...classes).map { ["id": $0, "name": "c\($0)"] }
        ]
        try JSONSerialization.data(withJSONObject: groundTruth).write(to: URL(fileURLWithPath: folder + "/gt.json"))
        try JSONSerialization.data(withJSONObject: results).write(to: URL(fileURLWithPath: folder + "/dt.json"))
        let output = try cocoReference(groundTruth: folder + "/gt.json", detections: folder + "/dt.json")
        let reference = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], output)
        let e = DetectionEvaluation(predictions: predictions, truths: truths, classes: classes)
        XCTAssertEqual(e.map50, try XCTUnwrap(reference["map50"] as? Double), accuracy: 1e-4)
        XCTAssertEqual(e.map, try XCTUnwrap(reference["map"] as? Double), accuracy: 1e-4)
        XCTAssertEqual(e.map75, try XCTUnwrap(reference["map75"] as? Double), accuracy: 1e-4)
        let perClass = try XCTUnwrap(reference["ap50_per_category"] as? [String: Double])
        for c in 0..<classes {
            XCTAssertEqual(e.classAP50[c] ?? -1, try XCTUnwrap(perClass["\(c + 1)"]), accuracy: 1e-4, "class \(c)")
        }
        XCTAssertNil(e.classAP50[4], "category 5 has no truth")
        // Not a degenerate case: neither perfect nor empty.
        XCTAssertGreaterThan(e.map50, 0.2)
        XCTAssertLessThan(e.map, 0.9)
    }

    // MARK: - Box coding and loss

    func smallConfig() -> DetectorNetworkConfig {
        var c = DetectorNetworkConfig()
        c.imageSize = 16
        c.classes = 3
        c.widths = [2, 2, 2]  // stride 4, 4×4 grid
        c.convolutions = [1, 1, 1]
        c.anchors = [[4, 8], [9, 6]]
        return c
    }

    func testEncodeDecodeRoundTrip() {
        var c = DetectorNetworkConfig()
        c.anchors = [[14, 26], [30, 20], [27, 34]]
        let coder = DetectionCoder(config: c)
        for b in [box(3, 5, 20, 31), box(40.5, 2.25, 23, 17), box(0, 0, 64, 64), box(50, 50, 13.5, 13.5)] {
            let (row, column, anchor, t) = coder.encode(b)
            XCTAssertEqual(row, min(7, Int(b.centerY / 8)))
            XCTAssertEqual(column, min(7, Int(b.centerX / 8)))
            func logit(_ p: Double) -> Float { Float(log(p / (1 - p))) }
            let back = coder.decode(
                tx: logit(t[0]), ty: logit(t[1]), tw: Float(t[2]), th: Float(t[3]), row: row, column: column,
                anchor: anchor)
            XCTAssertEqual(back.x, b.x, accuracy: 1e-3)
            XCTAssertEqual(back.y, b.y, accuracy: 1e-3)
            XCTAssertEqual(back.width, b.width, accuracy: 1e-3)
            XCTAssertEqual(back.height, b.height, accuracy: 1e-3)
        }
        // The anchor is the best-overlapping shape: tall boxes take the tall anchor.
        XCTAssertEqual(coder.encode(box(10, 10, 12, 28)).anchor, 0)
        XCTAssertEqual(coder.encode(box(10, 10, 32, 18)).anchor, 1)
        XCTAssertEqual(coder.encode(box(10, 10, 28, 36)).anchor, 2)
    }

    func testLossValueByHand() {
        // All-zero outputs: σ = ½, tw = th = 0, objectness BCE log 2 everywhere, class CE log 3.
        let config = smallConfig()
        let coder = DetectionCoder(config: config)
        var weights = DetectionLossWeights()
        weights.ignoreIoU = 1  // nothing ignored
        weights.noObject = 0.5
        let object = truth(2, box(5, 1, 6, 10))  // centre (8, 6): cell row 1, column 2; tall → anchor 0
        let (row, column, anchor, t) = coder.encode(object.box)
        XCTAssertEqual([row, column, anchor], [1, 2, 0])
        let output = Tensor.zeros([1, 2 * 8, 4, 4])
        let targets = coder.targets(for: [[object]], output: output, weights: weights)
        let loss = coder.loss(output, targets: targets, weights: weights)
        let box = 5 * ((0.5 - t[0]) * (0.5 - t[0]) + (0.5 - t[1]) * (0.5 - t[1]) + t[2] * t[2] + t[3] * t[3])
        let objectness = log(2.0) * (1 + 0.5 * 31)
        XCTAssertEqual(Double(loss.box.item), box, accuracy: 1e-5)
        XCTAssertEqual(Double(loss.object.item), objectness, accuracy: 1e-5)
        XCTAssertEqual(Double(loss.classification.item), log(3.0), accuracy: 1e-5)
        XCTAssertEqual(Double(loss.total.item), box + objectness + log(3.0), accuracy: 1e-4)
    }

    func testLossGradientByFiniteDifferences() {
        let config = smallConfig()
        let coder = DetectionCoder(config: config)
        var random = RandomGenerator(seed: 5)
        let output = Tensor.uniform([2, 16, 4, 4], low: -1.5, high: 1.5, using: &random)
        output.requiresGrad = true
        let objects = [
            [truth(0, box(1, 2, 5, 9)), truth(2, box(9, 8, 6, 5))],
            [truth(1, box(3, 3, 10, 10))]
        ]
        let weights = DetectionLossWeights()
        let targets = coder.targets(for: objects, output: output, weights: weights)
        checkGradients([output], step: 1e-2, tolerance: 2e-2) { inputs in
            coder.loss(inputs[0], targets: targets, weights: weights).total
        }
    }

    func testIgnoredAnchorsLeaveTheBackgroundTerm() {
        // An output decoding exactly onto the truth at a non-responsible anchor: that anchor is ignored.
        let config = smallConfig()
        let coder = DetectionCoder(config: config)
        let object = truth(0, box(5, 1, 6, 10))
        let output = Tensor.zeros([1, 16, 4, 4])
        // Anchor 1 at cell (1, 2): σ(0) = ½ puts the centre at (10, 6), size 9×6.
        var weights = DetectionLossWeights()
        weights.ignoreIoU = 0.2
        let ignored = coder.targets(for: [[object]], output: output, weights: weights).objectWeights.scalars
        // Anchor 1 at cell (1, 2) is index 16 + 6; it overlaps the truth by IoU 33/(60 + 54 − 33) ≈ 0.41.
        XCTAssertEqual(ignored[16 + 6], 0)
        XCTAssertEqual(ignored[6], 1, "the responsible anchor keeps its weight")
        XCTAssertEqual(ignored[0], 1, "far-away anchors stay background")
        // With overlapClasses the ignored anchor also learns the class (0) of the box it overlaps.
        weights.overlapClasses = true
        let classes = coder.targets(for: [[object]], output: output, weights: weights).classes.scalars
        XCTAssertEqual(classes[(1 * 3 + 0) * 16 + 6], 1)  // image 0, anchor 1, class 0, cell 6
        XCTAssertEqual(classes[(1 * 3 + 1) * 16 + 6], 0)
        XCTAssertEqual(classes[(0 * 3 + 0) * 16 + 0], 0, "far-away anchors learn no class")
    }

    // MARK: - Training

    func scenes(_ count: Int, seed: UInt64) throws -> [Scene] {
        let source = try fashionMNISTSample(2000)
        var config = SceneConfig()
        config.seed = seed
        let generator = try SceneGenerator(source: source, config: config)
        return (0..<count).map { generator.scene($0) }
    }

    func testTinyDetectorOverfitsAFewScenes() throws {
        let scenes = try scenes(8, seed: 3)
        var config = DetectorConfig()
        config.network.widths = [8, 16, 24, 32]
        config.network.convolutions = [1, 1, 1, 1]
        var random = RandomGenerator(seed: 1)
        let detector = SceneDetector(
            network: Detector(config.network, generator: &random), classNames: FashionMNIST.classNames)
        let optimizer = AdamW(detector.network.weightDecayGroups(weightDecay: 0), learningRate: 3e-3)
        let input = SceneDetector.input(scenes)
        var first = 0.0, last = 0.0
        for step in 0..<300 {
            detector.network.train()
            let output = detector.network(input)
            let targets = detector.coder.targets(for: scenes.map(\.objects), output: output, weights: config.loss)
            let loss = detector.coder.loss(output, targets: targets, weights: config.loss).total
            optimizer.zeroGrad()
            loss.backward()
            optimizer.step()
            if step == 0 { first = Double(loss.item) }
            last = Double(loss.item)
        }
        XCTAssertLessThan(last, first / 10, "loss \(first) → \(last)")
        let e = evaluateDetector(detector, on: scenes).evaluation
        XCTAssertGreaterThan(e.map50, 0.9, "AP per class \(e.classAP50)")
    }

    func testResumeContinuesAsIfUninterrupted() throws {
        _ = try fashionMNISTSample(1)
        let folder = try makeTemporaryDirectory(self)
        var config = DetectorConfig()
        config.steps = 4
        config.batchSize = 4
        config.evalEvery = 2
        config.evalScenes = 8
        config.warmupSteps = 1
        config.network.widths = [4, 4, 4, 4]
        config.network.convolutions = [1, 1, 1, 1]
        config.threads = 1
        let straight = try DetectorTrainer(config: config, folder: folder + "/straight")
        straight.log = { _ in }
        let summary = try straight.run()
        XCTAssertEqual(summary.steps, 4)

        let first = try DetectorTrainer(config: config, folder: folder + "/resumed")
        first.log = { _ in }
        var polls = 0
        let stopped = try first.run(shouldStop: {
            polls += 1
            return polls == 2
        })
        XCTAssertTrue(stopped.interrupted)
        let second = try DetectorTrainer(config: config, folder: folder + "/resumed", resume: true)
        second.log = { _ in }
        let resumed = try second.run()
        XCTAssertEqual(resumed.steps, 4)
        XCTAssertFalse(resumed.interrupted)
        let a = try SafeTensors.read(from: folder + "/straight/last.safetensors").dictionary
        let b = try SafeTensors.read(from: folder + "/resumed/last.safetensors").dictionary
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        for (name, tensor) in a { XCTAssertEqual(tensor.scalars, b[name]?.scalars, name) }
        XCTAssertEqual(resumed.map50, summary.map50)
        XCTAssertThrowsError(try DetectorTrainer(config: config, folder: folder + "/nothing", resume: true))
    }
}
