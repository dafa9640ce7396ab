import Testing
import TensorCore

/// A benchmark whose sgemm runs narrower kernels than Loom's tile says so (BLASCore).
@Suite struct BLASCoreTests {
    @Test func aBaselineNarrowerThanTheTileIsNamed() throws {
        let pinned = try #require(BLASCore.narrowBaselineWarning(core: "Haswell", forced: "Haswell", tile: .avx512))
        #expect(pinned.contains("OPENBLAS_CORETYPE=Haswell pins OpenBLAS"))
        #expect(pinned.contains("unset OPENBLAS_CORETYPE"))
        let chosen = try #require(BLASCore.narrowBaselineWarning(core: "Zen", forced: nil, tile: .avx512))
        #expect(chosen.hasPrefix("OpenBLAS chose its Zen kernels"))
    }

    @Test func aFairBaselineIsNotWarnedAbout() {
        for core in ["SkylakeX", "cooperlake", "SAPPHIRERAPIDS"] {
            #expect(BLASCore.narrowBaselineWarning(core: core, forced: nil, tile: .avx512) == nil, "\(core)")
            #expect(BLASCore.isAVX512(core))
        }
        // Both sides on AVX2 (the --avx2 preview, or an AVX2-only CPU) is a fair comparison.
        #expect(BLASCore.narrowBaselineWarning(core: "Haswell", forced: "Haswell", tile: .avx2) == nil)
        #expect(!BLASCore.isAVX512("Haswell"))
    }

    @Test func theSummaryNamesThePin() {
        #expect(BLASCore.summary.hasPrefix("core \(BLAS.coreName)"))
        #expect(BLASCore.summary.hasSuffix("pinned by OPENBLAS_CORETYPE") == (BLASCore.forced != nil))
    }
}
