import Foundation

/// Reverse-mode automatic differentiation.
///
/// Each op computes its value eagerly and, when any input requires a gradient and grad mode
/// is on, returns a tensor that remembers its inputs and a closure mapping the output's
/// gradient to the inputs' gradients (`Tensor.record`). `backward()` visits every node
/// once in reverse topological order, sums the gradients that reach a node, hands leaves
/// their `.grad` and drops the graph as it goes, so nothing outlives the call.
public enum GradMode {
    /// Per-thread flag (a thread-specific key: unset means enabled), so a worker thread can
    /// compute targets in no-grad mode while the main thread records a graph.
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Whether new results record their op on this thread. Off inside `withNoGrad`.
    public static var isEnabled: Bool {
        get { pthread_getspecific(key) == nil }
        set { pthread_setspecific(key, newValue ? nil : UnsafeRawPointer(bitPattern: 1)) }
    }
}

/// Runs `body` without recording any op (inference, target networks, optimizer updates).
@inlinable
public func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
    let previous = GradMode.isEnabled
    GradMode.isEnabled = false
    defer { GradMode.isEnabled = previous }
    return try body()
}

extension Tensor {
    /// Wraps a freshly computed value as the result of op `name`.
    ///
    /// - Parameters:
    ///   - inputs: the tensors the value was computed from.
    ///   - backward: given the gradient of the result (shape `shape`), returns one gradient
    ///     per input in the same order, each with that input's shape, or `nil` where an input
    ///     gets none. Called at most once. It is not called for inputs that do not require a
    ///     gradient only if it returns `nil` for them, so it may skip that work by checking
    ///     `inputs[i].requiresGrad`.
    public static func record(
        _ name: String, shape: [Int], storage: TensorStorage, inputs: [Tensor],
        backward: @escaping (Tensor) -> [Tensor?]
    ) -> Tensor {
        let result = Tensor(shape: shape, storage: storage)
        result.opName = name
        if GradMode.isEnabled && inputs.contains(where: { $0.requiresGrad }) {
            result.requiresGrad = true
            result.inputs = inputs
            result.backwardFunction = backward
        }
        return result
    }

    /// Whether this tensor was made by a recorded op (as opposed to a leaf).
    public var isLeaf: Bool { backwardFunction == nil }

    /// The same values, cut off from the graph (shares storage).
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage) }

    /// Clears the accumulated gradient.
    public func zeroGrad() { grad = nil }

    /// Backpropagates from this tensor.
    ///
    /// - Parameter gradient: the upstream gradient, same shape as `self`; may be omitted
    ///   only for a one-element tensor, where it is 1.
    public func backward(gradient: Tensor? = nil) {
        precondition(requiresGrad, "backward: tensor (op \(opName), shape \(shape)) does not require grad")
        let seed: Tensor
        if let gradient {
            precondition(
                gradient.shape == shape,
                "backward: gradient shape \(gradient.shape) does not match tensor shape \(shape)")
            seed = gradient
        } else {
            precondition(count == 1, "backward: implicit gradient needs a one-element tensor, got shape \(shape)")
            seed = Tensor(shape: shape, storage: TensorStorage(count: 1, repeating: 1))
        }
        let order = topologicalOrder()
        // Storages handed to a leaf's `.grad` or a pending gradient in this call: a gradient
        // whose storage is already held elsewhere (an op may pass one gradient to several
        // inputs, or share storage through a reshape) is copied; a fresh one is kept as is.
        var held = Set<ObjectIdentifier>()
        if gradient != nil { held.insert(ObjectIdentifier(seed.storage)) }
        withNoGrad {
            Tensor.accumulate(seed, into: self, held: &held)
            for node in order.reversed() {
                guard let backwardFunction = node.backwardFunction, let gradOut = node.pendingGrad else {
                    continue
                }
                node.pendingGrad = nil
                node.pendingGradIsOwned = false
                let gradients = backwardFunction(gradOut)
                precondition(
                    gradients.count == node.inputs.count,
                    "backward of \(node.opName): \(gradients.count) gradients for \(node.inputs.count) inputs")
                for (input, gradient) in zip(node.inputs, gradients) where input.requiresGrad {
                    guard let gradient else { continue }
                    precondition(
                        gradient.shape == input.shape,
                        "backward of \(node.opName): gradient shape \(gradient.shape) for input of shape \(input.shape)"
                    )
                    Tensor.accumulate(gradient, into: input, held: &held)
                }
                node.inputs = []
                node.backwardFunction = nil
            }
        }
    }

    /// Adds `gradient` to a leaf's `.grad` or an interior node's pending gradient.
    private static func accumulate(_ gradient: Tensor, into node: Tensor, held: inout Set<ObjectIdentifier>) {
        if node.isLeaf {
            if let existing = node.grad {
                existing.addInPlace(gradient)
            } else if held.insert(ObjectIdentifier(gradient.storage)).inserted {
                node.grad = gradient
            } else {
                node.grad = gradient.copy()
            }
        } else if let existing = node.pendingGrad {
            if node.pendingGradIsOwned {
                existing.addInPlace(gradient)
            } else {
                // The first gradient may be shared with other nodes: sum into a fresh tensor.
                let sum = existing.copy()
                sum.addInPlace(gradient)
                node.pendingGrad = sum
                node.pendingGradIsOwned = true
            }
        } else {
            held.insert(ObjectIdentifier(gradient.storage))
            node.pendingGrad = gradient
            node.pendingGradIsOwned = false
        }
    }

    /// Nodes reachable from `self` through recorded ops, inputs before outputs (iterative,
    /// so a long unrolled RNN cannot overflow the stack).
    private func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Int)] = [(self, 0)]
        visited.insert(ObjectIdentifier(self))
        while let (node, next) = stack.popLast() {
            if next < node.inputs.count {
                stack.append((node, next + 1))
                let child = node.inputs[next]
                if child.backwardFunction != nil && visited.insert(ObjectIdentifier(child)).inserted {
                    stack.append((child, 0))
                }
            } else {
                order.append(node)
            }
        }
        return order
    }

    // MARK: raw helpers used by the engine and by optimizers (no graph)

    /// A new tensor with the same shape and values, not requiring grad.
    public func copy() -> Tensor {
        let storage = TensorStorage(uninitializedCount: count)
        storage.pointer.update(from: self.storage.pointer, count: count)
        return Tensor(shape: shape, storage: storage)
    }

    /// `self += other` elementwise, same shape, outside the graph.
    public func addInPlace(_ other: Tensor) {
        precondition(other.shape == shape, "addInPlace: shapes \(shape) and \(other.shape) differ")
        let a = storage.pointer, b = other.storage.pointer
        for i in 0..<count { a[i] += b[i] }
    }
}
