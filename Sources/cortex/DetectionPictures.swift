import Data
import Envs
import Foundation
import Recipes

/// Pictures of a detector's results: scenes enlarged ×4 with predicted boxes in a colour per
/// class, labelled with class and score, and the true boxes in grey.
enum DetectionPictures {
    static let scale = 4
    /// One colour per Fashion-MNIST class (Tableau's ten).
    static let palette: [RGB] = [
        RGB(31, 119, 180), RGB(255, 127, 14), RGB(44, 160, 44), RGB(214, 39, 40), RGB(148, 103, 189),
        RGB(140, 86, 75), RGB(227, 119, 194), RGB(188, 189, 34), RGB(23, 190, 207), RGB(255, 255, 255)
    ]
    static let truthColor: [UInt8] = [110, 110, 110]

    /// Scenes side by side (4 per row), each ×4 with its detections at or above `minimumScore`
    /// and, with `showTruth`, its true boxes.
    static func sheet(
        scenes: [Scene], detections: [[Detection]], classNames: [String], minimumScore: Double,
        showTruth: Bool = true, columns: Int = 4
    ) -> PixelImage {
        let side = (scenes.first?.size ?? 64) * scale, gap = 8
        let columns = max(1, min(columns, scenes.count))
        let rows = (scenes.count + columns - 1) / columns
        var canvas = PixelCanvas(
            image: PixelImage(
                width: columns * (side + gap) + gap, height: rows * (side + gap) + gap, fill: [30, 30, 30]))
        for (index, scene) in scenes.enumerated() {
            let x0 = gap + (index % columns) * (side + gap), y0 = gap + (index / columns) * (side + gap)
            canvas.image.paste(scene.image.rgb(), x: x0, y: y0, scale: scale)
            if showTruth {
                for object in scene.objects {
                    let r = rect(object.box, x0: x0, y0: y0)
                    canvas.image.strokeRect(x: r.x, y: r.y, width: r.width, height: r.height, color: truthColor)
                }
            }
            for d in detections[index].reversed() where d.score >= minimumScore {
                let color = palette[d.classIndex % palette.count]
                let r = rect(d.box, x0: x0, y0: y0)
                canvas.image.strokeRect(
                    x: r.x, y: r.y, width: r.width, height: r.height, thickness: 2, color: [color.r, color.g, color.b])
                let label = "\(classNames[d.classIndex]) \(String(format: "%.2f", d.score))"
                let labelY = r.y >= y0 + BitmapFont.glyphHeight + 3 ? r.y - BitmapFont.glyphHeight - 2 : r.y + 3
                let width = label.count * BitmapFont.advance + 2
                canvas.image.fillRect(
                    x: r.x, y: labelY - 1, width: min(width, x0 + side - r.x), height: BitmapFont.glyphHeight + 2,
                    color: [0, 0, 0])
                _ = BitmapFont.drawText(label, into: &canvas, x: r.x + 1, y: labelY, color: color)
            }
        }
        return canvas.image
    }

    static func rect(_ box: SceneBox, x0: Int, y0: Int) -> (x: Int, y: Int, width: Int, height: Int) {
        let s = Double(scale)
        return (
            x0 + Int((box.x * s).rounded()), y0 + Int((box.y * s).rounded()),
            max(2, Int((box.width * s).rounded())), max(2, Int((box.height * s).rounded()))
        )
    }
}
