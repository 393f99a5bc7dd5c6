import Envs

/// Draws a Go position as a picture: a wooden board with its grid and star points, GTP
/// coordinates on all four sides (columns A–T without I, rows numbered from the bottom),
/// stones, the last move marked with a red dot, and the simple-ko point with a small square.
/// `point(atX:y:)` maps a click back to the board.
public struct GoBoardPicture: Sendable {
    public let size: Int
    /// Pixels between neighbouring lines.
    public let cell: Int
    /// Pixels from the picture's edge to the first line (room for the coordinates).
    public let margin: Int

    public static let wood = RGB(220, 179, 92)
    public static let line = RGB(40, 30, 20)
    public static let blackStone = RGB(20, 20, 20)
    public static let whiteStone = RGB(240, 240, 236)
    public static let lastMove = RGB(220, 40, 40)
    public static let label = RGB(60, 45, 25)

    /// A picture about `pixels` wide for a board of `size`.
    public init(size: Int, pixels: Int = 504) {
        precondition((2...25).contains(size), "GoBoardPicture: size \(size) is not 2…25")
        self.size = size
        cell = max(12, pixels / (size + 1))
        margin = cell * 5 / 4
    }

    /// Width of the strip along each edge that edge stones leave free, for the coordinates.
    private var labelBand: Int { margin - cell / 2 }

    public var width: Int { 2 * margin + (size - 1) * cell }
    public var height: Int { width }

    /// The board point under picture pixel (x, y), or nil off the grid.
    public func point(atX x: Int, y: Int) -> GoPoint? {
        let column = Int((Double(x - margin) / Double(cell)).rounded())
        let row = Int((Double(y - margin) / Double(cell)).rounded())
        guard (0..<size).contains(column), (0..<size).contains(row) else { return nil }
        return GoPoint(column: column, row: row)
    }

    /// The picture of `board`.
    public func draw(_ board: GoBoard) -> Frame {
        precondition(
            board.size == size,
            "GoBoardPicture.draw: board \(board.size)×\(board.size), picture made for \(size)×\(size)")
        var frame = Frame(width: width, height: height, fill: Self.wood)
        let span = (size - 1) * cell
        for i in 0..<size {
            frame.fillRect(x: margin, y: margin + i * cell, width: span + 1, height: 1, color: Self.line)
            frame.fillRect(x: margin + i * cell, y: margin, width: 1, height: span + 1, color: Self.line)
        }
        for p in starPoints { disc(&frame, p, radius: max(2, cell / 10), color: Self.line) }
        drawCoordinates(&frame)
        let radius = cell / 2 - 1
        for row in 0..<size {
            for column in 0..<size {
                let p = GoPoint(column: column, row: row)
                switch board[p] {
                case .black?:
                    disc(&frame, p, radius: radius, color: Self.blackStone)
                case .white?:
                    disc(&frame, p, radius: radius, color: Self.line)
                    disc(&frame, p, radius: radius - 1, color: Self.whiteStone)
                case nil:
                    if board.koPoint == p {
                        let (x, y) = centre(p), h = max(2, cell / 6)
                        frame.fillRect(x: x - h, y: y - h, width: 2 * h + 1, height: 2 * h + 1, color: Self.line)
                    }
                }
            }
        }
        if case .play(let p)? = board.lastMove { disc(&frame, p, radius: max(2, cell / 6), color: Self.lastMove) }
        return frame
    }

    private func centre(_ p: GoPoint) -> (Int, Int) { (margin + p.column * cell, margin + p.row * cell) }

    /// The usual hoshi: 3-3 points (4-4 from 13×13 up), sides and centre on odd boards.
    private var starPoints: [GoPoint] {
        guard size >= 7 else { return [] }
        let lo = size >= 13 ? 3 : 2, hi = size - 1 - lo, mid = size / 2
        var points = [
            GoPoint(column: lo, row: lo), GoPoint(column: hi, row: lo),
            GoPoint(column: lo, row: hi), GoPoint(column: hi, row: hi)
        ]
        if size % 2 == 1 {
            points.append(GoPoint(column: mid, row: mid))
            if size >= 13 {
                points += [
                    GoPoint(column: lo, row: mid), GoPoint(column: hi, row: mid),
                    GoPoint(column: mid, row: lo), GoPoint(column: mid, row: hi)
                ]
            }
        }
        return points
    }

    private func drawCoordinates(_ frame: inout Frame) {
        let scale = cell >= 28 ? 2 : 1
        let glyph = BitmapFont.glyphHeight * scale
        for i in 0..<size {
            let letter = String(GoPoint.columnLetters[i])
            let number = String(size - i)
            let x = margin + i * cell, y = margin + i * cell
            let letterWidth = BitmapFont.width(of: letter, scale: scale)
            let numberWidth = BitmapFont.width(of: number, scale: scale)
            for top in [(labelBand - glyph) / 2, height - (labelBand + glyph) / 2] {
                _ = BitmapFont.draw(
                    letter, into: &frame, x: x - letterWidth / 2, y: top, color: Self.label, scale: scale)
            }
            for left in [(labelBand - numberWidth) / 2, width - (labelBand + numberWidth) / 2] {
                _ = BitmapFont.draw(number, into: &frame, x: left, y: y - glyph / 2, color: Self.label, scale: scale)
            }
        }
    }

    private func disc(_ frame: inout Frame, _ p: GoPoint, radius: Int, color: RGB) {
        let (cx, cy) = centre(p)
        let r2 = radius * radius + radius  // rounder edge than r² alone
        for dy in -radius...radius {
            var half = 0
            while (half + 1) * (half + 1) + dy * dy <= r2 { half += 1 }
            frame.fillRect(x: cx - half, y: cy + dy, width: 2 * half + 1, height: 1, color: color)
        }
    }
}
