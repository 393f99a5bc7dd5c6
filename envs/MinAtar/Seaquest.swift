/// MinAtar Seaquest: a two-cell submarine shoots enemy fish and submarines (+1 each), picks up
/// divers, and must surface before its oxygen runs out; surfacing with six divers pays a bonus
/// for the oxygen left. The episode terminates when the sub is hit by a fish, a submarine or a
/// bullet, when oxygen runs out, or when it surfaces with no diver on board.
///
/// Rules as MinAtar 1.0.15 (`seaquest.py`), including its list mechanics: objects live in ordered
/// lists, each list is walked from its end (Python's `reversed`) while elements are removed, and a
/// removal takes the first element equal in value (`list.remove`). A submarine that is shot or
/// leaves the screen may still fire on that step, as MinAtar's does. Surfacing with 6 divers
/// empties the boat and then removes one more, as MinAtar's counter does (it goes to −1).
/// Each surfacing ramps the difficulty: enemies spawn one step sooner (from 20, down to 1) and,
/// every second time, move one step faster (from 5, down to 2).
///
/// Channels: sub_front, sub_back, friendly_bullet, trail, enemy_bullet, enemy_fish, enemy_sub,
/// oxygen_guage, diver_guage, diver. Actions: noop, left, up, right, down, fire.
public struct Seaquest: MinAtarGame {
    public static let name = "seaquest"
    public static let channelNames = [
        "sub_front", "sub_back", "friendly_bullet", "trail", "enemy_bullet",
        "enemy_fish", "enemy_sub", "oxygen_guage", "diver_guage", "diver"
    ]
    public static let actions: [MinAtarAction] = [.noop, .left, .up, .right, .down, .fire]

    public static let maxOxygen = 200
    static let initialSpawnSpeed = 20
    static let diverSpawnSpeed = 30
    static let initialMoveInterval = 5
    static let shotCooldown = 5
    static let enemyShotInterval = 10
    static let diverMoveInterval = 5

    /// A bullet: cell and direction.
    public struct Bullet: Equatable, Sendable {
        public var x: Int, y: Int, movingRight: Bool
        public init(x: Int, y: Int, movingRight: Bool) {
            self.x = x
            self.y = y
            self.movingRight = movingRight
        }
    }

    /// A fish, a diver or an enemy submarine: cell, direction, steps until it moves, and for
    /// submarines steps until it fires.
    public struct Mover: Equatable, Sendable {
        public var x: Int, y: Int, movingRight: Bool, moveTimer: Int, shotTimer: Int
        public init(x: Int, y: Int, movingRight: Bool, moveTimer: Int, shotTimer: Int = 0) {
            self.x = x
            self.y = y
            self.movingRight = movingRight
            self.moveTimer = moveTimer
            self.shotTimer = shotTimer
        }
    }

    public let mode: ObservationMode
    public let ramping: Bool
    public var oxygen = Seaquest.maxOxygen
    public var diverCount = 0
    public var subX = 5
    public var subY = 0
    /// The sub faces right.
    public var facingRight = false
    public var friendlyBullets: [Bullet] = []
    public var enemyBullets: [Bullet] = []
    public var fish: [Mover] = []
    public var subs: [Mover] = []
    public var divers: [Mover] = []
    public var enemySpawnSpeed = Seaquest.initialSpawnSpeed
    public var enemySpawnTimer = Seaquest.initialSpawnSpeed
    public var diverSpawnTimer = Seaquest.diverSpawnSpeed
    public var moveSpeed = Seaquest.initialMoveInterval
    public var rampIndex = 0
    public var shotTimer = 0
    /// The sub is at the surface and has been resolved there.
    public var surface = true
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
        oxygen = Seaquest.maxOxygen
        diverCount = 0
        subX = 5
        subY = 0
        facingRight = false
        friendlyBullets.removeAll(keepingCapacity: true)
        enemyBullets.removeAll(keepingCapacity: true)
        fish.removeAll(keepingCapacity: true)
        subs.removeAll(keepingCapacity: true)
        divers.removeAll(keepingCapacity: true)
        enemySpawnSpeed = Seaquest.initialSpawnSpeed
        enemySpawnTimer = enemySpawnSpeed
        diverSpawnTimer = Seaquest.diverSpawnSpeed
        moveSpeed = Seaquest.initialMoveInterval
        rampIndex = 0
        shotTimer = 0
        surface = true
        terminated = false
        score = 0
    }

    @inline(__always) private func isSub(_ x: Int, _ y: Int) -> Bool { x == subX && y == subY }

    public mutating func act(_ action: MinAtarAction) -> StepResult {
        precondition(!terminated, "Seaquest.step: the episode is over; call reset first")
        var reward = 0
        if enemySpawnTimer == 0 {
            spawnEnemy()
            enemySpawnTimer = enemySpawnSpeed
        }
        if diverSpawnTimer == 0 {
            spawnDiver()
            diverSpawnTimer = Seaquest.diverSpawnSpeed
        }

        if action == .fire && shotTimer == 0 {
            friendlyBullets.append(Bullet(x: subX, y: subY, movingRight: facingRight))
            shotTimer = Seaquest.shotCooldown
        } else if action == .left {
            subX = max(0, subX - 1)
            facingRight = false
        } else if action == .right {
            subX = min(9, subX + 1)
            facingRight = true
        } else if action == .up {
            subY = max(0, subY - 1)
        } else if action == .down {
            subY = min(8, subY + 1)
        }

        // Friendly bullets.
        var i = friendlyBullets.count - 1
        while i >= 0 && i < friendlyBullets.count {
            friendlyBullets[i].x += friendlyBullets[i].movingRight ? 1 : -1
            let bullet = friendlyBullets[i]
            if bullet.x < 0 || bullet.x > 9 {
                _ = removeFirst(&friendlyBullets, bullet)
            } else if let f = fish.firstIndex(where: { $0.x == bullet.x && $0.y == bullet.y }) {
                fish.remove(at: f)
                _ = removeFirst(&friendlyBullets, bullet)
                reward += 1
            } else if let s = subs.firstIndex(where: { $0.x == bullet.x && $0.y == bullet.y }) {
                subs.remove(at: s)
                _ = removeFirst(&friendlyBullets, bullet)
                reward += 1
            }
            i -= 1
        }

        // Divers.
        i = divers.count - 1
        while i >= 0 && i < divers.count {
            var diver = divers[i]
            if isSub(diver.x, diver.y) && diverCount < 6 {
                _ = removeFirst(&divers, diver)
                diverCount += 1
            } else if diver.moveTimer == 0 {
                diver.moveTimer = Seaquest.diverMoveInterval
                diver.x += diver.movingRight ? 1 : -1
                divers[i] = diver
                if diver.x < 0 || diver.x > 9 {
                    _ = removeFirst(&divers, diver)
                } else if isSub(diver.x, diver.y) && diverCount < 6 {
                    _ = removeFirst(&divers, diver)
                    diverCount += 1
                }
            } else {
                divers[i].moveTimer -= 1
            }
            i -= 1
        }

        // Enemy submarines, then enemy bullets, then fish.
        var enemies = subs
        subs = []
        reward += advance(&enemies, shooting: true)
        subs = enemies

        // Enemy bullets.
        i = enemyBullets.count - 1
        while i >= 0 && i < enemyBullets.count {
            if isSub(enemyBullets[i].x, enemyBullets[i].y) { terminated = true }
            enemyBullets[i].x += enemyBullets[i].movingRight ? 1 : -1
            let bullet = enemyBullets[i]
            if bullet.x < 0 || bullet.x > 9 {
                _ = removeFirst(&enemyBullets, bullet)
            } else if isSub(bullet.x, bullet.y) {
                terminated = true
            }
            i -= 1
        }

        enemies = fish
        fish = []
        reward += advance(&enemies, shooting: false)
        fish = enemies

        if enemySpawnTimer > 0 { enemySpawnTimer -= 1 }
        if diverSpawnTimer > 0 { diverSpawnTimer -= 1 }
        if shotTimer > 0 { shotTimer -= 1 }
        if oxygen <= 0 { terminated = true }
        if subY > 0 {
            oxygen -= 1
            surface = false
        } else if !surface {
            if diverCount == 0 {
                terminated = true
            } else {
                reward += surfaceSub()
            }
        }
        score += reward
        return StepResult(reward: Float(reward), terminated: terminated)
    }

    /// Moves enemy submarines or fish as MinAtar's loops do, walking the list from its end: contact
    /// with the sub terminates, leaving the screen removes, a friendly bullet in the new cell kills
    /// both (+1); submarines fire every 10 steps, even on the step they are removed.
    mutating func advance(_ list: inout [Mover], shooting: Bool) -> Int {
        var reward = 0
        var i = list.count - 1
        while i >= 0 && i < list.count {
            var enemy = list[i]
            var slot: Int? = i
            if isSub(enemy.x, enemy.y) { terminated = true }
            if enemy.moveTimer == 0 {
                enemy.moveTimer = moveSpeed
                enemy.x += enemy.movingRight ? 1 : -1
                list[i] = enemy
                if enemy.x < 0 || enemy.x > 9 {
                    slot = relocate(i, removedAt: removeFirst(&list, enemy))
                } else if isSub(enemy.x, enemy.y) {
                    terminated = true
                } else if let b = friendlyBullets.firstIndex(where: { $0.x == enemy.x && $0.y == enemy.y }) {
                    slot = relocate(i, removedAt: removeFirst(&list, enemy))
                    friendlyBullets.remove(at: b)
                    reward += 1
                }
            } else {
                enemy.moveTimer -= 1
            }
            if shooting {
                if enemy.shotTimer == 0 {
                    enemy.shotTimer = Seaquest.enemyShotInterval
                    enemyBullets.append(Bullet(x: enemy.x, y: enemy.y, movingRight: enemy.movingRight))
                } else {
                    enemy.shotTimer -= 1
                }
            }
            if let slot { list[slot] = enemy }
            i -= 1
        }
        return reward
    }

    /// MinAtar's `_surface`: bonus for a full boat, fresh oxygen, one diver less, harder enemies.
    mutating func surfaceSub() -> Int {
        surface = true
        var reward = 0
        if diverCount == 6 {
            diverCount = 0
            reward = oxygen * 10 / Seaquest.maxOxygen
        }
        oxygen = Seaquest.maxOxygen
        diverCount -= 1
        if ramping && (enemySpawnSpeed > 1 || moveSpeed > 2) {
            if moveSpeed > 2 && rampIndex % 2 == 1 { moveSpeed -= 1 }
            if enemySpawnSpeed > 1 { enemySpawnSpeed -= 1 }
            rampIndex += 1
        }
        return reward
    }

    /// MinAtar's `_spawn_enemy`: side, kind, row; nothing if the row has an enemy going the other way.
    mutating func spawnEnemy() {
        let movingRight = random.nextDouble() < 0.5
        let isSubmarine = random.nextDouble() < 1.0 / 3.0
        let y = random.nextInt(low: 1, high: 9)
        if subs.contains(where: { $0.y == y && $0.movingRight != movingRight })
            || fish.contains(where: { $0.y == y && $0.movingRight != movingRight })
        {
            return
        }
        let enemy = Mover(
            x: movingRight ? 0 : 9, y: y, movingRight: movingRight, moveTimer: moveSpeed,
            shotTimer: isSubmarine ? Seaquest.enemyShotInterval : 0)
        if isSubmarine { subs.append(enemy) } else { fish.append(enemy) }
    }

    /// MinAtar's `_spawn_diver`.
    mutating func spawnDiver() {
        let movingRight = random.nextDouble() < 0.5
        let y = random.nextInt(low: 1, high: 9)
        divers.append(
            Mover(x: movingRight ? 0 : 9, y: y, movingRight: movingRight, moveTimer: Seaquest.diverMoveInterval))
    }

    public func writeGrid<T: PlaneValue>(into planes: UnsafeMutableBufferPointer<T>) {
        clearPlanes(planes, channels: 10)
        setCell(planes, 0, subY, subX)
        setCell(planes, 1, subY, facingRight ? subX - 1 : subX + 1)
        for c in 0..<(max(0, oxygen) * 10 / Seaquest.maxOxygen) { setCell(planes, 7, 9, c) }
        if diverCount > 0 { for c in (9 - min(diverCount, 9))..<9 { setCell(planes, 8, 9, c) } }
        for bullet in friendlyBullets { setCell(planes, 2, bullet.y, bullet.x) }
        for bullet in enemyBullets { setCell(planes, 4, bullet.y, bullet.x) }
        for (list, channel) in [(fish, 5), (subs, 6), (divers, 9)] {
            for mover in list {
                setCell(planes, channel, mover.y, mover.x)
                if let back = trailColumn(mover.x, movingRight: mover.movingRight) { setCell(planes, 3, mover.y, back) }
            }
        }
    }

    static let water = RGB(24, 26, 167)
    static let sky = RGB(45, 50, 184)
    static let seabed = RGB(66, 72, 200)
    static let subColor = RGB(187, 187, 53)
    static let fishColor = RGB(92, 186, 92)
    static let enemySubColor = RGB(170, 170, 170)
    static let diverColor = RGB(66, 158, 130)
    static let friendlyColor = RGB(187, 187, 53)
    static let enemyBulletColor = RGB(252, 144, 144)
    static let trailColor = RGB(40, 40, 120)
    static let oxygenColor = RGB(214, 214, 214)

    public func draw<C: Canvas>(on canvas: inout C) {
        Paint.frame(
            on: &canvas, wall: Seaquest.seabed, background: Seaquest.water, score: score, lives: terminated ? 0 : 1)
        canvas.fillRect(
            x: Screen.playfieldX, y: Screen.y(0), width: 10 * Screen.cell, height: Screen.cell, color: Seaquest.sky)
        canvas.fillRect(
            x: Screen.playfieldX, y: Screen.y(9), width: 10 * Screen.cell, height: Screen.cell, color: .black)
        let oxygenCells = max(0, oxygen) * 10 / Seaquest.maxOxygen
        canvas.fillRect(
            x: Screen.x(0), y: Screen.y(9) + 2, width: oxygenCells * Screen.cell, height: 5, color: Seaquest.oxygenColor
        )
        if diverCount > 0 {
            for c in (9 - min(diverCount, 9))..<9 {
                Paint.cell(on: &canvas, row: 9, column: c, color: Seaquest.diverColor, inset: 4)
            }
        }
        for (list, color) in [(fish, Seaquest.fishColor), (subs, Seaquest.enemySubColor), (divers, Seaquest.diverColor)]
        {
            for mover in list {
                if let back = trailColumn(mover.x, movingRight: mover.movingRight) {
                    Paint.cell(on: &canvas, row: mover.y, column: back, color: Seaquest.trailColor, inset: 5)
                }
                Paint.cell(on: &canvas, row: mover.y, column: mover.x, color: color, inset: 2)
            }
        }
        for bullet in friendlyBullets {
            canvas.fillRect(
                x: Screen.x(bullet.x) + 2, y: Screen.y(bullet.y) + 6, width: 10, height: 2,
                color: Seaquest.friendlyColor)
        }
        for bullet in enemyBullets {
            canvas.fillRect(
                x: Screen.x(bullet.x) + 2, y: Screen.y(bullet.y) + 6, width: 10, height: 2,
                color: Seaquest.enemyBulletColor)
        }
        let back = facingRight ? subX - 1 : subX + 1
        canvas.fillRect(
            x: Screen.x(subX), y: Screen.y(subY) + 4, width: Screen.cell, height: 8, color: Seaquest.subColor)
        canvas.fillRect(
            x: Screen.x(back), y: Screen.y(subY) + 5, width: Screen.cell, height: 7, color: Seaquest.subColor)
        canvas.fillRect(x: Screen.x(subX) + 5, y: Screen.y(subY) + 1, width: 4, height: 3, color: Seaquest.subColor)
    }
}

/// Python's `list.remove(value)`: removes the first element equal to `value`; returns its index.
@discardableResult
func removeFirst<T: Equatable>(_ list: inout [T], _ value: T) -> Int {
    let index = list.firstIndex(of: value)!
    list.remove(at: index)
    return index
}

/// Where the element walked at `index` sits after a removal at `removed` (nil if it was it).
@inline(__always)
func relocate(_ index: Int, removedAt removed: Int) -> Int? {
    removed == index ? nil : (removed < index ? index - 1 : index)
}
