internal import CKernels

/// Kernels that fuse several passes of the small-T attention of training and of the Duo-LLM
/// oracle into one call on AVX-512 (CKernels). Each computes the same bits as the Swift path it
/// replaces, so a result never depends on which CPU ran it; callers fall back to that path
/// wherever `available` is false.
public enum FusedKernels {
    /// Whether this process runs them: its tile kernel is AVX-512 (`TileKernel.active`).
    public static let available = TileKernel.active == .avx512

    /// Softmax over the first `visible` floats of a row of `length`, zeros after; as Models'
    /// `CausalRows.softmax` (same bits). Returns the row's maximum and Σ exp(x − max).
    /// - Precondition: `TileKernel.avx512.isSupported`; 1 ≤ visible ≤ length.
    @inline(__always)
    public static func softmaxRow(_ row: UnsafeMutablePointer<Float>, visible: Int, length: Int) -> (max: Float, sum: Float) {
        var max: Float = 0, sum: Float = 0
        loom_softmax_row_avx512(row, Int32(visible), Int32(length), &max, &sum)
        return (max, sum)
    }

    /// Attention's `TileKernels.maximum` in 16-lane vectors (same bits): the largest of
    /// `row[lo..<hi]`, −∞ when empty.
    /// - Precondition: `TileKernel.avx512.isSupported`.
    @inline(__always)
    public static func rowMaximum(_ row: UnsafePointer<Float>, _ lo: Int, _ hi: Int) -> Float {
        loom_row_maximum_avx512(row, Int32(lo), Int32(hi))
    }

    /// Attention's `TileKernels.exponentiate` in 16-lane vectors (same bits): `row[c] ← exp(row[c] − shift)`
    /// on `lo..<hi`, zero elsewhere in `0..<width`; returns the sum.
    /// - Precondition: `TileKernel.avx512.isSupported`.
    @inline(__always)
    public static func rowExponentiate(_ row: UnsafeMutablePointer<Float>, width: Int, _ lo: Int, _ hi: Int, shift: Float) -> Float {
        loom_row_exponentiate_avx512(row, Int32(width), Int32(lo), Int32(hi), shift)
    }

    /// Whether `causalAttention` takes an item of `context` queries and `headDimension` floats per head.
    public static func fitsCausalAttention(context: Int, headDimension: Int) -> Bool {
        context >= 1 && context <= 256 && headDimension > 0 && headDimension % 16 == 0 && headDimension <= 256
    }

    /// Causal softmax attention of one (sequence, head) item: `q`, `k`, `v` hold `context` rows of
    /// `headDimension` floats, `ld` apart. Writes P (context × context: row i the softmax of
    /// scale·qᵢ·kⱼ over j ≤ i, zeros after) and O = P·V (rows `ldo` apart), with the bits of
    /// TiledGEMM per 16-query block and `CausalRows.softmax`. `scratch` holds
    /// headDimension × ⌈context/16⌉·16 floats.
    /// - Precondition: `TileKernel.avx512.isSupported` and `fitsCausalAttention`.
    public static func causalAttention(context: Int, headDimension: Int, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                                       v: UnsafePointer<Float>, ld: Int, scale: Float, weights: UnsafeMutablePointer<Float>,
                                       output: UnsafeMutablePointer<Float>, ldo: Int, scratch: UnsafeMutablePointer<Float>) {
        loom_causal_attention_avx512(Int32(context), Int32(headDimension), q, k, v, ld, scale, weights, output, ldo, scratch)
    }

    /// The backward of `causalAttention` for one item, from its P (`weights`) and dL/dO
    /// (`outputGradient`, rows `ldo` apart): writes dQ, dK and dV (rows `ld` apart, laid out like
    /// q, k, v) and leaves dS in `scoreGradient` (context × context, up to the end of each row's
    /// 16-query block), with the bits of TiledGEMM per 16-query block and `CausalRows.softmaxBackward`.
    /// `scratch` holds `causalAttentionScratch` floats.
    /// - Precondition: `TileKernel.avx512.isSupported` and `fitsCausalAttention`.
    public static func causalAttentionBackward(context: Int, headDimension: Int, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                                               v: UnsafePointer<Float>, ld: Int, scale: Float, weights: UnsafePointer<Float>,
                                               outputGradient: UnsafePointer<Float>, ldo: Int,
                                               dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
                                               scoreGradient: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        loom_causal_attention_backward_avx512(Int32(context), Int32(headDimension), q, k, v, ld, scale, weights, outputGradient, ldo,
                                              dq, dk, dv, scoreGradient, scratch)
    }

    /// Floats of scratch `causalAttention` (and its backward) needs.
    public static func causalAttentionScratch(context: Int, headDimension: Int) -> Int {
        headDimension * ((context + 15) / 16 * 16)
    }
}
