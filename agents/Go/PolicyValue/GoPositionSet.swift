import Cortex
import Envs
import Foundation

/// Training positions for the policy/value network: each one the input planes (0/1, kept as
/// bytes), a target distribution over the size² + 1 actions (one-hot for a move to imitate, the
/// search's visit shares in self-play) and the game's outcome z for the player to move (+1 won,
/// −1 lost, 0 draw).
public final class GoPositionSet {
    public let size: Int
    public let historyLength: Int
    public var planeCount: Int { GoBoard.planeCount(historyLength: historyLength) + 1 }
    public var actions: Int { size * size + 1 }
    public private(set) var planes: [UInt8] = []
    public private(set) var policies: [Float] = []
    public private(set) var outcomes: [Float] = []
    public var count: Int { outcomes.count }
    private var input: GoNetworkInput
    private var scratch: [Float] = []

    public init(size: Int, historyLength: Int) {
        self.size = size
        self.historyLength = historyLength
        input = GoNetworkInput(size: size, historyLength: historyLength)
    }

    /// Adds `board` (the player to move about to choose) with its target policy and outcome.
    public func append(_ board: GoBoard, policy: UnsafeBufferPointer<Float>, outcome: Float) {
        precondition(policy.count == actions, "GoPositionSet.append: \(policy.count) policy entries, need \(actions)")
        let per = input.count
        if scratch.count != per { scratch = [Float](repeating: 0, count: per) }
        scratch.withUnsafeMutableBufferPointer { input.write(board, into: $0.baseAddress!) }
        planes.append(contentsOf: scratch.lazy.map { $0 != 0 ? 1 : 0 })
        policies.append(contentsOf: policy)
        outcomes.append(outcome)
    }

    /// Adds `board` with a one-hot target on `action`.
    public func append(_ board: GoBoard, action: Int, outcome: Float) {
        var onehot = [Float](repeating: 0, count: actions)
        onehot[action] = 1
        onehot.withUnsafeBufferPointer { append(board, policy: $0, outcome: outcome) }
    }

    /// Sets the outcome of position `index` (self-play learns it only when the game ends).
    public func setOutcome(_ index: Int, _ value: Float) { outcomes[index] = value }

    /// Keeps only the newest `limit` positions (a self-play window).
    public func keepLast(_ limit: Int) {
        guard count > limit else { return }
        let drop = count - limit
        planes.removeFirst(drop * planeCount * size * size)
        policies.removeFirst(drop * actions)
        outcomes.removeFirst(drop)
    }

    /// Adds every position of another set of the same shape.
    public func append(contentsOf other: GoPositionSet) {
        precondition(other.size == size && other.historyLength == historyLength, "GoPositionSet: shapes differ")
        planes += other.planes
        policies += other.policies
        outcomes += other.outcomes
    }

    /// Writes positions `indices`, position j turned by `symmetries[j]`, into a batch: planes
    /// (B, C, size, size), policies (B, size² + 1), outcomes (B).
    public func batch(
        _ indices: [Int], symmetries: [Int], planes out: UnsafeMutablePointer<Float>,
        policies policyOut: UnsafeMutablePointer<Float>, outcomes outcomeOut: UnsafeMutablePointer<Float>
    ) {
        let area = size * size, per = planeCount * area
        for (j, index) in indices.enumerated() {
            let k = symmetries[j]
            let source = index * per, target = out + j * per
            let policy = index * actions, policyTarget = policyOut + j * actions
            for r in 0..<size {
                for c in 0..<size {
                    let (r2, c2) = GoSymmetry.map(row: r, column: c, size: size, symmetry: k)
                    let from = r * size + c, to = r2 * size + c2
                    for plane in 0..<planeCount { target[plane * area + to] = Float(planes[source + plane * area + from]) }
                    policyTarget[to] = policies[policy + from]
                }
            }
            policyTarget[area] = policies[policy + area]
            outcomeOut[j] = outcomes[index]
        }
    }

    /// The action with the largest target of position `index` (the move to predict).
    public func targetAction(_ index: Int) -> Int {
        var best = 0
        for a in 0..<actions where policies[index * actions + a] > policies[index * actions + best] { best = a }
        return best
    }
}

/// A folder of SGF games read as training positions for imitation (AlphaGo's supervised stage).
public enum GoGameDataset {
    /// What reading a folder found.
    public struct Summary: Sendable {
        public var games = 0
        public var skipped: [String] = []
        public var positions = 0
    }

    /// The `.sgf` files under `directory` (recursively), sorted.
    public static func files(in directory: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw AgentError.invalidConfig("no data folder at \(directory) (make one with `cortex match … --sgf-dir`)")
        }
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
        var found: [String] = []
        for case let path as String in enumerator where path.lowercased().hasSuffix(".sgf") {
            found.append((directory as NSString).appendingPathComponent(path))
        }
        return found.sorted()
    }

    /// Whether game file `path` belongs to the held-out games: a fixed hash of its name, so the
    /// split is the same on every machine and does not move when games are added.
    public static func isHeldOut(_ path: String, fraction: Double) -> Bool {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in ((path as NSString).lastPathComponent + "|" + ((path as NSString).deletingLastPathComponent as NSString).lastPathComponent).utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3
        }
        return Double(hash % 10_000) < fraction * 10_000
    }

    /// Replays each game of `paths` and adds its positions to `set`: every move from move
    /// `skipMoves` on (the random opening of a generated data set is not worth imitating) is a
    /// target, the game's result the outcome. Games of another size, without a result, with setup
    /// stones or with an illegal move are skipped and named in the summary.
    @discardableResult
    public static func read(_ paths: [String], into set: GoPositionSet, skipMoves: Int) -> Summary {
        var summary = Summary()
        for path in paths {
            do {
                let text = try String(contentsOfFile: path, encoding: .utf8)
                let record = try SGF.parse(text)
                guard record.size == set.size else {
                    summary.skipped.append("\(path): board size \(record.size), not \(set.size)")
                    continue
                }
                guard record.setupBlack.isEmpty && record.setupWhite.isEmpty else {
                    summary.skipped.append("\(path): setup stones")
                    continue
                }
                guard let resultText = record.result, let result = GoResult(sgf: resultText) else {
                    summary.skipped.append("\(path): no result")
                    continue
                }
                let winner = result.winner
                let game = GoGame(size: record.size, komi: record.komi, historyLength: 3)
                var added = 0
                for (i, turn) in record.moves.enumerated() {
                    if turn.move == .resign { break }
                    if i >= skipMoves {
                        let z: Float = winner == nil ? 0 : winner == turn.color ? 1 : -1
                        if game.board.toPlay != turn.color { game.board.setToPlay(turn.color) }
                        set.append(game.board, action: game.board.action(for: turn.move), outcome: z)
                        added += 1
                    }
                    guard game.play(turn.move, color: turn.color) else {
                        throw GoGameError.illegalMove(number: i + 1, color: turn.color, vertex: turn.move.vertex(size: record.size))
                    }
                }
                summary.games += 1
                summary.positions += added
            } catch {
                summary.skipped.append("\(path): \(error)")
            }
        }
        return summary
    }
}
