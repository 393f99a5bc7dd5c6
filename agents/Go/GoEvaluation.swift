import Cortex
import Envs
import Foundation

/// Greedy games of a network against the random eye-preserving player.
public enum GoEvaluation {
    public struct Result: Sendable {
        public var games: Int
        /// Wins + half the draws, over games.
        public var winRate: Float
        /// Mean score margin from the network's side.
        public var meanMargin: Double
        public var meanLength: Double
        /// Each game's margin from the network's side, in game order (the network is black in
        /// even-numbered games, counting from 0).
        public var margins: [Double]
        /// Moves of each game, in game order.
        public var lengths: [Int]
    }

    /// Plays `games` games (the network black in even games, white in odd ones), up to
    /// `config.parallelGames` at once with one batched forward per turn, on `config.size`.
    public static func versusRandom(
        network: GoQNetwork, config: GoDQNConfig, games: Int, seed: UInt64,
        onGame: ((_ finished: Int, _ margin: Double) -> Void)? = nil
    ) -> Result {
        let layout = GoObservationLayout(
            size: config.size, historyLength: config.historyLength, protectEyes: config.protectEyes)
        var random = GoRandom(seed: seed)
        var wins: Float = 0, marginSum = 0.0, lengthSum = 0
        var started = 0, finishedCount = 0
        var margins = [Double](repeating: 0, count: games), lengths = [Int](repeating: 0, count: games)
        var boards: [(board: GoBoard, color: GoColor, number: Int)] = []
        var rows = [Float](repeating: 0, count: config.parallelGames * layout.count)
        while started < games || !boards.isEmpty {
            while boards.count < config.parallelGames && started < games {
                boards.append(
                    (
                        GoBoard(size: config.size, historyLength: config.historyLength),
                        started % 2 == 0 ? .black : .white,
                        started
                    ))
                started += 1
            }
            let networkTurns = boards.indices.filter { boards[$0].board.toPlay == boards[$0].color }
            var moves = [GoMove](repeating: .pass, count: boards.count)
            for i in boards.indices where boards[i].board.toPlay != boards[i].color {
                moves[i] = boards[i].board.randomMove(for: boards[i].board.toPlay, using: &random)
            }
            if !networkTurns.isEmpty {
                rows.withUnsafeMutableBufferPointer { out in
                    for (r, i) in networkTurns.enumerated() {
                        layout.write(
                            boards[i].board,
                            into: UnsafeMutableBufferPointer(rebasing: out[r * layout.count..<(r + 1) * layout.count]))
                    }
                    let input = GoDQNAgent.planes(of: out.baseAddress!, rows: networkTurns.count, layout: layout)
                    let q = withNoGrad { network(input) }
                    for (r, i) in networkTurns.enumerated() {
                        let a = GoDQNAgent.maskedArgmax(
                            q.storage.pointer + r * layout.actionCount,
                            mask: out.baseAddress! + r * layout.count + layout.planeValues,
                            count: layout.actionCount)
                        moves[i] = boards[i].board.move(forAction: a)
                    }
                }
            }
            var finished: [Int] = []
            for i in boards.indices {
                boards[i].board.play(moves[i])
                if boards[i].board.isOver || boards[i].board.moveCount >= config.moveCap { finished.append(i) }
            }
            for i in finished.reversed() {
                let (board, color, number) = boards.remove(at: i)
                let margin = board.score(komi: config.komi) * (color == .black ? 1 : -1)
                wins += margin > 0 ? 1 : margin == 0 ? 0.5 : 0
                marginSum += margin
                lengthSum += board.moveCount
                margins[number] = margin
                lengths[number] = board.moveCount
                finishedCount += 1
                onGame?(finishedCount, margin)
            }
        }
        return Result(
            games: games, winRate: wins / Float(max(1, games)), meanMargin: marginSum / Double(max(1, games)),
            meanLength: Double(lengthSum) / Double(max(1, games)), margins: margins, lengths: lengths)
    }
}
