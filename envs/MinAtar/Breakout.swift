/// MinAtar Breakout: a paddle in the bottom row bounces a ball that travels along diagonals into
/// three rows of bricks; +1 per brick, a fresh wall when all are gone, and the episode terminates
/// when the ball passes the paddle.
///
/// Rules, step for step as MinAtar 1.0.15 (`minatar/environments/breakout.py`):
/// 1. the paddle moves first (left/right, clamped to 0…9);
/// 2. the ball moves one cell diagonally; past a side wall it is clamped and its horizontal
///    direction flips; above the top its vertical direction flips;
/// 3. otherwise, entering a brick: if no brick was struck on the previous step the brick breaks
///    (+1), the ball keeps its row (the bounce freezes it) and its vertical direction flips; right
///    after a strike the ball passes through the brick and leaves it standing;
/// 4. otherwise, entering row 9: the wall refills if it is empty; if the ball was above the paddle
///    it bounces straight back (both directions flip); if it is arriving onto the paddle's column
///    it bounces with only the vertical direction flipped; both keep the ball's row; else the ball
///    is lost and the episode terminates.
///
/// Channels: paddle, ball, trail (the ball's previous cell), brick. Actions: noop, left, right.
public struct Breakout: MinAtarGame {
    public static let name = "breakout"
    public static let channelNames = ["paddle", "ball", "trail", "brick"]
    public static let actions: [MinAtarAction] = [.noop, .left, .right]

    /// Directions of travel, MinAtar's numbering.
    public enum Direction: Int, Sendable {
        case upLeft = 0, upRight, downRight, downLeft
    }

    /// The three rows of bricks of a fresh wall (rows 1–3), as bits `row · 10 + column`.
    public static let fullWall: UInt128 = ((UInt128(1) << 30) - 1) << 10

    public let mode: ObservationMode
    public var ballX = 0
    public var ballY = 3
    public var ballDirection = Direction.downRight
    /// The ball's cell before the last step (the trail channel).
    public var lastX = 0
    public var lastY = 3
    public var paddle = 4
    /// A brick was broken on the last step; the ball then passes through the next one.
    public var strike = false
    public var terminated = false
    /// Bricks as bits `row · 10 + column` of a 100-bit set.
    public var bricks: UInt128 = Breakout.fullWall
    /// Sum of rewards in this episode (shown in the picture).
    public var score = 0
    var random: MersenneTwister

    /// A game seeded like `np.random.RandomState(seed)` with its first episode started.
    public init(observation: ObservationMode = .grid, seed: UInt64 = 0) {
        mode = observation
        random = MersenneTwister(seed: seed)
        reset(seed: nil)
    }

    /// Whether a brick stands at (row, column).
    public func isBrick(row: Int, column: Int) -> Bool { bricks >> (row * 10 + column) & 1 != 0 }

    /// Places or removes a brick (for building test states).
    public mutating func setBrick(row: Int, column: Int, _ present: Bool = true) {
        let bit = UInt128(1) << (row * 10 + column)
        if present { bricks |= bit } else { bricks &= ~bit }
    }

    /// The bricks of one row as a 10-bit mask (bit c = column c), the fixtures' format.
    public func brickRow(_ row: Int) -> Int { Int(truncatingIfNeeded: bricks >> (row * 10)) & 0x3FF }

    public mutating func reset(seed: UInt64?) {
        if let seed { random = MersenneTwister(seed: seed) }
        ballY = 3
        if random.nextInt(below: 2) == 0 {
            ballX = 0
            ballDirection = .downRight
        } else {
            ballX = 9
            ballDirection = .downLeft
        }
        paddle = 4
        bricks = Breakout.fullWall
        strike = false
        lastX = ballX
        lastY = ballY
        terminated = false
        score = 0
    }

    public mutating func step(_ action: Int) -> StepResult {
        switch action {
        case 0: return act(.noop)
        case 1: return act(.left)
        case 2: return act(.right)
        default: return act(Self.minatarAction(action))
        }
    }

    public mutating func act(_ action: MinAtarAction) -> StepResult {
        precondition(!terminated, "Breakout.step: the episode is over; call reset first")
        var reward: Float = 0
        if action == .left {
            paddle = max(0, paddle - 1)
        } else if action == .right {
            paddle = min(9, paddle + 1)
        }

        lastX = ballX
        lastY = ballY
        var direction = ballDirection.rawValue
        var newX = ballX + (direction == 1 || direction == 2 ? 1 : -1)
        var newY = ballY + (direction >= 2 ? 1 : -1)

        var strikeToggle = false
        if newX < 0 || newX > 9 {
            newX = min(9, max(0, newX))
            direction ^= 1  // [1, 0, 3, 2]
        }
        if newY < 0 {
            newY = 0
            direction = 3 - direction  // [3, 2, 1, 0]
        } else if bricks >> (newY * 10 + newX) & 1 != 0 {
            strikeToggle = true
            if !strike {
                reward += 1
                strike = true
                bricks &= ~(UInt128(1) << (newY * 10 + newX))
                newY = lastY
                direction = 3 - direction
            }
        } else if newY == 9 {
            if bricks == 0 { bricks = Breakout.fullWall }
            if ballX == paddle {
                direction = 3 - direction
                newY = lastY
            } else if newX == paddle {
                direction ^= 2  // [2, 3, 0, 1]
                newY = lastY
            } else {
                terminated = true
            }
        }
        if !strikeToggle { strike = false }

        ballX = newX
        ballY = newY
        ballDirection = Direction(rawValue: direction)!
        score += Int(reward)
        return StepResult(reward: reward, terminated: terminated)
    }

    public func writeGrid<T: PlaneValue>(into planes: UnsafeMutableBufferPointer<T>) {
        clearPlanes(planes, channels: 3)
        setCell(planes, 0, 9, paddle)
        setCell(planes, 1, ballY, ballX)
        setCell(planes, 2, lastY, lastX)
        // The brick plane is written whole, row by row (branch-free, faster than visiting bits).
        for row in 0..<10 {
            let mask = UInt16(truncatingIfNeeded: bricks >> (row * 10))
            for column in 0..<10 { planes[300 + row * 10 + column] = mask >> column & 1 != 0 ? .one : .zero }
        }
    }

    /// Atari's Breakout palette: a brick row's colour by its row.
    static let rowColors = [
        RGB(200, 72, 72), RGB(198, 108, 58), RGB(180, 122, 48), RGB(162, 162, 42),
        RGB(72, 160, 72), RGB(66, 72, 200)
    ]
    static let paddleColor = RGB(200, 72, 72)
    static let trailColor = RGB(110, 40, 40)

    public func draw<C: Canvas>(on canvas: inout C) {
        Paint.frame(on: &canvas, wall: Paint.hudColor, score: score, lives: terminated ? 0 : 1)
        var rest = bricks
        while rest != 0 {
            let bit = rest.trailingZeroBitCount
            let row = bit / 10
            let color = Breakout.rowColors[(row + Breakout.rowColors.count - 1) % Breakout.rowColors.count]
            canvas.fillRect(
                x: Screen.x(bit % 10), y: Screen.y(row) + 2, width: Screen.cell - 1, height: Screen.cell - 4,
                color: color)
            rest &= rest - 1
        }
        canvas.fillRect(
            x: Screen.x(paddle), y: Screen.y(9) + 3, width: Screen.cell, height: 5, color: Breakout.paddleColor)
        if lastX != ballX || lastY != ballY {
            Paint.cell(on: &canvas, row: lastY, column: lastX, color: Breakout.trailColor, inset: 5)
        }
        Paint.cell(on: &canvas, row: ballY, column: ballX, color: Breakout.paddleColor, inset: 4)
    }
}
