import Cortex
import Envs
import Foundation

/// Leaf evaluation by a policy/value network, the batch of leaves as one minibatch.
///
/// Priors are the network's softmax over the legal actions; the value is the network's, mixed
/// with a fast playout's result when `playoutWeight` λ > 0 — AlphaGo's leaf value
/// V = (1 − λ)·v_θ + λ·z (Silver et al. 2016 used λ = 0.5); λ = 0 is AlphaGo Zero (no playouts),
/// λ = 1 keeps only the playouts (the network then gives priors alone, and runs only on leaves
/// that are expanded). Playouts also fill the AMAF statistics for RAVE.
///
/// Each call evaluates the batch under one of the eight board symmetries, drawn from the
/// evaluator's own generator (AlphaGo Zero's random rotation at inference), and maps the policy
/// back. `symmetries = false` always uses the identity.
public final class GoNetworkEvaluator: GoEvaluator {
    public let network: GoPolicyValueNetwork
    public let playoutWeight: Float
    public let playouts: GoPlayoutEvaluator?
    public var symmetries = true
    /// Network evaluations (positions) over the evaluator's life, and calls.
    public private(set) var evaluations = 0
    public private(set) var calls = 0
    var random: RandomGenerator
    var input: GoNetworkInput
    var inputBuffer: [Float] = []
    var rows: [Int] = []

    public init(network: GoPolicyValueNetwork, playoutWeight: Float = 0, threads: Int = 1, seed: UInt64 = 0) {
        precondition((0...1).contains(playoutWeight), "GoNetworkEvaluator: playoutWeight \(playoutWeight) outside [0, 1]")
        self.network = network
        self.playoutWeight = playoutWeight
        playouts = playoutWeight > 0 ? GoPlayoutEvaluator(threads: threads, seed: seed) : nil
        random = RandomGenerator(seed: seed ^ 0x5E77)
        input = GoNetworkInput(size: 9, historyLength: network.shape.historyLength)
        network.eval()
    }

    public func evaluate(_ boards: [GoBoard], wantsPriors: [Bool], komi: Double, into out: GoLeafBuffers) {
        guard let first = boards.first else { return }
        let size = first.size, area = size * size, actions = area + 1
        if let playouts {
            // Values and AMAF colours from playouts; no tactical priors (the network gives them).
            playouts.evaluate(boards, wantsPriors: [Bool](repeating: false, count: boards.count), komi: komi, into: out)
        }
        let lambda = playoutWeight
        // After two passes the game is over, which the network does not see: the playouts (which
        // go on capturing dead stones) or, without them, the area count of the stones decide.
        if playouts == nil {
            for (i, board) in boards.enumerated() where board.consecutivePasses >= 2 {
                let margin = board.score(komi: komi)
                let black: Float = margin > 0 ? 1 : margin < 0 ? -1 : 0
                out.values[i] = board.toPlay == .black ? black : -black
            }
        }
        rows.removeAll(keepingCapacity: true)
        for i in boards.indices where (lambda < 1 && boards[i].consecutivePasses < 2) || wantsPriors[i] { rows.append(i) }
        if rows.isEmpty { return }
        if input.size != size { input = GoNetworkInput(size: size, historyLength: network.shape.historyLength) }
        let k = symmetries ? random.nextInt(below: GoSymmetry.count) : 0
        let m = rows.count, per = input.count
        if inputBuffer.count < m * per { inputBuffer = [Float](repeating: 0, count: m * per) }
        inputBuffer.withUnsafeMutableBufferPointer { buffer in
            for (j, i) in rows.enumerated() { input.write(boards[i], symmetry: k, into: buffer.baseAddress! + j * per) }
        }
        let x = Tensor(shape: [m, input.planeCount, size, size], data: Array(inputBuffer[0..<(m * per)]))
        let (logits, value) = withNoGrad { network(x) }
        evaluations += m
        calls += 1
        let l = logits.storage.pointer, v = value.storage.pointer
        for (j, i) in rows.enumerated() {
            if boards[i].consecutivePasses < 2 {
                out.values[i] = playouts == nil ? v[j] : (1 - lambda) * v[j] + lambda * out.values[i]
            }
            guard wantsPriors[i] else { continue }
            let row = l + j * actions, priors = out.priors + i * actions
            let board = boards[i]
            var top = -Float.infinity
            for a in 0..<actions { top = max(top, row[a]) }
            var total: Float = 0
            for a in 0..<actions {
                // This board's action a is the turned board's action map(a), where the network put it.
                let legal: Bool
                if a == area {
                    legal = true
                } else {
                    legal = board.isLegal(index: (a / size + 1) * board.stride + a % size + 1, color: board.toPlay)
                }
                let e = legal ? expf(row[GoSymmetry.map(action: a, size: size, symmetry: k)] - top) : 0
                priors[a] = e
                total += e
            }
            if total > 0 { for a in 0..<actions { priors[a] /= total } }
        }
    }
}

