/// A 5 × 7 pixel font for scores, lives and labels, drawn as filled squares of `scale` pixels.
/// Covers digits, letters (lower case is drawn as upper case) and common punctuation; any other
/// character is drawn as `?`. Each character advances 6 · scale pixels.
public enum BitmapFont {
    public static let glyphWidth = 5
    public static let glyphHeight = 7
    /// Horizontal distance between the left edges of two characters, at scale 1.
    public static let advance = 6

    /// Width in pixels of `text` drawn at `scale` (no trailing gap).
    public static func width(of text: String, scale: Int = 1) -> Int {
        let n = text.unicodeScalars.count
        return n == 0 ? 0 : (n * advance - 1) * scale
    }

    /// Draws `text` with its top-left corner at (x, y); returns the x just after the last character.
    @discardableResult
    public static func draw(
        _ text: String, into frame: inout Frame, x: Int, y: Int,
        color: RGB, scale: Int = 1
    ) -> Int {
        drawText(text, into: &frame, x: x, y: y, color: color, scale: scale)
    }

    /// `draw` on any canvas.
    @discardableResult
    public static func drawText<C: Canvas>(
        _ text: String, into canvas: inout C, x: Int, y: Int,
        color: RGB, scale: Int = 1
    ) -> Int {
        var cursor = x
        for scalar in text.unicodeScalars {
            drawGlyph(code: Int(min(scalar.value, 127)), into: &canvas, x: cursor, y: y, color: color, scale: scale)
            cursor += advance * scale
        }
        return cursor
    }

    /// Draws a non-negative integer in decimal without building a string (for per-step HUDs);
    /// returns the x just after the last digit.
    @discardableResult
    public static func drawNumber<C: Canvas>(
        _ number: Int, into canvas: inout C, x: Int, y: Int,
        color: RGB, scale: Int = 1
    ) -> Int {
        var n = max(0, number), digits = 1
        while n >= 10 {
            n /= 10
            digits += 1
        }
        n = max(0, number)
        var cursor = x + (digits - 1) * advance * scale
        for _ in 0..<digits {
            drawGlyph(code: 48 + n % 10, into: &canvas, x: cursor, y: y, color: color, scale: scale)
            n /= 10
            cursor -= advance * scale
        }
        return x + digits * advance * scale
    }

    private static func drawGlyph<C: Canvas>(
        code: Int, into canvas: inout C, x: Int, y: Int,
        color: RGB, scale: Int
    ) {
        let base = code * glyphHeight
        for row in 0..<glyphHeight {
            let bits = table[base + row]
            if bits == 0 { continue }
            for column in 0..<glyphWidth where bits & (0x10 >> column) != 0 {
                canvas.fillRect(x: x + column * scale, y: y + row * scale, width: scale, height: scale, color: color)
            }
        }
    }

    /// 128 ASCII codes × 7 rows; bit 4 of a row is its leftmost pixel.
    private static let table: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 128 * glyphHeight)
        var defined = [Bool](repeating: false, count: 128)
        func set(_ code: Int, _ rows: [String]) {
            defined[code] = true
            for (r, row) in rows.enumerated() {
                var bits: UInt8 = 0
                for ch in row { bits = bits << 1 | (ch == "#" ? 1 : 0) }
                table[code * glyphHeight + r] = bits
            }
        }
        for (character, rows) in glyphs {
            let code = Int(character.unicodeScalars.first!.value)
            set(code, rows)
            if let lower = character.lowercased().unicodeScalars.first, lower.value != UInt32(code) {
                set(Int(lower.value), rows)
            }
        }
        for code in 0..<128 where !defined[code] { set(code, glyphs["?"]!) }
        return table
    }()

    private static let glyphs: [Character: [String]] = [
        " ": [".....", ".....", ".....", ".....", ".....", ".....", "....."],
        "0": [".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."],
        "1": ["..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."],
        "2": [".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"],
        "3": ["#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."],
        "4": ["...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."],
        "5": ["#####", "#....", "####.", "....#", "....#", "#...#", ".###."],
        "6": ["..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."],
        "7": ["#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."],
        "8": [".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."],
        "9": [".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."],
        "A": [".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"],
        "B": ["####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."],
        "C": [".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."],
        "D": ["###..", "#..#.", "#...#", "#...#", "#...#", "#..#.", "###.."],
        "E": ["#####", "#....", "#....", "####.", "#....", "#....", "#####"],
        "F": ["#####", "#....", "#....", "####.", "#....", "#....", "#...."],
        "G": [".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"],
        "H": ["#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"],
        "I": [".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."],
        "J": ["..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."],
        "K": ["#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"],
        "L": ["#....", "#....", "#....", "#....", "#....", "#....", "#####"],
        "M": ["#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"],
        "N": ["#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"],
        "O": [".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."],
        "P": ["####.", "#...#", "#...#", "####.", "#....", "#....", "#...."],
        "Q": [".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"],
        "R": ["####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"],
        "S": [".####", "#....", "#....", ".###.", "....#", "....#", "####."],
        "T": ["#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."],
        "U": ["#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."],
        "V": ["#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."],
        "W": ["#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."],
        "X": ["#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"],
        "Y": ["#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."],
        "Z": ["#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"],
        ".": [".....", ".....", ".....", ".....", ".....", ".##..", ".##.."],
        ",": [".....", ".....", ".....", ".....", ".##..", "..#..", ".#..."],
        ":": [".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."],
        ";": [".....", ".##..", ".##..", ".....", ".##..", "..#..", ".#..."],
        "-": [".....", ".....", ".....", "#####", ".....", ".....", "....."],
        "+": [".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."],
        "=": [".....", ".....", "#####", ".....", "#####", ".....", "....."],
        "_": [".....", ".....", ".....", ".....", ".....", ".....", "#####"],
        "/": [".....", "....#", "...#.", "..#..", ".#...", "#....", "....."],
        "%": ["##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##"],
        "!": ["..#..", "..#..", "..#..", "..#..", "..#..", ".....", "..#.."],
        "?": [".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.."],
        "(": ["...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#."],
        ")": [".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..."],
        "[": [".###.", ".#...", ".#...", ".#...", ".#...", ".#...", ".###."],
        "]": [".###.", "...#.", "...#.", "...#.", "...#.", "...#.", ".###."],
        "<": ["...#.", "..#..", ".#...", "#....", ".#...", "..#..", "...#."],
        ">": [".#...", "..#..", "...#.", "....#", "...#.", "..#..", ".#..."],
        "'": ["..#..", "..#..", ".#...", ".....", ".....", ".....", "....."],
        "\"": [".#.#.", ".#.#.", ".....", ".....", ".....", ".....", "....."],
        "#": [".#.#.", ".#.#.", "#####", ".#.#.", "#####", ".#.#.", ".#.#."],
        "*": [".....", "..#..", "#.#.#", ".###.", "#.#.#", "..#..", "....."]
    ]
}
