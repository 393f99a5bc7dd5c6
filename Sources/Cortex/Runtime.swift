import CCBLAS

/// Process-wide settings of the numeric runtime.
public enum Runtime {
    /// Threads OpenBLAS may use for one GEMM (this machine kind has 2 cores).
    public static var blasThreads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }
}
