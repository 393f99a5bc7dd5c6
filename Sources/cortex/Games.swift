import Envs

/// The games `play` and `watch` know, by command-line name.
enum GameCatalog {
    /// Command-line names, in the order the games issue lists them.
    static let names = ["breakout"]

    /// A fresh game in `grid` mode whose first episode is seeded with `seed`.
    static func make(_ name: String, seed: UInt64) throws -> AnyEnvironment {
        switch name.lowercased() {
        case "breakout": return AnyEnvironment(Breakout(observation: .grid, seed: seed))
        default:
            throw CommandFailure("unknown game '\(name)'; available: \(names.joined(separator: ", "))")
        }
    }

    /// The name as a title: `space_invaders` → `SPACE INVADERS`.
    static func title(_ name: String) -> String {
        name.replacingOccurrences(of: "_", with: " ").uppercased()
    }
}
