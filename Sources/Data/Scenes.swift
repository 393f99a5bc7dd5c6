import Cortex
import Foundation

/// How scenes are drawn. Every default lives here; `cortex scenes` and the scene trainers
/// (detector, captioner, segmenter) take these as flags.
public struct SceneConfig: Codable, Equatable, Sendable {
    /// Canvas side in pixels (square, grey).
    public var size = 64
    /// Objects per scene, drawn uniformly in `minObjects...maxObjects`.
    public var minObjects = 1
    public var maxObjects = 4
    /// Side of a pasted item in pixels (the 28×28 picture is resized to a square of this side).
    public var minScale = 20
    public var maxScale = 40
    /// Largest intersection-over-union allowed between the boxes of two items of one scene.
    public var maxOverlap = 0.2
    /// `plain` (black), `noise` (uniform grey noise under the items) or `texture` (faint stripes).
    public var background = "plain"
    public var seed: UInt64 = 0

    public init() {}

    public static let backgrounds = ["plain", "noise", "texture"]

    /// Why these settings cannot make scenes, or nil.
    public var problem: String? {
        if size < 16 || size > 1024 { return "scene size must be 16…1024 pixels, got \(size)" }
        if minObjects < 1 || maxObjects < minObjects || maxObjects > 16 {
            return "objects per scene must satisfy 1 ≤ min ≤ max ≤ 16, got \(minObjects)…\(maxObjects)"
        }
        if minScale < 8 || maxScale < minScale || maxScale > size {
            return "item scale must satisfy 8 ≤ min ≤ max ≤ scene size \(size), got \(minScale)…\(maxScale)"
        }
        if !(0...1).contains(maxOverlap) { return "max overlap is an IoU in 0…1, got \(maxOverlap)" }
        if !SceneConfig.backgrounds.contains(background) {
            return "background must be one of \(SceneConfig.backgrounds.joined(separator: ", ")), got \(background)"
        }
        return nil
    }
}

/// A box in pixels: `x, y` the top-left corner, `width × height` its extent (COCO's `bbox`).
public struct SceneBox: Codable, Equatable, Sendable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var area: Double { max(0, width) * max(0, height) }
    public var centerX: Double { x + width / 2 }
    public var centerY: Double { y + height / 2 }

    /// Intersection over union; 0 when either box is empty.
    public func iou(_ other: SceneBox) -> Double {
        let w = min(x + width, other.x + other.width) - max(x, other.x)
        let h = min(y + height, other.y + other.height) - max(y, other.y)
        guard w > 0, h > 0 else { return 0 }
        let inter = w * h
        let union = area + other.area - inter
        return union > 0 ? inter / union : 0
    }
}

/// One pasted item.
public struct SceneObject: Codable, Equatable, Sendable {
    /// Fashion-MNIST class, 0…9.
    public var classIndex: Int
    /// Tight box around the item's own pixels (those at or above `Scene.inkThreshold`).
    public var box: SceneBox
    /// Index of the source picture in the Fashion-MNIST split it came from.
    public var sourceIndex: Int

    public init(classIndex: Int, box: SceneBox, sourceIndex: Int) {
        self.classIndex = classIndex
        self.box = box
        self.sourceIndex = sourceIndex
    }
}

/// A scene: a grey canvas, its items with their boxes, a per-pixel class mask and captions.
public struct Scene: Equatable, Sendable {
    /// Pixels at or above this value (after resizing) belong to their item in the mask and box.
    public static let inkThreshold: UInt8 = 32
    public let size: Int
    /// `size × size` grey pixels, row-major.
    public var pixels: [UInt8]
    /// `size × size`: 0 background, `1 + class` where an item's pixel is visible (later items
    /// cover earlier ones).
    public var mask: [UInt8]
    public var objects: [SceneObject]
    /// Reference captions (3–5), from `SceneCaptions`.
    public var captions: [String]

    public init(size: Int, pixels: [UInt8], mask: [UInt8], objects: [SceneObject], captions: [String]) {
        self.size = size
        self.pixels = pixels
        self.mask = mask
        self.objects = objects
        self.captions = captions
    }

    public var image: PixelImage { PixelImage(width: size, height: size, channels: 1, pixels: pixels) }

    /// Pixels scaled to 0…1, `[size × size]` (one channel), for a network's input.
    public func floatPixels() -> [Float] { pixels.map { Float($0) * (1 / 255) } }

    /// The square around `box` — centred on it, of side its longer edge, as Fashion-MNIST frames
    /// an item with its longer edge across the picture — resampled bilinearly to `side × side`
    /// (pixel centres at half-integers, zeros outside the scene): an item cut out for a classifier.
    public func crop(_ box: SceneBox, side: Int = 28) -> [UInt8] {
        let extent = max(box.width, box.height), scale = extent / Double(side)
        let left = box.x + box.width / 2 - extent / 2, top = box.y + box.height / 2 - extent / 2
        func pixel(_ x: Int, _ y: Int) -> Double {
            x >= 0 && x < size && y >= 0 && y < size ? Double(pixels[y * size + x]) : 0
        }
        var out = [UInt8](repeating: 0, count: side * side)
        for v in 0..<side {
            let sy = top + (Double(v) + 0.5) * scale - 0.5
            let y0 = Int(sy.rounded(.down)), fy = sy - Double(y0)
            for u in 0..<side {
                let sx = left + (Double(u) + 0.5) * scale - 0.5
                let x0 = Int(sx.rounded(.down)), fx = sx - Double(x0)
                let upper = pixel(x0, y0) * (1 - fx) + pixel(x0 + 1, y0) * fx
                let lower = pixel(x0, y0 + 1) * (1 - fx) + pixel(x0 + 1, y0 + 1) * fx
                out[v * side + u] = UInt8(min(255, max(0, (upper * (1 - fy) + lower * fy).rounded())))
            }
        }
        return out
    }
}

/// Scenes built from Fashion-MNIST items, as Multi-MNIST and "MNIST detection" sets are built
/// in teaching material: 1–4 items resized to 20–40 pixels and pasted on a 64×64 canvas at
/// random places with limited overlap, so boxes, masks and captions are known exactly.
///
/// Scene `i` depends only on `(config, i)` and the source split, so a trainer draws scene `i`
/// of an epoch on the fly and a test set is the same on every machine. Test scenes take their
/// items from Fashion-MNIST's test split only.
public struct SceneGenerator: Sendable {
    public let config: SceneConfig
    public let source: ImageDataset

    public init(source: ImageDataset, config: SceneConfig) throws {
        if let problem = config.problem { throw DataError.invalidArgument("scenes: \(problem)") }
        guard source.channels == 1, source.height == 28, source.width == 28, source.count > 0,
            source.classCount == 10
        else {
            throw DataError.invalidArgument(
                "scenes need Fashion-MNIST's 28×28 grey pictures of ten classes, got \(source.count) of \(source.channels)×\(source.height)×\(source.width)"
            )
        }
        self.config = config
        self.source = source
    }

    /// Scene number `index` (any integer ≥ 0).
    public func scene(_ index: Int) -> Scene {
        var random = RandomGenerator(seed: SceneGenerator.mix(config.seed, UInt64(index)))
        let n = config.size
        var pixels = [UInt8](repeating: 0, count: n * n)
        var mask = [UInt8](repeating: 0, count: n * n)
        drawBackground(&pixels, random: &random)
        let wanted = config.minObjects + random.nextInt(below: config.maxObjects - config.minObjects + 1)
        var objects: [SceneObject] = []
        var item = [UInt8](repeating: 0, count: config.maxScale * config.maxScale)
        for _ in 0..<wanted {
            // Up to 50 tries to place an item within the overlap limit; a scene may hold fewer.
            for _ in 0..<50 {
                let sourceIndex = random.nextInt(below: source.count)
                let side = config.minScale + random.nextInt(below: config.maxScale - config.minScale + 1)
                let left = random.nextInt(below: n - side + 1)
                let top = random.nextInt(below: n - side + 1)
                SceneGenerator.resize(source: source, index: sourceIndex, side: side, into: &item)
                guard let local = SceneGenerator.inkBox(item, side: side) else { continue }
                let box = SceneBox(
                    x: Double(left + local.x0), y: Double(top + local.y0),
                    width: Double(local.x1 - local.x0 + 1), height: Double(local.y1 - local.y0 + 1))
                if objects.contains(where: { $0.box.iou(box) > config.maxOverlap }) { continue }
                let label = source.labels[sourceIndex]
                for y in 0..<side {
                    for x in 0..<side {
                        let v = item[y * side + x]
                        guard v >= Scene.inkThreshold else { continue }
                        let p = (top + y) * n + left + x
                        pixels[p] = v
                        mask[p] = UInt8(1 + label)
                    }
                }
                objects.append(SceneObject(classIndex: label, box: box, sourceIndex: sourceIndex))
                break
            }
        }
        // Boxes of items later covered in part keep their full extent, as an annotator draws them.
        var scene = Scene(size: n, pixels: pixels, mask: mask, objects: objects, captions: [])
        scene.captions = SceneCaptions.captions(for: scene, background: config.background)
        return scene
    }

    private func drawBackground(_ pixels: inout [UInt8], random: inout RandomGenerator) {
        let n = config.size
        switch config.background {
        case "noise":
            for i in 0..<pixels.count { pixels[i] = UInt8(random.nextInt(below: 24)) }
        case "texture":
            let angle = random.nextDouble() * Double.pi
            let period = 6 + random.nextDouble() * 10
            let (c, s) = (cos(angle), sin(angle))
            for y in 0..<n {
                for x in 0..<n {
                    let t = (Double(x) * c + Double(y) * s) * 2 * Double.pi / period
                    pixels[y * n + x] = UInt8(12 + 10 * sin(t))
                }
            }
        default: break
        }
    }

    /// Bilinear resize of source picture `index` to `side × side` into `out`.
    static func resize(source: ImageDataset, index: Int, side: Int, into out: inout [UInt8]) {
        let base = index * 784
        let scale = 28.0 / Double(side)
        source.pixels.withUnsafeBufferPointer { p in
            for y in 0..<side {
                let sy = max(0, min(27, (Double(y) + 0.5) * scale - 0.5))
                let y0 = Int(sy), y1 = min(27, y0 + 1)
                let fy = sy - Double(y0)
                for x in 0..<side {
                    let sx = max(0, min(27, (Double(x) + 0.5) * scale - 0.5))
                    let x0 = Int(sx), x1 = min(27, x0 + 1)
                    let fx = sx - Double(x0)
                    let top = Double(p[base + y0 * 28 + x0]) * (1 - fx) + Double(p[base + y0 * 28 + x1]) * fx
                    let bottom = Double(p[base + y1 * 28 + x0]) * (1 - fx) + Double(p[base + y1 * 28 + x1]) * fx
                    out[y * side + x] = UInt8(min(255, (top * (1 - fy) + bottom * fy).rounded()))
                }
            }
        }
    }

    /// The inclusive extent of the pixels at or above the ink threshold, or nil for a blank item.
    static func inkBox(_ item: [UInt8], side: Int) -> (x0: Int, y0: Int, x1: Int, y1: Int)? {
        var x0 = side, y0 = side, x1 = -1, y1 = -1
        for y in 0..<side {
            for x in 0..<side where item[y * side + x] >= Scene.inkThreshold {
                x0 = min(x0, x)
                x1 = max(x1, x)
                y0 = min(y0, y)
                y1 = max(y1, y)
            }
        }
        return x1 < 0 ? nil : (x0, y0, x1, y1)
    }

    /// SplitMix64 of the seed and index: independent streams per scene.
    static func mix(_ seed: UInt64, _ index: UInt64) -> UInt64 {
        var z = seed &+ 0x9E37_79B9_7F4A_7C15 &* (index &+ 1)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The captions' grammar. Every caption names every object of its scene with its count, so
/// a caption's object set can be read back (`objectCounts`):
///
///     caption  := list [", with " relation | " at the " place | " on a " background " background"]
///               | "a picture of " list
///     list     := item ("and" item | ", " item … " and " item)
///     item     := count noun                         ("a bag", "two sneakers", "a pair of trousers")
///     relation := item-of-one ("to the left of" | "to the right of" | "above" | "below") item-of-one
///     place    := "top left" | "top" | "top right" | "left" | "middle" | "right" | "bottom left" | …
///
/// Lists go left to right by each class's leftmost item. Relations compare the centres of the
/// two largest items: horizontal when the centres are further apart across than down.
public enum SceneCaptions {
    /// Singular nouns, by Fashion-MNIST class.
    public static let nouns = [
        "top", "pair of trousers", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"
    ]
    public static let plurals = [
        "tops", "pairs of trousers", "pullovers", "dresses", "coats", "sandals", "shirts", "sneakers", "bags", "boots"
    ]
    public static let numbers = ["no", "a", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

    public static func captions(for scene: Scene, background: String = "plain") -> [String] {
        let objects = scene.objects
        guard !objects.isEmpty else { return ["an empty picture", "nothing", "a picture of nothing"] }
        let leftToRight = list(objects, order: .leftToRight)
        var out = [leftToRight, "a picture of " + list(objects, order: .byClass)]
        out.append(leftToRight + " on a \(background) background")
        if objects.count == 1 {
            out.append(leftToRight + " at the " + place(objects[0].box, size: scene.size))
        } else {
            let bySize = objects.indices.sorted { objects[$0].box.area > objects[$1].box.area }
            let (a, b) = (objects[bySize[0]], objects[bySize[1]])
            out.append(leftToRight + ", with " + relation(a, b))
            out.append(leftToRight + ", with " + relation(b, a))
        }
        return out
    }

    enum Order { case leftToRight, byClass }

    static func list(_ objects: [SceneObject], order: Order) -> String {
        var counts: [Int: Int] = [:]
        var leftmost: [Int: Double] = [:]
        for o in objects {
            counts[o.classIndex, default: 0] += 1
            leftmost[o.classIndex] = min(leftmost[o.classIndex] ?? .infinity, o.box.x)
        }
        let classes = counts.keys.sorted {
            order == .byClass ? $0 < $1 : (leftmost[$0]!, $0) < (leftmost[$1]!, $1)
        }
        let items = classes.map { item(class: $0, count: counts[$0]!) }
        if items.count == 1 { return items[0] }
        return items.dropLast().joined(separator: ", ") + " and " + items.last!
    }

    static func item(class c: Int, count: Int) -> String {
        "\(numbers[min(count, numbers.count - 1)]) \(count == 1 ? nouns[c] : plurals[c])"
    }

    static func relation(_ a: SceneObject, _ b: SceneObject) -> String {
        let dx = b.box.centerX - a.box.centerX, dy = b.box.centerY - a.box.centerY
        let word: String
        if abs(dx) >= abs(dy) { word = dx > 0 ? "to the left of" : "to the right of" } else { word = dy > 0 ? "above" : "below" }
        return "\(item(class: a.classIndex, count: 1)) \(word) \(item(class: b.classIndex, count: 1))"
    }

    static func place(_ box: SceneBox, size: Int) -> String {
        func third(_ v: Double) -> Int { min(2, Int(v / (Double(size) / 3))) }
        let rows = ["top", "", "bottom"], cols = ["left", "", "right"]
        let (r, c) = (third(box.centerY), third(box.centerX))
        if r == 1 && c == 1 { return "middle" }
        return [rows[r], cols[c]].filter { !$0.isEmpty }.joined(separator: " ")
    }

    /// The objects a caption names, as counts by class, or nil when its list does not parse.
    /// Only the list is read: the phrase after ", with ", " at the " or " on a " repeats objects.
    public static func objectCounts(_ caption: String) -> [Int: Int]? {
        var text = caption.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("a picture of ") { text.removeFirst("a picture of ".count) }
        for marker in [", with ", " at the ", " on a "] {
            if let r = text.range(of: marker) { text = String(text[..<r.lowerBound]) }
        }
        var parts: [String] = []
        for piece in text.components(separatedBy: ", ") {
            parts += piece.components(separatedBy: " and ")
        }
        var counts: [Int: Int] = [:]
        for part in parts {
            let words = part.split(separator: " ", maxSplits: 1).map(String.init)
            guard words.count == 2, let n = numbers.firstIndex(of: words[0]), n > 0 else { return nil }
            guard let c = (n == 1 ? nouns : plurals).firstIndex(of: words[1]) else { return nil }
            counts[c, default: 0] += n
        }
        return counts.isEmpty ? nil : counts
    }

    /// The counts by class of a scene's objects.
    public static func objectCounts(_ scene: Scene) -> [Int: Int] {
        scene.objects.reduce(into: [:]) { $0[$1.classIndex, default: 0] += 1 }
    }
}

/// Writes scenes as files other tools read: `images/NNNNNN.png` (grey), `masks/NNNNNN.png`
/// (the class mask: 0 background, 1 + class), `annotations.json` (COCO's detection format,
/// category ids 1…10 in Fashion-MNIST's order) and `captions.json` (COCO's caption format).
public enum SceneExport {
    public static func write(
        _ generator: SceneGenerator, indices: Range<Int>, to directory: String,
        onProgress: ((Int) -> Void)? = nil
    ) throws {
        let fm = FileManager.default
        for sub in ["images", "masks"] {
            do {
                try fm.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true)
            } catch {
                throw DataError.writeFailed(path: directory + "/" + sub, reason: error.localizedDescription)
            }
        }
        var images: [[String: Any]] = []
        var boxes: [[String: Any]] = []
        var captions: [[String: Any]] = []
        for (k, i) in indices.enumerated() {
            let scene = generator.scene(i)
            let name = String(format: "%06d.png", i)
            try scene.image.write(to: "\(directory)/images/\(name)")
            try PixelImage(width: scene.size, height: scene.size, channels: 1, pixels: scene.mask)
                .write(to: "\(directory)/masks/\(name)")
            images.append([
                "id": i, "file_name": "images/\(name)", "mask_file": "masks/\(name)", "width": scene.size,
                "height": scene.size
            ])
            for o in scene.objects {
                boxes.append([
                    "id": boxes.count + 1, "image_id": i, "category_id": o.classIndex + 1,
                    "bbox": [o.box.x, o.box.y, o.box.width, o.box.height], "area": o.box.area, "iscrowd": 0
                ])
            }
            for c in scene.captions { captions.append(["id": captions.count + 1, "image_id": i, "caption": c]) }
            onProgress?(k + 1)
        }
        let categories: [[String: Any]] = FashionMNIST.classNames.enumerated().map {
            ["id": $0.offset + 1, "name": $0.element, "supercategory": "clothing"]
        }
        let config = generator.config
        let info: [String: Any] = [
            "description": "Cortex scenes from Fashion-MNIST", "seed": config.seed, "size": config.size,
            "objects": "\(config.minObjects)-\(config.maxObjects)", "scale": "\(config.minScale)-\(config.maxScale)",
            "max_overlap": config.maxOverlap, "background": config.background
        ]
        try writeJSON(
            ["info": info, "images": images, "annotations": boxes, "categories": categories],
            to: directory + "/annotations.json")
        try writeJSON(["info": info, "images": images, "annotations": captions], to: directory + "/captions.json")
    }

    static func writeJSON(_ object: [String: Any], to path: String) throws {
        do {
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            try writeAtomically([UInt8](data), to: path)
        } catch let error as DataError {
            throw error
        } catch {
            throw DataError.writeFailed(path: path, reason: error.localizedDescription)
        }
    }
}
