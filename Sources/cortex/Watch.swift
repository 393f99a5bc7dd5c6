import Agents
import ArgumentParser
import Cortex
import Envs
import Foundation
import Render

/// `cortex watch <game>`: a policy plays, in a window or recorded to a GIF.
struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Watch a policy play a game in a window, or record it as an animated GIF.",
        discussion: """
            Without --checkpoint a random policy plays. The game is MinAtar's as agents learn \
            it: sticky actions (p = 0.1) and, here, episodes truncated at --max-steps. The panel beside the game shows the \
            score, the episode, the action and, for an agent, its Q-values. In the window P \
            pauses and Esc or closing the window quits. With --record the episodes are written \
            to a GIF without opening a window (no display or SDL needed).
            """)

    @Argument(
        help: "The game: \(Games.names.joined(separator: ", ")), or go.", completion: .list(Games.names + ["go"]))
    var game: String

    @Option(
        help: "A trained agent's checkpoint (default: a random policy).",
        completion: .file(extensions: ["safetensors"]), transform: ShippedModels.resolve)
    var checkpoint: String?

    @Option(help: "Episodes to play.")
    var episodes = 1

    @Option(help: "Game steps per second.")
    var fps: Double = 12

    @Option(help: "Stop after this many pictures, 0 for no limit.")
    var maxFrames = 0

    @Option(help: "Probability that the previous action repeats (MinAtar's sticky actions).")
    var stickyActions = 0.1

    @Option(help: "With --checkpoint: probability of a random action (ε-greedy; 0 plays greedily).")
    var epsilon: Float = 0

    @Option(help: "Truncate an episode after this many steps (a good Breakout player never loses).")
    var maxSteps = 10_000

    @Option(help: "Go: board size.")
    var size = 9

    @Option(help: "Go: komi.")
    var komi = 7.5

    @Option(help: "Go: the other player: random, self (the --checkpoint agent) or another checkpoint.")
    var opponent = "random"

    @OptionGroup var display: ScreenOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (2...25).contains(size) else { throw ValidationError("--size must be in 2...25, got \(size)") }
        guard episodes >= 1 else { throw ValidationError("--episodes must be at least 1, got \(episodes)") }
        guard fps > 0 && fps <= 1000 else { throw ValidationError("--fps must be in (0, 1000], got \(fps)") }
        guard maxFrames >= 0 else { throw ValidationError("--max-frames must be at least 0, got \(maxFrames)") }
        guard (0...1).contains(stickyActions) else {
            throw ValidationError("--sticky-actions must be in [0, 1], got \(stickyActions)")
        }
        guard (0...1).contains(epsilon) else { throw ValidationError("--epsilon must be in [0, 1], got \(epsilon)") }
        guard maxSteps >= 1 else { throw ValidationError("--max-steps must be at least 1, got \(maxSteps)") }
    }

    func run() throws {
        if game == "go" { return try reportingFailures("watch go") { try watchGo() } }
        try reportingFailures("watch") {
            let env: AnyEnvironment, policy: Policy
            if let checkpoint {
                (policy, env) = try Policy.load(
                    checkpoint: checkpoint, game: game, epsilon: epsilon,
                    seed: common.seed, maxSteps: maxSteps)
            } else {
                env = try Games.makeMinAtar(
                    game, seed: common.seed, stickyActionProbability: stickyActions,
                    maxEpisodeSteps: maxSteps)
                policy = Policy.random(actionCount: env.actionCount, seed: common.seed &+ 0x5EED)
            }
            let first = env.render()
            let screen = try GameScreen(
                view: GameView(gameWidth: first.width, gameHeight: first.height, zoom: display.zoom),
                title: "Cortex — \(gameTitle(game))", framesPerSecond: fps, record: display.record,
                window: display.record == nil, frameLimit: maxFrames,
                noWindowAdvice: "use --record out.gif to write a GIF instead")
            let session = WatchSession(
                env: env, policy: policy, screen: screen, title: gameTitle(game),
                episodes: episodes)
            let result = session.play(seed: common.seed)
            let path = try screen.finish()
            for (i, (score, steps)) in zip(result.returns, result.lengths).enumerated() {
                printError("episode \(i + 1): return \(score), \(steps) steps")
            }
            if let path { printError("wrote \(path) (\(screen.frameCount) frames at \(min(fps, 50)) frames/s)") }
            if common.json {
                printJSON([
                    "game": game, "policy": policy.name, "episodes": result.returns.count,
                    "returns": result.returns, "lengths": result.lengths,
                    "frames": screen.frameCount, "record": path ?? NSNull()
                ])
            }
        }
    }
}

extension Watch {
    /// `cortex watch go`: the --checkpoint agent (or the random player) against --opponent.
    func watchGo() throws {
        Runtime.configure(threads: common.threads)
        let first =
            try checkpoint.map {
                try GoCheckpointPlayer.make(checkpoint: $0, seed: common.seed, epsilon: epsilon)
            }
            ?? GoRandomPlayer(seed: common.seed)
        let second = try GoScreen.player(opponent, agent: checkpoint, epsilon: epsilon, seed: common.seed &+ 1)
        let (picture, screen) = try GoScreen.makeScreen(
            size: size, zoom: display.zoom, title: "Cortex — Go", fps: fps, record: display.record,
            window: display.record == nil, frameLimit: maxFrames, advice: "use --record out.gif to write a GIF instead")
        let results = GoScreen.watch(
            first, second, size: size, komi: komi, games: episodes, screen: screen, picture: picture)
        let path = try screen.finish()
        for (i, game) in results.enumerated() {
            printError(
                "game \(i + 1): \(game.result) in \(game.moves) moves; \(GoScreen.label(first)) played \(i % 2 == 0 ? "black" : "white")"
            )
        }
        if let path { printError("wrote \(path) (\(screen.frameCount) frames at \(min(fps, 50)) frames/s)") }
        if common.json {
            printJSON([
                "game": "go", "size": size, "games": results.count, "results": results.map(\.result),
                "first_wins": results.filter { $0.firstWon == true }.count,
                "lengths": results.map(\.moves), "frames": screen.frameCount, "record": path ?? NSNull()
            ])
        }
    }
}

/// The watching loop: episodes of policy play, each ending with a second of GAME OVER.
final class WatchSession {
    var env: AnyEnvironment
    let policy: Policy
    let screen: GameScreen
    let title: String
    let episodes: Int

    init(env: AnyEnvironment, policy: Policy, screen: GameScreen, title: String, episodes: Int) {
        self.env = env
        self.policy = policy
        self.screen = screen
        self.title = title
        self.episodes = episodes
    }

    /// Plays until the episodes are done, the frame limit is reached, or the viewer quits;
    /// returns the finished episodes' returns and lengths.
    func play(seed: UInt64) -> (returns: [Double], lengths: [Int]) {
        var returns: [Double] = [], lengths: [Int] = []
        var paused = false
        let endHold = max(1, Int(screen.framesPerSecond.rounded()))
        for episode in 1...episodes where !screen.isFull {
            env.reset(seed: episode == 1 ? seed : nil)
            var score: Float = 0, steps = 0
            var action: Int?, qValues: [Float]?
            func panel(banner: String? = nil) -> Panel {
                Panel(
                    title: title, score: Int(score),
                    stats: [
                        .init("Episode", "\(episode)/\(episodes)"), .init("Step", "\(steps)"),
                        .init("Policy", policy.name)
                    ],
                    actionNames: env.actionNames, chosenAction: action, qValues: qValues,
                    hints: ["P pause  Esc quit"], banner: banner)
            }
            screen.present(env.render(), panel())
            while !env.isDone {
                if screen.isFull { return (returns, lengths) }
                for event in screen.events() {
                    switch event {
                    case .quit: return (returns, lengths)
                    case .keyDown(.p): paused.toggle()
                    default: break
                    }
                }
                if paused {
                    screen.present(env.render(), panel(banner: "PAUSED"), record: false)
                    continue
                }
                (action, qValues) = policy.act(env.observation())
                score += env.step(action!).reward
                steps += 1
                screen.present(env.render(), panel())
            }
            returns.append(Double(score))
            lengths.append(steps)
            for _ in 0..<endHold where !screen.isFull {
                if screen.events().contains(.quit) { return (returns, lengths) }
                screen.present(env.render(), panel(banner: "GAME OVER"))
            }
        }
        return (returns, lengths)
    }
}
