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
            var remaining = timespec(tv_sec: Int((next - now) / 1_000_000_000),
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
