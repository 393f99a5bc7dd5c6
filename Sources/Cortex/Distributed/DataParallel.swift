import CKernels
import Foundation

/// Data-parallel training over a `Communicator`, the design of PyTorch's
/// `DistributedDataParallel` (Li et al. 2020) and Horovod (Sergeev & Del Balso 2018):
///
/// 1. rank 0's parameters are broadcast, so every rank starts from the same model;
/// 2. each rank runs forward and backward on its shard of every global batch;
/// 3. `averageGradients` sums the gradients over ranks in *buckets*: small tensors are fused
///    into one buffer of about `bucketCapacity` floats, so a step costs a few allreduces
///    instead of one per tensor (latency dominates small messages);
/// 4. every rank applies the same optimizer step to the same gradient and so keeps the same
///    parameters, bit for bit.
///
/// Each rank's gradient is the mean over its shard; it is weighted by `shard / global` before
/// the sum, so the result is the gradient of the mean loss over the whole global batch, as one
/// process would compute it, also when the shards are uneven (the last batch of an epoch).
///
/// The averaged gradients stay where the allreduce left them: each parameter's `.grad` becomes
/// a view of its place in the fusion buffer (PyTorch's `gradient_as_bucket_view`), so nothing
/// is copied back; a gradient that already is that view (accumulated over several backward
/// passes) is scaled in place instead of copied in.
public final class DataParallel {
    public let communicator: Communicator
    /// The parameters in the order every rank walks them (the module's order).
    public let parameters: [NamedTensor]
    /// Floats per fused bucket; 0 reduces every tensor on its own.
    public let bucketCapacity: Int
    /// Parameter indices per bucket.
    public let buckets: [[Int]]
    /// Wall-clock seconds spent in gradient allreduces, and their count, since the start.
    public private(set) var allreduceSeconds = 0.0
    public private(set) var allreduceCalls = 0
    /// Every bucket's (gradients | one flag per parameter | extras of the last bucket), one after
    /// the other; `bucketStarts[b]` is where bucket b begins.
    private let fusion: TensorStorage
    private let bucketStarts: [Int]
    /// The `.grad` each parameter gets after an average: a view of its slot in `fusion`.
    private var gradientViews: [Tensor?]

    /// PyTorch's default bucket is 25 MB, Horovod's fusion buffer 64 MB. Cortex does not
    /// overlap the allreduce with the backward pass, so several buckets per step buy nothing and
    /// cost a synchronisation each (measured: under load every one waits for a descheduled
    /// rank); 8 MiB (2,097,152 floats) holds each of Cortex's models (0.06–0.8 M parameters) in
    /// one bucket, one allreduce per step.
    public static let defaultBucketCapacity = 1 << 21

    public init(parameters: [NamedTensor], communicator: Communicator, bucketCapacity: Int = defaultBucketCapacity) {
        precondition(bucketCapacity >= 0, "DataParallel: negative bucket capacity \(bucketCapacity)")
        self.parameters = parameters
        self.communicator = communicator
        self.bucketCapacity = bucketCapacity
        var buckets: [[Int]] = []
        var current: [Int] = [], filled = 0
        for (index, parameter) in parameters.enumerated() {
            if !current.isEmpty && filled + parameter.tensor.count > bucketCapacity {
                buckets.append(current)
                current = []
                filled = 0
            }
            current.append(index)
            filled += parameter.tensor.count
        }
        if !current.isEmpty { buckets.append(current) }
        self.buckets = buckets
        // One more float per parameter (whether any rank has a gradient for it) and room for
        // the extra numbers that travel with the last bucket.
        var starts: [Int] = [], offset = 0
        for bucket in buckets {
            starts.append(offset)
            offset += bucket.reduce(0) { $0 + parameters[$1].tensor.count } + bucket.count
        }
        bucketStarts = starts
        fusion = TensorStorage(count: offset + Self.maximumExtras)
        gradientViews = [Tensor?](repeating: nil, count: parameters.count)
        for (number, bucket) in buckets.enumerated() {
            var at = starts[number]
            for index in bucket {
                let shape = parameters[index].tensor.shape, count = parameters[index].tensor.count
                gradientViews[index] = Tensor(shape: shape, storage: TensorStorage(viewOf: fusion, offset: at, count: count))
                at += count
            }
        }
    }

    public var rank: Int { communicator.rank }
    public var size: Int { communicator.size }

    /// The rows of a global batch of `count` that rank `rank` of `size` takes: contiguous
    /// shards whose sizes differ by at most one.
    public static func shard(count: Int, rank: Int, size: Int) -> Range<Int> {
        let base = count / size, extra = count % size
        let start = rank * base + min(rank, extra)
        return start..<(start + base + (rank < extra ? 1 : 0))
    }

    public func shard(count: Int) -> Range<Int> { Self.shard(count: count, rank: rank, size: size) }

    /// Where a progress display writes: standard error on rank 0 (nil: its default), nowhere
    /// on the other ranks.
    public var progressOutput: ((String) -> Void)? { communicator.isRoot ? nil : { _ in } }

    /// What a progress line adds under several ranks: their number and the throughput of all
    /// of them together.
    public func progressMetrics(examplesPerSecond: Double, unit: String) -> [(String, Double)] {
        size > 1 ? [("ranks", Double(size)), (unit, examplesPerSecond)] : []
    }

    /// The line a data-parallel run prints at its start.
    public func startLine(globalBatch: Int) -> String {
        let counts = parameters.map(\.tensor.count)
        return "data parallel: \(size) ranks, global batch \(globalBatch) (\(shard(count: globalBatch).count) on rank 0); gradients of \(counts.reduce(0, +)) parameters in \(buckets.count) allreduce bucket(s) of up to \(bucketCapacity) floats"
    }

    /// Copies rank 0's parameter values to every rank.
    public func broadcastParameters() throws {
        for (_, tensor) in parameters {
            try communicator.broadcast(
                UnsafeMutableRawBufferPointer(start: tensor.storage.pointer, count: tensor.count * 4), root: 0)
        }
    }

    /// Replaces every parameter's gradient by the global-batch gradient: the sum over ranks of
    /// `gradient · localCount / globalCount`. A parameter without a gradient counts as zero;
    /// it gets one when any rank has one (and stays without when none has, so the optimizer
    /// skips it on every rank alike).
    ///
    /// `extras` (at most `maximumExtras` numbers: a loss sum, a count, a stop flag) travel with
    /// the last bucket and come back summed over ranks, so a step needs no other collective.
    @discardableResult
    public func averageGradients(localCount: Int, globalCount: Int, extras: [Float] = []) throws -> [Float] {
        precondition(extras.count <= Self.maximumExtras, "DataParallel.averageGradients: \(extras.count) extras")
        var summed = extras
        precondition(globalCount > 0 && localCount >= 0, "DataParallel.averageGradients: counts \(localCount)/\(globalCount)")
        let weight = Float(localCount) / Float(globalCount)
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            allreduceSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        do {
            for (number, bucket) in buckets.enumerated() {
                let last = number == buckets.count - 1
                let base = fusion.pointer + bucketStarts[number]
                // (fused gradients | one has-gradient flag per parameter of the bucket)
                var offset = 0
                for index in bucket {
                    let tensor = parameters[index].tensor, count = tensor.count
                    if let gradient = tensor.grad, localCount > 0 {
                        let g = gradient.storage.pointer, f = base + offset
                        // In place when the gradient already lives in its slot.
                        if g != f || weight != 1 { cortex_scale_into(g, f, count, weight) }
                    } else {
                        (base + offset).update(repeating: 0, count: count)
                    }
                    offset += count
                }
                let flags = offset
                for (k, index) in bucket.enumerated() { base[flags + k] = parameters[index].tensor.grad == nil ? 0 : 1 }
                let extraStart = flags + bucket.count
                if last { for (k, value) in extras.enumerated() { base[extraStart + k] = value } }
                try communicator.allreduceSum(
                    UnsafeMutableBufferPointer(start: base, count: extraStart + (last ? extras.count : 0)))
                if last { summed = (0..<extras.count).map { base[extraStart + $0] } }
                allreduceCalls += 1
                for (k, index) in bucket.enumerated() {
                    let tensor = parameters[index].tensor
                    tensor.grad = base[flags + k] > 0 ? gradientViews[index] : nil
                }
            }
        }
        return summed
    }

    /// The most numbers `averageGradients` carries beside the gradients.
    public static let maximumExtras = 8

    /// A 64-bit FNV-1a hash of every parameter's bits, in order.
    public func parameterHash() -> UInt64 {
        var hash = FNV1a()
        for (_, tensor) in parameters {
            hash.add(UnsafeRawBufferPointer(start: tensor.storage.pointer, count: tensor.count * 4))
        }
        return hash.value
    }

    /// Throws unless every rank holds bit-identical parameters (a cheap check of the whole
    /// scheme, run at every checkpoint).
    public func checkParametersAgree() throws {
        let differing = try Self.ranksDiffering(from: parameterHash(), communicator: communicator)
        if differing > 0 {
            throw DistributedError(
                "the parameters of \(differing) rank(s) differ from rank 0's; data-parallel training lost step")
        }
    }

    /// Throws on every rank unless all were started with the same config (its JSON, keys
    /// sorted, hashed and compared with rank 0's).
    public static func checkSameConfig<Config: Encodable>(_ config: Config, communicator: Communicator) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var hash = FNV1a()
        try encoder.encode(config).withUnsafeBytes { hash.add($0) }
        let differing = try ranksDiffering(from: hash.value, communicator: communicator)
        if differing > 0 {
            throw DistributedError(
                "\(differing) of \(communicator.size) ranks were started with a config that differs from rank 0's; give every rank the same flags and files"
            )
        }
    }

    /// The start-up checks of a data-parallel run (nothing under one process): the same config
    /// on every rank, and a global batch of `batchSize` `examples` with a row for each rank.
    public static func checkStart<Config: Encodable>(
        _ config: Config, batchSize: Int, examples: String, communicator: Communicator
    ) throws {
        guard communicator.size > 1 else { return }
        try checkSameConfig(config, communicator: communicator)
        if batchSize < communicator.size {
            throw TrainingError(
                "the batch of \(batchSize) \(examples) cannot be split over \(communicator.size) ranks; give --batch \(communicator.size) or more"
            )
        }
    }

    /// How many ranks hold a `value` other than rank 0's (the same count on every rank).
    static func ranksDiffering(from value: UInt64, communicator: Communicator) throws -> Int {
        var rootValue = value
        try withUnsafeMutableBytes(of: &rootValue) { try communicator.broadcast($0, root: 0) }
        let count = try communicator.sum([rootValue == value ? 0 : 1])[0]
        return Int(count)
    }
}

/// Fowler–Noll–Vo 1a, 64 bits: a stable hash of bytes (Swift's `Hasher` is seeded per process).
struct FNV1a {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes {
            value ^= UInt64(byte)
            value &*= 0x100_0000_01b3
        }
    }
}
