import Cortex
import CortexTestSupport
import Data
import Foundation
import XCTest

/// The Fashion-MNIST scene generator: determinism, boxes and masks against the pasted pixels,
/// the caption grammar and its reader, the COCO-style files.
final class SceneTests: XCTestCase {
    /// Ten 28×28 pictures, one per class: picture c is a filled square of value 200 on rows and
    /// columns 7…20 (14 pixels), so a 28-pixel item's box is known by hand.
    func squares() -> ImageDataset {
        var pixels = [UInt8](repeating: 0, count: 10 * 784)
        for c in 0..<10 {
            for y in 7...20 { for x in 7...20 { pixels[c * 784 + y * 28 + x] = 200 } }
        }
        return ImageDataset(
            channels: 1, height: 28, width: 28, pixels: pixels, labels: Array(0..<10),
            classNames: FashionMNIST.classNames)
    }

    /// A crop is the square around the box (side: its longer edge) resampled bilinearly, zeros
    /// outside the scene: on a 4×4 scene of values 10·(4y + x), by hand.
    func testCropOfABoxByHand() {
        let scene = Scene(size: 4, pixels: (0..<16).map { UInt8(10 * $0) }, mask: [], objects: [], captions: [])
        // A 2×2 box at (1, 1) to 2×2: the four pixels themselves.
        XCTAssertEqual(scene.crop(SceneBox(x: 1, y: 1, width: 2, height: 2), side: 2), [50, 60, 90, 100])
        // A 1-wide, 2-high box at (0, 1): the square reaches half a pixel left of the scene, so
        // column 0 samples x = −0.5 (half zero, half pixel 0) and column 1 samples x = 0.5.
        // Row 1: 0.5·0 + 0.5·40 = 20 and 0.5·40 + 0.5·50 = 45; row 2: 40 and 85.
        XCTAssertEqual(scene.crop(SceneBox(x: 0, y: 1, width: 1, height: 2), side: 2), [20, 45, 40, 85])
        // Enlarging: a 2×2 box to 4×4 samples at −0.25 … 1.25 from the box's corner.
        let big = scene.crop(SceneBox(x: 1, y: 1, width: 2, height: 2), side: 4)
        // (u, v) = (0, 0): x = y = 0.75 → 0.25·0.25·0 + … = value at (0.75, 0.75) = 10·(4·0.75 + 0.75) = 37.5 → 38.
        XCTAssertEqual(big[0], 38)
        // (3, 3): x = y = 2.25 → 10·(4·2.25 + 2.25) = 112.5 → 113 (rounded half away from zero).
        XCTAssertEqual(big[15], 113)
    }

    func testSameSeedSameSceneOtherSeedOtherScene() throws {
        var config = SceneConfig()
        config.seed = 7
        let a = try SceneGenerator(source: squares(), config: config)
        let b = try SceneGenerator(source: squares(), config: config)
        for i in [0, 1, 99, 12345] { XCTAssertEqual(a.scene(i), b.scene(i)) }
        config.seed = 8
        let c = try SceneGenerator(source: squares(), config: config)
        XCTAssertNotEqual((0..<10).map { a.scene($0).objects }, (0..<10).map { c.scene($0).objects })
    }

    func testBoxOfAnUnscaledSquareIsItsHandComputedExtent() throws {
        var config = SceneConfig()
        config.minScale = 28
        config.maxScale = 28
        config.minObjects = 1
        config.maxObjects = 1
        let generator = try SceneGenerator(source: squares(), config: config)
        for i in 0..<20 {
            let scene = generator.scene(i)
            XCTAssertEqual(scene.objects.count, 1)
            let o = scene.objects[0]
            // The square is 14×14 at any position; it covers exactly its box in the mask.
            XCTAssertEqual(o.box.width, 14)
            XCTAssertEqual(o.box.height, 14)
            var inside = 0
            for y in 0..<64 {
                for x in 0..<64 {
                    let inBox = Double(x) >= o.box.x && Double(x) < o.box.x + 14 && Double(y) >= o.box.y && Double(y) < o.box.y + 14
                    XCTAssertEqual(scene.mask[y * 64 + x], inBox ? UInt8(1 + o.classIndex) : 0)
                    XCTAssertEqual(scene.pixels[y * 64 + x], inBox ? 200 : 0)
                    if inBox { inside += 1 }
                }
            }
            XCTAssertEqual(inside, 196)
            XCTAssertEqual(scene.captions.count, 4)
        }
    }

    func testMasksLieInBoxesAndOverlapIsLimited() throws {
        var config = SceneConfig()
        config.seed = 3
        config.background = "noise"
        let generator = try SceneGenerator(source: squares(), config: config)
        var counts = [Int](repeating: 0, count: 5)
        for i in 0..<200 {
            let scene = generator.scene(i)
            counts[scene.objects.count] += 1
            for (k, a) in scene.objects.enumerated() {
                for b in scene.objects[(k + 1)...] { XCTAssertLessThanOrEqual(a.box.iou(b.box), config.maxOverlap) }
                XCTAssert(a.box.x >= 0 && a.box.y >= 0 && a.box.x + a.box.width <= 64 && a.box.y + a.box.height <= 64)
            }
            for y in 0..<64 {
                for x in 0..<64 {
                    let m = Int(scene.mask[y * 64 + x])
                    if m == 0 {
                        XCTAssertLessThan(scene.pixels[y * 64 + x], 24, "background noise stays below 24")
                        continue
                    }
                    XCTAssertGreaterThanOrEqual(scene.pixels[y * 64 + x], Scene.inkThreshold)
                    XCTAssert(
                        scene.objects.contains {
                            $0.classIndex == m - 1 && Double(x) >= $0.box.x && Double(x) < $0.box.x + $0.box.width
                                && Double(y) >= $0.box.y && Double(y) < $0.box.y + $0.box.height
                        }, "mask pixel (\(x), \(y)) of class \(m - 1) outside every box of its class")
                }
            }
            // The last item is on top: its box is tight around its mask pixels.
            if let last = scene.objects.last {
                let (x0, y0) = (Int(last.box.x), Int(last.box.y))
                let (x1, y1) = (x0 + Int(last.box.width) - 1, y0 + Int(last.box.height) - 1)
                let label = UInt8(last.classIndex + 1)
                XCTAssert((y0...y1).contains { scene.mask[$0 * 64 + x0] == label })
                XCTAssert((y0...y1).contains { scene.mask[$0 * 64 + x1] == label })
                XCTAssert((x0...x1).contains { scene.mask[y0 * 64 + $0] == label })
                XCTAssert((x0...x1).contains { scene.mask[y1 * 64 + $0] == label })
            }
        }
        // 1…4 items drawn uniformly: every count shows up.
        XCTAssertEqual(counts[0], 0)
        for n in 1...4 { XCTAssertGreaterThan(counts[n], 20) }
    }

    func testCaptionsOfAHandBuiltScene() {
        let objects = [
            SceneObject(classIndex: 7, box: SceneBox(x: 40, y: 10, width: 20, height: 10), sourceIndex: 0),
            SceneObject(classIndex: 8, box: SceneBox(x: 2, y: 30, width: 30, height: 30), sourceIndex: 1),
            SceneObject(classIndex: 7, box: SceneBox(x: 30, y: 44, width: 20, height: 16), sourceIndex: 2)
        ]
        let scene = Scene(size: 64, pixels: [], mask: [], objects: objects, captions: [])
        // The bag (leftmost at x 2) comes first; the sneakers' leftmost is at x 30. The two
        // largest are the bag (900) and the second sneaker (320); their centres are (17, 45)
        // and (40, 52): further apart across than down, the bag on the left.
        XCTAssertEqual(
            SceneCaptions.captions(for: scene),
            [
                "a bag and two sneakers", "a picture of two sneakers and a bag",
                "a bag and two sneakers on a plain background", "a bag and two sneakers, with a bag to the left of a sneaker",
                "a bag and two sneakers, with a sneaker to the right of a bag"
            ])
        let one = Scene(
            size: 64, pixels: [], mask: [],
            objects: [SceneObject(classIndex: 1, box: SceneBox(x: 44, y: 2, width: 10, height: 20), sourceIndex: 0)],
            captions: [])
        XCTAssertEqual(SceneCaptions.captions(for: one)[3], "a pair of trousers at the top right")
    }

    func testEveryCaptionReadsBackAsItsScenesObjects() throws {
        var config = SceneConfig()
        config.seed = 11
        let generator = try SceneGenerator(source: squares(), config: config)
        for i in 0..<300 {
            let scene = generator.scene(i)
            XCTAssert((3...5).contains(scene.captions.count))
            for caption in scene.captions {
                XCTAssertEqual(SceneCaptions.objectCounts(caption), SceneCaptions.objectCounts(scene), caption)
            }
        }
        XCTAssertEqual(SceneCaptions.objectCounts("three dresses, a coat and two pairs of trousers"), [3: 3, 4: 1, 1: 2])
        XCTAssertNil(SceneCaptions.objectCounts("a bag and a unicorn"))
        XCTAssertNil(SceneCaptions.objectCounts(""))
    }

    func testExportWritesCOCOFilesThatReadBack() throws {
        let generator = try SceneGenerator(source: squares(), config: SceneConfig())
        let dir = NSTemporaryDirectory() + "cortex-scenes-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SceneExport.write(generator, indices: 5..<9, to: dir)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/annotations.json"))) as! [String: Any]
        let annotations = json["annotations"] as! [[String: Any]]
        XCTAssertEqual(annotations.count, (5..<9).map { generator.scene($0).objects.count }.reduce(0, +))
        XCTAssertEqual((json["categories"] as! [[String: Any]]).count, 10)
        let first = generator.scene(5)
        let boxes = annotations.filter { $0["image_id"] as! Int == 5 }.map { $0["bbox"] as! [Double] }
        XCTAssertEqual(boxes, first.objects.map { [$0.box.x, $0.box.y, $0.box.width, $0.box.height] })
        XCTAssertEqual(try PixelImage.read(path: dir + "/images/000005.png").pixels, first.pixels)
        XCTAssertEqual(try PixelImage.read(path: dir + "/masks/000005.png").pixels, first.mask)
        let captions = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/captions.json"))) as! [String: Any]
        XCTAssertEqual(
            (captions["annotations"] as! [[String: Any]]).filter { $0["image_id"] as! Int == 5 }.map { $0["caption"] as! String },
            first.captions)
    }

    func testBadSettingsAndSourcesAreRefused() {
        var config = SceneConfig()
        config.maxScale = 80
        XCTAssertThrowsError(try SceneGenerator(source: squares(), config: config)) {
            XCTAssertEqual("\($0)", "scenes: item scale must satisfy 8 ≤ min ≤ max ≤ scene size 64, got 20…80")
        }
        let small = ImageDataset(channels: 1, height: 8, width: 8, pixels: [UInt8](repeating: 0, count: 64), labels: [0], classNames: FashionMNIST.classNames)
        XCTAssertThrowsError(try SceneGenerator(source: small, config: SceneConfig()))
    }
}
