import Cortex
import Envs

/// The shape of a policy/value network: what a checkpoint must match to load.
public struct GoNetworkShape: Codable, Equatable, Sendable {
    /// Residual blocks in the tower.
    public var blocks = 4
    /// Feature maps of every 3×3 convolution.
    public var channels = 32
    /// Past positions in the input planes (0…3).
    public var historyLength = 2

    public init(blocks: Int = 4, channels: Int = 32, historyLength: Int = 2) {
        self.blocks = blocks
        self.channels = channels
        self.historyLength = historyLength
    }

    /// Input planes: the board's 11 + 2·history (`GoBoard.writePlanes`), then one plane of ones
    /// when black is to move (komi makes the colours unequal).
    public var inputChannels: Int { GoBoard.planeCount(historyLength: historyLength) + 1 }

    /// Why this shape cannot be built, or nil.
    public var problem: String? {
        guard (0...64).contains(blocks), (1...512).contains(channels), (0...3).contains(historyLength) else {
            return "blocks must be in 0…64, channels in 1…512, history in 0…3; got \(blocks), \(channels), \(historyLength)"
        }
        return nil
    }
}

/// The AlphaGo Zero network (Silver et al. 2017, "Mastering the game of Go without human
/// knowledge", Methods) on a CPU budget: a residual tower over the board planes with a policy
/// head and a value head. The heads are fully convolutional with global pooling (as KataGo's,
/// Wu 2019), so one set of weights plays every board size:
///
///     h      = ReLU(BN(conv3×3(planes)))                     stem, `channels` maps
///     h      = block_b(… block_1(h))                          `blocks` residual blocks (ResNet's BasicBlock)
///     logits = conv1×1(ReLU(BN(conv1×1(h)))) per point,       (N, H·W)   2 maps, then 1
///              pass: Linear(mean_{H,W} h)                     (N, 1)
///     v      = tanh(fc2(ReLU(fc1(mean_{H,W} ReLU(BN(conv1×1(h)))))))   (N, 1), for the player to move
///
/// Output: policy logits (N, H·W + 1), points row-major then pass (the action numbering of
/// `GoBoard.action(for:)`), and the value in [−1, 1].
///
/// Checkpoint keys: `stem.0.weight` [F, C, 3, 3], `stem.1.{weight,bias,running_mean,running_var,
/// num_batches_tracked}`, `blocks.<i>.{conv1,bn1,conv2,bn2}.*` (torchvision's BasicBlock names),
/// `policy_conv.weight` [2, F, 1, 1], `policy_bn.*`, `policy_point.{weight [1, 2, 1, 1], bias}`,
/// `policy_pass.{weight [1, F], bias}`, `value_conv.weight` [V, F, 1, 1], `value_bn.*`,
/// `value_fc1.{weight [64, V], bias}`, `value_fc2.{weight [1, 64], bias}` (V = 32).
public final class GoPolicyValueNetwork: Module {
    public let shape: GoNetworkShape
    public var isTraining = true

    let stem: Sequential
    let blocks: ModuleList<BasicBlock>
    let policyConv: Conv2d
    let policyNorm: BatchNorm2d
    let policyPoint: Conv2d
    let policyPass: Linear
    let valueConv: Conv2d
    let valueNorm: BatchNorm2d
    let valueHidden: Linear
    let valueOut: Linear

    static let valueChannels = 32
    static let valueHiddenUnits = 64

    public init(shape: GoNetworkShape, generator: inout RandomGenerator) {
        precondition(shape.problem == nil, "GoPolicyValueNetwork: \(shape.problem ?? "")")
        self.shape = shape
        let f = shape.channels
        stem = Sequential(
            Conv2d(
                inputChannels: shape.inputChannels, outputChannels: f, kernelSize: 3, padding: 1, bias: false,
                generator: &generator),
            BatchNorm2d(f))
        var tower: [BasicBlock] = []
        for _ in 0..<shape.blocks {
            tower.append(BasicBlock(inputChannels: f, outputChannels: f, generator: &generator))
        }
        blocks = ModuleList(tower)
        policyConv = Conv2d(inputChannels: f, outputChannels: 2, kernelSize: 1, bias: false, generator: &generator)
        policyNorm = BatchNorm2d(2)
        policyPoint = Conv2d(inputChannels: 2, outputChannels: 1, kernelSize: 1, generator: &generator)
        policyPass = Linear(inputFeatures: f, outputFeatures: 1, generator: &generator)
        let v = Self.valueChannels
        valueConv = Conv2d(inputChannels: f, outputChannels: v, kernelSize: 1, bias: false, generator: &generator)
        valueNorm = BatchNorm2d(v)
        valueHidden = Linear(inputFeatures: v, outputFeatures: Self.valueHiddenUnits, generator: &generator)
        valueOut = Linear(inputFeatures: Self.valueHiddenUnits, outputFeatures: 1, generator: &generator)
    }

    public var children: [(name: String, module: any Module)] {
        [("stem", stem as any Module), ("blocks", blocks)]
            + [
                ("policy_conv", policyConv), ("policy_bn", policyNorm), ("policy_point", policyPoint),
                ("policy_pass", policyPass), ("value_conv", valueConv), ("value_bn", valueNorm),
                ("value_fc1", valueHidden), ("value_fc2", valueOut)
            ]
    }

    /// Policy logits (N, H·W + 1) and values (N, 1) of planes (N, C, H, W).
    public func callAsFunction(_ x: Tensor) -> (policy: Tensor, value: Tensor) {
        precondition(
            x.rank == 4 && x.shape[1] == shape.inputChannels,
            "GoPolicyValueNetwork: input \(x.shape) is not (N, \(shape.inputChannels), H, W)")
        let (n, points) = (x.shape[0], x.shape[2] * x.shape[3])
        var h = stem(x).relu()
        for block in blocks.modules { h = block(h) }
        let pooled = h.mean(axes: [2, 3])  // (N, F)
        let pointLogits = policyPoint(policyNorm(policyConv(h)).relu()).reshaped([n, points])
        let policy = Tensor.concat([pointLogits, policyPass(pooled)], axis: 1)
        let valueFeatures = valueNorm(valueConv(h)).relu().mean(axes: [2, 3])  // (N, V)
        let value = valueOut(valueHidden(valueFeatures).relu()).tanh()
        return (policy, value)
    }
}

/// Writes a position as the network's input planes (`GoNetworkShape.inputChannels` planes of
/// size² floats): the board's own planes with the first `historyLength` past positions, then
/// the colour plane. The board must keep at least that much history.
public struct GoNetworkInput {
    public let size: Int
    public let historyLength: Int
    public var planeCount: Int { GoBoard.planeCount(historyLength: historyLength) + 1 }
    public var count: Int { planeCount * size * size }
    private var scratch: [Float]

    public init(size: Int, historyLength: Int) {
        self.size = size
        self.historyLength = historyLength
        scratch = []
    }

    /// Writes `board` into `out` (`count` floats), turned by symmetry `k` (`GoSymmetry`).
    public mutating func write(_ board: GoBoard, symmetry k: Int = 0, into out: UnsafeMutablePointer<Float>) {
        precondition(
            board.size == size && board.historyLength >= historyLength,
            "GoNetworkInput: board \(board.size)×\(board.size) with history \(board.historyLength), need \(size) with ≥ \(historyLength)"
        )
        let area = size * size
        let own = GoBoard.planeCount(historyLength: historyLength)
        let full = board.planeCount * area
        if scratch.count < full { scratch = [Float](repeating: 0, count: full) }
        scratch.withUnsafeMutableBufferPointer { buffer in
            board.writePlanes(into: UnsafeMutableBufferPointer(rebasing: buffer[0..<full]))
            let colour: Float = board.toPlay == .black ? 1 : 0
            let source = buffer.baseAddress!
            if k == 0 {
                out.update(from: source, count: own * area)
                (out + own * area).update(repeating: colour, count: area)
                return
            }
            for r in 0..<size {
                for c in 0..<size {
                    let (r2, c2) = GoSymmetry.map(row: r, column: c, size: size, symmetry: k)
                    let from = r * size + c, to = r2 * size + c2
                    for plane in 0..<own { out[plane * area + to] = source[plane * area + from] }
                }
            }
            (out + own * area).update(repeating: colour, count: area)
        }
    }
}
