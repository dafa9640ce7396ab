/// The SIMD instruction set Loom's Swift kernels were compiled for, for benchmark headers.
///
/// Swift's default x86-64 target is SSE2; Loom builds with `-target-cpu` (Package.swift,
/// `LOOM_TARGET_CPU`), and the manifest passes the vector extension that target has.
public enum SIMDTarget {
    /// e.g. `AVX-512`, `AVX2+FMA`, `baseline`.
    public static var name: String {
        #if LOOM_SIMD_AVX512
        return "AVX-512"
        #elseif LOOM_SIMD_AVX2
        return "AVX2+FMA"
        #elseif arch(arm64)
        return "NEON"
        #else
        return "baseline (SSE2)"
        #endif
    }
}
