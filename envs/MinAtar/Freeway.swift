/// MinAtar Freeway: a chicken in column 4 crosses eight lanes of traffic from the bottom row to
/// the top; +1 per crossing, after which it restarts at the bottom and the cars get new random
/// speeds; a car sends it back to the bottom; the episode terminates after 2,500 steps.
///
/// Rules as MinAtar 1.0.15 (`freeway.py`): the chicken may move up or down only every 3 steps;
/// reaching row 0 scores and re-randomises every car's speed (1–5, the car moves once every
/// `speed` steps) and direction (sign of `U(0,1) − ½`); each car, lane `i + 1`, checks for the
/// chicken, then moves when its timer is 0 (wrapping at the edges) and checks again.
///
/// Channels: chicken, car, speed1 … speed5 (a trail behind each car in the plane of its speed).
/// Actions: noop, up, down.
public struct Freeway: MinAtarGame {
    public static let name = "freeway"
    public static let channelNames = ["chicken", "car", "speed1", "speed2", "speed3", "speed4", "speed5"]
    public static let actions: [MinAtarAction] = [.noop, .up, .down]

    static let playerSpeed = 3
    public static let timeLimit = 2500

    /// One car: column, lane row, steps until it moves, signed speed (sign = direction).
    public struct Car: Equatable, Sendable {
        public var x: Int, y: Int, timer: Int, speed: Int
        public init(x: Int, y: Int, timer: Int, speed: Int) {
            self.x = x
            self.y = y
            self.timer = timer
            self.speed = speed
        }
    }

    public let mode: ObservationMode
    /// The chicken's row (its column is always 4).
    public var position = 9
    public var cars: [Car] = []
    public var moveTimer = Freeway.playerSpeed
    public var terminateTimer = Freeway.timeLimit
    public var terminated = false
    public var score = 0
    var random: MersenneTwister

    public init(observation: ObservationMode = .grid, seed: UInt64 = 0) {
        mode = observation
        random = MersenneTwister(seed: seed)
        reset(seed: nil)
    }

    public mutating func reset(seed: UInt64?) {
        if let seed { random = MersenneTwister(seed: seed) }
        randomizeCars(initialize: true)
        position = 9
        moveTimer = Freeway.playerSpeed
        terminateTimer = Freeway.timeLimit
        terminated = false
        score = 0
    }

    /// MinAtar's `_randomize_cars`: `randint(1, 6, 8)` speeds, then `rand(8)` directions.
    mutating func randomizeCars(initialize: Bool) {
        var speeds = (0..<8).map { _ in random.nextInt(low: 1, high: 6) }
        for i in 0..<8 {
            let u = random.nextDouble() - 0.5
            speeds[i] *= u > 0 ? 1 : (u < 0 ? -1 : 0)
        }
        if initialize {
            cars = (0..<8).map { Car(x: 0, y: $0 + 1, timer: abs(speeds[$0]), speed: speeds[$0]) }
        } else {
            for i in 0..<8 {
                cars[i].timer = abs(speeds[i])
                cars[i].speed = speeds[i]
            }
        }
    }

    public mutating func act(_ action: MinAtarAction) -> StepResult {
        precondition(!terminated, "Freeway.step: the episode is over; call reset first")
        var reward: Float = 0
        if action == .up && moveTimer == 0 {
            moveTimer = Freeway.playerSpeed
            position = max(0, position - 1)
        } else if action == .down && moveTimer == 0 {
            moveTimer = Freeway.playerSpeed
            position = min(9, position + 1)
        }

        if position == 0 {
            reward += 1
            randomizeCars(initialize: false)
            position = 9
        }

        for i in 0..<cars.count {
            if cars[i].x == 4 && cars[i].y == position { position = 9 }
            if cars[i].timer == 0 {
                cars[i].timer = abs(cars[i].speed)
                cars[i].x += cars[i].speed > 0 ? 1 : -1
                if cars[i].x < 0 { cars[i].x = 9 } else if cars[i].x > 9 { cars[i].x = 0 }
                if cars[i].x == 4 && cars[i].y == position { position = 9 }
            } else {
                cars[i].timer -= 1
            }
        }

        if moveTimer > 0 { moveTimer -= 1 }
        terminateTimer -= 1
        if terminateTimer < 0 { terminated = true }
        score += Int(reward)
        return StepResult(reward: reward, terminated: terminated)
    }

    public func writeGrid<T: PlaneValue>(into planes: UnsafeMutableBufferPointer<T>) {
        clearPlanes(planes, channels: 7)
        setCell(planes, 0, position, 4)
        for car in cars {
            setCell(planes, 1, car.y, car.x)
            var back = car.speed > 0 ? car.x - 1 : car.x + 1
            if back < 0 { back = 9 } else if back > 9 { back = 0 }
            let speed = abs(car.speed)
            if speed >= 1 && speed <= 5 { setCell(planes, 1 + speed, car.y, back) }
        }
    }

    static let carColors = [
        RGB(210, 210, 64), RGB(135, 183, 84), RGB(84, 92, 214), RGB(162, 98, 33),
        RGB(24, 26, 167), RGB(228, 111, 111), RGB(180, 122, 48), RGB(214, 92, 92)
    ]
    static let asphalt = RGB(80, 80, 80)
    static let sidewalk = RGB(170, 170, 170)
    static let chickenColor = RGB(252, 252, 84)

    public func draw<C: Canvas>(on canvas: inout C) {
        Paint.frame(
            on: &canvas, wall: Freeway.sidewalk, background: Freeway.asphalt, score: score,
            lives: terminated ? 0 : 1)
        canvas.fillRect(
            x: Screen.playfieldX, y: Screen.y(0), width: 10 * Screen.cell, height: Screen.cell, color: Freeway.sidewalk)
        canvas.fillRect(
            x: Screen.playfieldX, y: Screen.y(9), width: 10 * Screen.cell, height: Screen.cell, color: Freeway.sidewalk)
        for lane in 1..<9 where lane != 8 {
            // Dashed lane markings.
            for column in 0..<10 where column % 2 == 0 {
                canvas.fillRect(
                    x: Screen.x(column) + 3, y: Screen.y(lane) + Screen.cell - 1, width: 8, height: 1,
                    color: Freeway.sidewalk)
            }
        }
        for (i, car) in cars.enumerated() {
            let color = Freeway.carColors[i % Freeway.carColors.count]
            canvas.fillRect(x: Screen.x(car.x), y: Screen.y(car.y) + 2, width: Screen.cell, height: 9, color: color)
            // Speed shows as the length of the exhaust behind the car.
            var back = car.speed > 0 ? car.x - 1 : car.x + 1
            if back < 0 { back = 9 } else if back > 9 { back = 0 }
            let length = 2 * (6 - abs(car.speed))
            let x = car.speed > 0 ? Screen.x(back) + Screen.cell - length : Screen.x(back)
            canvas.fillRect(x: x, y: Screen.y(car.y) + 6, width: length, height: 2, color: Freeway.sidewalk)
        }
        canvas.fillRect(
            x: Screen.x(4) + 4, y: Screen.y(position) + 2, width: 6, height: 10, color: Freeway.chickenColor)
    }
}
