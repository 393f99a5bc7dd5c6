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
