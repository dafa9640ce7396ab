import TensorCore

/// Register-blocked matrix products of attention, on panels packed 16 columns wide, each block
/// one AVX2 tile (6 rows × 16 columns of C in registers, `TileKernel.avx2Strip`), or with the AVX-512 kernel
/// (`TileKernel`) two panels at once (8 × 32). A is read in place (any row
/// stride) and never packed: the passes feed it the query rows and the probability strip as
/// they lie. On the 2-core Zen VM at d = 64, both products of attention
/// ran at 38–40 GFLOP/s on one core and 36–38 per core with both busy, against about 36 per
/// core for OpenBLAS's sgemm on 2 threads; through OpenBLAS the forward pass also spent a tenth
/// of its time (perf) packing K, V and P and zeroing C for β = 0.
enum MicroKernel {
    /// Rows of C per block.
    static let rows = RegisterTile.rows
    /// Columns of C per block, the width of a packed panel.
    static let columns = RegisterTile.columns
    /// Query rows per strip in the attention passes: the active tile's block height (8 on
    /// AVX-512, 6 on AVX2). A row's values do not depend on it, so neither do the bits.
    static let stripRows = TileKernel.active.rows
    /// The tallest strip any tile takes, for scratch sizes.
    static let maxStripRows = TileKernel.allCases.map(\.rows).max()!

    /// `S[R × 16·panels] = α · A[R × k] · B`, B stored as `panels` panels of `[k, 16]` one after
    /// the other (the packed keys of a tile), A rows `lda` apart, S rows `ldc` apart.
    /// - Precondition: 1 ≤ rows ≤ `kernel.rows`.
    static func products(rows: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                         panels: UnsafePointer<Float>, count: Int,
                         into c: UnsafeMutablePointer<Float>, ldc: Int, kernel: TileKernel = .active) {
        if kernel == .avx512 {
            TileKernel.avx512Strip(rows: rows, k: k, a: a, lda: lda, b: panels, ldb: columns, panelStride: k * columns,
                                   count: count, c: c, ldc: ldc, alpha: alpha, accumulating: false)
            return
        }
        TileKernel.avx2Strip(rows: rows, k: k, a: a, lda: lda, b: panels, ldb: columns, panelStride: k * columns,
                             count: count, c: c, ldc: ldc, alpha: alpha, accumulating: false)
    }

    /// `C[R × 16·count] += A[R × k] · B`, B rows `ldb` apart in `count` 16-wide panels
    /// `panelStride` floats apart (side by side when it is 16), A rows `lda` apart.
    /// - Precondition: 1 ≤ rows ≤ `kernel.rows`.
    static func accumulate(rows: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                           b: UnsafePointer<Float>, ldb: Int, panelStride: Int = columns, count: Int,
                           into c: UnsafeMutablePointer<Float>, ldc: Int, kernel: TileKernel = .active) {
        if kernel == .avx512 {
            TileKernel.avx512Strip(rows: rows, k: k, a: a, lda: lda, b: b, ldb: ldb, panelStride: panelStride,
                                   count: count, c: c, ldc: ldc, alpha: 1, accumulating: true)
            return
        }
        TileKernel.avx2Strip(rows: rows, k: k, a: a, lda: lda, b: b, ldb: ldb, panelStride: panelStride,
                             count: count, c: c, ldc: ldc, alpha: 1, accumulating: true)
    }
}
