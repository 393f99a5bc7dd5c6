import Cortex
import Data
import Foundation
import Models

/// How the detector's loss terms are weighted and which predictions count as background.
public struct DetectionLossWeights: Codable, Equatable, Sendable {
    /// Weight of the box regression (YOLO's λ_coord = 5).
    public var box: Float = 5
    /// Weight of the objectness BCE at the anchor responsible for an object.
    public var object: Float = 1
    /// Weight of the objectness BCE at every other anchor (YOLO's λ_noobj; 1 with BCE, whose
    /// gradient already vanishes on confident background).
    public var noObject: Float = 1
    /// Weight of the class cross-entropy at responsible anchors.
    public var classification: Float = 1
    /// An anchor that is not responsible but whose predicted box overlaps a true box with at
    /// least this IoU is left out of the background term (YOLOv2/v3's ignore threshold).
    public var ignoreIoU: Double = 0.6
    /// Those ignored anchors also learn the class of the true box they overlap most, so that
    /// neighbours which fire on an object name it rightly (more class examples per object;
    /// +0.04 mAP@0.5 after 1,000 steps, measured in docs/vision.md).
    public var overlapClasses = true

    public init() {}
}

/// The targets of one batch for the detector's output, laid out as the output seen as
/// `[B, A, 5 + K, S·S]`.
public struct DetectionTargets {
    /// σ(tx), σ(ty) targets (cell offsets in [0, 1)) `[B, A, 2, S·S]`.
    public var offsets: Tensor
    /// tw, th targets `log(w / p_w)`, `log(h / p_h)` `[B, A, 2, S·S]`.
    public var sizes: Tensor
    /// 1 where an anchor is responsible for an object `[B, A, 1, S·S]`.
    public var responsible: Tensor
    /// Per-anchor weight of the objectness BCE (object, background or 0 when ignored) `[B, A, 1, S·S]`.
    public var objectWeights: Tensor
    /// One-hot class at responsible anchors, zeros elsewhere `[B, A, K, S·S]`.
    public var classes: Tensor
}

/// YOLOv2's box coding, the loss and the decoding into detections, for a `Detector`.
///
/// An object belongs to the cell holding its centre and, in it, to the anchor whose shape
/// (both centred) overlaps its box best — YOLOv2's assignment. Its targets are the centre's
/// offset in the cell, `σ(tx) = cx/stride − j`, and the log size ratio to the anchor,
/// `tw = log(w / p_w)`.
///
/// Loss per image (summed over anchors, averaged over the batch):
/// `λ_box Σ_resp [(σ(tx) − σ̂x)² + (σ(ty) − σ̂y)² + (tw − t̂w)² + (th − t̂h)²]`
/// `+ λ_obj Σ_resp BCE(o, 1) + λ_noobj Σ_other,not ignored BCE(o, 0)`
/// `+ λ_cls Σ_resp CE(class logits, class)`, where with `overlapClasses` the class term also
/// covers the ignored anchors (with the class of the box each overlaps most).
/// Mean squared error in YOLOv2's parametrisation was chosen over GIoU for its exact,
/// everywhere-smooth gradient that a finite-difference test checks, and because the log size
/// ratio already makes the error scale-free; GIoU was not measured.
public struct DetectionCoder: Sendable {
    public let config: DetectorNetworkConfig

    public init(config: DetectorNetworkConfig) { self.config = config }

    /// Intersection over union of two boxes of sizes `a` and `b` sharing their centre.
    static func shapeIoU(_ a: (Double, Double), _ b: (Double, Double)) -> Double {
        let inter = min(a.0, b.0) * min(a.1, b.1)
        return inter / (a.0 * a.1 + b.0 * b.1 - inter)
    }

    /// The cell row and column, the anchor and the four box targets of `box`.
    public func encode(_ box: SceneBox) -> (row: Int, column: Int, anchor: Int, targets: [Double]) {
        let stride = Double(config.stride), S = config.gridSize
        let column = max(0, min(S - 1, Int((box.centerX / stride).rounded(.down))))
        let row = max(0, min(S - 1, Int((box.centerY / stride).rounded(.down))))
        var anchor = 0, best = -1.0
        for (a, p) in config.anchors.enumerated() {
            let iou = Self.shapeIoU((box.width, box.height), (p[0], p[1]))
            if iou > best {
                best = iou
                anchor = a
            }
        }
        let p = config.anchors[anchor]
        let targets = [
            box.centerX / stride - Double(column), box.centerY / stride - Double(row),
            log(max(box.width, 1e-3) / p[0]), log(max(box.height, 1e-3) / p[1])
        ]
        return (row, column, anchor, targets)
    }

    /// The box that raw values `tx, ty, tw, th` of anchor `anchor` in cell (`row`, `column`)
    /// stand for (not clipped).
    public func decode(tx: Float, ty: Float, tw: Float, th: Float, row: Int, column: Int, anchor: Int) -> SceneBox {
        let stride = Double(config.stride), p = config.anchors[anchor]
        let cx = (Double(column) + sigmoid(Double(tx))) * stride
        let cy = (Double(row) + sigmoid(Double(ty))) * stride
        let w = p[0] * Foundation.exp(min(Double(tw), 10)), h = p[1] * Foundation.exp(min(Double(th), 10))
        return SceneBox(x: cx - w / 2, y: cy - h / 2, width: w, height: h)
    }

    func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }

    /// The targets of a batch of scenes' objects. `output` (the network's raw output for the
    /// batch, `[B, A·(5+K), S, S]`) decides which background anchors are ignored.
    public func targets(for objects: [[SceneObject]], output: Tensor?, weights: DetectionLossWeights) -> DetectionTargets {
        let B = objects.count, A = config.anchors.count, K = config.classes, S = config.gridSize
        let SS = S * S, V = config.valuesPerAnchor
        var offsets = [Float](repeating: 0, count: B * A * 2 * SS)
        var sizes = offsets
        var responsible = [Float](repeating: 0, count: B * A * SS)
        var objectWeights = [Float](repeating: weights.noObject, count: B * A * SS)
        var classes = [Float](repeating: 0, count: B * A * K * SS)
        if let output, weights.ignoreIoU < 1 {
            precondition(output.shape == [B, A * V, S, S], "DetectionCoder: output \(output.shape) for \(B) scenes")
            let p = output.storage.pointer
            for b in 0..<B where !objects[b].isEmpty {
                for a in 0..<A {
                    for cell in 0..<SS {
                        let base = (b * A + a) * V * SS + cell
                        let box = decode(
                            tx: p[base], ty: p[base + SS], tw: p[base + 2 * SS], th: p[base + 3 * SS],
                            row: cell / S, column: cell % S, anchor: a)
                        var best = weights.ignoreIoU, match: Int?
                        for object in objects[b] {
                            let iou = object.box.iou(box)
                            if iou >= best {
                                best = iou
                                match = object.classIndex
                            }
                        }
                        guard let match else { continue }
                        objectWeights[(b * A + a) * SS + cell] = 0
                        if weights.overlapClasses { classes[((b * A + a) * K + match) * SS + cell] = 1 }
                    }
                }
            }
        }
        for (b, list) in objects.enumerated() {
            for object in list {
                let (row, column, a, t) = encode(object.box)
                let cell = row * S + column
                let anchorIndex = (b * A + a) * SS + cell
                // A later object in the same cell and anchor takes it over (rare: boxes overlap little).
                for c in 0..<K { classes[((b * A + a) * K + c) * SS + cell] = 0 }
                responsible[anchorIndex] = 1
                objectWeights[anchorIndex] = weights.object
                offsets[((b * A + a) * 2) * SS + cell] = Float(t[0])
                offsets[((b * A + a) * 2 + 1) * SS + cell] = Float(t[1])
                sizes[((b * A + a) * 2) * SS + cell] = Float(t[2])
                sizes[((b * A + a) * 2 + 1) * SS + cell] = Float(t[3])
                classes[((b * A + a) * K + object.classIndex) * SS + cell] = 1
            }
        }
        return DetectionTargets(
            offsets: Tensor(shape: [B, A, 2, SS], data: offsets), sizes: Tensor(shape: [B, A, 2, SS], data: sizes),
            responsible: Tensor(shape: [B, A, 1, SS], data: responsible),
            objectWeights: Tensor(shape: [B, A, 1, SS], data: objectWeights),
            classes: Tensor(shape: [B, A, K, SS], data: classes))
    }

    /// The three loss terms (each summed over anchors and averaged over the batch, weighted)
    /// of raw output `[B, A·(5+K), S, S]`.
    public func loss(_ output: Tensor, targets: DetectionTargets, weights: DetectionLossWeights)
        -> (total: Tensor, box: Tensor, object: Tensor, classification: Tensor)
    {
        let B = output.shape[0], A = config.anchors.count, S = config.gridSize
        let parts = output.reshaped([B, A, config.valuesPerAnchor, S * S]).split(
            sizes: [2, 2, 1, config.classes], axis: 2)
        let (xy, wh, objectness, logits) = (parts[0].sigmoid(), parts[1], parts[2], parts[3])
        let scale = 1 / Float(B)
        let squared = (xy - targets.offsets).pow(2) + (wh - targets.sizes).pow(2)  // (B, A, 2, SS)
        let box = (squared * targets.responsible).sum() * (weights.box * scale)
        let bce = binaryCrossEntropyWithLogits(objectness, targets.responsible, reduction: .none)
        let object = (bce * targets.objectWeights).sum() * scale
        let classification = (logits.logSoftmax(axis: 2) * targets.classes).sum() * (-weights.classification * scale)
        return (box + object + classification, box, object, classification)
    }

    /// Detections of each image of raw output `[B, A·(5+K), S, S]`: every anchor and class with
    /// score σ(objectness)·softmax(class) ≥ `scoreThreshold`, boxes clipped to the image, then
    /// class-wise NMS at `nmsIoU`, at most `maxDetections` per image.
    public func detections(
        _ output: Tensor, scoreThreshold: Double, nmsIoU: Double, maxDetections: Int
    ) -> [[Detection]] {
        let B = output.shape[0], A = config.anchors.count, K = config.classes, S = config.gridSize
        let SS = S * S, V = config.valuesPerAnchor, side = Double(config.imageSize)
        precondition(output.shape == [B, A * V, S, S], "DetectionCoder: output \(output.shape)")
        let p = output.storage.pointer
        var result: [[Detection]] = []
        var probabilities = [Double](repeating: 0, count: K)
        for b in 0..<B {
            var candidates: [Detection] = []
            for a in 0..<A {
                for cell in 0..<SS {
                    let base = (b * A + a) * V * SS + cell
                    let objectness = sigmoid(Double(p[base + 4 * SS]))
                    guard objectness >= scoreThreshold else { continue }
                    var largest = -Double.infinity
                    for c in 0..<K { largest = max(largest, Double(p[base + (5 + c) * SS])) }
                    var total = 0.0
                    for c in 0..<K {
                        probabilities[c] = Foundation.exp(Double(p[base + (5 + c) * SS]) - largest)
                        total += probabilities[c]
                    }
                    var box = decode(
                        tx: p[base], ty: p[base + SS], tw: p[base + 2 * SS], th: p[base + 3 * SS],
                        row: cell / S, column: cell % S, anchor: a)
                    let x0 = max(0, box.x), y0 = max(0, box.y)
                    let x1 = min(side, box.x + box.width), y1 = min(side, box.y + box.height)
                    guard x1 > x0, y1 > y0 else { continue }
                    box = SceneBox(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
                    for c in 0..<K {
                        let score = objectness * probabilities[c] / total
                        if score >= scoreThreshold { candidates.append(Detection(classIndex: c, score: score, box: box)) }
                    }
                }
            }
            result.append(nonMaximumSuppression(candidates, iouThreshold: nmsIoU, limit: maxDetections))
        }
        return result
    }
}

/// Settings of turning the network's output into detections.
public struct DetectionDecoding: Codable, Equatable, Sendable {
    /// Detections below this score (σ(objectness)·class probability) are dropped. Low, as
    /// COCO evaluation wants the whole ranking; raise it for pictures.
    public var scoreThreshold = 0.01
    /// Class-wise NMS IoU threshold.
    public var nmsIoU = 0.5
    /// At most this many detections per image (COCO's maxDets).
    public var maxDetections = 100

    public init() {}
}

/// A trained detector with what it needs to find objects in scenes.
public final class SceneDetector {
    public let network: Detector
    public let coder: DetectionCoder
    public var decoding: DetectionDecoding
    /// Class names by index (Fashion-MNIST's).
    public let classNames: [String]

    public init(network: Detector, decoding: DetectionDecoding = DetectionDecoding(), classNames: [String]) {
        self.network = network
        coder = DetectionCoder(config: network.config)
        self.decoding = decoding
        self.classNames = classNames
    }

    /// Network input `[B, 1, H, W]` (pixels / 255) of scenes.
    public static func input(_ scenes: [Scene]) -> Tensor {
        let side = scenes.first?.size ?? 0
        var values = [Float](repeating: 0, count: scenes.count * side * side)
        for (b, scene) in scenes.enumerated() {
            precondition(scene.size == side, "SceneDetector: scenes of different sizes")
            for i in 0..<(side * side) { values[b * side * side + i] = Float(scene.pixels[i]) * (1 / 255) }
        }
        return Tensor(shape: [scenes.count, 1, side, side], data: values)
    }

    /// Detections of grey images `[B, 1, H, W]` with pixels in 0…1, in evaluation mode.
    public func detect(images: Tensor) -> [[Detection]] {
        network.eval()
        let output = withNoGrad { network(images) }
        return coder.detections(
            output, scoreThreshold: decoding.scoreThreshold, nmsIoU: decoding.nmsIoU,
            maxDetections: decoding.maxDetections)
    }

    public func detect(_ scenes: [Scene]) -> [[Detection]] { detect(images: Self.input(scenes)) }

    /// Checkpoint metadata describing the network and its decoding.
    public func metadata() -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return [
            "model": "detector",
            "config": String(decoding: try! encoder.encode(network.config), as: UTF8.self),
            "decoding": String(decoding: try! encoder.encode(decoding), as: UTF8.self),
            "classes": classNames.joined(separator: ",")
        ]
    }

    /// Loads the detector a `cortex train detector` checkpoint holds; a file that is not one
    /// throws a `TrainingError` naming it.
    public static func load(path: String) throws -> SceneDetector {
        guard FileManager.default.fileExists(atPath: path) else { throw TrainingError("no checkpoint at \(path)") }
        let file = try SafeTensors.read(from: path)
        guard file.metadata["model"] == "detector", let text = file.metadata["config"],
            let config = try? JSONDecoder().decode(DetectorNetworkConfig.self, from: Data(text.utf8)),
            config.problem == nil, config.imageSize <= 1024, config.widths.allSatisfy({ $0 <= 1024 })
        else {
            throw TrainingError("\(path) is not a detector checkpoint (metadata 'model' should be detector, with its sizes)")
        }
        let decoding =
            file.metadata["decoding"].flatMap { try? JSONDecoder().decode(DetectionDecoding.self, from: Data($0.utf8)) }
            ?? DetectionDecoding()
        var names = file.metadata["classes"]?.split(separator: ",").map(String.init) ?? []
        if names.count != config.classes { names = (0..<config.classes).map { "class \($0)" } }
        var generator = RandomGenerator(seed: 0)
        let network = Detector(config, generator: &generator)
        try Checkpoint.load(into: network, from: path)
        return SceneDetector(network: network, decoding: decoding, classNames: names)
    }
}
