import Cortex
import Envs
import Foundation

/// What the Go agent stores per position in the replay buffer: the observation planes of the
/// player to move followed by its legal-move mask, all 0 or 1, so the buffer packs them to bits.
///
/// Layout: `planeCount · size²` plane values (C, H, W) then `size² + 1` mask values (points
/// row-major, then pass). The mask of s′ is what the target's max runs over.
///
/// With `protectEyes` the mask also leaves out the mover's own single-point eyes
/// (`GoBoard.isEye`), the rule the random baseline plays by: filling one can only hurt.
public struct GoObservationLayout: Equatable, Sendable {
    public let size: Int
    public let planeCount: Int
    public let protectEyes: Bool

    public init(size: Int, historyLength: Int, protectEyes: Bool = false) {
        self.size = size
        planeCount = GoBoard.planeCount(historyLength: historyLength)
        self.protectEyes = protectEyes
    }

    public var planeValues: Int { planeCount * size * size }
    public var actionCount: Int { size * size + 1 }
    /// Floats of one stored position: planes then mask.
    public var count: Int { planeValues + actionCount }

    /// Writes `board`'s planes and legal mask (for the player to move) into `buffer[0..<count]`.
    public func write(_ board: GoBoard, into buffer: UnsafeMutableBufferPointer<Float>) {
        precondition(
            board.size == size && board.planeCount == planeCount && buffer.count >= count,
            "GoObservationLayout.write: board \(board.size)×\(board.size) with \(board.planeCount) planes into \(buffer.count) floats, layout \(size)×\(size) × \(planeCount) needs \(count)"
        )
        board.writePlanes(into: UnsafeMutableBufferPointer(rebasing: buffer[0..<planeValues]))
        board.writeLegalMask(into: UnsafeMutableBufferPointer(rebasing: buffer[planeValues..<count]))
        guard protectEyes else { return }
        for row in 0..<size {
            for column in 0..<size where board.isEye(index: (row + 1) * board.stride + column + 1, color: board.toPlay)
            {
                buffer[planeValues + row * size + column] = 0
            }
        }
    }
}

/// The DQN agent for Go: online and target `GoQNetwork`s, Adam, and the masked negamax update.
///
/// One update on a batch of (s, a, R, d, s′) with the legal mask L(s′):
///
///     a* = argmax_{a ∈ L(s′)} Q_online(s′, a)          (Double DQN; Q_target picks without it)
///     y  = R + d · Q_target(s′, a*)                     d = (−γ)ⁿ, 0 when the game ended
///     L  = mean_i huber(Q_online(s_i, a_i) − y_i)
///
/// With one step, R is the mover's reward (+1/−1 at the game's end, else 0) and d = −γ: the
/// next position belongs to the opponent, whose best value is the mover's loss (negamax).
/// Over n steps the rewards alternate sign the same way (the replay buffer's n-step return
/// with discount −γ gives exactly Σₖ (−γ)ᵏ rₜ₊ₖ and (−γ)ⁿ).
public final class GoDQNAgent {
    public let config: GoDQNConfig
    public let layout: GoObservationLayout
    public let online: GoQNetwork
    public let target: GoQNetwork
    public let optimizer: Optimizer
    /// Online and target networks for checkpoints: online keys plain, target under `target.`.
    public let checkpointModule: PairModule
    public private(set) var updates = 0

    public init(config: GoDQNConfig) {
        self.config = config
        layout = GoObservationLayout(
            size: config.size, historyLength: config.historyLength, protectEyes: config.protectEyes)
        var generator = RandomGenerator(seed: config.seed &+ 0x5EED)
        online = GoQNetwork(
            inputChannels: layout.planeCount, channels: config.channels, layers: config.layers,
            generator: &generator)
        target = GoQNetwork(
            inputChannels: layout.planeCount, channels: config.channels, layers: config.layers,
            generator: &generator)
        checkpointModule = PairModule(main: online, extra: ("target", target))
        optimizer = Adam(online.parameterGroups(), learningRate: config.learningRate, epsilon: 1.5e-4)
        TargetNetwork.prepare(target, from: online)
    }

    public func syncTarget() { TargetNetwork.copyParameters(from: online, to: target) }

    public func restore(updates: Int) { self.updates = updates }

    // MARK: masks

    /// The legal action with the largest value (the first on ties); `mask` holds 1 for legal.
    /// Pass is always legal, so there is always one.
    @inlinable
    public static func maskedArgmax(_ values: UnsafePointer<Float>, mask: UnsafePointer<Float>, count: Int) -> Int {
        var best = -1
        var bestValue = -Float.infinity
        for a in 0..<count where mask[a] != 0 && (best < 0 || values[a] > bestValue) {
            best = a
            bestValue = values[a]
        }
        precondition(best >= 0, "GoDQNAgent.maskedArgmax: no legal action among \(count)")
        return best
    }

    /// Negamax Double-DQN targets y_i = R_i + d_i · evaluate(s′_i, a*_i) with
    /// a*_i = argmax over legal a of select(s′_i, a); rows with d_i = 0 take R_i alone.
    ///
    /// - Parameters:
    ///   - select, evaluate: (N, A) Q-values of s′ row-major (the same buffer without Double DQN).
    ///   - masks: (N, A) legal masks of s′, `maskStride` floats apart.
    public static func targets(
        returns: [Float], discounts: [Float], select: UnsafePointer<Float>,
        evaluate: UnsafePointer<Float>, masks: UnsafePointer<Float>, maskStride: Int,
        actionCount: Int
    ) -> [Float] {
        precondition(
            returns.count == discounts.count,
            "GoDQNAgent.targets: \(returns.count) returns, \(discounts.count) discounts")
        var y = [Float](repeating: 0, count: returns.count)
        for i in 0..<returns.count {
            y[i] = returns[i]
            guard discounts[i] != 0 else { continue }
            let best = maskedArgmax(select + i * actionCount, mask: masks + i * maskStride, count: actionCount)
            y[i] += discounts[i] * evaluate[i * actionCount + best]
        }
        return y
    }

    // MARK: acting

    /// Q-values (N, A) of `count` stored positions (planes then mask, `layout.count` floats
    /// each), no graph.
    public func qValues(of positions: UnsafePointer<Float>, count: Int, network: GoQNetwork? = nil) -> Tensor {
        let states = GoDQNAgent.planes(of: positions, rows: count, layout: layout)
        return withNoGrad { (network ?? online)(states) }
    }

    /// Copies the plane part of `rows` stored positions into a (rows, C, H, W) tensor.
    static func planes(of positions: UnsafePointer<Float>, rows: Int, layout: GoObservationLayout) -> Tensor {
        let storage = TensorStorage(uninitializedCount: rows * layout.planeValues)
        for r in 0..<rows {
            (storage.pointer + r * layout.planeValues).update(
                from: positions + r * layout.count, count: layout.planeValues)
        }
        return Tensor(shape: [rows, layout.planeCount, layout.size, layout.size], storage: storage)
    }

    // MARK: learning

    /// One gradient step on `batch` (rows of `layout.count` floats); syncs the target network
    /// every `targetUpdateEvery` updates.
    @discardableResult
    public func update(_ batch: ReplayBatch) -> QLearning.UpdateResult {
        let n = batch.size, actions = layout.actionCount
        precondition(
            batch.observationSize == layout.count,
            "GoDQNAgent.update: batch rows of \(batch.observationSize) floats, layout needs \(layout.count)")
        let (states, targets): (Tensor, [Float]) = batch.states.withUnsafeBufferPointer { s in
            batch.nextStates.withUnsafeBufferPointer { next in
                let states = GoDQNAgent.planes(of: s.baseAddress!, rows: n, layout: layout)
                let nextStates = GoDQNAgent.planes(of: next.baseAddress!, rows: n, layout: layout)
                let y = withNoGrad { () -> [Float] in
                    let evaluate = target(nextStates)
                    let select = config.doubleDQN ? online(nextStates) : evaluate
                    return GoDQNAgent.targets(
                        returns: batch.returns, discounts: batch.discounts,
                        select: select.storage.pointer, evaluate: evaluate.storage.pointer,
                        masks: next.baseAddress! + layout.planeValues, maskStride: layout.count,
                        actionCount: actions)
                }
                return (states, y)
            }
        }
        let index = Tensor(shape: [n, 1], data: batch.actions.map(Float.init))
        let predicted = online(states).gather(axis: 1, index: index)  // (N, 1)
        let result = QLearning.step(
            predicted: predicted, targets: Tensor(shape: [n, 1], data: targets),
            optimizer: optimizer, parameters: online.parameters(), maxGradNorm: config.maxGradNorm)
        updates += 1
        if updates % config.targetUpdateEvery == 0 { syncTarget() }
        return result
    }
}
