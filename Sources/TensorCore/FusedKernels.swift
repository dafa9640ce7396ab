internal import CKernels

/// Kernels that fuse several passes of the small-T attention of training and of the Duo-LLM
/// oracle into one call (CKernels), compiled for AVX-512 and for AVX2 + FMA from one source
/// (attention_body.h). Each computes the same bits as the Swift path it replaces, so a result
/// never depends on which CPU ran it; callers fall back to that path wherever `runs(on:)` is false.
/// The long-context row passes (`rowMaximum`, `rowExponentiate`) exist on AVX-512 only.
public enum FusedKernels {
    /// Whether the fused kernels for `kernel`'s vector unit can run on this CPU.
    public static func runs(on kernel: TileKernel) -> Bool {
        switch kernel {
        case .avx512: return kernel.isSupported
        case .avx2: return hasAVX2
        }
    }

    /// Whether this process runs them, on its tile kernel's vector unit (`TileKernel.active`).
    public static let available = runs(on: .active)

    /// AVX2 + FMA, which the default build target already assumes; checked anyway, since
    /// `LOOM_TARGET_CPU` can build for older CPUs.
    private static let hasAVX2 = loom_cpu_has_avx2_fma() != 0

    /// Softmax over the first `visible` floats of a row of `length`, zeros after; as Models'
    /// `CausalRows.softmax` (same bits). Returns the row's maximum and Σ exp(x − max).
    /// - Precondition: `runs(on: kernel)`; 1 ≤ visible ≤ length.
    @inline(__always)
    public static func softmaxRow(_ row: UnsafeMutablePointer<Float>, visible: Int, length: Int,
                                  kernel: TileKernel = .active) -> (max: Float, sum: Float) {
        var max: Float = 0, sum: Float = 0
        switch kernel {
        case .avx512: loom_softmax_row_avx512(row, Int32(visible), Int32(length), &max, &sum)
        case .avx2: loom_softmax_row_avx2(row, Int32(visible), Int32(length), &max, &sum)
        }
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
    /// - Precondition: `runs(on: kernel)` and `fitsCausalAttention`.
    public static func causalAttention(kernel: TileKernel, context: Int, headDimension: Int, q: UnsafePointer<Float>,
                                       k: UnsafePointer<Float>, v: UnsafePointer<Float>, ld: Int, scale: Float,
                                       weights: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>, ldo: Int,
                                       scratch: UnsafeMutablePointer<Float>) {
        switch kernel {
        case .avx512: loom_causal_attention_avx512(Int32(context), Int32(headDimension), q, k, v, ld, scale, weights, output, ldo, scratch)
        case .avx2: loom_causal_attention_avx2(Int32(context), Int32(headDimension), q, k, v, ld, scale, weights, output, ldo, scratch)
        }
    }

    /// The backward of `causalAttention` for one item, from its P (`weights`) and dL/dO
    /// (`outputGradient`, rows `ldo` apart): writes dQ, dK and dV (rows `ld` apart, laid out like
    /// q, k, v) and leaves dS in `scoreGradient` (context × context, up to the end of each row's
    /// 16-query block), with the bits of TiledGEMM per 16-query block and `CausalRows.softmaxBackward`.
    /// `scratch` holds `causalAttentionScratch` floats.
    /// - Precondition: `runs(on: kernel)` and `fitsCausalAttention`.
    public static func causalAttentionBackward(kernel: TileKernel, context: Int, headDimension: Int, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                                               v: UnsafePointer<Float>, ld: Int, scale: Float, weights: UnsafePointer<Float>,
                                               outputGradient: UnsafePointer<Float>, ldo: Int,
                                               dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
                                               scoreGradient: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        switch kernel {
        case .avx512:
            loom_causal_attention_backward_avx512(Int32(context), Int32(headDimension), q, k, v, ld, scale, weights, outputGradient,
                                                  ldo, dq, dk, dv, scoreGradient, scratch)
        case .avx2:
            loom_causal_attention_backward_avx2(Int32(context), Int32(headDimension), q, k, v, ld, scale, weights, outputGradient,
                                                ldo, dq, dk, dv, scoreGradient, scratch)
        }
    }

    /// Floats of scratch `causalAttention` (and its backward) needs.
    public static func causalAttentionScratch(context: Int, headDimension: Int) -> Int {
        headDimension * ((context + 15) / 16 * 16)
    }
}
