import CCBLAS
import CKernels
import Foundation

/// Process-wide settings of the numeric runtime.
public enum Runtime {
    /// Threads OpenBLAS may use for one GEMM (this machine kind has 2 cores).
    public static var blasThreads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// Threads for Cortex's own parallel kernels (elementwise loops, optimizers, the two
    /// independent GEMMs of a linear layer's backward pass); by default the BLAS thread count.
    /// Set it apart from `blasThreads` when small GEMMs run better single-threaded but two
    /// cores are still there (the DQN update).
    nonisolated(unsafe) public static var kernelThreadsOverride: Int?
    public static var kernelThreads: Int { kernelThreadsOverride ?? blasThreads }

    /// Whether the CPU runs AVX2 and FMA: kernels with a wider variant (Adam) pick it at run time.
    public static let hasAVX2: Bool = cortex_cpu_has_avx2_fma() != 0
    /// Whether the CPU runs AVX-512F as well: the implicit convolution, the few-rows linear layer
    /// and the recurrent steps' few rows × matrix have 512-bit kernels (their 32 vector registers
    /// hold larger tiles).
    public static let hasAVX512: Bool = cortex_cpu_has_avx512f() != 0
    /// Whether those 512-bit variants run: `hasAVX512` unless turned off, as the tests do to
    /// check the AVX2 kernels on a machine that has both.
    nonisolated(unsafe) public static var usesAVX512: Bool = hasAVX512

    /// Flushes denormal floats to zero on the calling thread (as PyTorch's
    /// `set_flush_denormal(True)`): values below 1.2e-38 become 0, which changes no result
    /// that matters and avoids a ~100× slowdown of arithmetic on them. Cortex's worker
    /// threads set it for themselves.
    public static func flushDenormalsToZero() { cortex_flush_denormals() }

    /// Sets the thread count, flushes denormals on this thread and settles malloc's reuse of
    /// freed memory: what every command does first.
    ///
    /// With `smallMatrices`, GEMMs run on one thread and the `threads` go to Cortex's own
    /// kernels and to `concurrently` instead: small GEMMs (a DQN update's) gain nothing from
    /// BLAS threads, while two independent forward passes side by side do.
    public static func configure(threads: Int, smallMatrices: Bool = false) {
        blasThreads = smallMatrices ? 1 : threads
        kernelThreadsOverride = smallMatrices ? threads : nil
        flushDenormalsToZero()
        _ = allocatorSettings
    }

    /// malloc keeps freed blocks for reuse (`cortex_keep_freed_memory`), set once per process by
    /// the first `configure`: steady-state steps then fault no pages in on any thread.
    private static let allocatorSettings: Void = cortex_keep_freed_memory()

    /// Runs `first` and `second` at the same time when `kernelThreads` allows two threads,
    /// else one after the other, and returns when both are done. Kernels called inside run on
    /// their own thread only (the worker team is taken). Grad mode is per thread: either may
    /// record a graph or run in `withNoGrad`.
    public static func concurrently(_ first: () -> Void, _ second: () -> Void) {
        WorkerTeam.shared.perform(2, threads: kernelThreads) { _, which in
            if which == 0 { first() } else { second() }
        }
    }

    /// Bytes of freed large tensor buffers kept for reuse (see `StorageCache`); 0 disables
    /// the cache and frees what it holds.
    public static var storageCacheBytes: Int {
        get { StorageCache.limitBytes }
        set {
            StorageCache.limitBytes = Swift.max(0, newValue)
            if newValue <= 0 { StorageCache.clear() }
        }
    }

    /// Bytes the storage cache holds right now (freed blocks waiting for reuse).
    public static var storageCacheHeldBytes: Int { StorageCache.cachedBytes }
}

/// CPU seconds this process has used so far, on all its threads (`CLOCK_PROCESS_CPUTIME_ID`).
public func processCPUSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
}
