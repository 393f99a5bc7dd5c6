/// The memory behind one tensor: `count` Float32 values, 64-byte aligned, owned.
///
/// Kernels read and write `pointer` directly. Storage is never shared between tensors
/// that autodiff sees as different values; `reshape` may share it because it changes
/// no element.
public final class TensorStorage {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int
    /// What owns the memory of a borrowed storage (nil: this storage owns it).
    private let owner: AnyObject?

    /// Uninitialised memory for `count` floats; the caller writes every element.
    public init(uninitializedCount count: Int) {
        precondition(count >= 0, "TensorStorage: negative count \(count)")
        self.count = count
        let raw = StorageCache.allocate(byteCount: Swift.max(count, 1) * 4)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        owner = nil
    }

    /// `count` floats inside another storage, from `offset` on: no copy; `base` stays alive as
    /// long as this view does (a gradient that lives in a data-parallel fusion buffer).
    public init(viewOf base: TensorStorage, offset: Int, count: Int) {
        precondition(offset >= 0 && count >= 0 && offset + count <= base.count, "TensorStorage: view \(offset)..<\(offset + count) of \(base.count)")
        pointer = base.pointer + offset
        self.count = count
        owner = base
    }

    /// Memory for `count` floats, every one set to `value`.
    public convenience init(count: Int, repeating value: Float = 0) {
        self.init(uninitializedCount: count)
        pointer.initialize(repeating: value, count: count)
    }

    deinit { if owner == nil { StorageCache.release(UnsafeMutableRawPointer(pointer), byteCount: Swift.max(count, 1) * 4) } }
}

/// A Float32 n-dimensional array in contiguous row-major order that records, when it
/// requires a gradient, the operation that produced it (define-by-run reverse mode, as in
/// PyTorch).
///
/// Layout: element `[i0, i1, …, ik]` is at offset `Σ i_j · strides[j]` with
/// `strides = (shape[1]·…·shape[k], …, 1)`. A rank-0 tensor (`shape == []`) holds one scalar.
public final class Tensor {
    /// The extent of each axis.
    public let shape: [Int]
    /// The values; see the layout above.
    public let storage: TensorStorage
    /// Leaves with `requiresGrad` receive `.grad` from `backward()`; results of ops on them
    /// record how to send gradients back.
    public var requiresGrad: Bool
    /// Accumulated gradient of a leaf (same shape). Set to `nil` (or call `zeroGrad()`) between steps.
    public var grad: Tensor?

    // MARK: autodiff record (empty on leaves and on tensors made in no-grad mode)
    /// The tensors this one was computed from.
    internal var inputs: [Tensor] = []
    /// Maps the gradient of this tensor to a gradient for each of `inputs` (`nil`: none).
    internal var backwardFunction: ((Tensor) -> [Tensor?])?
    /// Gradient being gathered for an interior node during one `backward()` call.
    internal var pendingGrad: Tensor?
    /// Whether `pendingGrad` was allocated by the engine (and may be summed into in place).
    internal var pendingGradIsOwned = false
    /// Name of the op that made this tensor, for error messages and graph dumps.
    public internal(set) var opName: String = "leaf"

    /// Wraps existing storage; `storage.count` must equal the product of `shape`.
    public init(shape: [Int], storage: TensorStorage, requiresGrad: Bool = false) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative extent in shape \(shape)")
        precondition(
            shape.reduce(1, *) == storage.count,
            "Tensor: shape \(shape) needs \(shape.reduce(1, *)) elements, storage has \(storage.count)")
        self.shape = shape
        self.storage = storage
        self.requiresGrad = requiresGrad
    }

    /// A tensor holding `data` in row-major order.
    public convenience init(shape: [Int], data: [Float], requiresGrad: Bool = false) {
        let count = shape.reduce(1, *)
        precondition(
            count == data.count, "Tensor(shape:data:): shape \(shape) needs \(count) values, got \(data.count)")
        let storage = TensorStorage(uninitializedCount: count)
        data.withUnsafeBufferPointer { storage.pointer.update(from: $0.baseAddress!, count: count) }
        self.init(shape: shape, storage: storage, requiresGrad: requiresGrad)
    }

    /// A 1-D tensor of `data`.
    public convenience init(_ data: [Float], requiresGrad: Bool = false) {
        self.init(shape: [data.count], data: data, requiresGrad: requiresGrad)
    }

    /// A rank-0 tensor.
    public convenience init(scalar: Float, requiresGrad: Bool = false) {
        self.init(shape: [], data: [scalar], requiresGrad: requiresGrad)
    }

    /// A 2-D tensor from nested rows (all the same length).
    public convenience init(_ rows: [[Float]], requiresGrad: Bool = false) {
        let columns = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == columns }, "Tensor(rows): ragged rows")
        self.init(shape: [rows.count, columns], data: rows.flatMap { $0 }, requiresGrad: requiresGrad)
    }

    // MARK: facts

    /// Number of elements.
    @inlinable public var count: Int { storage.count }
    /// Number of axes.
    @inlinable public var rank: Int { shape.count }
    /// Row-major strides in elements.
    public var strides: [Int] { Tensor.strides(for: shape) }

    /// Row-major strides of `shape`.
    public static func strides(for shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }

    /// The values as a Swift array, row-major.
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: storage.pointer, count: count)) }

    /// The single value of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item: tensor of shape \(shape) has \(count) elements, not 1")
        return storage.pointer[0]
    }

    /// The element at a full index (slow; for tests and printing).
    public subscript(indices: Int...) -> Float {
        get { storage.pointer[flatIndex(indices)] }
        set { storage.pointer[flatIndex(indices)] = newValue }
    }

    private func flatIndex(_ indices: [Int]) -> Int {
        precondition(indices.count == rank, "subscript: \(indices.count) indices for shape \(shape)")
        var offset = 0
        for (axis, index) in indices.enumerated() {
            precondition(
                index >= 0 && index < shape[axis], "subscript: index \(indices) out of range for shape \(shape)")
            offset = offset * shape[axis] + index
        }
        return offset
    }

    /// Normalises a possibly negative axis; stops with the op's name when out of range.
    public func axis(_ axis: Int, op: String) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < Swift.max(rank, 1), "\(op): axis \(axis) out of range for shape \(shape)")
        return a
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = scalars.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(count > 8 ? ", …" : "")]\(requiresGrad ? ", requiresGrad" : ""))"
    }
}
