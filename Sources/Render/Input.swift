import Foundation

/// The keys Cortex's windows react to.
public enum Key: Hashable, Sendable, CaseIterable {
    case left, right, up, down, space, enter, escape, p, q, other
}

/// Something a person did to the window.
public enum WindowEvent: Equatable, Sendable {
    /// The window was closed or Esc was pressed.
    case quit
    /// A key went down (not a key repeat).
    case keyDown(Key)
    /// A mouse button went down at (x, y) in frame pixels.
    case click(x: Int, y: Int)
}

/// Paces a loop at a fixed rate: `wait()` sleeps until the next tick. A loop that falls more
/// than one tick behind starts afresh from now instead of rushing to catch up.
public struct FrameClock {
    public let framesPerSecond: Double
    private var next: UInt64
    private let period: UInt64

    public init(framesPerSecond: Double) {
        precondition(framesPerSecond > 0, "FrameClock: \(framesPerSecond) frames per second")
        self.framesPerSecond = framesPerSecond
        period = UInt64(1e9 / framesPerSecond)
        next = DispatchTime.now().uptimeNanoseconds + period
    }

    /// Sleeps until the next tick.
    public mutating func wait() {
        let now = DispatchTime.now().uptimeNanoseconds
        if now < next {
            var remaining = timespec(
                tv_sec: Int((next - now) / 1_000_000_000),
                tv_nsec: Int((next - now) % 1_000_000_000))
            var left = timespec()
            while nanosleep(&remaining, &left) != 0 && errno == EINTR { remaining = left }
            next += period
        } else if now - next < period {
            next += period
        } else {
            next = now + period
        }
    }
}

/// Turns keys into a game's actions by name: arrows are `left`/`right`/`up`/`down` and space is
/// `fire`, for whichever of them the game's action set has; anything else is `noop`.
public struct KeyMap: Sendable {
    public let actionNames: [String]
    /// The action taken when no key asks for one: `noop` if the game has it, else action 0.
    public let idle: Int
    private let actionOfKey: [Key: Int]

    /// Keys of the actions, held-key priority first: a held arrow steers even while space is held.
    static let keyNames: [(Key, String)] = [
        (.left, "left"), (.right, "right"), (.up, "up"),
        (.down, "down"), (.space, "fire")
    ]

    public init(actionNames: [String]) {
        self.actionNames = actionNames
        idle = actionNames.firstIndex(of: "noop") ?? 0
        var map: [Key: Int] = [:]
        for (key, name) in Self.keyNames {
            if let index = actionNames.firstIndex(of: name) { map[key] = index }
        }
        actionOfKey = map
    }

    /// The keys that do something in this game.
    public var activeKeys: [Key] { Self.keyNames.map(\.0).filter { actionOfKey[$0] != nil } }

    /// The action for one tick: the last key pressed since the previous tick that the game
    /// knows (so a tap shorter than a tick still counts), else a held key, else `idle`.
    public func action(pressed: [Key], held: Set<Key>) -> Int {
        for key in pressed.reversed() {
            if let action = actionOfKey[key] { return action }
        }
        for (key, _) in Self.keyNames where held.contains(key) {
            if let action = actionOfKey[key] { return action }
        }
        return idle
    }
}
