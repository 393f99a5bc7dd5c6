import Agents
import ArgumentParser
import Cortex
import Envs
import Render

/// `cortex play <game>`: a person plays with the keyboard in a window.
struct Play: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "play",
        abstract: "Play a game with the keyboard in a window.",
        discussion: """
            Arrows move, space fires (for the games that have those actions), P pauses, Esc or \
            closing the window quits; after GAME OVER space or Enter starts a new game. \
            The game is MinAtar's without sticky actions. --record also writes what was played \
            to an animated GIF.
            """)

    @Argument(
        help: "The game: \(Games.names.joined(separator: ", ")), or go (click to play against an agent).",
        completion: .list(Games.names + ["go"]))
    var game: String

    @Option(
        help: "Go: the agent's checkpoint (default: the random player).",
        completion: .file(extensions: ["safetensors"]), transform: ShippedModels.resolve)
    var checkpoint: String?

    @Option(help: "Go: board size.")
    var size = 9

    @Option(help: "Go: komi.")
    var komi = 7.5

    @Option(help: "Go: your colour, black or white.")
    var color = "black"

    @Option(help: "Game steps per second (MinAtar's games are hard above about 10).")
    var fps: Double = 7

    @OptionGroup var display: ScreenOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (2...25).contains(size) else { throw ValidationError("--size must be in 2...25, got \(size)") }
        guard GTP.color(color) != nil else { throw ValidationError("--color must be black or white, got '\(color)'") }
        guard fps > 0 && fps <= 60 else { throw ValidationError("--fps must be in (0, 60], got \(fps)") }
    }

    func run() throws {
        if game == "go" { return try reportingFailures("play go") { try playGo() } }
        try reportingFailures("play") {
            var env = try Games.make(game, seed: common.seed)
            let first = env.render()
            let screen = try GameScreen(
                view: GameView(gameWidth: first.width, gameHeight: first.height, zoom: display.zoom),
                title: "Cortex — \(gameTitle(game))", framesPerSecond: fps, record: display.record,
                window: true, noWindowAdvice: "cortex play needs one (cortex watch --record out.gif works without)")
            let keys = KeyMap(actionNames: env.actionNames)
            let title = gameTitle(game)
            var hints = [keys.activeKeys.contains(.up) ? "Arrows move" : "Left right move"]
            if keys.activeKeys.contains(.space) { hints.append("Space fire") }
            hints.append("P pause  Esc quit")

            var games = 0, best = 0, scores: [Int] = []
            var quit = false
            while !quit {
                games += 1
                env.reset(seed: games == 1 ? common.seed : nil)
                var score: Float = 0, steps = 0, action: Int? = nil
                var paused = false, pressed: [Key] = []
                func panel(_ banner: String? = nil, hints: [String] = hints) -> Panel {
                    Panel(
                        title: title, score: Int(score),
                        stats: [
                            .init("Game", "\(games)"), .init("Best", "\(max(best, Int(score)))"),
                            .init("Step", "\(steps)")
                        ],
                        actionNames: env.actionNames, chosenAction: action, hints: hints, banner: banner)
                }
                // Wait for the player: space, Enter or an arrow starts the game (not recorded).
                let ready = ["Space or arrow", "to start", "Esc quit"]
                start: while !quit {
                    for event in screen.events() {
                        switch event {
                        case .quit: quit = true
                        case .keyDown(let key) where key != .p && key != .q && key != .other:
                            if keys.activeKeys.contains(key) { pressed.append(key) }
                            break start
                        default: break
                        }
                    }
                    if !quit { screen.present(env.render(), panel("READY", hints: ready), record: false) }
                }
                if quit { break }
                screen.present(env.render(), panel())
                play: while !env.isDone {
                    for event in screen.events() {
                        switch event {
                        case .quit:
                            quit = true
                            break play
                        case .keyDown(.p): paused.toggle()
                        case .keyDown(let key): pressed.append(key)
                        default: break
                        }
                    }
                    if paused {
                        pressed.removeAll()
                        screen.present(env.render(), panel("PAUSED"), record: false)
                        continue
                    }
                    action = keys.action(pressed: pressed, held: screen.held(keys.activeKeys))
                    pressed.removeAll()
                    score += env.step(action!).reward
                    steps += 1
                    screen.present(env.render(), panel())
                }
                if quit && !env.isDone { break }
                scores.append(Int(score))
                best = max(best, Int(score))
                printError("game \(games): score \(Int(score)), \(steps) steps")
                // GAME OVER: recorded for one second, then shown until space, Enter or quit.
                let againHints = ["Space: play again", "Esc quit"]
                for _ in 0..<max(1, Int(fps.rounded())) {
                    screen.present(env.render(), panel("GAME OVER", hints: againHints))
                }
                waiting: while !quit {
                    for event in screen.events() {
                        switch event {
                        case .quit:
                            quit = true
                            break waiting
                        case .keyDown(.space), .keyDown(.enter): break waiting
                        default: break
                        }
                    }
                    screen.present(env.render(), panel("GAME OVER", hints: againHints), record: false)
                }
            }
            if let path = try screen.finish() {
                printError("wrote \(path) (\(screen.frameCount) frames)")
            }
            if common.json {
                printJSON(["game": game, "games": scores.count, "scores": scores, "best": best])
            }
        }
    }
}

extension Play {
    /// `cortex play go`: click a point to play it, Space to pass, against the --checkpoint agent.
    func playGo() throws {
        Runtime.configure(threads: common.threads)
        let agent =
            try checkpoint.map { try GoCheckpointPlayer.make(checkpoint: $0, seed: common.seed) }
            ?? GoRandomPlayer(seed: common.seed)
        let (picture, screen) = try GoScreen.makeScreen(
            size: size, zoom: display.zoom, title: "Cortex — Go", fps: fps, record: display.record, window: true,
            frameLimit: 0, advice: "cortex play needs one (cortex watch go --record out.gif works without)")
        let results = GoScreen.play(
            agent: agent, human: GTP.color(color)!, size: size, komi: komi, screen: screen,
            picture: picture)
        if let path = try screen.finish() { printError("wrote \(path) (\(screen.frameCount) frames)") }
        if common.json { printJSON(["game": "go", "size": size, "games": results.count, "results": results]) }
    }
}
