import Foundation

/// Parameters that share hyperparameters inside one optimizer (PyTorch's param groups),
/// e.g. weight decay on matrices only.
public struct ParameterGroup {
    /// The parameters with their names; the names key the optimizer's state.
    public var parameters: [NamedTensor]
    /// Weight decay of this group; `nil` uses the optimizer's `weightDecay`.
    public var weightDecay: Float?
    /// Multiplies the optimizer's `learningRate` for this group (so schedules still apply).
    public var learningRateScale: Float

    public init(_ parameters: [NamedTensor], weightDecay: Float? = nil, learningRateScale: Float = 1) {
        self.parameters = parameters
        self.weightDecay = weightDecay
        self.learningRateScale = learningRateScale
    }
}

extension Module {
    /// All parameters in one group with the optimizer's defaults.
    public func parameterGroups() -> [ParameterGroup] { [ParameterGroup(namedParameters())] }

    /// nanoGPT's split (Karpathy 2022, `configure_optimizers`): tensors of two or more axes
    /// (matrices, embeddings, convolution kernels) decay by `weightDecay`; biases and
    /// normalisation gains (one axis) do not decay.
    public func weightDecayGroups(weightDecay: Float) -> [ParameterGroup] {
        let all = namedParameters()
        return [
            ParameterGroup(all.filter { $0.tensor.rank >= 2 }, weightDecay: weightDecay),
            ParameterGroup(all.filter { $0.tensor.rank < 2 }, weightDecay: 0)
        ]
    }
}

/// What an optimizer must remember to resume exactly: its slot tensors, named
/// `<parameter name>.<slot>` (`fc.weight.exp_avg`), and numbers (`lr`, `step`,
/// `<parameter name>.step`).
public struct OptimizerState {
    public var tensors: [String: Tensor]
    public var scalars: [String: Double]

    public init(tensors: [String: Tensor] = [:], scalars: [String: Double] = [:]) {
        self.tensors = tensors
        self.scalars = scalars
    }
}

/// The state an optimizer keeps for one parameter: its update count and named slot tensors
/// of the parameter's shape (`momentum_buffer`, `exp_avg`, `exp_avg_sq`, …).
public final class ParameterState {
    /// Updates applied to this parameter (PyTorch's per-parameter `step`).
    public var step = 0
    /// Slot tensors by PyTorch's names.
    public var slots: [String: Tensor] = [:]

    public init() {}

    /// The slot `name`, created as zeros of `shape` on first use.
    public func slot(_ name: String, shape: [Int]) -> UnsafeMutablePointer<Float> {
        if let existing = slots[name] { return existing.storage.pointer }
        let tensor = Tensor.zeros(shape)
        slots[name] = tensor
        return tensor.storage.pointer
    }
}

/// The machinery shared by every optimizer: groups, per-parameter state keyed by parameter
/// name, the step loop, and state export. A subclass supplies one update rule for one
/// parameter on raw pointers (`update`), PyTorch's formulas, computed in Float32 with the
/// step-dependent scalars in Double (as PyTorch computes its Python scalars).
///
/// A parameter without a gradient is skipped and its step count does not advance, as in PyTorch.
open class Optimizer {
    /// The parameter groups; the names in all groups must be distinct.
    public var groups: [ParameterGroup]
    /// Base learning rate (each group multiplies it by its `learningRateScale`).
    public var learningRate: Float
    /// Default weight decay for groups that do not set their own.
    public var weightDecay: Float
    /// Number of `step()` calls so far (the step a schedule should be evaluated at).
    public internal(set) var stepCount = 0
    /// Per-parameter state, by parameter name.
    public internal(set) var state: [String: ParameterState] = [:]

    public init(_ groups: [ParameterGroup], learningRate: Float, weightDecay: Float) {
        var names = Set<String>()
        for group in groups {
            for (name, _) in group.parameters {
                precondition(names.insert(name).inserted, "Optimizer: parameter name '\(name)' appears twice")
            }
        }
        self.groups = groups
        self.learningRate = learningRate
        self.weightDecay = weightDecay
    }

    /// The slot names this optimizer may create, for checking a state before loading it.
    open var slotNames: Set<String> { [] }

    /// Applies one update to one parameter of `count` elements, in place.
    open func update(
        parameter: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>, count: Int,
        shape: [Int], state: ParameterState, learningRate: Float, weightDecay: Float
    ) {
        preconditionFailure("Optimizer.update must be overridden")
    }

    /// Updates every parameter that has a gradient.
    public func step() {
        stepCount += 1
        for group in groups {
            let rate = learningRate * group.learningRateScale
            let decay = group.weightDecay ?? weightDecay
            for (name, parameter) in group.parameters {
                guard let gradient = parameter.grad else { continue }
                precondition(
                    gradient.shape == parameter.shape,
                    "Optimizer.step: gradient shape \(gradient.shape) of '\(name)' differs from \(parameter.shape)")
                let parameterState: ParameterState
                if let existing = state[name] {
                    parameterState = existing
                } else {
                    parameterState = ParameterState()
                    state[name] = parameterState
                }
                parameterState.step += 1
                update(
                    parameter: parameter.storage.pointer, gradient: gradient.storage.pointer, count: parameter.count,
                    shape: parameter.shape, state: parameterState, learningRate: rate, weightDecay: decay)
            }
        }
    }

    /// Clears the gradient of every parameter in every group.
    public func zeroGrad() {
        for group in groups {
            for (_, parameter) in group.parameters { parameter.grad = nil }
        }
    }

    // MARK: state export

    /// The state to checkpoint (tensors are copies, so later steps do not change them).
    public func stateDict() -> OptimizerState {
        var result = OptimizerState(scalars: ["lr": Double(learningRate), "step": Double(stepCount)])
        for (name, parameterState) in state {
            result.scalars[name + ".step"] = Double(parameterState.step)
            for (slot, tensor) in parameterState.slots { result.tensors[name + "." + slot] = tensor.copy() }
        }
        return result
    }

    /// Checks that `state` fits this optimizer's parameters; throws one error listing all
    /// problems. `path` labels the error.
    public func validate(_ state: OptimizerState, path: String = "optimizer state") throws {
        var shapes: [String: [Int]] = [:]
        for group in groups {
            for (name, parameter) in group.parameters { shapes[name] = parameter.shape }
        }
        var unexpected: [String] = []
        var mismatched: [(name: String, expected: [Int], found: [Int])] = []
        for (key, tensor) in state.tensors {
            guard let dot = key.lastIndex(of: "."), let shape = shapes[String(key[..<dot])],
                slotNames.contains(String(key[key.index(after: dot)...]))
            else {
                unexpected.append(Checkpoint.optimizerPrefix + key)
                continue
            }
            if shape != tensor.shape { mismatched.append((Checkpoint.optimizerPrefix + key, shape, tensor.shape)) }
        }
        for key in state.scalars.keys where key != "lr" && key != "step" {
            guard key.hasSuffix(".step"), shapes[String(key.dropLast(5))] != nil else {
                unexpected.append(Checkpoint.optimizerPrefix + key)
                continue
            }
        }
        if !unexpected.isEmpty || !mismatched.isEmpty {
            throw CheckpointError.stateMismatch(missing: [], unexpected: unexpected.sorted(), shapes: mismatched)
        }
        for (key, value) in state.scalars where !(value >= 0 && value == value.rounded() && value < 9e15) {
            guard key == "lr", value.isFinite else {
                throw CheckpointError.malformed(
                    path: path, reason: "optimizer value '\(key)' = \(value) is not a valid count or rate")
            }
        }
    }

    /// Replaces this optimizer's state by `state` (validated first); slot tensors are copied.
    public func loadStateDict(_ state: OptimizerState) throws {
        try validate(state)
        var restored: [String: ParameterState] = [:]
        func entry(_ name: String) -> ParameterState {
            if let existing = restored[name] { return existing }
            let created = ParameterState()
            restored[name] = created
            return created
        }
        for (key, tensor) in state.tensors {
            let dot = key.lastIndex(of: ".")!
            entry(String(key[..<dot])).slots[String(key[key.index(after: dot)...])] = tensor.copy()
        }
        for (key, value) in state.scalars where key.hasSuffix(".step") {
            entry(String(key.dropLast(5))).step = Int(value)
        }
        if let rate = state.scalars["lr"] { learningRate = Float(rate) }
        if let steps = state.scalars["step"] { stepCount = Int(steps) }
        self.state = restored
    }
}

// MARK: - Gradient clipping

/// Rescales the gradients of `parameters` so their global L2 norm is at most `maxNorm`
/// (Pascanu et al. 2013), as `torch.nn.utils.clip_grad_norm_`:
/// `norm = √(Σ_p Σ_i g²)`, `g ← g · min(1, maxNorm / (norm + 1e-6))`.
/// Parameters without a gradient are ignored. Returns the norm before clipping.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    var sum: Double = 0
    for parameter in parameters {
        guard let gradient = parameter.grad else { continue }
        let g = gradient.storage.pointer
        // Sixteen running lanes so the sum vectorises (a single accumulator is a serial chain).
        var lanes = SIMD16<Float>()
        let count = gradient.count
        var i = 0
        while i + 16 <= count {
            let v = UnsafeRawPointer(g + i).loadUnaligned(as: SIMD16<Float>.self)
            lanes += v * v
            i += 16
        }
        var partial = Double(lanes.sum())
        while i < count {
            partial += Double(g[i] * g[i])
            i += 1
        }
        sum += partial
    }
    let norm = Float(sum.squareRoot())
    let coefficient = min(1, maxNorm / (norm + 1e-6))
    if coefficient < 1 {
        for parameter in parameters {
            guard let gradient = parameter.grad else { continue }
            let g = gradient.storage.pointer
            for i in 0..<gradient.count { g[i] *= coefficient }
        }
    }
    return norm
}
