import Foundation

/// How OpenBLAS's kernel set (its "core") was chosen, and whether it is a fair baseline for Loom.
///
/// OpenBLAS picks its core from the CPU when it loads, unless `OPENBLAS_CORETYPE` names one. A
/// shell or image that pins an older core (`OPENBLAS_CORETYPE=Haswell`, for reproducible numbers
/// across machines) leaves OpenBLAS on AVX2 kernels on an AVX-512 CPU: on a 2-core Zen 5 EPYC its
/// sgemm then ran at 245 GFLOP/s against 470 with the core it picks itself (BENCHMARKS.md), so
/// "vs sgemm" beside Loom's AVX-512 tile would flatter Loom twofold. Benchmarks say so in their
/// header; `bench/speed_report.py` drops such a pin for its AVX-512 sitting.
public enum BLASCore {
    /// The environment variable OpenBLAS reads for a forced core.
    public static let coreTypeVariable = "OPENBLAS_CORETYPE"

    /// OpenBLAS's names (lowercased) for its x86 cores whose kernels use AVX-512.
    static let avx512Cores: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]

    /// `OPENBLAS_CORETYPE` as this process saw it, or nil when unset or empty.
    public static var forced: String? {
        guard let value = ProcessInfo.processInfo.environment[coreTypeVariable], !value.isEmpty else { return nil }
        return value
    }

    /// `core NAME`, with `, pinned by OPENBLAS_CORETYPE` when the environment chose it: for
    /// headers and `loom version`.
    public static var summary: String {
        "core \(BLAS.coreName)" + (forced == nil ? "" : ", pinned by \(coreTypeVariable)")
    }

    /// Whether OpenBLAS's `core` runs AVX-512 kernels.
    public static func isAVX512(_ core: String) -> Bool { avx512Cores.contains(core.lowercased()) }

    /// A warning when the sgemm baseline runs narrower kernels than Loom's tile, else nil.
    /// - Parameters:
    ///   - core: the core OpenBLAS runs (`BLAS.coreName`).
    ///   - forced: `OPENBLAS_CORETYPE`, if set.
    ///   - tile: the tile Loom's products run on.
    public static func narrowBaselineWarning(core: String, forced: String?, tile: TileKernel) -> String? {
        guard tile == .avx512, !isAVX512(core) else { return nil }
        let why = forced.map { "\(coreTypeVariable)=\($0) pins OpenBLAS to" } ?? "OpenBLAS chose"
        return "\(why) its \(core) kernels, without AVX-512, while Loom runs its AVX-512 tile: sgemm is not "
            + "this machine's best, so 'vs sgemm' flatters Loom. For a fair baseline, unset \(coreTypeVariable) "
            + "(or set it to SkylakeX), or force both onto AVX2 with LOOM_KERNEL=avx2."
    }

    /// The warning for this process, or nil.
    public static var narrowBaselineWarningHere: String? {
        narrowBaselineWarning(core: BLAS.coreName, forced: forced, tile: TileKernel.active)
    }
}
