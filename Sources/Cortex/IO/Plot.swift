import Foundation

/// A line chart written as a standalone SVG file (opens in any browser), for learning curves
/// in a run folder.
public struct LinePlot {
    public struct Series {
        public var name: String
        public var points: [(Float, Float)]
        /// CSS colour.
        public var color: String
        /// Draw a dot at every point as well as the line.
        public var markers: Bool

        public init(name: String, points: [(Float, Float)], color: String, markers: Bool = false) {
            self.name = name
            self.points = points
            self.color = color
            self.markers = markers
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var width = 720
    public var height = 420

    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }

    /// Round numbers for axis ticks covering [low, high].
    static func ticks(_ low: Float, _ high: Float, count: Int = 5) -> [Float] {
        let span = max(high - low, 1e-6)
        let raw = span / Float(count)
        let magnitude = Float(pow(10, floor(log10(Double(raw)))))
        let step = [1, 2, 5, 10].map { Float($0) * magnitude }.first { $0 >= raw } ?? raw
        var value = (low / step).rounded(.down) * step
        var result: [Float] = []
        while value <= high + step * 1e-3 {
            if value >= low - step * 1e-3 { result.append(value) }
            value += step
        }
        return result
    }

    static func label(_ value: Float) -> String {
        if abs(value) >= 1_000_000 { return String(format: "%gM", Double(value) / 1e6) }
        if abs(value) >= 10_000 { return String(format: "%gk", Double(value) / 1e3) }
        return String(format: "%g", Double(value))
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    /// The SVG document.
    public func svg() -> String {
        let all = series.flatMap(\.points).filter { $0.0.isFinite && $0.1.isFinite }
        var (x0, x1) = (all.map(\.0).min() ?? 0, all.map(\.0).max() ?? 1)
        var (y0, y1) = (all.map(\.1).min() ?? 0, all.map(\.1).max() ?? 1)
        if x1 <= x0 { x1 = x0 + 1 }
        if y1 <= y0 { y1 = y0 + 1 }
        y0 = min(y0, 0)
        x0 = min(x0, 0)
        let (left, right, top, bottom) = (70.0, Double(width) - 20, 40.0, Double(height) - 50)
        func px(_ x: Float) -> Double { left + Double((x - x0) / (x1 - x0)) * (right - left) }
        func py(_ y: Float) -> Double { bottom - Double((y - y0) / (y1 - y0)) * (bottom - top) }
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Double(width) / 2)" y="22" text-anchor="middle" font-size="15">\(Self.escape(title))</text>

            """
        for t in Self.ticks(x0, x1) {
            out += "<line x1=\"\(px(t))\" y1=\"\(top)\" x2=\"\(px(t))\" y2=\"\(bottom)\" stroke=\"#eee\"/>"
            out += "<text x=\"\(px(t))\" y=\"\(bottom + 16)\" text-anchor=\"middle\">\(Self.label(t))</text>\n"
        }
        for t in Self.ticks(y0, y1) {
            out += "<line x1=\"\(left)\" y1=\"\(py(t))\" x2=\"\(right)\" y2=\"\(py(t))\" stroke=\"#eee\"/>"
            out += "<text x=\"\(left - 6)\" y=\"\(py(t) + 4)\" text-anchor=\"end\">\(Self.label(t))</text>\n"
        }
        out +=
            "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(right - left)\" height=\"\(bottom - top)\" fill=\"none\" stroke=\"#444\"/>\n"
        out +=
            "<text x=\"\((left + right) / 2)\" y=\"\(Double(height) - 12)\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        out +=
            "<text transform=\"translate(16 \((top + bottom) / 2)) rotate(-90)\" text-anchor=\"middle\">\(Self.escape(yLabel))</text>\n"
        for (index, s) in series.enumerated() {
            let points = s.points.filter { $0.0.isFinite && $0.1.isFinite }
            if points.count > 1 {
                let path = points.map { String(format: "%.1f,%.1f", px($0.0), py($0.1)) }.joined(separator: " ")
                out += "<polyline fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"1.6\" points=\"\(path)\"/>\n"
            }
            if s.markers || points.count == 1 {
                for p in points {
                    out +=
                        String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" ", px(p.0), py(p.1))
                        + "fill=\"\(s.color)\"/>"
                }
                out += "\n"
            }
            let ly = top + 14 + Double(index) * 16
            out +=
                "<line x1=\"\(left + 10)\" y1=\"\(ly - 4)\" x2=\"\(left + 30)\" y2=\"\(ly - 4)\" stroke=\"\(s.color)\" stroke-width=\"2\"/>"
            out += "<text x=\"\(left + 36)\" y=\"\(ly)\">\(Self.escape(s.name))</text>\n"
        }
        return out + "</svg>\n"
    }

    /// Several plots in one SVG document, left to right.
    public static func sideBySide(_ plots: [LinePlot]) -> String {
        let width = plots.map(\.width).reduce(0, +), height = plots.map(\.height).max() ?? 0
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\">\n"
        var x = 0
        for plot in plots {
            out += plot.svg().replacingOccurrences(of: "<svg xmlns=\"http://www.w3.org/2000/svg\" ", with: "<svg x=\"\(x)\" ")
            x += plot.width
        }
        return out + "</svg>\n"
    }
}
