/// A named tensor: a parameter, a buffer or a checkpoint entry. Names are dotted paths such as
/// `blocks.0.attn.qkv.weight`.
public typealias NamedTensor = (name: String, tensor: Tensor)

/// A piece of a model that owns tensors and sub-modules, with PyTorch's reference semantics:
/// parameters are `Tensor` objects that optimizers and `loadStateDict` update in place.
///
/// Each conforming class lists what it owns, explicitly and in a fixed order (no reflection):
/// - `localParameters`: its own trainable tensors, named as PyTorch names them (`weight`, `bias`);
/// - `localBuffers`: its own non-trainable state that a checkpoint keeps (`running_mean`);
/// - `children`: its sub-modules with their names (`"0"`, `"attn"`).
///
/// The walks in the extension prefix a child's entries with the child's name and a dot, so a
/// parameter's full name is its path from the root (`blocks.0.attn.qkv.weight`). Those names
/// are the checkpoint keys. A name must not contain a dot.
///
/// `isTraining` is stored by every module; `train()` / `eval()` set it on the whole tree.
/// Layers whose forward differs between the two (Dropout, BatchNorm) read their own flag.
public protocol Module: AnyObject {
    /// Trainable tensors owned by this module itself (not by its children).
    var localParameters: [NamedTensor] { get }
    /// Non-trainable tensors owned by this module itself, saved in checkpoints.
    var localBuffers: [NamedTensor] { get }
    /// Direct sub-modules, in a fixed order.
    var children: [(name: String, module: any Module)] { get }
    /// Training mode (true) or evaluation mode (false). Set through `train(_:)` or `eval()`.
    var isTraining: Bool { get set }
}

extension Module {
    public var localParameters: [NamedTensor] { [] }
    public var localBuffers: [NamedTensor] { [] }
    public var children: [(name: String, module: any Module)] { [] }
}

/// A module with one input and one output, the element of `Sequential`.
public protocol UnaryLayer: Module {
    func callAsFunction(_ x: Tensor) -> Tensor
}

// MARK: - Walks

extension Module {
    /// This module and every descendant with its dotted path (`""` for `self`), depth first,
    /// parents before children. A module reachable twice is listed twice, as PyTorch's
    /// `named_modules(remove_duplicate=False)`.
    public func namedModules() -> [(name: String, module: any Module)] {
        var result: [(name: String, module: any Module)] = []
        func visit(_ module: any Module, _ path: String) {
            result.append((path, module))
            for (name, child) in module.children {
                precondition(
                    !name.isEmpty && !name.contains("."),
                    "Module: child name '\(name)' of '\(path)' must be non-empty and have no dot")
                visit(child, path.isEmpty ? name : path + "." + name)
            }
        }
        visit(self, "")
        return result
    }

    /// Every tensor selected by `local`, with its full dotted name, in module order.
    private func namedTensors(_ local: (any Module) -> [NamedTensor], removingDuplicates: Bool) -> [NamedTensor] {
        var seen = Set<ObjectIdentifier>()
        var result: [NamedTensor] = []
        for (path, module) in namedModules() {
            for (name, tensor) in local(module) {
                precondition(
                    !name.isEmpty && !name.contains("."),
                    "Module: tensor name '\(name)' in '\(path)' must be non-empty and have no dot")
                if removingDuplicates && !seen.insert(ObjectIdentifier(tensor)).inserted { continue }
                result.append((path.isEmpty ? name : path + "." + name, tensor))
            }
        }
        return result
    }

    /// Trainable tensors with their dotted names. A tensor shared by two modules (tied
    /// weights) appears once, under its first name, so an optimizer updates it once.
    public func namedParameters() -> [NamedTensor] {
        namedTensors({ $0.localParameters }, removingDuplicates: true)
    }

    /// Trainable tensors, in the order of `namedParameters()`.
    public func parameters() -> [Tensor] { namedParameters().map(\.tensor) }

    /// Non-trainable state (running statistics) with dotted names.
    public func namedBuffers() -> [NamedTensor] {
        namedTensors({ $0.localBuffers }, removingDuplicates: true)
    }

    /// Everything a checkpoint holds: for each module in order, its parameters then its
    /// buffers (PyTorch's `state_dict` order). Tied tensors appear under every name.
    public func stateDict() -> [NamedTensor] {
        namedTensors({ $0.localParameters + $0.localBuffers }, removingDuplicates: false)
    }

    /// Number of trainable scalars (each tied tensor counted once).
    public var parameterCount: Int { namedParameters().reduce(0) { $0 + $1.tensor.count } }

    /// Clears the gradient of every parameter.
    public func zeroGrad() {
        for (_, tensor) in namedParameters() { tensor.grad = nil }
    }

    /// Sets training mode on this module and every descendant.
    public func train(_ mode: Bool = true) {
        for (_, module) in namedModules() { module.isTraining = mode }
    }

    /// Sets evaluation mode on this module and every descendant (same as `train(false)`).
    public func eval() { train(false) }

    /// Copies `tensors` into this module's parameters and buffers, in place.
    ///
    /// Everything is checked before anything is copied: every key of `stateDict()` must be
    /// present with the same shape, and (when `strict`) no other key may be. All problems are
    /// reported together in one `CheckpointError.stateMismatch`. With `strict: false`, missing
    /// and unexpected keys are ignored but shape mismatches still fail (as in PyTorch).
    public func loadStateDict(_ tensors: [String: Tensor], strict: Bool = true) throws {
        let own = stateDict()
        var missing: [String] = []
        var mismatched: [(name: String, expected: [Int], found: [Int])] = []
        var pairs: [(destination: Tensor, source: Tensor)] = []
        var known = Set<String>()
        for (name, destination) in own {
            known.insert(name)
            guard let source = tensors[name] else {
                missing.append(name)
                continue
            }
            if source.shape != destination.shape {
                mismatched.append((name, destination.shape, source.shape))
            } else {
                pairs.append((destination, source))
            }
        }
        let unexpected = tensors.keys.filter { !known.contains($0) }.sorted()
        if !mismatched.isEmpty || (strict && !(missing.isEmpty && unexpected.isEmpty)) {
            throw CheckpointError.stateMismatch(
                missing: strict ? missing : [],
                unexpected: strict ? unexpected : [],
                shapes: mismatched)
        }
        for (destination, source) in pairs where destination !== source {
            destination.storage.pointer.update(from: source.storage.pointer, count: destination.count)
        }
    }
}

// MARK: - Containers

/// Unary layers applied in order, named `"0"`, `"1"`, … as PyTorch's `nn.Sequential`.
public final class Sequential: UnaryLayer {
    public var layers: [any UnaryLayer]
    public var isTraining = true

    public init(_ layers: [any UnaryLayer]) { self.layers = layers }
    public convenience init(_ layers: any UnaryLayer...) { self.init(layers) }

    public var children: [(name: String, module: any Module)] {
        layers.enumerated().map { (String($0.offset), $0.element as any Module) }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var y = x
        for layer in layers { y = layer(y) }
        return y
    }
}

/// A list of modules of one type, named `"0"`, `"1"`, … as PyTorch's `nn.ModuleList`
/// (for example the transformer blocks of a GPT, called in a loop by their owner).
public final class ModuleList<Element: Module>: Module {
    public var modules: [Element]
    public var isTraining = true

    public init(_ modules: [Element]) { self.modules = modules }

    public var children: [(name: String, module: any Module)] {
        modules.enumerated().map { (String($0.offset), $0.element as any Module) }
    }

}

extension ModuleList: RandomAccessCollection {
    public var startIndex: Int { 0 }
    public var endIndex: Int { modules.count }
    public subscript(index: Int) -> Element { modules[index] }
}
