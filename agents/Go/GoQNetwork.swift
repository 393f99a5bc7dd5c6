import Cortex

/// The Go action-value network: a fully convolutional trunk over the board planes with one
/// Q-value per point plus one for pass, so the same weights play any board size (the trunk
/// sees 3×3 neighbourhoods, the heads see every point or the board's average).
///
///     h      = ReLU(conv3×3(… ReLU(conv3×3(planes))))        (N, F, H, W), `layers` convolutions, padding 1
///     A(p)   = conv1×1(h)[p]                                  (N, H·W)      one advantage per point
///     V, A_π = Linear(mean_{H,W} h)                            (N, 2)        value and pass advantage
///     Q(s, p) = V + A(p),   Q(s, pass) = V + A_π               (N, H·W + 1)  points row-major, then pass
///
/// The value comes from the board average of the features, so it can weigh the whole board
/// (who owns more of it), which a per-point head with a 2·layers+1 receptive field cannot; the
/// shape is the dueling split of Wang et al. (2016) with the advantages left unnormalised.
///
/// Checkpoint keys: `conv1.weight` [F, C, 3, 3], `conv1.bias` [F], … `conv<layers>.*`,
/// `point_head.weight` [1, F, 1, 1], `point_head.bias` [1], `global_head.weight` [2, F],
/// `global_head.bias` [2] (row 0 the value, row 1 the pass advantage).
public final class GoQNetwork: UnaryLayer {
    public let inputChannels: Int
    public let channels: Int
    public var isTraining = true

    private let convolutions: [Conv2d]
    private let pointHead: Conv2d
    private let globalHead: Linear

    public init(inputChannels: Int, channels: Int, layers: Int, generator: inout RandomGenerator) {
        precondition(
            inputChannels > 0 && channels > 0 && layers > 0,
            "GoQNetwork: input channels \(inputChannels), channels \(channels) and layers \(layers) must be positive")
        self.inputChannels = inputChannels
        self.channels = channels
        var convs: [Conv2d] = []
        for layer in 0..<layers {
            convs.append(
                Conv2d(
                    inputChannels: layer == 0 ? inputChannels : channels, outputChannels: channels,
                    kernelSize: 3, padding: 1, generator: &generator))
        }
        convolutions = convs
        pointHead = Conv2d(inputChannels: channels, outputChannels: 1, kernelSize: 1, generator: &generator)
        globalHead = Linear(inputFeatures: channels, outputFeatures: 2, generator: &generator)
    }

    public var children: [(name: String, module: any Module)] {
        convolutions.enumerated().map { ("conv\($0.offset + 1)", $0.element as any Module) }
            + [("point_head", pointHead), ("global_head", globalHead)]
    }

    /// Q-values (N, H·W + 1) of planes (N, C, H, W).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(
            x.rank == 4 && x.shape[1] == inputChannels,
            "GoQNetwork: input \(x.shape) is not (N, \(inputChannels), H, W)")
        let (n, points) = (x.shape[0], x.shape[2] * x.shape[3])
        var h = x
        for conv in convolutions { h = conv(h).relu() }  // (N, F, H, W)
        let advantages = pointHead(h).reshaped([n, points])  // (N, H·W)
        let pooled = h.mean(axes: [2, 3])  // (N, F)
        let global = globalHead(pooled)  // (N, 2): V, A_pass
        let value = global.gather(axis: 1, index: Tensor.zeros([n, 1]))  // (N, 1)
        let pass = global.gather(axis: 1, index: Tensor.full([n, 1], 1))  // (N, 1)
        return Tensor.concat([advantages + value, pass + value], axis: 1)  // (N, H·W + 1)
    }
}
