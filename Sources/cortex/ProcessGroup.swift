import Cortex
import Foundation

#if MPI
import CMPI
#endif

/// The processes a training command runs in: one, or the ranks `mpirun`/`srun` started.
///
/// A launcher is recognised by the variables it sets (`OMPI_COMM_WORLD_SIZE` from Open MPI's
/// `mpirun`, `PMIX_RANK` from PMIx, as `srun --mpi=pmix` starts ranks). Without one the group
/// is `SingleProcess` and MPI is never initialised.
enum ProcessGroup {
    static var launchedByMPI: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["OMPI_COMM_WORLD_SIZE"] != nil || environment["PMIX_RANK"] != nil
    }

    /// The group for this process; throws when started by an MPI launcher but built without MPI.
    static func start() throws -> Communicator {
        guard launchedByMPI else { return SingleProcess() }
        #if MPI
        return try MPICommunicator.world()
        #else
        throw DistributedError(
            "started by mpirun/srun, but this cortex was built without MPI; rebuild with swift build -c release --traits default,MPI"
        )
        #endif
    }

    /// Ends the group (`MPI_Finalize`) after a command's last collective.
    static func finish(_ communicator: Communicator) {
        #if MPI
        (communicator as? MPICommunicator)?.finalize()
        #endif
    }
}

#if MPI
/// `MPI_COMM_WORLD` as a `Communicator`, with MPI's errors returned (`MPI_ERRORS_RETURN`) and
/// thrown as `DistributedError`, and a watchdog: a collective that waits longer than
/// `timeout` seconds (the ranks it waits for died or hang) prints one line and ends this
/// process, which makes `mpirun` end the others.
final class MPICommunicator: Communicator {
    let rank: Int
    let size: Int
    let timeout: Double
    private let comm: MPI_Comm
    private let watchdog: Watchdog
    private var finalized = false

    nonisolated(unsafe) private static var shared: MPICommunicator?

    /// `CORTEX_MPI_TIMEOUT` (seconds, default 300) bounds every collective; evaluation on rank
    /// 0 runs between collectives, so the bound must exceed an evaluation.
    static func world() throws -> MPICommunicator {
        if let shared { return shared }
        var provided: Int32 = 0
        let code = MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided)
        if code != MPI_SUCCESS { throw DistributedError("MPI_Init failed (\(code))") }
        let timeout = ProcessInfo.processInfo.environment["CORTEX_MPI_TIMEOUT"].flatMap(Double.init) ?? 300
        let created = try MPICommunicator(comm: cortex_mpi_comm_world(), timeout: timeout)
        shared = created
        return created
    }

    private init(comm: MPI_Comm, timeout: Double) throws {
        self.comm = comm
        self.timeout = timeout
        var value: Int32 = 0
        MPI_Comm_set_errhandler(comm, cortex_mpi_errors_return())
        MPI_Comm_rank(comm, &value)
        rank = Int(value)
        MPI_Comm_size(comm, &value)
        size = Int(value)
        watchdog = Watchdog(rank: rank, timeout: timeout)
        Self.reportTermination(rank: rank)
    }

    /// The line a rank writes when `mpirun` ends it with SIGTERM, as it does to every rank when
    /// one fails; prepared in advance because a signal handler may only call `write`.
    nonisolated(unsafe) private static var terminationLine: [UInt8] = []

    private static func reportTermination(rank: Int) {
        terminationLine = Array(
            "cortex: rank \(rank): stopped by the MPI launcher (another rank failed or the job was cancelled); the last checkpoint is intact\n"
                .utf8)
        signal(SIGTERM) { _ in
            MPICommunicator.terminationLine.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
            _exit(143)
        }
    }

    /// Runs one MPI call under the watchdog and turns a failure into a `DistributedError`.
    private func call(_ name: String, _ body: () -> Int32) throws {
        watchdog.begin(name)
        let code = body()
        watchdog.end()
        guard code != MPI_SUCCESS else { return }
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &text, &length)
        let message = String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        throw DistributedError("rank \(rank): \(name) failed: \(message) (another rank may have died)")
    }

    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        try call("MPI_Allreduce") {
            MPI_Allreduce(
                cortex_mpi_in_place(), buffer.baseAddress, Int32(buffer.count), cortex_mpi_float(), cortex_mpi_sum(), comm)
        }
    }

    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
        try call("MPI_Allreduce") {
            MPI_Allreduce(
                cortex_mpi_in_place(), buffer.baseAddress, Int32(buffer.count), cortex_mpi_double(), cortex_mpi_sum(), comm)
        }
    }

    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        precondition(buffer.count <= Int(Int32.max), "broadcast: \(buffer.count) bytes is more than one MPI call carries")
        try call("MPI_Bcast") {
            MPI_Bcast(buffer.baseAddress, Int32(buffer.count), cortex_mpi_byte(), Int32(root), comm)
        }
    }

    func barrier() throws {
        try call("MPI_Barrier") { MPI_Barrier(comm) }
    }

    func finalize() {
        guard !finalized else { return }
        finalized = true
        watchdog.stop()
        MPI_Finalize()
    }
}

/// Ends the process when one MPI call outlasts `timeout` seconds (no hang when a rank is lost
/// in a way MPI does not report).
final class Watchdog: @unchecked Sendable {
    private let lock = NSLock()
    private var started: (name: String, time: Double)?
    private let timer: DispatchSourceTimer

    init(rank: Int, timeout: Double) {
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "cortex.mpi.watchdog"))
        timer.schedule(deadline: .now() + 1, repeating: min(1, timeout / 4))
        timer.setEventHandler { [unowned self] in
            self.lock.lock()
            let current = self.started
            self.lock.unlock()
            guard let current, Date().timeIntervalSince1970 - current.time > timeout else { return }
            printError(
                "cortex: rank \(rank): no answer from the other ranks in \(current.name) for \(Int(timeout)) s (a rank died or hangs); stopping"
            )
            _exit(75)
        }
        timer.resume()
    }

    func begin(_ name: String) {
        lock.lock()
        started = (name, Date().timeIntervalSince1970)
        lock.unlock()
    }

    func end() {
        lock.lock()
        started = nil
        lock.unlock()
    }

    func stop() { timer.cancel() }
}
#endif
