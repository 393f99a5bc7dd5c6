import Cortex
import CortexTestSupport
import Data
import Foundation
import Models
import XCTest

/// Semantic segmentation of Fashion-MNIST scenes: the confusion matrix and IoU on hand-built
/// masks, the U-Net's shapes and keys, a tiny U-Net overfitting a few scenes, and the
/// `train segmenter` / `segment` commands.
final class SegmentationTests: XCTestCase {
    override func setUp() { Runtime.configure(threads: 1) }

    // MARK: Metrics

    func testIoUOfHandBuiltMasks() {
        // Four classes, 3×4 masks (rows left to right):
        //   truth       prediction
        //   0 0 1 1     0 1 1 1
        //   0 0 1 1     0 0 1 0
        //   2 2 0 0     2 0 0 0
        // Class 3 is in neither: no IoU, left out of the mean.
        let truth = [0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 0, 0]
        let prediction = [0, 1, 1, 1, 0, 0, 1, 0, 2, 0, 0, 0]
        var m = ConfusionMatrix(classes: 4)
        m.add(truth: truth, prediction: prediction)
        XCTAssertEqual(m[0, 0], 5)
        XCTAssertEqual(m[0, 1], 1)
        XCTAssertEqual(m[1, 1], 3)
        XCTAssertEqual(m[1, 0], 1)
        XCTAssertEqual(m[2, 2], 1)
        XCTAssertEqual(m[2, 0], 1)
        // Class 0: TP 5, FP (1→0, 2→0) 2, FN (0→1) 1: 5/8. Class 1: TP 3, FP 1, FN 1: 3/5.
        // Class 2: TP 1, FP 0, FN 1: 1/2.
        XCTAssertEqual(m.iou(0)!, 5.0 / 8, accuracy: 1e-12)
        XCTAssertEqual(m.iou(1)!, 3.0 / 5, accuracy: 1e-12)
        XCTAssertEqual(m.iou(2)!, 1.0 / 2, accuracy: 1e-12)
        XCTAssertNil(m.iou(3))
        XCTAssertEqual(m.meanIoU(), (5.0 / 8 + 3.0 / 5 + 1.0 / 2) / 3, accuracy: 1e-12)
        XCTAssertEqual(m.meanIoU(over: [1, 2, 3]), (3.0 / 5 + 1.0 / 2) / 2, accuracy: 1e-12)
        XCTAssertEqual(m.pixelAccuracy, 9.0 / 12, accuracy: 1e-12)
        XCTAssertEqual(m.truePixels, [6, 4, 2, 0])

        // A class predicted but never true has IoU 0 and counts in the mean.
        var n = ConfusionMatrix(classes: 3)
        n.add(truth: [0, 0, 1, 1], prediction: [0, 2, 1, 1])
        XCTAssertEqual(n.iou(2), 0)
        XCTAssertEqual(n.iou(0)!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(n.meanIoU(), (0.5 + 1 + 0) / 3, accuracy: 1e-12)
        // Adding a second image accumulates: a perfect image of class 1 raises its IoU.
        n.add(truth: [UInt8](repeating: 1, count: 4), prediction: [Int](repeating: 1, count: 4))
        XCTAssertEqual(n.iou(1), 1)
        XCTAssertEqual(n.pixelAccuracy, 7.0 / 8, accuracy: 1e-12)
        XCTAssertTrue(ConfusionMatrix(classes: 2).meanIoU().isNaN)
    }

    func testRegionVoteSumsProbabilitiesOverConnectedSegments() {
        // Three classes (0 background), a 3×4 image; each pixel's (p0, p1, p2) and its argmax:
        //   A A 0 B        A = a 4-connected segment: three pixels (.1, .5, .4) → 1 and one (0, 0, 1) → 2
        //   A A 0 0        B = (.3, .3, .4) → 2, alone; C = (.2, .35, .45) → 2, touching B only by a corner
        //   0 0 0 C        0 = (.8, .1, .1) or (.4, .35, .25) → background, left as it is
        // Segment A: class 1 sums .5 + .5 + .5 + 0 = 1.5, class 2 sums .4 + .4 + .4 + 1 = 2.2, so all of
        // A becomes 2 although most of its pixels' argmax is 1. B and C keep 2.
        let a1: [Float] = [0.1, 0.5, 0.4], a2: [Float] = [0, 0, 1], b: [Float] = [0.3, 0.3, 0.4]
        let c: [Float] = [0.2, 0.35, 0.45], bg: [Float] = [0.8, 0.1, 0.1], close: [Float] = [0.4, 0.35, 0.25]
        let pixels = [a1, a1, bg, b, a1, a2, close, bg, bg, close, bg, c]
        var planes = [Float](repeating: 0, count: 3 * 12)
        for (i, p) in pixels.enumerated() { for k in 0..<3 { planes[k * 12 + i] = p[k] } }
        let voted = planes.withUnsafeBufferPointer { RegionVote.apply(probabilities: $0, classes: 3, height: 3, width: 4) }
        XCTAssertEqual(voted, [2, 2, 0, 2, 2, 2, 0, 0, 0, 0, 0, 2])
        // The batch form votes each image on its own: a second image whose segment favours class 1.
        var second = [Float](repeating: 0, count: 36)
        for i in 0..<12 { second[i] = 1 }  // background everywhere but pixel 0, which favours class 1
        (second[0], second[12], second[24]) = (0.1, 0.8, 0.1)
        let both = RegionVote.apply(batch: planes + second, images: 2, classes: 3, height: 3, width: 4)
        XCTAssertEqual(Array(both[0..<12]), voted)
        XCTAssertEqual(Array(both[12...]), [1] + [Int](repeating: 0, count: 11))
    }

    // MARK: Model

    func testUNetShapesKeysAndGradients() {
        var generator = RandomGenerator(seed: 1)
        let net = UNet(UNetConfig(widths: [2, 3]), generator: &generator)
        let x = Tensor.randn([2, 1, 8, 8], using: &generator)
        XCTAssertEqual(net(x).shape, [2, 11, 8, 8])
        let keys = Dictionary(uniqueKeysWithValues: net.stateDict().map { ($0.name, $0.tensor.shape) })
        XCTAssertEqual(keys["encoders.0.conv1.weight"], [2, 1, 3, 3])
        XCTAssertEqual(keys["encoders.1.conv2.weight"], [3, 3, 3, 3])
        XCTAssertEqual(keys["bottleneck.conv1.weight"], [6, 3, 3, 3])
        XCTAssertEqual(keys["upsamples.1.weight"], [6, 3, 2, 2])
        XCTAssertEqual(keys["upsamples.0.weight"], [3, 2, 2, 2])
        XCTAssertEqual(keys["decoders.0.conv1.weight"], [2, 4, 3, 3])
        XCTAssertEqual(keys["decoders.1.bn2.running_var"], [3])
        XCTAssertEqual(keys["head.weight"], [11, 2, 1, 1])
        let nearest = UNet(UNetConfig(widths: [2, 3], upsampling: .nearest), generator: &generator)
        let nearestKeys = Set(nearest.stateDict().map(\.name))
        XCTAssertTrue(nearestKeys.contains("upsamples.1.1.weight"))
        XCTAssertEqual(nearest(x).shape, [2, 11, 8, 8])
        // The whole network (BatchNorm in evaluation mode, so the function is smooth) against
        // finite differences, with respect to the input and a decoder kernel.
        for model in [net, nearest] {
            model.eval()
            let input = Tensor.randn([1, 1, 4, 4], using: &generator, requiresGrad: true)
            let kernel = model.decoders[0].conv1.weight
            checkGradients([input, kernel], step: 1e-3, tolerance: 1e-2) { _ in model(input) }
        }
    }

    // MARK: Training

    /// A tiny U-Net learns a handful of fixed scenes by heart within a few hundred steps.
    func testTinyUNetOverfitsAFewScenes() throws {
        let source = try fashionMNISTSample(2000)
        var sceneConfig = SceneConfig()
        sceneConfig.size = 32
        sceneConfig.minScale = 14
        sceneConfig.maxScale = 22
        sceneConfig.maxObjects = 2
        let scenes = try SceneGenerator(source: source, config: sceneConfig)
        let batch = (0..<4).map(scenes.scene)
        var pixels = [Float](), masks = [Int]()
        for scene in batch {
            pixels += scene.pixels.map { Float($0) / 255 }
            masks += scene.mask.map(Int.init)
        }
        let images = Tensor(shape: [4, 1, 32, 32], data: pixels)
        var generator = RandomGenerator(seed: 2)
        let net = UNet(UNetConfig(widths: [8, 16]), generator: &generator)
        let optimizer = AdamW(net.parameterGroups(), learningRate: 1e-2)
        func accuracyAndIoU() -> (Double, Double) {
            net.eval()
            let predicted = withNoGrad { net(images) }.argmaxIndices(axis: 1)
            var m = ConfusionMatrix(classes: 11)
            m.add(truth: masks, prediction: predicted)
            return (m.pixelAccuracy, m.meanIoU(over: Array(1..<11)))
        }
        let (_, iouBefore) = accuracyAndIoU()
        for _ in 0..<150 {
            net.train()
            optimizer.zeroGrad()
            let loss = crossEntropy(logits: net(images).permuted([0, 2, 3, 1]), targets: masks)
            loss.backward()
            optimizer.step()
        }
        let (accuracy, iou) = accuracyAndIoU()
        XCTAssertLessThan(iouBefore, 0.2)
        XCTAssertGreaterThan(accuracy, 0.97)
        XCTAssertGreaterThan(iou, 0.85)
    }

    // MARK: Commands

    func testTrainResumeAndSegmentThroughTheBinary() throws {
        _ = try fashionMNISTSample(1)
        let folder = try makeTemporaryDirectory(self)
        let out = folder + "/run"
        let base = [
            "train", "segmenter", "--widths", "4,8", "--scene-size", "32", "--min-scale", "12", "--max-scale", "20",
            "--batch", "4", "--eval-every", "2", "--test-scenes", "6", "--threads", "1", "--out", out, "--json"
        ]
        let first = try runCortex(base + ["--steps", "4"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let summary = try lastJSONLine(first.stdout)
        XCTAssertEqual(summary["steps"] as? Int, 4)
        for key in ["miou", "miou_with_background", "pixel_accuracy", "s_per_1000_steps", "ms_per_image"] {
            XCTAssertNotNil(summary[key] as? Double, key)
        }
        for file in ["last.safetensors", "best.safetensors", "predictions.png", "metrics.csv", "config.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + file), file)
        }
        let resumed = try runCortex(base + ["--steps", "6", "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("resuming after step 4"), resumed.stderr)
        XCTAssertEqual(try lastJSONLine(resumed.stdout)["steps"] as? Int, 6)
        // The CSV holds the first run's evaluations and the resumed one's.
        let csv = try String(contentsOfFile: out + "/metrics.csv", encoding: .utf8)
        XCTAssertTrue(csv.contains("test/miou"), csv)

        // A scene of the trained size goes through `segment`.
        let scenePath = folder + "/scene.png", overlayPath = folder + "/overlay.png"
        var sceneConfig = SceneConfig()
        sceneConfig.size = 32
        sceneConfig.minScale = 12
        sceneConfig.maxScale = 20
        let scene = try SceneGenerator(source: try fashionMNISTSample(100), config: sceneConfig).scene(0)
        try scene.image.write(to: scenePath)
        let segmented = try runCortex(["segment", "--checkpoint", out + "/last.safetensors", scenePath, "--out", overlayPath])
        XCTAssertEqual(segmented.status, 0, segmented.stderr)
        XCTAssertTrue(segmented.stdout.contains("pixels"), segmented.stdout)
        let overlay = try PixelImage.read(path: overlayPath)
        XCTAssertEqual([overlay.width, overlay.height, overlay.channels], [32, 32, 3])

        // A picture of another size: one line, non-zero.
        let wrong = folder + "/wrong.png"
        try PixelImage(width: 20, height: 20, fill: [0]).write(to: wrong)
        let refused = try runCortex(["segment", "--checkpoint", out + "/last.safetensors", wrong, "--out", overlayPath])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("32x32"), refused.stderr)
    }

    func testHelpDescribesBothCommands() throws {
        for command in [["train", "segmenter"], ["segment"]] {
            let result = try runCortex(command + ["--help"])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertTrue(result.stdout.contains("USAGE:"), result.stdout)
        }
        XCTAssertTrue(try runCortex(["train", "segmenter", "--help"]).stdout.contains("--scene-size"))
    }

    func testBadInputIsOneLineAndNonZero() throws {
        let folder = try makeTemporaryDirectory(self)
        let scene = folder + "/scene.png"
        try PixelImage(width: 64, height: 64, fill: [0]).write(to: scene)
        let cases: [[String]] = [
            ["segment", "--checkpoint", folder + "/missing.safetensors", scene, "--out", folder + "/o.png"],
            ["segment", "--checkpoint", scene, scene, "--out", folder + "/o.png"],
            ["train", "segmenter", "--out", folder + "/none", "--resume", "--steps", "1"]
        ]
        for arguments in cases {
            let result = try runCortex(arguments)
            XCTAssertNotEqual(result.status, 0, arguments.joined(separator: " "))
            let lines = result.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(arguments.joined(separator: " ")):\n\(result.stderr)")
            XCTAssertTrue(lines.first?.hasPrefix("cortex ") ?? false, result.stderr)
        }
        let scenesTooSmall = try runCortex(["train", "segmenter", "--scene-size", "60", "--out", folder + "/x"])
        XCTAssertNotEqual(scenesTooSmall.status, 0)
        XCTAssertTrue(scenesTooSmall.stderr.contains("multiple of 8"), scenesTooSmall.stderr)
    }
}
