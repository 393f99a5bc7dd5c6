/// MinAtar Space Invaders: a cannon in the bottom row shoots at a 4 × 6 block of aliens that
/// marches sideways, steps down and turns at the walls, and shoots back; +1 per alien; the
/// episode terminates when an alien or an enemy bullet reaches the cannon.
///
/// Rules as MinAtar 1.0.15 (`space_invaders.py`), in order each step: fire (cooldown 5) or move;
/// friendly bullets rise one row, enemy bullets fall one row; when the move timer is up the aliens
/// move one column, or, touching the wall they travel to, turn and move down a row (NumPy's roll:
/// the bottom row wraps to the top); the move timer restarts at min(aliens left, move interval),
/// so a thin wave speeds up; every 10 steps the lowest alien of the column nearest the cannon
/// fires; aliens sharing a cell with a friendly bullet die with it. A cleared wave respawns, and
/// with ramping each new wave moves one tick faster, down to an interval of 6.
///
/// Channels: cannon, alien, alien_left, alien_right, friendly_bullet, enemy_bullet.
/// Actions: noop, left, right, fire. No randomness.
public struct SpaceInvaders: MinAtarGame {
    public static let name = "space_invaders"
    public static let channelNames = ["cannon", "alien", "alien_left", "alien_right", "friendly_bullet", "enemy_bullet"]
    public static let actions: [MinAtarAction] = [.noop, .left, .right, .fire]

    static let shotCooldown = 5
    static let initialMoveInterval = 12
    static let enemyShotInterval = 10
    /// A fresh wave: rows 0–3, columns 2–7.
    public static let initialAliens = Bitboard.rect(rows: 0..<4, columns: 2..<8)

    public let mode: ObservationMode
    public let ramping: Bool
    public var position = 5
    public var friendlyBullets: UInt128 = 0
    public var enemyBullets: UInt128 = 0
    public var aliens: UInt128 = SpaceInvaders.initialAliens
    /// −1 marching left, +1 marching right.
    public var alienDirection = -1
    public var moveInterval = SpaceInvaders.initialMoveInterval
    public var alienMoveTimer = SpaceInvaders.initialMoveInterval
    public var alienShotTimer = SpaceInvaders.enemyShotInterval
    public var rampIndex = 0
    public var shotTimer = 0
    public var terminated = false
    public var score = 0
    var random: MersenneTwister

    public init(observation: ObservationMode = .grid, seed: UInt64 = 0, difficultyRamping: Bool = true) {
        mode = observation
        ramping = difficultyRamping
        random = MersenneTwister(seed: seed)
        reset(seed: nil)
    }

    public mutating func reset(seed: UInt64?) {
        if let seed { random = MersenneTwister(seed: seed) }
        position = 5
        friendlyBullets = 0
        enemyBullets = 0
        aliens = SpaceInvaders.initialAliens
        alienDirection = -1
        moveInterval = SpaceInvaders.initialMoveInterval
        alienMoveTimer = moveInterval
        alienShotTimer = SpaceInvaders.enemyShotInterval
        rampIndex = 0
        shotTimer = 0
        terminated = false
        score = 0
    }

    public mutating func act(_ action: MinAtarAction) -> StepResult {
        precondition(!terminated, "SpaceInvaders.step: the episode is over; call reset first")
        if action == .fire && shotTimer == 0 {
            friendlyBullets |= Bitboard.bit(9, position)
            shotTimer = SpaceInvaders.shotCooldown
        } else if action == .left {
            position = max(0, position - 1)
        } else if action == .right {
            position = min(9, position + 1)
        }

        friendlyBullets >>= 10  // roll up, row 9 cleared
        enemyBullets = (enemyBullets << 10) & Bitboard.all  // roll down, row 0 cleared
        if Bitboard.isSet(enemyBullets, 9, position) { terminated = true }

        if Bitboard.isSet(aliens, 9, position) { terminated = true }
        if alienMoveTimer == 0 {
            alienMoveTimer = min(aliens.nonzeroBitCount, moveInterval)
            if (aliens & Bitboard.column0 != 0 && alienDirection < 0)
                || (aliens & Bitboard.column9 != 0 && alienDirection > 0)
            {
                alienDirection = -alienDirection
                if aliens & Bitboard.row(9) != 0 { terminated = true }
                aliens = Bitboard.rollDown(aliens)
            } else {
                aliens = Bitboard.rollColumns(aliens, by: alienDirection)
            }
            if Bitboard.isSet(aliens, 9, position) { terminated = true }
        }
        if alienShotTimer == 0 {
            alienShotTimer = SpaceInvaders.enemyShotInterval
            if let (row, column) = nearestAlien() { enemyBullets |= Bitboard.bit(row, column) }
        }

        let kills = aliens & friendlyBullets
        let reward = kills.nonzeroBitCount
        aliens &= ~kills
        friendlyBullets &= ~kills

        if shotTimer > 0 { shotTimer -= 1 }
        alienMoveTimer -= 1
        alienShotTimer -= 1
        if aliens == 0 {
            if moveInterval > 6 && ramping {
                moveInterval -= 1
                rampIndex += 1
            }
            aliens = SpaceInvaders.initialAliens
        }
        score += reward
        return StepResult(reward: Float(reward), terminated: terminated)
    }

    /// The lowest alien of the occupied column closest to the cannon (ties: the left column).
    func nearestAlien() -> (row: Int, column: Int)? {
        for distance in 0..<10 {
            for column in [position - distance, position + distance] where column >= 0 && column < 10 {
                for row in stride(from: 9, through: 0, by: -1) where Bitboard.isSet(aliens, row, column) {
                    return (row, column)
                }
                if distance == 0 { break }
            }
        }
        return nil
    }

    public func writeGrid<T: PlaneValue>(into planes: UnsafeMutableBufferPointer<T>) {
        clearPlanes(planes, channels: 6)
        setCell(planes, 0, 9, position)
        Bitboard.write(aliens, channel: 1, into: planes)
        Bitboard.write(aliens, channel: alienDirection < 0 ? 2 : 3, into: planes)
        Bitboard.write(friendlyBullets, channel: 4, into: planes)
        Bitboard.write(enemyBullets, channel: 5, into: planes)
    }

    static let cannonColor = RGB(50, 132, 50)
    static let alienColors = [RGB(134, 134, 29), RGB(181, 108, 224), RGB(84, 138, 210), RGB(200, 72, 72)]
    static let friendlyColor = RGB(236, 236, 236)
    static let enemyColor = RGB(252, 144, 144)
    static let ground = RGB(80, 62, 20)

    public func draw<C: Canvas>(on canvas: inout C) {
        Paint.frame(on: &canvas, wall: SpaceInvaders.ground, score: score, lives: terminated ? 0 : 1)
        let legs = alienDirection < 0 ? 2 : 9
        Bitboard.forEach(aliens) { row, column in
            let color = SpaceInvaders.alienColors[row % 4]
            canvas.fillRect(x: Screen.x(column) + 2, y: Screen.y(row) + 3, width: 10, height: 7, color: color)
            // Legs point the way the wave marches.
            canvas.fillRect(x: Screen.x(column) + legs, y: Screen.y(row) + 10, width: 3, height: 2, color: color)
        }
        Bitboard.forEach(friendlyBullets) { row, column in
            canvas.fillRect(
                x: Screen.x(column) + 6, y: Screen.y(row) + 2, width: 2, height: 10, color: SpaceInvaders.friendlyColor)
        }
        Bitboard.forEach(enemyBullets) { row, column in
            canvas.fillRect(
                x: Screen.x(column) + 6, y: Screen.y(row) + 2, width: 2, height: 10, color: SpaceInvaders.enemyColor)
        }
        canvas.fillRect(
            x: Screen.x(position) + 2, y: Screen.y(9) + 7, width: 10, height: 7, color: SpaceInvaders.cannonColor)
        canvas.fillRect(
            x: Screen.x(position) + 6, y: Screen.y(9) + 2, width: 2, height: 5, color: SpaceInvaders.cannonColor)
    }
}
