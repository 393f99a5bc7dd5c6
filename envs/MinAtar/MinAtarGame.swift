/// MinAtar's full action set (Young & Tian 2019), in its order: the index is MinAtar's action
/// number. Each game exposes only its minimal subset as its action space.
public enum MinAtarAction: Int, CaseIterable, Sendable {
    case noop = 0, left, up, right, down, fire

    public var name: String {
        switch self {
        case .noop: "noop"
        case .left: "left"
        case .up: "up"
        case .right: "right"
        case .down: "down"
        case .fire: "fire"
        }
    }
}

/// A value an object plane can be written as: 0 or 1, as a float or a byte.
public protocol PlaneValue {
    static var zero: Self { get }
    static var one: Self { get }
}
extension Float: PlaneValue { public static var one: Float { 1 } }
extension UInt8: PlaneValue { public static var one: UInt8 { 1 } }

/// A MinAtar game (Young & Tian 2019, "MinAtar: An Atari-Inspired Testbed for Thorough and
/// Reproducible Reinforcement Learning Experiments"): a 10 × 10 world whose state an agent sees
/// either as MinAtar's object planes (`.grid`, C × 10 × 10, channel-major) or as the rendered
/// picture after DQN preprocessing (`.pixels`, 1 × 84 × 84).
///
/// A game implements its rules, `writeGrid` and `draw`; observations, pictures and the action
/// space come from this protocol.
public protocol MinAtarGame: Environment {
    /// MinAtar's channel names, in MinAtar's channel order.
    static var channelNames: [String] { get }
    /// The minimal action set, MinAtar's order: action `i` of the environment is `actions[i]`.
    static var actions: [MinAtarAction] { get }
    /// Registry name (`"breakout"`, …).
    static var name: String { get }
    /// The observation mode chosen at construction.
    var mode: ObservationMode { get }
    /// The game reached a terminal state (MinAtar's `terminal`).
    var terminated: Bool { get }
    /// Advances one tick with an action of MinAtar's full set (the test fixtures record those).
    mutating func act(_ action: MinAtarAction) -> StepResult
    /// Writes the object planes (C × 10 × 10, channel-major, 0/1) into `planes`.
    func writeGrid<T: PlaneValue>(into planes: UnsafeMutableBufferPointer<T>)
    /// Draws the Atari-like picture (`Screen.width × Screen.height`) on `canvas`.
    func draw<C: Canvas>(on canvas: inout C)
}

extension MinAtarGame {
    public var actionNames: [String] { Self.actions.map(\.name) }
    public var actionCount: Int { Self.actions.count }
    public var isDone: Bool { terminated }

    public var observationShape: ObservationShape {
        switch mode {
        case .grid: ObservationShape(channels: Self.channelNames.count, height: 10, width: 10)
        case .pixels: ObservationShape(channels: 1, height: PixelPreprocessing.size, width: PixelPreprocessing.size)
        }
    }

    public var observationScale: Float { mode == .grid ? 1 : 1 / 255 }

    public func writeObservation(into buffer: UnsafeMutableBufferPointer<UInt8>) {
        checkBuffer(buffer.count, "MinAtarGame")
        if mode == .grid {
            writeGrid(into: buffer)
        } else {
            PixelPreprocessing.downsample(grayPicture(), into: buffer)
        }
    }

    public func writeObservation(into buffer: UnsafeMutableBufferPointer<Float>) {
        checkBuffer(buffer.count, "MinAtarGame")
        if mode == .grid {
            writeGrid(into: buffer)
        } else {
            let n = PixelPreprocessing.size * PixelPreprocessing.size
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: n) { bytes in
                PixelPreprocessing.downsample(grayPicture(), into: bytes)
                for i in 0..<n { buffer[i] = Float(bytes[i]) * (1 / 255) }
            }
        }
    }

    public func render() -> Frame {
        var frame = Frame(width: Screen.width, height: Screen.height)
        draw(on: &frame)
        return frame
    }

    /// The picture in luminance, drawn directly (equal to `GrayFrame(luminanceOf: render())`).
    public func grayPicture() -> GrayFrame {
        // `draw` starts with `Paint.frame`, which paints every pixel.
        var gray = GrayFrame(uninitializedWidth: Screen.width, height: Screen.height)
        draw(on: &gray)
        return gray
    }

    /// Maps an environment action index to MinAtar's action, checking the range.
    @inline(__always)
    static func minatarAction(_ action: Int) -> MinAtarAction {
        let actions = Self.actions
        precondition(
            action >= 0 && action < actions.count,
            "\(Self.name).step: action \(action) outside 0..<\(actions.count) (\(actions.map(\.name)))")
        return actions[action]
    }

    public mutating func step(_ action: Int) -> StepResult { act(Self.minatarAction(action)) }
}

/// Sets plane value `value` at (channel, row, column) of a C × 10 × 10 buffer.
@inline(__always)
func setCell<T: PlaneValue>(_ planes: UnsafeMutableBufferPointer<T>, _ channel: Int, _ row: Int, _ column: Int) {
    planes[channel * 100 + row * 10 + column] = .one
}

/// The cell an object moving sideways came from (MinAtar's trail), if it is on the screen.
@inline(__always)
func trailColumn(_ x: Int, movingRight: Bool) -> Int? {
    let back = movingRight ? x - 1 : x + 1
    return back >= 0 && back <= 9 ? back : nil
}

/// Zeroes the first `channels · 100` values.
@inline(__always)
func clearPlanes<T: PlaneValue>(_ planes: UnsafeMutableBufferPointer<T>, channels: Int) {
    planes.baseAddress!.update(repeating: .zero, count: channels * 100)
}

/// Shared pieces of the Atari-like pictures.
enum Paint {
    static let hudColor = RGB(142, 142, 142)
    static let background = RGB.black

    /// Background, wall on three sides, score at the left and lives at the right of the top strip.
    static func frame<C: Canvas>(on canvas: inout C, wall: RGB, background: RGB = .black, score: Int, lives: Int) {
        // Every pixel is painted exactly once (the gray observation starts from uninitialised memory).
        canvas.fillRect(x: 0, y: 0, width: Screen.width, height: Screen.hudHeight, color: .black)
        canvas.fillRect(x: 0, y: Screen.hudHeight, width: Screen.width, height: Screen.topWall, color: wall)
        canvas.fillRect(x: 0, y: Screen.playfieldY, width: Screen.sideWall, height: 10 * Screen.cell, color: wall)
        canvas.fillRect(
            x: Screen.width - Screen.sideWall, y: Screen.playfieldY, width: Screen.sideWall,
            height: 10 * Screen.cell, color: wall)
        canvas.fillRect(
            x: Screen.playfieldX, y: Screen.playfieldY, width: 10 * Screen.cell, height: 10 * Screen.cell,
            color: background)
        let scale = Screen.hudScale
        BitmapFont.drawNumber(score, into: &canvas, x: Screen.sideWall, y: 3, color: hudColor, scale: scale)
        BitmapFont.drawNumber(
            lives, into: &canvas, x: Screen.width - Screen.sideWall - BitmapFont.glyphWidth * scale, y: 3,
            color: hudColor, scale: scale)
    }

    /// Fills cell (row, column) with an inset of `inset` pixels on every side.
    @inline(__always)
    static func cell<C: Canvas>(on canvas: inout C, row: Int, column: Int, color: RGB, inset: Int = 0) {
        canvas.fillRect(
            x: Screen.x(column) + inset, y: Screen.y(row) + inset,
            width: Screen.cell - 2 * inset, height: Screen.cell - 2 * inset, color: color)
    }
}
