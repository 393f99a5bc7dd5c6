import Foundation

/// Ctrl-C during training: the first one asks the loop to stop after saving a checkpoint, a
/// second one exits at once.
enum Interrupt {
    nonisolated(unsafe) static var requested = false

    static func install() {
        signal(SIGINT) { _ in
            if Interrupt.requested { exit(130) }
            Interrupt.requested = true
        }
    }
}
