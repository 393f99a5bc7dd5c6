import Cortex

/// The target network of Q-learning (Mnih et al. 2015): a frozen copy of the online network
/// that the bootstrapped targets read, refreshed every `syncEvery` updates.
public enum TargetNetwork {
    /// Freezes `target` (no gradients) and copies `online` into it.
    public static func prepare(_ target: any Module, from online: any Module) {
        for parameter in target.parameters() { parameter.requiresGrad = false }
        copyParameters(from: online, to: target)
    }

    /// Copies every parameter of `source` into `destination` (same architecture).
    public static func copyParameters(from source: any Module, to destination: any Module) {
        for ((_, s), (_, d)) in zip(source.namedParameters(), destination.namedParameters()) {
            precondition(s.shape == d.shape, "TargetNetwork.copyParameters: shapes \(s.shape) and \(d.shape) differ")
            d.storage.pointer.update(from: s.storage.pointer, count: s.count)
        }
    }
}

/// Online and target networks as one module for checkpoints: a module made of another
/// module's entries plus one named extra child, so a checkpoint keeps the main module's keys
/// unprefixed (`conv.weight`) next to `target.conv.weight`.
public final class PairModule: Module {
    public let main: any Module
    public let extra: (name: String, module: any Module)
    public var isTraining = true

    public init(main: any Module, extra: (name: String, module: any Module)) {
        self.main = main
        self.extra = extra
    }

    public var localParameters: [NamedTensor] { main.localParameters }
    public var localBuffers: [NamedTensor] { main.localBuffers }
    public var children: [(name: String, module: any Module)] { main.children + [extra] }
}
