import Agents
import Cortex
import Envs
import Foundation
import Render

/// `cortex watch go` and `cortex play go`: Go games drawn as a board with coordinates, the
/// last move marked, and a panel with the players, captures and the estimated score.
enum GoScreen {
    /// `random`, `self` (the --checkpoint agent again), or a checkpoint path.
    static func player(_ spec: String, agent: String?, epsilon: Float, seed: UInt64) throws -> GoMoveGenerator {
        switch spec {
        case "random": return GoRandomPlayer(seed: seed)
        case "self":
            guard let agent else { throw CommandFailure("--opponent self needs --checkpoint") }
            return try GoCheckpointPlayer.make(checkpoint: agent, seed: seed, epsilon: epsilon)
        default: return try GoCheckpointPlayer.make(checkpoint: spec, seed: seed, epsilon: epsilon)
        }
    }

    static func label(_ generator: GoMoveGenerator) -> String {
        generator is GoDQNPlayer ? "DQN" : generator.name
    }

    /// The side panel for `game`.
    static func panel(
        _ game: GoGame, black: String, white: String, gameLine: String, banner: String?,
        hints: [String]
    ) -> Panel {
        let board = game.board
        let estimate = GoResult.score(margin: board.estimatedScore().margin(komi: game.komi)).description
        var stats: [Panel.Stat] = [
            .init("Game", gameLine), .init("Black", black), .init("White", white),
            .init("Move", "\(game.moves.count)"),
            .init("Captures", "B \(board.capturedBy.black)  W \(board.capturedBy.white)"),
            .init("Score", estimate)
        ]
        if let last = game.moves.last {
            stats.append(.init("Last", "\(last.color.letter) \(last.move.vertex(size: game.size))"))
        }
        if !game.isOver { stats.append(.init("To play", board.toPlay.description)) }
        return Panel(title: "Go \(game.size)x\(game.size)", score: nil, stats: stats, hints: hints, banner: banner)
    }

    static func makeScreen(
        size: Int, zoom: Int, title: String, fps: Double, record: String?, window: Bool,
        frameLimit: Int, advice: String
    ) throws -> (GoBoardPicture, GameScreen) {
        let picture = GoBoardPicture(size: size, pixels: 168 * zoom)
        let screen = try GameScreen(
            view: GameView(gameWidth: picture.width, gameHeight: picture.height, zoom: 1),
            title: title, framesPerSecond: fps, record: record, window: window,
            frameLimit: frameLimit, noWindowAdvice: advice)
        return (picture, screen)
    }

    /// The result line of a finished game.
    static func resultText(_ game: GoGame, capped: Bool) -> String {
        (capped ? "capped: " : "") + game.result.description
    }

    // MARK: watch

    /// Plays `games` games between the two generators (swapping colours each game) and shows
    /// or records them; returns each game's result from the first generator's side.
    static func watch(
        _ first: GoMoveGenerator, _ second: GoMoveGenerator, size: Int, komi: Double, games: Int,
        screen: GameScreen, picture: GoBoardPicture
    ) -> [(result: String, firstWon: Bool?, moves: Int)] {
        var results: [(result: String, firstWon: Bool?, moves: Int)] = []
        let cap = 2 * size * size
        let endHold = max(2, Int((screen.framesPerSecond * 2).rounded()))
        var paused = false
        for number in 1...games where !screen.isFull {
            let firstIsBlack = number % 2 == 1
            let (black, white) = firstIsBlack ? (first, second) : (second, first)
            let game = GoGame(size: size, komi: komi)
            black.startGame(size: size, komi: komi)
            white.startGame(size: size, komi: komi)
            let names = (label(black), label(white))
            let line = "\(number)/\(games)"
            var note: String?
            func show(_ banner: String? = nil, record: Bool = true) {
                screen.present(
                    picture.draw(game.board),
                    panel(
                        game, black: names.0, white: names.1, gameLine: line, banner: banner,
                        hints: ["P pause  Esc quit"]), record: record)
            }
            show()
            while !game.isOver && game.moves.count < cap {
                if screen.isFull { return results }
                for event in screen.events() {
                    switch event {
                    case .quit: return results
                    case .keyDown(.p): paused.toggle()
                    default: break
                    }
                }
                if paused {
                    show("PAUSED", record: false)
                    continue
                }
                let color = game.board.toPlay
                let move = (color == .black ? black : white).generateMove(in: game, for: color)
                if !game.play(move, color: color) {
                    game.forfeit(by: color)
                    note = "\(color) played the illegal \(move.vertex(size: size))"
                }
                show()
            }
            let text = resultText(game, capped: !game.isOver)
            let winner = game.result.winner
            results.append(
                (
                    text + (note.map { " (\($0))" } ?? ""),
                    winner.map { ($0 == .black) == firstIsBlack }, game.moves.count
                ))
            for _ in 0..<endHold where !screen.isFull {
                if screen.events().contains(.quit) { return results }
                show(text)
            }
        }
        return results
    }

    // MARK: play

    /// A person (clicking points; Space passes) against `agent`; returns the finished games' results.
    static func play(
        agent: GoMoveGenerator, human: GoColor, size: Int, komi: Double, screen: GameScreen,
        picture: GoBoardPicture
    ) -> [String] {
        var results: [String] = []
        var quit = false
        var number = 0
        let cap = 2 * size * size
        let hints = ["Click to play", "Space pass", "Esc quit"]
        while !quit {
            number += 1
            let game = GoGame(size: size, komi: komi)
            agent.startGame(size: size, komi: komi)
            let names = human == .black ? ("YOU", label(agent)) : (label(agent), "YOU")
            func show(_ banner: String? = nil, hints: [String] = hints, record: Bool = true) {
                screen.present(
                    picture.draw(game.board),
                    panel(
                        game, black: names.0, white: names.1, gameLine: "\(number)", banner: banner,
                        hints: hints), record: record)
            }
            show()
            turns: while !game.isOver && game.moves.count < cap {
                let color = game.board.toPlay
                if color != human {
                    game.play(agent.generateMove(in: game, for: color), color: color)
                    show()
                    continue
                }
                // The person's turn: wait for a legal click or a pass (waiting is not recorded).
                while true {
                    for event in screen.events() {
                        switch event {
                        case .quit:
                            quit = true
                            break turns
                        case .keyDown(.space):
                            game.play(.pass, color: color)
                            show()
                            continue turns
                        case .click(let x, let y):
                            if let point = picture.point(atX: x, y: y), game.play(.play(point), color: color) {
                                show()
                                continue turns
                            }
                        default: break
                        }
                    }
                    show(record: false)
                }
            }
            if quit && !game.isOver { break }
            let text = resultText(game, capped: !game.isOver)
            results.append(text)
            printError("game \(number): \(text) in \(game.moves.count) moves (you played \(human))")
            let again = ["Space: play again", "Esc quit"]
            for _ in 0..<max(1, Int(screen.framesPerSecond.rounded())) { show(text, hints: again) }
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
                show(text, hints: again, record: false)
            }
        }
        return results
    }
}
