import Data
import Envs
import Foundation
import Models

/// A `PixelImage` (RGB) as a canvas for the games' bitmap font, so captions can be drawn on it.
struct PixelCanvas: Canvas {
    var image: PixelImage
    var width: Int { image.width }
    var height: Int { image.height }

    mutating func fillRect(x: Int, y: Int, width: Int, height: Int, color: RGB) {
        image.fillRect(x: x, y: y, width: width, height: height, color: [color.r, color.g, color.b])
    }
}

/// Pictures of a classifier's results: labelled grids and attention maps.
enum VisionPictures {
    static let correctColor = RGB(0, 130, 0)
    static let mistakeColor = RGB(210, 0, 0)
    static let trueColor = RGB(60, 60, 60)
    /// Scale of the 28×28 images in a cell.
    static let scale = 3

    /// Caption text cut to what fits in `width` pixels at font scale 1.
    static func fit(_ text: String, width: Int) -> String {
        let characters = max(1, (width + 1) / BitmapFont.advance)
        return text.count <= characters ? text : String(text.prefix(characters - 1)) + "."
    }

    /// A grid of `images` (each scaled ×3) with two caption lines each: the prediction (green
    /// when right, red when wrong) and the true class; mistakes also get a red frame.
    static func grid(
        images: [PixelImage], predicted: [Int], truth: [Int], classNames: [String],
        columns: Int = 8
    ) -> PixelImage {
        captionedGrid(
            images.map { $0.scaled(by: scale) }, predicted: predicted, truth: truth,
            classNames: classNames, columns: columns, markMistakes: true)
    }

    /// Each image (scaled ×3) with its attention map over the `gridSize × gridSize` patches laid
    /// over it, captioned as in `grid`.
    static func attention(
        images: [PixelImage], maps: [[Float]], gridSize: Int, predicted: [Int], truth: [Int],
        classNames: [String], columns: Int = 8
    ) -> PixelImage {
        let overlaid = zip(images, maps).map { image, map in
            image.scaled(by: scale).overlaying(heat: map, heatWidth: gridSize, heatHeight: gridSize, opacity: 0.5)
        }
        return captionedGrid(
            overlaid, predicted: predicted, truth: truth, classNames: classNames,
            columns: columns, markMistakes: false)
    }

    private static func captionedGrid(
        _ cells: [PixelImage], predicted: [Int], truth: [Int], classNames: [String],
        columns: Int, markMistakes: Bool
    ) -> PixelImage {
        let side = cells.map { max($0.width, $0.height) }.max() ?? 84
        let captionHeight = 2 * (BitmapFont.glyphHeight + 3) + 2
        var grid = ImageGrid(
            count: cells.count, columns: columns, cellWidth: max(side, 16 * BitmapFont.advance),
            cellHeight: side, captionHeight: captionHeight, padding: 6)
        for (index, image) in cells.enumerated() { grid.place(image, at: index) }
        var canvas = PixelCanvas(image: grid.canvas)
        for index in cells.indices {
            let right = predicted[index] == truth[index]
            let caption = grid.captionRect(at: index)
            BitmapFont.drawText(
                fit(classNames[predicted[index]], width: caption.width), into: &canvas,
                x: caption.x + 1, y: caption.y + 2, color: right ? correctColor : mistakeColor)
            BitmapFont.drawText(
                fit("true " + classNames[truth[index]], width: caption.width), into: &canvas,
                x: caption.x + 1, y: caption.y + BitmapFont.glyphHeight + 5, color: trueColor)
            if markMistakes && !right {
                let frame = grid.cellRect(at: index)
                canvas.image.strokeRect(
                    x: frame.x - 3, y: frame.y - 3, width: frame.width + 6,
                    height: frame.height + captionHeight + 6, thickness: 2,
                    color: [mistakeColor.r, mistakeColor.g, mistakeColor.b])
            }
        }
        return canvas.image
    }
}
