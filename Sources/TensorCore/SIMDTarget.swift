/// The SIMD instruction set Loom's Swift kernels were compiled for and the tile kernel chosen at
/// run time, for `loom version` and benchmark headers.
///
/// Swift's default x86-64 target is SSE2; Loom builds with `-target-cpu` (Package.swift,
/// `LOOM_TARGET_CPU`, `x86-64-v3` by default), and the manifest passes the vector extension that
/// target has. The products' register tile is chosen at run time (`TileKernel`).
public enum SIMDTarget {
    /// e.g. `AVX2+FMA build, tile AVX-512 6×32 (C, dispatched)`.
    public static var name: String { "\(buildTarget) build, tile \(TileKernel.active)" }

    /// The vector extension of the build target: `AVX-512`, `AVX2+FMA`, `NEON` or `baseline (SSE2)`.
    public static var buildTarget: String {
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
