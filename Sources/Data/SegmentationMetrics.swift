/// Counts of (true class, predicted class) over pixels, and the scores semantic segmentation is
/// reported with: per-class intersection over union, its mean and pixel accuracy.
///
/// `counts[t · classes + p]` is the number of pixels of true class `t` predicted as `p`.
/// For class c, with TP = counts[c, c], FP = Σₜ≠c counts[t, c], FN = Σₚ≠c counts[c, p]:
/// `IoU_c = TP / (TP + FP + FN)`. A class that appears in neither the truth nor the prediction
/// (TP + FP + FN = 0) has no IoU (nil) and is left out of the mean, as mmsegmentation's `nanmean`
/// and torchmetrics' `MulticlassJaccardIndex` (which drops such classes from the average) do; a
/// class predicted but never true has IoU 0 and counts.
public struct ConfusionMatrix: Equatable, Sendable {
    public let classes: Int
    public private(set) var counts: [Int]

    public init(classes: Int) {
        precondition(classes >= 1, "ConfusionMatrix: needs at least one class, got \(classes)")
        self.classes = classes
        counts = [Int](repeating: 0, count: classes * classes)
    }

    /// Adds one pixel per position of `truth` and `prediction` (class indices, same length).
    public mutating func add<T: BinaryInteger, P: BinaryInteger>(truth: [T], prediction: [P]) {
        precondition(
            truth.count == prediction.count,
            "ConfusionMatrix.add: \(truth.count) true pixels but \(prediction.count) predicted")
        let n = classes
        counts.withUnsafeMutableBufferPointer { c in
            for (t, p) in zip(truth, prediction) {
                let ti = Int(t), pi = Int(p)
                precondition(ti >= 0 && ti < n && pi >= 0 && pi < n, "ConfusionMatrix.add: class \(ti) or \(pi) outside 0..<\(n)")
                c[ti * n + pi] += 1
            }
        }
    }

    public subscript(truth: Int, prediction: Int) -> Int { counts[truth * classes + prediction] }

    /// Intersection over union of class `c`, or nil when the class is in neither truth nor prediction.
    public func iou(_ c: Int) -> Double? {
        var truePixels = 0, predictedPixels = 0
        for k in 0..<classes {
            truePixels += self[c, k]
            predictedPixels += self[k, c]
        }
        let union = truePixels + predictedPixels - self[c, c]
        return union == 0 ? nil : Double(self[c, c]) / Double(union)
    }

    /// Mean IoU over `classes` (default: all) that have one; NaN when none has.
    public func meanIoU(over classes: [Int]? = nil) -> Double {
        let values = (classes ?? Array(0..<self.classes)).compactMap(iou)
        return values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
    }

    /// Fraction of pixels whose predicted class is the true one; NaN when empty.
    public var pixelAccuracy: Double {
        let total = counts.reduce(0, +)
        let right = (0..<classes).reduce(0) { $0 + self[$1, $1] }
        return total == 0 ? .nan : Double(right) / Double(total)
    }

    /// Pixels of each true class.
    public var truePixels: [Int] { (0..<classes).map { t in (0..<classes).reduce(0) { $0 + self[t, $1] } } }
}

/// Region voting over a per-pixel prediction, after Farabet et al. 2013 ("Learning Hierarchical
/// Features for Scene Labeling"), who give every pixel of a segment (there: a superpixel) the class
/// its pixels' predicted distributions favour together. Here a segment is a 4-connected component
/// of pixels predicted as foreground (argmax not `background`); each component takes the object
/// class whose probability, summed over its pixels, is largest, so one item is no longer split
/// between look-alike classes (a shirt's sleeves read as a coat). Background pixels keep their
/// class; two touching items of different classes become one segment and take one class (the
/// trade measured in docs/vision.md, "Segmentation").
public enum RegionVote {
    /// Voted classes `[H·W]` (row-major) of one image's class probabilities `probabilities[k·H·W + i]`
    /// (K planes of H·W, as one image of a `[B, K, H, W]` softmax), background class `background`.
    public static func apply(
        probabilities: UnsafeBufferPointer<Float>, classes K: Int, height H: Int, width W: Int, background: Int = 0
    ) -> [Int] {
        let plane = H * W
        precondition(K >= 2 && probabilities.count == K * plane, "RegionVote: \(probabilities.count) values for \(K)×\(H)×\(W)")
        var label = [Int](repeating: 0, count: plane)
        for i in 0..<plane {
            var best = 0
            var bestValue = probabilities[i]
            for k in 1..<K where probabilities[k * plane + i] > bestValue {
                best = k
                bestValue = probabilities[k * plane + i]
            }
            label[i] = best
        }
        var seen = [Bool](repeating: false, count: plane)
        var component: [Int] = [], stack: [Int] = []
        var votes = [Float](repeating: 0, count: K)
        for start in 0..<plane where !seen[start] && label[start] != background {
            component.removeAll(keepingCapacity: true)
            stack.append(start)
            seen[start] = true
            while let i = stack.popLast() {
                component.append(i)
                let y = i / W, x = i % W
                for (ny, nx) in [(y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)] where ny >= 0 && ny < H && nx >= 0 && nx < W {
                    let j = ny * W + nx
                    if !seen[j] && label[j] != background {
                        seen[j] = true
                        stack.append(j)
                    }
                }
            }
            for k in 0..<K { votes[k] = 0 }
            for i in component {
                for k in 0..<K where k != background { votes[k] += probabilities[k * plane + i] }
            }
            var winner = background == 0 ? 1 : 0
            for k in 0..<K where k != background && votes[k] > votes[winner] { winner = k }
            for i in component { label[i] = winner }
        }
        return label
    }

    /// Voted classes `[B·H·W]` of a batch of class probabilities `[B, K, H, W]` (flat, row-major).
    public static func apply(
        batch probabilities: [Float], images B: Int, classes K: Int, height H: Int, width W: Int, background: Int = 0
    ) -> [Int] {
        precondition(probabilities.count == B * K * H * W, "RegionVote: \(probabilities.count) values for \(B)×\(K)×\(H)×\(W)")
        var out: [Int] = []
        out.reserveCapacity(B * H * W)
        probabilities.withUnsafeBufferPointer { p in
            for b in 0..<B {
                let image = UnsafeBufferPointer(rebasing: p[(b * K * H * W)..<((b + 1) * K * H * W)])
                out += apply(probabilities: image, classes: K, height: H, width: W, background: background)
            }
        }
        return out
    }
}
