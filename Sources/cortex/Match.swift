import Agents
import ArgumentParser
import Cortex
import Envs
import Foundation

/// `cortex match`: whole Go games between two engines, refereed by Cortex's rules, with a
/// results table and one SGF per game. Optionally a referee engine scores each finished game
/// too (`loadsgf` + `final_score`), to check Cortex's area scoring against it.
struct MatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "match",
        abstract: "Play Go games between two GTP engines (or built-in players) and tabulate the results.",
        discussion: """
            Engines are command lines run through /bin/sh, e.g. "gnugo --mode gtp --level 1 --chinese-rules", \
            the built-in "random" (uniform among legal moves that do not fill its own eyes), \
            "cortex:<checkpoint>", the agent of a `cortex train go` checkpoint (a file or a shipped model's name) playing greedily, \
            or "cortex-mcts[:playouts=N,seconds=S,threads=T,batch=B]", Monte Carlo tree search over fast playouts. \
            Colours alternate: the --black engine takes black in odd games, white in even ones.

            Every GTP engine and the referee run under deadlines: --startup-timeout for the first \
            answer, --engine-timeout for each command after it (set it above the engine's own time per \
            move). An engine that misses one, exits, or answers with something that is not GTP is \
            killed with the processes it started; that game is recorded as an error (in the table and \
            in --json), the engine is restarted, and the match goes on with the next game, as \
            gogui-twogtp does. An engine that cannot be started (again) stops the match. A match with \
            any error game exits with status 1 after the table, naming the first error in one line.
            """)

    @OptionGroup var common: CommonOptions

    @Option(help: "Engine playing black in the first game.")
    var black: String

    @Option(help: "Engine playing white in the first game.")
    var white: String

    @Option(help: "Number of games.")
    var games = 10

    @Option(help: "Board size.")
    var size = 19

    @Option(help: "Komi (always sent to both engines).")
    var komi = 7.5

    @Option(help: "Write each game as SGF into this directory.")
    var sgfDir: String?

    @Option(help: "Moves before a game is stopped and scored as it stands (default 2·size²).")
    var maxMoves: Int?

    @Option(
        help:
            "Engine that judges every game ended by two passes: its `final_status_list dead` stones come off before Cortex counts by area (SGF RU[Chinese]), and its `final_score` is compared, e.g. \"gnugo --mode gtp --chinese-rules\". Without it, stones left on the board count as alive (RU[Tromp-Taylor])."
    )
    var referee: String?

    @Option(help: "Seconds a GTP engine or the referee may take to answer one command (above its own time per move).")
    var engineTimeout = 30.0

    @Option(help: "Seconds a GTP engine or the referee may take to start and answer its first command.")
    var startupTimeout = 10.0

    @Option(help: "Random first moves of every game (uniform, legal, no own eye filled), told to both engines: varied games between deterministic engines.")
    var randomOpening = 0

    @Flag(
        help:
            "After two passes, a clean-up phase: engines that know kgs-genmove_cleanup play on until two more passes, capturing dead stones."
    )
    var cleanup = false

    func validate() throws {
        guard (2...25).contains(size) else { throw ValidationError("--size must be in 2...25, got \(size)") }
        guard games >= 1 else { throw ValidationError("--games must be at least 1, got \(games)") }
        if let maxMoves, maxMoves < 1 { throw ValidationError("--max-moves must be at least 1, got \(maxMoves)") }
        guard (0...size * size).contains(randomOpening) else {
            throw ValidationError("--random-opening must be in 0...\(size * size), got \(randomOpening)")
        }
        for (flag, value) in [("--engine-timeout", engineTimeout), ("--startup-timeout", startupTimeout)]
        where !(value > 0 && value <= 86_400) {
            throw ValidationError("\(flag) must be in (0, 86400] seconds, got \(value)")
        }
    }

    /// Per-engine tallies, from that engine's side.
    struct Tally {
        let name: String
        var wins = 0.0
        var winsAsBlack = 0.0, gamesAsBlack = 0
        var margins: [Double] = []
        var seconds = 0.0, moves = 0
    }

    func run() throws {
        try reportingFailures("match") { try play() }
    }

    func play() throws {
        // A dead engine must surface as an error on the next write, not kill the match.
        signal(SIGPIPE, SIG_IGN)
        Runtime.configure(threads: common.threads)
        let cap = maxMoves ?? 2 * size * size
        let startFirst = { try makePlayer(black, role: "black engine", seed: common.seed &* 2 &+ 1) }
        // Always two players, even for the same command line: each keeps its own board.
        let startSecond = { try makePlayer(white, role: "white engine", seed: common.seed &* 2 &+ 2) }
        let startJudge = {
            try GTPProcess(
                commandLine: $0, role: "referee", startupTimeout: startupTimeout, commandTimeout: engineTimeout)
        }
        var first = try startFirst()
        var second = try startSecond()
        var judge = try referee.map(startJudge)
        defer {
            first.close()
            second.close()
            judge?.close()
        }
        if let sgfDir { try FileManager.default.createDirectory(atPath: sgfDir, withIntermediateDirectories: true) }

        // The same engine on both sides still needs two rows.
        var tallies =
            black == white
            ? [Tally(name: black + " #1"), Tally(name: white + " #2")]
            : [Tally(name: black), Tally(name: white)]
        var lengths: [Int] = []
        var illegal = 0, resignations = 0, capped = 0, draws = 0
        var compared = 0, agreed = 0
        var disagreements: [String] = []
        var errorGames: [(game: Int, message: String)] = []
        var stop: Error?
        for g in 0..<games {
            // Engine 0 (--black) takes black in games 1, 3, 5, …
            let swap = g % 2 == 1
            let (bp, wp) = swap ? (second, first) : (first, second)
            let (bi, wi) = swap ? (1, 0) : (0, 1)
            let played: GoMatchGame
            var sgfPath: String?
            var refereeNote = ""
            do {
                played = try playRefereedGame(
                    black: bp, white: wp, size: size, komi: komi, maxMoves: cap,
                    cleanup: cleanup, openingMoves: randomOpening,
                    openingSeed: common.seed &* 1_000_003 &+ UInt64(g))
                let game = played.game
                game.blackPlayer = tallies[bi].name
                game.whitePlayer = tallies[wi].name
                game.rules = "Tromp-Taylor"
                if let sgfDir {
                    sgfPath = (sgfDir as NSString).appendingPathComponent(String(format: "game-%03d.sgf", g + 1))
                }
                // The referee names the dead stones; they come off before the count (Chinese rules).
                if let judge, game.board.isOver, !played.capped, game.decidedResult == nil {
                    let path =
                        sgfPath
                        ?? (NSTemporaryDirectory() as NSString)
                        .appendingPathComponent("cortex-referee-\(ProcessInfo.processInfo.processIdentifier).sgf")
                    let verdict = try judge.judge(game, path: path)
                    if sgfPath == nil { try? FileManager.default.removeItem(atPath: path) }
                    game.deadStones = verdict.dead
                    game.rules = "Chinese"
                    compared += 1
                    let deadNote = verdict.dead.isEmpty ? "" : ", \(verdict.dead.count) dead stones removed"
                    if GoResult(sgf: verdict.score) == game.result {
                        agreed += 1
                        refereeNote = deadNote + ", referee agrees"
                    } else {
                        refereeNote = deadNote + ", referee says \(verdict.score)"
                        disagreements.append("game \(g + 1): Cortex \(game.result), referee \(verdict.score)")
                        // Keep the position for inspection when no directory was asked for.
                        if sgfPath == nil {
                            let keep = (NSTemporaryDirectory() as NSString).appendingPathComponent(
                                "cortex-disagreement-\(g + 1).sgf")
                            try? SGF.write(game.record).write(toFile: keep, atomically: true, encoding: .utf8)
                        }
                    }
                }
            } catch let error as GTPClientError {
                errorGames.append((g + 1, error.description))
                printError(
                    "game \(g + 1)/\(games): black \(tallies[bi].name), white \(tallies[wi].name): error: \(error)")
                // A broken engine was killed; a fresh one plays the next game.
                do {
                    if g + 1 < games, isBroken(first) {
                        first.close()
                        first = try startFirst()
                    }
                    if g + 1 < games, isBroken(second) {
                        second.close()
                        second = try startSecond()
                    }
                    if g + 1 < games, let referee, let old = judge, old.isBroken {
                        old.close()
                        judge = try startJudge(referee)
                    }
                } catch {
                    stop = error
                    break
                }
                continue
            }
            let game = played.game
            let result = game.result
            lengths.append(game.moves.count)
            if played.capped { capped += 1 }
            switch result {
            case .resignation: resignations += 1
            case .forfeit: illegal += 1
            case .score(let margin):
                tallies[bi].margins.append(margin)
                tallies[wi].margins.append(-margin)
                if margin == 0 { draws += 1 }
            }
            switch result.winner {
            case .black?:
                tallies[bi].wins += 1
                tallies[bi].winsAsBlack += 1
            case .white?: tallies[wi].wins += 1
            case nil:
                tallies[bi].wins += 0.5
                tallies[wi].wins += 0.5
                tallies[bi].winsAsBlack += 0.5
            }
            tallies[bi].gamesAsBlack += 1
            tallies[bi].seconds += played.thinkingSeconds.black
            tallies[bi].moves += played.movesChosen.black
            tallies[wi].seconds += played.thinkingSeconds.white
            tallies[wi].moves += played.movesChosen.white
            if let sgfPath { try SGF.write(game.record).write(toFile: sgfPath, atomically: true, encoding: .utf8) }
            printError(
                "game \(g + 1)/\(games): black \(tallies[bi].name), white \(tallies[wi].name): \(result) "
                    + "in \(game.moves.count) moves" + (played.note.map { " (\($0))" } ?? "") + refereeNote)
        }

        // MARK: Table
        // Rates count the games that ended on the board; error games count for no one.
        let counted = lengths.count
        let averageLength = counted == 0 ? 0 : Double(lengths.reduce(0, +)) / Double(counted)
        let width = max(24, tallies.map(\.name.count).max() ?? 0)
        let errorNote = errorGames.isEmpty ? "" : " + \(errorGames.count) ended by an engine error"
        print(
            "\(counted) games\(errorNote), \(size)×\(size), komi \(komi), area scoring by Cortex"
                + (judge != nil
                    ? " after the referee's dead stones are removed"
                    : " (Tromp–Taylor: stones left on the board count)")
                + (cleanup ? ", clean-up phase" : ""))
        print(
            "engine".padding(toLength: width, withPad: " ", startingAt: 0)
                + "    wins  win rate  95% interval      as black   avg margin  s/move")
        var engineRows: [[String: Any]] = []
        for tally in tallies {
            let rate = counted == 0 ? 0 : tally.wins / Double(counted)
            let (low, high) = wilsonInterval(successes: tally.wins, trials: counted)
            let margin = tally.margins.isEmpty ? Double.nan : tally.margins.reduce(0, +) / Double(tally.margins.count)
            print(
                tally.name.padding(toLength: width, withPad: " ", startingAt: 0)
                    + String(
                        format: "  %6.1f  %7.1f%%  [%5.1f%%, %5.1f%%]  %4.1f/%-4d  %+9.1f  %6.2f",
                        tally.wins, 100 * rate, 100 * low, 100 * high, tally.winsAsBlack, tally.gamesAsBlack, margin,
                        tally.seconds / Double(max(1, tally.moves))))
            engineRows.append([
                "engine": tally.name, "wins": tally.wins, "win_rate": rate, "ci_low": low, "ci_high": high,
                "avg_margin": tally.margins.isEmpty ? NSNull() : margin as Any,
                "counted_games": tally.margins.count,
                "seconds_per_move": tally.seconds / Double(max(1, tally.moves))
            ])
        }
        print(
            String(
                format: "average game length %.1f moves; %d resigned, %d illegal-move forfeits, %d capped, %d draws",
                averageLength, resignations, illegal, capped, draws))
        if judge != nil {
            print(
                String(
                    format: "referee agreement: %d/%d counted games (%.1f%%)", agreed, compared,
                    compared == 0 ? 0 : 100 * Double(agreed) / Double(compared)))
            for line in disagreements { print("  " + line) }
        }
        for (game, message) in errorGames { print("game \(game): error: \(message)") }
        if common.json {
            var object: [String: Any] = [
                "games": games, "size": size, "komi": komi, "engines": engineRows,
                "avg_length": averageLength, "resignations": resignations,
                "illegal_moves": illegal, "capped": capped, "draws": draws, "counted_games": counted,
                "errors": errorGames.map { ["game": $0.game, "message": $0.message] as [String: Any] }
            ]
            if judge != nil {
                object["referee_compared"] = compared
                object["referee_agreed"] = agreed
            }
            printJSON(object)
        }
        if let stop { throw MatchError.stopped(afterGame: counted + errorGames.count, reason: "\(stop)") }
        if let firstError = errorGames.first {
            throw MatchError.errorGames(count: errorGames.count, games: games, first: firstError)
        }
    }

    /// Why a match that printed its table still exits with status 1.
    enum MatchError: Error, CustomStringConvertible {
        case stopped(afterGame: Int, reason: String)
        case errorGames(count: Int, games: Int, first: (game: Int, message: String))

        var description: String {
            switch self {
            case .stopped(let game, let reason): return "match stopped after game \(game): \(reason)"
            case .errorGames(let count, let games, let first):
                return "\(count) of \(games) games ended by an engine error; game \(first.game): \(first.message)"
            }
        }
    }

    func isBroken(_ player: GoPlayer) -> Bool { (player as? GTPProcess)?.isBroken ?? false }

    /// `random`, `cortex:<checkpoint>` (a trained agent: a file or a shipped model's name),
    /// `cortex-mcts[:options]` (tree search),
    /// or a GTP command line.
    func makePlayer(_ spec: String, role: String, seed: UInt64) throws -> GoPlayer {
        if spec == "random" { return LocalPlayer(generator: GoRandomPlayer(seed: seed)) }
        if spec == "cortex-mcts" || spec.hasPrefix("cortex-mcts:") {
            return LocalPlayer(generator: try GoSearchOptions.player(spec: spec, seed: seed))
        }
        if spec.hasPrefix("cortex:") {
            return LocalPlayer(generator: try GoSearchOptions.checkpointPlayer(spec: spec, seed: seed))
        }
        return try GTPProcess(
            commandLine: spec, role: role, startupTimeout: startupTimeout, commandTimeout: engineTimeout)
    }
}
