import Data
import Foundation

/// One predicted box: a class, a confidence and the box in pixels (COCO's `bbox`).
public struct Detection: Codable, Equatable, Sendable {
    public var classIndex: Int
    public var score: Double
    public var box: SceneBox

    public init(classIndex: Int, score: Double, box: SceneBox) {
        self.classIndex = classIndex
        self.score = score
        self.box = box
    }
}

/// Class-wise non-maximum suppression (as torchvision's `batched_nms`): within each class,
/// boxes in decreasing score keep their place unless their IoU with a box already kept is
/// above `iouThreshold`. Ties in score keep the input order. Returns the kept detections in
/// decreasing score (ties: input order), at most `limit` of them.
public func nonMaximumSuppression(_ detections: [Detection], iouThreshold: Double, limit: Int = .max) -> [Detection] {
    let order = detections.indices.sorted {
        (detections[$0].score, -$0) > (detections[$1].score, -$1)
    }
    var kept: [Detection] = []
    var keptByClass: [Int: [SceneBox]] = [:]
    for i in order {
        let d = detections[i]
        if keptByClass[d.classIndex, default: []].contains(where: { $0.iou(d.box) > iouThreshold }) { continue }
        keptByClass[d.classIndex, default: []].append(d.box)
        kept.append(d)
        if kept.count == limit { break }
    }
    return kept
}

/// COCO's box evaluation, as pycocotools' `COCOeval` with `iouType='bbox'` computes it for
/// every image counted as not crowded, area range `all` and at most `maxDetections` per image
/// and class (its `maxDets` 100):
///
/// - per image and class, detections in decreasing score (stable) are matched greedily to the
///   unmatched true box of highest IoU, at ten IoU thresholds 0.50:0.05:0.95 (a match needs
///   IoU ≥ threshold);
/// - per class, all detections of all images in decreasing score (stable, images in order)
///   give the precision/recall curve; precision is made monotone (the running maximum from
///   the right) and read at 101 recall points 0:0.01:1 (the first detection reaching that
///   recall; 0 where none does); AP is their mean;
/// - a class without true boxes has no AP (pycocotools: −1) and is left out of the means.
///
/// mAP@0.5 is the mean AP over classes at IoU 0.5; mAP@[.5:.95] the mean over classes and the
/// ten thresholds (pycocotools' `stats[1]` and `stats[0]`).
public struct DetectionEvaluation: Sendable {
    /// IoU thresholds as `np.linspace(.5, .95, 10)` computes them (bit for bit).
    public static let iouThresholds: [Double] = linspace(0.5, 0.95, count: 10)
    /// Recall points as `np.linspace(0, 1, 101)`.
    public static let recallThresholds: [Double] = linspace(0, 1, count: 101)

    /// AP per IoU threshold and class, `[threshold][class]`; nil for a class without true boxes.
    public let averagePrecision: [[Double?]]
    /// True boxes per class.
    public let truthCounts: [Int]

    /// - Parameters:
    ///   - predictions: per image, its detections (any order; ties in score keep this order).
    ///   - truths: per image, its true objects.
    ///   - classes: number of classes (class indices 0..<classes).
    public init(
        predictions: [[Detection]], truths: [[SceneObject]], classes: Int, maxDetections: Int = 100
    ) {
        precondition(
            predictions.count == truths.count,
            "DetectionEvaluation: \(predictions.count) prediction lists for \(truths.count) images")
        let T = Self.iouThresholds.count
        // Per class: every kept detection's score and, per threshold, whether it matched.
        var scores = [[Double]](repeating: [], count: classes)
        var matched = [[[Bool]]](repeating: [[Bool]](repeating: [], count: T), count: classes)
        var counts = [Int](repeating: 0, count: classes)
        for (image, truth) in truths.enumerated() {
            for c in 0..<classes {
                let gt = truth.filter { $0.classIndex == c }.map(\.box)
                counts[c] += gt.count
                let candidates = predictions[image].filter { $0.classIndex == c }
                let order = candidates.indices.sorted {
                    (candidates[$0].score, -$0) > (candidates[$1].score, -$1)
                }.prefix(maxDetections)
                let dt = order.map { candidates[$0] }
                for (t, threshold) in Self.iouThresholds.enumerated() {
                    var taken = [Bool](repeating: false, count: gt.count)
                    for d in dt {
                        var best = min(threshold, 1 - 1e-10)
                        var m = -1
                        for (g, box) in gt.enumerated() where !taken[g] {
                            let iou = d.box.iou(box)
                            if iou < best { continue }
                            best = iou
                            m = g
                        }
                        if m >= 0 { taken[m] = true }
                        matched[c][t].append(m >= 0)
                    }
                }
                scores[c] += dt.map(\.score)
            }
        }
        var ap = [[Double?]](repeating: [Double?](repeating: nil, count: classes), count: T)
        for c in 0..<classes where counts[c] > 0 {
            let order = scores[c].indices.sorted { (scores[c][$0], -$0) > (scores[c][$1], -$1) }
            for t in 0..<T {
                ap[t][c] = Self.interpolatedAP(matches: order.map { matched[c][t][$0] }, truthCount: counts[c])
            }
        }
        averagePrecision = ap
        truthCounts = counts
    }

    /// COCO's 101-point AP of detections in decreasing score, each a true or false positive.
    static func interpolatedAP(matches: [Bool], truthCount: Int) -> Double {
        let n = matches.count
        guard n > 0 else { return 0 }
        var recall = [Double](repeating: 0, count: n)
        var precision = [Double](repeating: 0, count: n)
        var tp = 0.0, fp = 0.0
        for (i, hit) in matches.enumerated() {
            if hit { tp += 1 } else { fp += 1 }
            recall[i] = tp / Double(truthCount)
            precision[i] = tp / (tp + fp + Double.ulpOfOne)
        }
        for i in stride(from: n - 1, to: 0, by: -1) where precision[i] > precision[i - 1] {
            precision[i - 1] = precision[i]
        }
        var sum = 0.0
        var k = 0
        for r in recallThresholds {
            // np.searchsorted(recall, r, side='left'): the first index with recall ≥ r.
            while k < n && recall[k] < r { k += 1 }
            if k < n { sum += precision[k] }
        }
        return sum / Double(recallThresholds.count)
    }

    /// Mean AP over the classes that have true boxes at threshold index `t`; NaN when none has.
    func meanAP(thresholds: [Int]) -> Double {
        var sum = 0.0, n = 0
        for t in thresholds {
            for value in averagePrecision[t] {
                if let value {
                    sum += value
                    n += 1
                }
            }
        }
        return n > 0 ? sum / Double(n) : .nan
    }

    /// mAP at IoU 0.5 (pycocotools' `stats[1]`).
    public var map50: Double { meanAP(thresholds: [0]) }
    /// mAP at IoU 0.75 (pycocotools' `stats[2]`).
    public var map75: Double { meanAP(thresholds: [5]) }
    /// mAP averaged over IoU 0.50:0.05:0.95 (pycocotools' `stats[0]`).
    public var map: Double { meanAP(thresholds: Array(0..<Self.iouThresholds.count)) }

    /// AP per class at IoU 0.5 (nil: no true box of that class).
    public var classAP50: [Double?] { averagePrecision[0] }

    /// "AP@0.5 per class: top 0.833, trouser 0.969, …" ("-" for a class without truth).
    public func classAP50Line(names: [String]) -> String {
        let parts = classAP50.enumerated().map { c, ap in
            "\(c < names.count ? names[c] : "class \(c)") \(ap.map { String(format: "%.3f", $0) } ?? "-")"
        }
        return "AP@0.5 per class: " + parts.joined(separator: ", ")
    }

    /// `np.linspace(start, stop, count)`: `i · step + start` with `step = (stop − start)/(count − 1)`
    /// and the last value exactly `stop`.
    static func linspace(_ start: Double, _ stop: Double, count: Int) -> [Double] {
        let step = (stop - start) / Double(count - 1)
        return (0..<count).map { $0 == count - 1 ? stop : Double($0) * step + start }
    }
}

/// The captioner's object-set accuracy (`CaptionScores`) for a detector: the share of scenes
/// whose detections scoring at least `minScore` name exactly the scene's items, counted by
/// class (two shirts and a bag, no more, no fewer). It tells how far boxes alone get on the
/// captioning goal, from a model trained with box supervision.
public func objectSetAccuracy(detections: [[Detection]], scenes: [Scene], minScore: Double) -> Double {
    precondition(detections.count == scenes.count, "objectSetAccuracy: \(detections.count) detection lists for \(scenes.count) scenes")
    guard !scenes.isEmpty else { return 0 }
    var right = 0
    for (found, scene) in zip(detections, scenes) {
        let counts = found.filter { $0.score >= minScore }.reduce(into: [Int: Int]()) { $0[$1.classIndex, default: 0] += 1 }
        if counts == SceneCaptions.objectCounts(scene) { right += 1 }
    }
    return Double(right) / Double(scenes.count)
}

/// The share of scenes whose items, named by `labels` (one list per scene, in the order of its
/// `objects`), have exactly the scene's classes and counts: the object-set accuracy of a reader
/// that knows where every item is and only has to name it.
public func objectSetAccuracy(scenes: [Scene], labels: [[Int]]) -> Double {
    precondition(labels.count == scenes.count, "objectSetAccuracy: \(labels.count) label lists for \(scenes.count) scenes")
    guard !scenes.isEmpty else { return 0 }
    var right = 0
    for (named, scene) in zip(labels, scenes) {
        precondition(named.count == scene.objects.count, "objectSetAccuracy: \(named.count) labels for \(scene.objects.count) items")
        if named.reduce(into: [Int: Int](), { $0[$1, default: 0] += 1 }) == SceneCaptions.objectCounts(scene) { right += 1 }
    }
    return Double(right) / Double(scenes.count)
}
