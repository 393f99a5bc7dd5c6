import Foundation

/// A failure of the processes a data-parallel run is spread over (a rank that died, a
/// collective that timed out, ranks started with different configs): one line, printed by
/// the command.
public struct DistributedError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}

/// The collectives a data-parallel run needs from its process group (MPI's names): every rank
/// calls the same operations in the same order, and each returns on every rank once all have
/// called it.
///
/// `Cortex` knows nothing of MPI: the `cortex` command implements this over Open MPI when it
/// was built with the `MPI` trait and started by `mpirun`/`srun`; `SingleProcess` is the
/// group of one.
public protocol Communicator: AnyObject {
    /// This process's index, 0..<size; rank 0 writes logs and checkpoints.
    var rank: Int { get }
    var size: Int { get }
    /// Replaces `buffer` on every rank by the elementwise sum over ranks (`MPI_Allreduce`,
    /// `MPI_SUM`, in place). Every rank ends with the same bits.
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws
    /// Copies `root`'s bytes into `buffer` on every other rank (`MPI_Bcast`).
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws
    /// Returns once every rank has called it (`MPI_Barrier`).
    func barrier() throws
}

extension Communicator {
    public var isRoot: Bool { rank == 0 }

    /// `root`'s bytes on every rank; the length travels first, so only `root`'s `bytes` matter.
    public func broadcast(bytes: [UInt8], root: Int = 0) throws -> [UInt8] {
        var count = UInt64(rank == root ? bytes.count : 0)
        try withUnsafeMutableBytes(of: &count) { try broadcast($0, root: root) }
        var result = rank == root ? bytes : [UInt8](repeating: 0, count: Int(count))
        try result.withUnsafeMutableBytes { try broadcast($0, root: root) }
        return result
    }

    /// The sums over ranks of a few numbers (metrics: loss sums, counts).
    public func sum(_ values: [Double]) throws -> [Double] {
        var values = values
        try values.withUnsafeMutableBufferPointer { try allreduceSum($0) }
        return values
    }
}

/// The process group of one process: every collective is the identity.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {}
    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {}
    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {}
    public func barrier() throws {}
}

extension Communicator {
    /// The folder this rank runs in, so that rank 0 alone writes logs and checkpoints: rank 0
    /// gets `folder`; every other rank a private scratch folder (remove it with
    /// `removeScratchFolder`). With `resume`, rank 0's `last.safetensors` is broadcast into
    /// each scratch folder, so a run resumes with any number of ranks and without a shared
    /// file system.
    public func runFolder(_ folder: String, resume: Bool) throws -> String {
        guard size > 1 else { return folder }
        let checkpoint = folder + "/last.safetensors"
        var bytes: [UInt8] = []
        if resume && isRoot, let data = FileManager.default.contents(atPath: checkpoint) { bytes = [UInt8](data) }
        if resume { bytes = try broadcast(bytes: bytes) }
        if isRoot { return folder }
        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("cortex-rank\(rank)-\(getpid())").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        if resume {
            guard !bytes.isEmpty else { throw TrainingError("no checkpoint to resume from at \(checkpoint)") }
            try Data(bytes).write(to: URL(fileURLWithPath: scratch + "/last.safetensors"))
        }
        return scratch
    }

    /// Removes the scratch folder `runFolder` gave a rank other than 0.
    public func removeScratchFolder(_ folder: String) {
        if size > 1 && !isRoot { try? FileManager.default.removeItem(atPath: folder) }
    }
}
