import Cortex

/// The action-value networks of DQN, built from the library's layers.
///
/// - `.minAtar`: MinAtar's network (Young & Tian 2019) for C×10×10 planes: conv 16@3×3 stride 1,
///   ReLU, linear 1024 → 128, ReLU, linear 128 → actions.
/// - `.nature`: the DQN paper's network (Mnih et al. 2015) for 4×84×84 frames: conv 32@8×8/4,
///   ReLU, conv 64@4×4/2, ReLU, conv 64@3×3/1, ReLU, linear 3136 → 512, ReLU, linear → actions.
///
/// With `dueling` (Wang et al. 2016) the hidden layer and output become two streams, a value
/// V(s) and advantages A(s, a), joined as Q = V + A − mean_a A.
///
/// Checkpoint keys (PyTorch names, so a file loads into the equivalent `nn.Module`):
/// MinAtar `conv.{weight,bias}` [16, C, 3, 3]/[16], `fc_hidden.{weight,bias}` [128, 1024]/[128],
/// `output.{weight,bias}` [A, 128]/[A] — exactly the attribute names of MinAtar's own
/// `QNetwork` in `examples/dqn.py`; Nature `conv1`, `conv2`, `conv3`, `fc_hidden`, `output`.
/// Dueling replaces `fc_hidden`/`output` with `value_hidden`, `value` [1, H], `advantage_hidden`,
/// `advantage` [A, H].
public final class QNetwork: UnaryLayer {
    public enum Architecture: String, Codable, Sendable {
        case minAtar, nature
    }

    public let architecture: Architecture
    public let actionCount: Int
    public let dueling: Bool
    public var isTraining = true

    private let convolutions: [(name: String, layer: Conv2d)]
    private let hidden: Linear
    private let output: Linear
    private let valueHidden: Linear?
    private let value: Linear?

    /// - Parameters:
    ///   - inputShape: [C, H, W] of one observation.
    public init(
        architecture: Architecture, inputShape: [Int], actionCount: Int, dueling: Bool = false,
        generator: inout RandomGenerator
    ) {
        precondition(inputShape.count == 3, "QNetwork: input shape \(inputShape) is not [C, H, W]")
        self.architecture = architecture
        self.actionCount = actionCount
        self.dueling = dueling
        let (channels, height, width) = (inputShape[0], inputShape[1], inputShape[2])
        var convs: [(String, Conv2d)] = []
        let hiddenUnits: Int
        var (h, w) = (height, width)
        switch architecture {
        case .minAtar:
            convs.append(
                (
                    "conv",
                    Conv2d(
                        inputChannels: channels, outputChannels: 16, kernelSize: (3, 3),
                        stride: (1, 1), generator: &generator)
                ))
            (h, w) = (h - 2, w - 2)
            hiddenUnits = 128
        case .nature:
            var c = channels
            for (index, (out, k, s)) in [(32, 8, 4), (64, 4, 2), (64, 3, 1)].enumerated() {
                convs.append(
                    (
                        "conv\(index + 1)",
                        Conv2d(
                            inputChannels: c, outputChannels: out, kernelSize: (k, k),
                            stride: (s, s), generator: &generator)
                    ))
                (h, w) = ((h - k) / s + 1, (w - k) / s + 1)
                c = out
            }
            hiddenUnits = 512
        }
        precondition(h > 0 && w > 0, "QNetwork: input \(inputShape) is too small for the \(architecture) network")
        convolutions = convs
        let features = convs.last!.1.weight.shape[0] * h * w
        hidden = Linear(inputFeatures: features, outputFeatures: hiddenUnits, generator: &generator)
        output = Linear(inputFeatures: hiddenUnits, outputFeatures: actionCount, generator: &generator)
        if dueling {
            valueHidden = Linear(inputFeatures: features, outputFeatures: hiddenUnits, generator: &generator)
            value = Linear(inputFeatures: hiddenUnits, outputFeatures: 1, generator: &generator)
        } else {
            valueHidden = nil
            value = nil
        }
    }

    public var children: [(name: String, module: any Module)] {
        var list: [(name: String, module: any Module)] = convolutions.map { ($0.name, $0.layer) }
        if dueling {
            list += [
                ("advantage_hidden", hidden), ("advantage", output), ("value_hidden", valueHidden!), ("value", value!)
            ]
        } else {
            list += [("fc_hidden", hidden), ("output", output)]
        }
        return list
    }

    /// Q-values [N, actions] of observations [N, C, H, W].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        for (_, conv) in convolutions { h = conv(h).relu() }
        h = h.reshaped([x.shape[0], -1])  // (N, C·H·W)
        let advantages = output(hidden(h).relu())
        guard dueling, let valueHidden, let value else { return advantages }
        let v = value(valueHidden(h).relu())  // (N, 1)
        return v + advantages - advantages.mean(axes: [1], keepDims: true)  // (N, A)
    }
}
