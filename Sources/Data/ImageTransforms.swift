import Cortex
import Foundation

/// One image `[C, H, W]` of normalised floats that a transform changes in place, with the value
/// a black pixel has in each channel (what padding shows) and a scratch buffer of the same size.
public struct ImageBuffer {
    public let pixels: UnsafeMutablePointer<Float>
    public let channels: Int
    public let height: Int
    public let width: Int
    /// `black[c]`: the normalised value of byte 0 in channel `c`.
    public let black: UnsafePointer<Float>
    /// `channels · height · width` floats a transform may overwrite.
    public let scratch: UnsafeMutablePointer<Float>

    public init(
        pixels: UnsafeMutablePointer<Float>, channels: Int, height: Int, width: Int, black: UnsafePointer<Float>,
        scratch: UnsafeMutablePointer<Float>
    ) {
        self.pixels = pixels
        self.channels = channels
        self.height = height
        self.width = width
        self.black = black
        self.scratch = scratch
    }

    /// Sets rows `top..<top + h`, columns `left..<left + w` of every channel to `value`.
    func fill(top: Int, left: Int, height h: Int, width w: Int, value: Float) {
        for c in 0..<channels {
            for y in top..<(top + h) { (pixels + (c * height + y) * width + left).update(repeating: value, count: w) }
        }
    }
}

/// A random change to one training image; labels are never touched. Transforms compose: the
/// loader applies a list in order, each drawing from the loader's seeded generator.
public protocol ImageTransform: Sendable {
    func apply(to image: ImageBuffer, generator: inout RandomGenerator)
}

/// Random crop with padding (torchvision's `RandomCrop(size, padding: p)`): pad each side with
/// `padding` black pixels and take an H×W window at a uniformly random offset, i.e.
/// `out[c, y, x] = in[c, y + dy, x + dx]` with `dy, dx ∈ [−p, p]` (black outside the image).
public struct RandomCrop: ImageTransform {
    public var padding: Int

    public init(padding: Int) {
        precondition(padding >= 0, "RandomCrop: negative padding \(padding)")
        self.padding = padding
    }

    public func apply(to image: ImageBuffer, generator: inout RandomGenerator) {
        let dy = generator.nextInt(below: 2 * padding + 1) - padding
        let dx = generator.nextInt(below: 2 * padding + 1) - padding
        Self.shift(image, dy: dy, dx: dx)
    }

    /// `out[c, y, x] = in[c, y + dy, x + dx]`, black where that lies outside.
    public static func shift(_ image: ImageBuffer, dy: Int, dx: Int) {
        let (H, W) = (image.height, image.width)
        image.scratch.update(from: image.pixels, count: image.channels * H * W)
        // Columns whose source lies inside: x + dx ∈ 0..<W.
        let first = min(W, max(0, -dx)), end = max(first, min(W, W - dx))
        for c in 0..<image.channels {
            let black = image.black[c]
            for y in 0..<H {
                let out = image.pixels + (c * H + y) * W
                let sy = y + dy
                guard sy >= 0 && sy < H else {
                    out.update(repeating: black, count: W)
                    continue
                }
                let source = image.scratch + (c * H + sy) * W + dx
                for x in 0..<first { out[x] = black }
                for x in first..<end { out[x] = source[x] }
                for x in end..<W { out[x] = black }
            }
        }
    }
}

/// Mirrors the image left-right with probability `probability` (torchvision's
/// `RandomHorizontalFlip`); right for clothes and most photographs, wrong for digits and text.
public struct RandomHorizontalFlip: ImageTransform {
    public var probability: Float

    public init(probability: Float = 0.5) {
        precondition(probability >= 0 && probability <= 1, "RandomHorizontalFlip: probability \(probability)")
        self.probability = probability
    }

    public func apply(to image: ImageBuffer, generator: inout RandomGenerator) {
        guard generator.nextFloat() < probability else { return }
        Self.mirror(image)
    }

    /// `out[c, y, x] = in[c, y, W − 1 − x]`.
    public static func mirror(_ image: ImageBuffer) {
        let W = image.width
        for row in 0..<(image.channels * image.height) {
            let line = image.pixels + row * W
            var (left, right) = (0, W - 1)
            while left < right {
                swap(&line[left], &line[right])
                left += 1
                right -= 1
            }
        }
    }
}

/// Random erasing (Zhong et al. 2020, torchvision's `RandomErasing`): with probability
/// `probability`, a rectangle of area `s·H·W` (s uniform in `scale`) and aspect ratio h/w
/// log-uniform in `ratio`, at a uniform position, is set to `value` in every channel (0 is the
/// dataset mean after normalisation). Up to ten draws look for a rectangle that fits; if none
/// does, the image is left alone.
public struct RandomErasing: ImageTransform {
    public var probability: Float
    public var scale: ClosedRange<Float>
    public var ratio: ClosedRange<Float>
    public var value: Float

    public init(
        probability: Float = 0.5, scale: ClosedRange<Float> = 0.02...0.33, ratio: ClosedRange<Float> = 0.3...3.3,
        value: Float = 0
    ) {
        precondition(
            probability >= 0 && probability <= 1 && scale.lowerBound > 0 && ratio.lowerBound > 0,
            "RandomErasing: probability \(probability), scale \(scale), ratio \(ratio)")
        self.probability = probability
        self.scale = scale
        self.ratio = ratio
        self.value = value
    }

    public func apply(to image: ImageBuffer, generator: inout RandomGenerator) {
        guard generator.nextFloat() < probability else { return }
        let area = Float(image.height * image.width)
        let logRatio = (logf(ratio.lowerBound), logf(ratio.upperBound))
        for _ in 0..<10 {
            let target = area * (scale.lowerBound + generator.nextFloat() * (scale.upperBound - scale.lowerBound))
            let aspect = expf(logRatio.0 + generator.nextFloat() * (logRatio.1 - logRatio.0))
            let h = Int((target * aspect).squareRoot().rounded()), w = Int((target / aspect).squareRoot().rounded())
            guard h >= 1 && w >= 1 && h < image.height && w < image.width else { continue }
            let top = generator.nextInt(below: image.height - h + 1), left = generator.nextInt(below: image.width - w + 1)
            image.fill(top: top, left: left, height: h, width: w, value: value)
            return
        }
    }
}

/// Cutout (DeVries & Taylor 2017): a `size`×`size` square centred on a uniformly random pixel,
/// clipped at the borders, set to `value` in every channel (0, the mean after normalisation).
public struct Cutout: ImageTransform {
    public var size: Int
    public var value: Float

    public init(size: Int, value: Float = 0) {
        precondition(size >= 1, "Cutout: size \(size) must be positive")
        self.size = size
        self.value = value
    }

    public func apply(to image: ImageBuffer, generator: inout RandomGenerator) {
        let cy = generator.nextInt(below: image.height), cx = generator.nextInt(below: image.width)
        Self.erase(image, centreY: cy, centreX: cx, size: size, value: value)
    }

    /// Rows `cy − size/2 ..< cy − size/2 + size` (likewise columns), clipped, set to `value`.
    public static func erase(_ image: ImageBuffer, centreY cy: Int, centreX cx: Int, size: Int, value: Float) {
        let top = max(0, cy - size / 2), bottom = min(image.height, cy - size / 2 + size)
        let left = max(0, cx - size / 2), right = min(image.width, cx - size / 2 + size)
        guard top < bottom && left < right else { return }
        image.fill(top: top, left: left, height: bottom - top, width: right - left, value: value)
    }
}

/// The training-time changes a loader applies to each image: `transforms` in order.
/// `init(cropPadding:horizontalFlip:erasing:cutout:)` builds the usual pipeline
/// crop → flip → erasing → cutout from the run's flags.
public struct ImageAugmentation: Sendable {
    public var transforms: [any ImageTransform]

    public init(_ transforms: [any ImageTransform]) { self.transforms = transforms }

    /// Random crop with `cropPadding` (0: none), a flip with probability ½ when `horizontalFlip`,
    /// random erasing with probability `erasing` (0: none), cutout of side `cutout` (0: none).
    public init(cropPadding: Int = 0, horizontalFlip: Bool = false, erasing: Float = 0, cutout: Int = 0) {
        precondition(cropPadding >= 0, "ImageAugmentation: negative crop padding \(cropPadding)")
        var transforms: [any ImageTransform] = []
        if cropPadding > 0 { transforms.append(RandomCrop(padding: cropPadding)) }
        if horizontalFlip { transforms.append(RandomHorizontalFlip()) }
        if erasing > 0 { transforms.append(RandomErasing(probability: erasing)) }
        if cutout > 0 { transforms.append(Cutout(size: cutout)) }
        self.transforms = transforms
    }

    public static let none = ImageAugmentation([])
    public var isEnabled: Bool { !transforms.isEmpty }
}
