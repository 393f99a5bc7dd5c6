import Envs
import Foundation

/// What the side panel beside a game shows.
public struct Panel: Equatable, Sendable {
    /// A labelled figure (`EPISODE 3/10`).
    public struct Stat: Equatable, Sendable {
        public var label: String
        public var value: String
        public init(_ label: String, _ value: String) {
            self.label = label
            self.value = value
        }
    }

    /// The game's name, at the top.
    public var title: String
    /// The score, drawn large under the title (nil: no score line, e.g. for Go).
    public var score: Int?
    /// Figures under the score.
    public var stats: [Stat]
    /// Names of the actions, for the action list or the Q-value bars.
    public var actionNames: [String]
    /// The action taken last (highlighted).
    public var chosenAction: Int?
    /// One value per action when the policy has them: drawn as bars with their values.
    public var qValues: [Float]?
    /// Short help lines at the bottom (`P PAUSE`).
    public var hints: [String]
    /// A word laid over the middle of the game (`PAUSED`, `GAME OVER`).
    public var banner: String?

    public init(
        title: String, score: Int? = 0, stats: [Stat] = [], actionNames: [String] = [],
        chosenAction: Int? = nil, qValues: [Float]? = nil, hints: [String] = [],
        banner: String? = nil
    ) {
        self.title = title
        self.score = score
        self.stats = stats
        self.actionNames = actionNames
        self.chosenAction = chosenAction
        self.qValues = qValues
        self.hints = hints
        self.banner = banner
    }
}

/// Lays a game's frame, zoomed by a whole factor (nearest neighbour), beside a black side panel
/// of text in the games' 5 × 7 bitmap font. The window and the GIF recorder both show this same
/// picture, so a recording is exactly what a window would have shown.
public struct GameView: Sendable {
    public let gameWidth: Int
    public let gameHeight: Int
    /// Output pixels per game pixel.
    public let zoom: Int
    public let panelWidth: Int
    /// Size of the composed picture.
    public var width: Int { gameWidth * zoom + panelWidth }
    public var height: Int { gameHeight * zoom }

    /// Font scale of the panel's text (each glyph 10 × 14 pixels).
    public static let textScale = 2
    static let lineHeight = 10 * textScale
    static let margin = 16

    public static let background = RGB(0, 0, 0)
    public static let divider = RGB(84, 92, 214)
    public static let titleColor = RGB(252, 144, 96)
    public static let labelColor = RGB(142, 142, 142)
    public static let valueColor = RGB(236, 236, 236)
    public static let scoreColor = RGB(252, 252, 84)
    public static let chosenColor = RGB(92, 186, 92)
    public static let barColor = RGB(84, 92, 214)
    public static let hintColor = RGB(104, 104, 104)
    static let stripe = [
        RGB(200, 72, 72), RGB(198, 108, 58), RGB(180, 122, 48), RGB(162, 162, 42),
        RGB(72, 160, 72), RGB(66, 72, 200)
    ]

    /// - Parameters:
    ///   - gameWidth, gameHeight: the size of the frames the game renders.
    ///   - zoom: output pixels per game pixel.
    ///   - panelWidth: width of the text panel (the default holds 19 characters a line).
    public init(gameWidth: Int, gameHeight: Int, zoom: Int = 5, panelWidth: Int = 256) {
        precondition(
            gameWidth > 0 && gameHeight > 0 && zoom > 0 && panelWidth >= 0,
            "GameView: game \(gameWidth)×\(gameHeight), zoom \(zoom), panel \(panelWidth)")
        self.gameWidth = gameWidth
        self.gameHeight = gameHeight
        self.zoom = zoom
        self.panelWidth = panelWidth
    }

    /// The game frame zoomed, with the panel beside it.
    public func compose(_ game: Frame, panel: Panel) -> Frame {
        precondition(
            game.width == gameWidth && game.height == gameHeight,
            "GameView.compose: frame \(game.width)×\(game.height), view made for \(gameWidth)×\(gameHeight)")
        var out = Frame(width: width, height: height, fill: Self.background)
        blitZoomed(game, into: &out)
        if let banner = panel.banner { drawBanner(banner, on: &out) }
        if panelWidth > 0 { drawPanel(panel, on: &out) }
        return out
    }

    // MARK: - Drawing

    private func blitZoomed(_ game: Frame, into out: inout Frame) {
        let z = zoom, outWidth = width, gw = gameWidth
        game.pixels.withUnsafeBufferPointer { src in
            out.pixels.withUnsafeMutableBufferPointer { dst in
                for y in 0..<gameHeight {
                    // Build the first output row of this game row, then copy it z − 1 times.
                    let rowStart = y * z * outWidth * 3
                    var o = rowStart
                    for x in 0..<gw {
                        let s = (y * gw + x) * 3
                        let r = src[s], g = src[s + 1], b = src[s + 2]
                        for _ in 0..<z {
                            dst[o] = r
                            dst[o + 1] = g
                            dst[o + 2] = b
                            o += 3
                        }
                    }
                    let rowBytes = gw * z * 3
                    for copy in 1..<max(1, z) {
                        let target = rowStart + copy * outWidth * 3
                        for i in 0..<rowBytes { dst[target + i] = dst[rowStart + i] }
                    }
                }
            }
        }
    }

    private func drawBanner(_ text: String, on out: inout Frame) {
        let scale = 3
        let textWidth = BitmapFont.width(of: text, scale: scale)
        let bandHeight = BitmapFont.glyphHeight * scale + 24
        let gameW = gameWidth * zoom
        let y = height * 3 / 5 - bandHeight / 2
        out.fillRect(x: 0, y: y, width: gameW, height: bandHeight, color: Self.background)
        out.fillRect(x: 0, y: y, width: gameW, height: 3, color: Self.divider)
        out.fillRect(x: 0, y: y + bandHeight - 3, width: gameW, height: 3, color: Self.divider)
        BitmapFont.draw(
            text, into: &out, x: (gameW - textWidth) / 2, y: y + 12,
            color: Self.scoreColor, scale: scale)
    }

    private func drawPanel(_ panel: Panel, on out: inout Frame) {
        let left = gameWidth * zoom
        out.fillRect(x: left, y: 0, width: 4, height: height, color: Self.divider)
        let x = left + Self.margin
        let s = Self.textScale, line = Self.lineHeight
        var y = Self.margin

        let title = panel.title.uppercased()
        let titleScale = BitmapFont.width(of: title, scale: 3) <= panelWidth - 2 * Self.margin ? 3 : s
        BitmapFont.draw(title, into: &out, x: x, y: y, color: Self.titleColor, scale: titleScale)
        y += BitmapFont.glyphHeight * titleScale + 8
        // A strip in the colours of Atari Breakout's six brick rows, under the title.
        let stripe = (panelWidth - 2 * Self.margin) / Self.stripe.count
        for (i, colour) in Self.stripe.enumerated() {
            out.fillRect(x: x + i * stripe, y: y, width: stripe, height: 4, color: colour)
        }
        y += 4 + 16
        if let score = panel.score {
            BitmapFont.draw("SCORE", into: &out, x: x, y: y, color: Self.labelColor, scale: s)
            y += line
            BitmapFont.drawNumber(score, into: &out, x: x, y: y, color: Self.scoreColor, scale: 4)
            y += BitmapFont.glyphHeight * 4 + 14
        }

        let labelColumns = (panel.stats.map(\.label.count).max() ?? 0) + 1
        for stat in panel.stats {
            BitmapFont.draw(stat.label.uppercased(), into: &out, x: x, y: y, color: Self.labelColor, scale: s)
            BitmapFont.draw(
                stat.value.uppercased(), into: &out, x: x + labelColumns * BitmapFont.advance * s, y: y,
                color: Self.valueColor, scale: s)
            y += line
        }
        if !panel.actionNames.isEmpty {
            y += 12
            drawActions(panel, x: x, y: y, on: &out)
        }

        var hintY = height - Self.margin - panel.hints.count * line + (line - BitmapFont.glyphHeight * s)
        for hint in panel.hints {
            BitmapFont.draw(hint.uppercased(), into: &out, x: x, y: hintY, color: Self.hintColor, scale: s)
            hintY += line
        }
    }

    /// The action list, or with Q-values one bar per action, longest for the largest value.
    private func drawActions(_ panel: Panel, x: Int, y startY: Int, on out: inout Frame) {
        let s = Self.textScale, line = Self.lineHeight
        var y = startY
        BitmapFont.draw(
            panel.qValues == nil ? "ACTIONS" : "Q-VALUES", into: &out, x: x, y: y,
            color: Self.labelColor, scale: s)
        y += line
        let nameX = x + 2 * BitmapFont.advance * s
        let nameColumns = (panel.actionNames.map(\.count).max() ?? 0) + 1
        let barX = nameX + nameColumns * BitmapFont.advance * s
        let right = width - Self.margin
        let q = panel.qValues.flatMap { $0.count == panel.actionNames.count ? $0 : nil }
        let low = q?.min() ?? 0, high = q?.max() ?? 0
        for (i, name) in panel.actionNames.enumerated() {
            let chosen = i == panel.chosenAction
            let color = chosen ? Self.chosenColor : Self.valueColor
            if chosen { BitmapFont.draw(">", into: &out, x: x, y: y, color: Self.chosenColor, scale: s) }
            BitmapFont.draw(name.uppercased(), into: &out, x: nameX, y: y, color: color, scale: s)
            if let q {
                let text = String(format: "%+.2f", q[i])
                let textX = right - BitmapFont.width(of: text, scale: s)
                let room = max(0, textX - 8 - barX)
                let fraction = high > low ? Double(q[i] - low) / Double(high - low) : 1
                let barWidth = max(2, Int((fraction * Double(room)).rounded()))
                out.fillRect(
                    x: barX, y: y + 2, width: min(room, barWidth), height: BitmapFont.glyphHeight * s - 4,
                    color: chosen ? Self.chosenColor : Self.barColor)
                BitmapFont.draw(text, into: &out, x: textX, y: y, color: color, scale: s)
            }
            y += line
        }
    }
}

extension Frame {
    /// This frame enlarged `factor` times in each direction by repeating pixels.
    public func zoomed(by factor: Int) -> Frame {
        precondition(factor > 0, "Frame.zoomed: factor \(factor)")
        return GameView(gameWidth: width, gameHeight: height, zoom: factor, panelWidth: 0)
            .compose(self, panel: Panel(title: ""))
    }
}
