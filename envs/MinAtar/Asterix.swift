/// MinAtar Asterix: the player roams rows 1–8 while enemies and gold cross the screen sideways,
/// one object per row; +1 per gold picked up; touching an enemy terminates the episode.
///
/// Rules as MinAtar 1.0.15 (`asterix.py`): when the spawn timer is up an object appears at a
/// random free row (left or right edge with probability ½ each, gold with probability ⅓; the
/// two coin flips are drawn even when every row is taken); the player moves; objects on the
/// player are resolved; when the move timer is up every object advances one column (leaving the
/// screen at the edges) and is resolved again. With ramping, after every 100 steps (101 between
/// ramps) the spawn interval shrinks by one (from 10, down to 1) and every second ramp the move
/// interval too (from 5, down to 1).
///
/// Channels: player, enemy, trail (the cell each object came from), gold.
/// Actions: noop, left, up, right, down.
public struct Asterix: MinAtarGame {
    public static let name = "asterix"
    public static let channelNames = ["player", "enemy", "trail", "gold"]
    public static let actions: [MinAtarAction] = [.noop, .left, .up, .right, .down]

    static let rampInterval = 100
    static let initialSpawnSpeed = 10
    static let initialMoveInterval = 5

    /// An enemy or a gold piece crossing row `slot + 1`.
    public struct Entity: Equatable, Sendable {
        public var x: Int
        public var y: Int
        /// Travelling left to right.
        public var movingRight: Bool
        public var isGold: Bool
        public init(x: Int, y: Int, movingRight: Bool, isGold: Bool) {
            self.x = x
            self.y = y
            self.movingRight = movingRight
            self.isGold = isGold
        }
    }

    public let mode: ObservationMode
    public let ramping: Bool
    public var playerX = 5
    public var playerY = 5
    /// Slot i holds the object of row i + 1.
    public var entities: [Entity?] = Array(repeating: nil, count: 8)
    public var spawnSpeed = Asterix.initialSpawnSpeed
    public var spawnTimer = Asterix.initialSpawnSpeed
    public var moveSpeed = Asterix.initialMoveInterval
    public var moveTimer = Asterix.initialMoveInterval
    public var rampTimer = Asterix.rampInterval
    public var rampIndex = 0
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
        playerX = 5
        playerY = 5
        for i in 0..<8 { entities[i] = nil }
        spawnSpeed = Asterix.initialSpawnSpeed
        spawnTimer = spawnSpeed
        moveSpeed = Asterix.initialMoveInterval
        moveTimer = moveSpeed
        rampTimer = Asterix.rampInterval
        rampIndex = 0
        terminated = false
        score = 0
    }

    public mutating func act(_ action: MinAtarAction) -> StepResult {
        precondition(!terminated, "Asterix.step: the episode is over; call reset first")
        var reward = 0
        if spawnTimer == 0 {
            spawnEntity()
            spawnTimer = spawnSpeed
        }

        switch action {
        case .left: playerX = max(0, playerX - 1)
        case .right: playerX = min(9, playerX + 1)
        case .up: playerY = max(1, playerY - 1)
        case .down: playerY = min(8, playerY + 1)
        default: break
        }

        for i in 0..<8 {
            if let entity = entities[i], entity.x == playerX, entity.y == playerY {
                if entity.isGold {
                    entities[i] = nil
                    reward += 1
                } else {
                    terminated = true
                }
            }
        }
        if moveTimer == 0 {
            moveTimer = moveSpeed
            for i in 0..<8 {
                guard var entity = entities[i] else { continue }
                entity.x += entity.movingRight ? 1 : -1
                if entity.x < 0 || entity.x > 9 {
                    entities[i] = nil
                    continue
                }
                entities[i] = entity
                if entity.x == playerX && entity.y == playerY {
                    if entity.isGold {
                        entities[i] = nil
                        reward += 1
                    } else {
                        terminated = true
                    }
                }
            }
        }

        spawnTimer -= 1
        moveTimer -= 1
        if ramping && (spawnSpeed > 1 || moveSpeed > 1) {
            if rampTimer >= 0 {
                rampTimer -= 1
            } else {
                if moveSpeed > 1 && rampIndex % 2 == 1 { moveSpeed -= 1 }
                if spawnSpeed > 1 { spawnSpeed -= 1 }
                rampIndex += 1
                rampTimer = Asterix.rampInterval
            }
        }
        score += reward
        return StepResult(reward: Float(reward), terminated: terminated)
    }

    /// MinAtar's `_spawn_entity`: side and kind first, then a uniformly chosen free slot.
    mutating func spawnEntity() {
        let movingRight = random.nextDouble() < 0.5
        let isGold = random.nextDouble() < 1.0 / 3.0
        var free = 0
        for slot in entities where slot == nil { free += 1 }
        if free == 0 { return }
        var pick = random.nextInt(below: free)
        for i in 0..<8 where entities[i] == nil {
            if pick == 0 {
                entities[i] = Entity(x: movingRight ? 0 : 9, y: i + 1, movingRight: movingRight, isGold: isGold)
                return
            }
            pick -= 1
        }
    }

    public func writeGrid<T: PlaneValue>(into planes: UnsafeMutableBufferPointer<T>) {
        clearPlanes(planes, channels: 4)
        setCell(planes, 0, playerY, playerX)
        for case let entity? in entities {
            setCell(planes, entity.isGold ? 3 : 1, entity.y, entity.x)
            if let back = trailColumn(entity.x, movingRight: entity.movingRight) { setCell(planes, 2, entity.y, back) }
        }
    }

    static let playerColor = RGB(187, 187, 53)
    static let enemyColor = RGB(200, 72, 72)
    static let goldColor = RGB(252, 188, 116)
    static let trailColor = RGB(60, 60, 90)
    static let grass = RGB(50, 132, 50)
    static let lane = RGB(20, 20, 60)

    public func draw<C: Canvas>(on canvas: inout C) {
        Paint.frame(
            on: &canvas, wall: Asterix.grass, background: Asterix.grass, score: score, lives: terminated ? 0 : 1)
        canvas.fillRect(
            x: Screen.playfieldX, y: Screen.y(1), width: 10 * Screen.cell, height: 8 * Screen.cell, color: Asterix.lane)
        for case let entity? in entities {
            if let back = trailColumn(entity.x, movingRight: entity.movingRight) {
                Paint.cell(on: &canvas, row: entity.y, column: back, color: Asterix.trailColor, inset: 5)
            }
            if entity.isGold {
                Paint.cell(on: &canvas, row: entity.y, column: entity.x, color: Asterix.goldColor, inset: 4)
            } else {
                Paint.cell(on: &canvas, row: entity.y, column: entity.x, color: Asterix.enemyColor, inset: 2)
            }
        }
        canvas.fillRect(
            x: Screen.x(playerX) + 2, y: Screen.y(playerY) + 1, width: 10, height: 12, color: Asterix.playerColor)
    }
}
