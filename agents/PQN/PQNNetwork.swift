import Cortex

/// PQN's Q-network: the DQN torso with layer normalisation after every layer but the output
/// (Gallici et al. 2024 show LayerNorm is what lets TD learn stably without a target network).
///
/// - grid (C×10×10, MinAtar): conv 16@3×3 stride 1 → LayerNorm([16, 8, 8]) → ReLU → linear
///   1024 → 128 → LayerNorm(128) → ReLU → linear 128 → actions (purejaxql's `pqn_minatar.py`).
/// - pixels (4×84×84): the Nature convs 32@8×8/4, 64@4×4/2, 64@3×3/1, each followed by
///   LayerNorm over its whole (C, H, W) output and ReLU, then linear 3136 → 512 → LayerNorm →
///   ReLU → linear → actions (CleanRL's `pqn_atari_envpool.py` layout).
///
/// The convolution's LayerNorm normalises each sample over all of (C, H, W), as
/// `torch.nn.LayerNorm([16, 8, 8])` (CleanRL); purejaxql's Flax `LayerNorm` on NHWC normalises
/// over the 16 channels at each position instead. Initialisation: He-normal weights (gain √2,
/// fan-in) and zero biases for the convs and the hidden layer, as purejaxql; PyTorch's default
/// for the output layer.
///
/// Checkpoint keys (a PyTorch `nn.Module` with these attribute names loads the file):
/// grid `conv.{weight,bias}` [16, C, 3, 3]/[16], `conv_norm.{weight,bias}` [16, 8, 8],
/// `fc_hidden.{weight,bias}` [128, 1024]/[128], `fc_norm.{weight,bias}` [128],
/// `output.{weight,bias}` [A, 128]/[A]; pixels `conv1`…`conv3` with `conv1_norm`…`conv3_norm`,
/// `fc_hidden` [512, 3136], `fc_norm` [512], `output`.
public final class PQNNetwork: UnaryLayer {
    public let actionCount: Int
    public let inputShape: [Int]
    public var isTraining = true

    private let convolutions: [(name: String, conv: Conv2d, norm: LayerNorm)]
    private let hidden: Linear
    private let hiddenNorm: LayerNorm
    private let output: Linear

    /// - Parameter inputShape: [C, H, W] of one observation; H ≤ 10 takes the MinAtar torso,
    ///   larger the Nature torso.
    public init(inputShape: [Int], actionCount: Int, generator: inout RandomGenerator) {
        precondition(inputShape.count == 3, "PQNNetwork: input shape \(inputShape) is not [C, H, W]")
        self.inputShape = inputShape
        self.actionCount = actionCount
        let he = WeightInit.kaimingNormal(gain: Float(2).squareRoot())
        let layers: [(out: Int, kernel: Int, stride: Int)] =
            inputShape[1] <= 10 ? [(16, 3, 1)] : [(32, 8, 4), (64, 4, 2), (64, 3, 1)]
        var (c, h, w) = (inputShape[0], inputShape[1], inputShape[2])
        var convs: [(String, Conv2d, LayerNorm)] = []
        for (index, layer) in layers.enumerated() {
            let conv = Conv2d(
                inputChannels: c, outputChannels: layer.out, kernelSize: layer.kernel, stride: layer.stride,
                weightInit: he, biasInit: .constant(0), generator: &generator)
            (c, h, w) = (layer.out, (h - layer.kernel) / layer.stride + 1, (w - layer.kernel) / layer.stride + 1)
            precondition(h > 0 && w > 0, "PQNNetwork: input \(inputShape) is too small for its convolutions")
            let name = layers.count == 1 ? "conv" : "conv\(index + 1)"
            convs.append((name, conv, LayerNorm([c, h, w])))
        }
        convolutions = convs
        let hiddenUnits = layers.count == 1 ? 128 : 512
        hidden = Linear(
            inputFeatures: c * h * w, outputFeatures: hiddenUnits, weightInit: he, biasInit: .constant(0),
            generator: &generator)
        hiddenNorm = LayerNorm(hiddenUnits)
        output = Linear(inputFeatures: hiddenUnits, outputFeatures: actionCount, generator: &generator)
    }

    public var children: [(name: String, module: any Module)] {
        var list: [(name: String, module: any Module)] = []
        for (name, conv, norm) in convolutions { list += [(name, conv), (name + "_norm", norm)] }
        return list + [("fc_hidden", hidden), ("fc_norm", hiddenNorm), ("output", output)]
    }

    /// Q-values [N, actions] of observations [N, C, H, W].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        for (_, conv, norm) in convolutions { h = norm(conv(h)).relu() }
        h = h.reshaped([x.shape[0], -1])  // (N, C·H·W)
        return output(hiddenNorm(hidden(h)).relu())  // (N, A)
    }
}
