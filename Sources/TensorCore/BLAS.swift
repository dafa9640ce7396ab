internal import CBLAS
import Foundation

/// Loom's door to OpenBLAS: raw-pointer sgemm for kernels, and the library's own settings.
///
/// Kernels call `BLAS.sgemm` on blocks with explicit leading dimensions, so a head-interleaved
/// `[n, H, d]` tensor is multiplied in place without copies (lda = H·d).
public enum BLAS {
    /// Whether an operand is used as stored or transposed.
    public enum Transpose: Sendable {
        case none, transposed
        var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
    }

    /// `C ← α·op(A)·op(B) + β·C` in row-major order, with op(A) `m × k` and op(B) `k × n`.
    /// - Precondition: pointers hold the extents their leading dimensions imply.
    /// - Complexity: 2·m·n·k floating-point operations.
    public static func sgemm(_ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
                             alpha: Float, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(CblasRowMajor, transA.cblas, transB.cblas, Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// The CPU core OpenBLAS chose (or was told by `OPENBLAS_CORETYPE`), e.g. `Haswell`, `Cooperlake`.
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// OpenBLAS's build configuration string (version, threading model, max threads).
    public static var configuration: String {
        guard let text = openblas_get_config() else { return "unknown" }
        return String(cString: text)
    }

    /// The version OpenBLAS reports in its configuration, e.g. `0.3.21`.
    public static var version: String {
        let words = configuration.split(separator: " ")
        if let index = words.firstIndex(of: "OpenBLAS"), index + 1 < words.count {
            return String(words[index + 1])
        }
        return configuration
    }

    /// The number of threads OpenBLAS uses for one call.
    ///
    /// The setting is process-global. Set it directly only where a process settles its count once
    /// for good (the `loom bench attention` command, whose header prints it). Code that runs inside
    /// a longer-lived process, such as a task body in a worker or one benchmark among others, uses
    /// `withThreadCount(_:_:)`, so the next task starts from the process's own setting.
    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// Stops OpenBLAS's worker threads now; its next threaded call starts them again.
    ///
    /// After each threaded call they stay awake for about 2^28 cycles (a tenth of a second),
    /// calling `sched_yield` in a loop, on the CPUs whatever runs next needs. A benchmark that
    /// alternates an sgemm baseline with Loom (or with PyTorch in its own process) would time that
    /// next sample beside a spinning thread: Loom's 1-layer d = 64 steps, timed over 10 steps right
    /// after the baseline, ran 26 % more tokens/s with the threads asleep (BENCHMARKS.md). Loom's
    /// benchmarks call this after each threaded baseline sample. It uses OpenBLAS's own
    /// `blas_thread_shutdown_` (what it runs before a fork), looked up at run time: a library
    /// without it is left as it is.
    /// - Precondition: no other thread is inside an OpenBLAS call.
    /// - Returns: whether the library had the entry point.
    @discardableResult
    public static func releaseThreads() -> Bool {
        guard let shutdown = threadShutdown else { return false }
        _ = shutdown()
        return true
    }

    /// OpenBLAS's `blas_thread_shutdown_`, where the loaded library exports it.
    private static let threadShutdown: (@convention(c) () -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "blas_thread_shutdown_") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) () -> Int32).self)
    }()

    /// Runs `body` with OpenBLAS on `count` threads, then restores the previous count, also when
    /// `body` throws.
    ///
    /// The count stays process-global while `body` runs: two threads calling this at once see each
    /// other's setting. Loom's own tile-parallel kernels use `BLASThreading.singleThreaded`, which
    /// counts its concurrent users.
    /// - Parameters:
    ///   - count: the threads for OpenBLAS calls inside `body`; values below 1 mean 1.
    ///   - body: the work to run.
    /// - Returns: what `body` returns.
    /// - Throws: what `body` throws.
    public static func withThreadCount<R, E: Error>(_ count: Int, _ body: () throws(E) -> R) throws(E) -> R {
        let saved = threadCount
        threadCount = count
        defer { threadCount = saved }
        return try body()
    }
}
