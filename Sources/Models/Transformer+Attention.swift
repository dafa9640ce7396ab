import TensorCore

/// Causal multi-head attention of one layer over (batch, head) items, forward and backward.
///
/// Symbols: B batch, T context, H heads, dh = d/H, s = q·k/√dh. Each item (b, h) works on
/// (T, dh) slices of the (B·T, 3d) [q | k | v] buffer (leading dimension 3d, no copies):
/// forward `S = scale·Q·Kᵀ`, `P = rowwise(S)` (softmax over keys j ≤ i, or ReLU(S)/(i+1)),
/// `O = P·V`; backward `dP = dO·Vᵀ`, `dV = Pᵀ·dO`, `dS = P ⊙ (dP − rowsum(P ⊙ dP))` (softmax) or
/// `dS = [P > 0]·dP/(i+1)` (ReLU), `dQ = scale·dS·K`, `dK = scale·dSᵀ·Q`.
/// At T ≤ 256 a full (T, T) tile per item fits in L2. On `TiledGEMM` the products run in blocks
/// of 16 queries (or keys) and skip the masked upper triangle: each operand is packed once per
/// item and every block uses a prefix or suffix of it. On OpenBLAS (the comparison path) each
/// product is one whole sgemm. The masked upper triangle of P holds zeros either way.
///
/// `@unchecked Sendable`: the pointers outlive `forward`/`backward`, and item (b, h) writes only
/// its own (T, T) tile of `weights` and its own (T, dh) blocks of `heads`, dq, dk and dv.
struct AttentionKernel: @unchecked Sendable {
    let batch: Int, context: Int, heads: Int, headDimension: Int
    let kind: ModelConfig.AttentionKind
    let qkv: UnsafeMutablePointer<Float>       // (B·T, 3d): [q | k | v]
    let weights: UnsafeMutablePointer<Float>   // (B, H, T, T)
    let output: UnsafeMutablePointer<Float>    // (B·T, d): heads concatenated, before W_O
    /// Heads whose output is zeroed (H flags), or nil.
    let zeroedHeads: [Bool]?
    /// Per (sequence, head) item `b·H + h`, each query's forced key or −1 (T), or nil.
    let forcedKeys: [[Int]]?
    /// Per worker: `TiledGEMM`'s own scratch, and the packed operand of the product at hand.
    let workspaces: [GEMMWorkspace]
    let packs: [GEMMWorkspace]
    /// Whether the products run on OpenBLAS's sgemm instead (`Transformer.usesOpenBLASProducts`).
    let usesOpenBLAS: Bool
    /// The products' register tile; a plain softmax item runs as one fused kernel for its vector unit.
    var kernel: TileKernel = .active
    /// Whether items may run on the fused kernels at all (off: the tiled path, the tests' reference).
    var fusesItems = true
    /// Whether `weights` must hold every item's P afterwards (backward, hooks); when not, the
    /// fused kernel keeps each item's P in its scratch.
    var keepsWeights = true
    /// Whether the backward may run fused where the forward does (`TrainingFusion.attentionBackward`).
    var fusesBackward = true

    /// This kernel for a staged pass's block: items from 0, q | k | v in `qkv` and the heads'
    /// output in `output`; P kept only where the fused kernel does not run.
    func transient(qkv: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>) -> AttentionKernel {
        var copy = AttentionKernel(batch: batch, context: context, heads: heads, headDimension: headDimension, kind: kind, qkv: qkv,
                                   weights: weights, output: output, zeroedHeads: zeroedHeads, forcedKeys: nil,
                                   workspaces: workspaces, packs: packs, usesOpenBLAS: usesOpenBLAS, kernel: kernel)
        copy.keepsWeights = false
        copy.fusesItems = fusesItems
        return copy
    }

    var d: Int { heads * headDimension }

    /// Queries (and keys) per causal block: one 16-key panel.
    static let causalBlock = RegisterTile.columns

    /// The end of the causal block holding row `i`: the keys its queries can see end before it.
    func blockEnd(_ i: Int) -> Int { usesOpenBLAS ? context : min(context, (i / Self.causalBlock + 1) * Self.causalBlock) }

    /// `C[i, j] = α·A[i]·B[j]` for j < blockEnd(i) (S = Q·Kᵀ, dP = dO·Vᵀ): A and B are (T, dh) row
    /// blocks, C a (T, T) tile. Entries right of blockEnd(i) are not written.
    private func rowsTimesRows(alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                               c: UnsafeMutablePointer<Float>, scratch: Scratch) {
        let t = context, dh = headDimension
        if usesOpenBLAS {
            BLAS.sgemm(.none, .transposed, m: t, n: t, k: dh, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: 0, c: c, ldc: t)
            return
        }
        let packed = scratch.pack.reserve(TiledGEMM.packedCount(k: dh, n: t))
        TiledGEMM.pack(.transposed, k: dh, n: t, b: b, ldb: ldb, into: packed)
        for r0 in stride(from: 0, to: t, by: Self.causalBlock) {
            let r1 = blockEnd(r0)
            TiledGEMM.multiply(.none, m: r1 - r0, n: r1, alpha: alpha, a: a + r0 * lda, lda: lda, packedB: packed,
                               packedRows: dh, rows: 0..<dh, beta: 0, c: c + r0 * t, ldc: t, workspace: scratch.gemm, kernel: kernel)
        }
    }

    /// `C[i] = α·Σ_{j < blockEnd(i)} W[i, j]·B[j]` (O = P·V, dQ = dS·K): W a (T, T) tile, B and C
    /// (T, dh) row blocks.
    private func tileTimesRows(alpha: Float, w: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                               c: UnsafeMutablePointer<Float>, ldc: Int, scratch: Scratch) {
        let t = context, dh = headDimension
        if usesOpenBLAS {
            BLAS.sgemm(.none, .none, m: t, n: dh, k: t, alpha: alpha, a: w, lda: t, b: b, ldb: ldb, beta: 0, c: c, ldc: ldc)
            return
        }
        let packed = scratch.pack.reserve(TiledGEMM.packedCount(k: t, n: dh))
        TiledGEMM.pack(.none, k: t, n: dh, b: b, ldb: ldb, into: packed)
        for r0 in stride(from: 0, to: t, by: Self.causalBlock) {
            let r1 = blockEnd(r0)
            TiledGEMM.multiply(.none, m: r1 - r0, n: dh, alpha: alpha, a: w + r0 * t, lda: t, packedB: packed,
                               packedRows: t, rows: 0..<r1, beta: 0, c: c + r0 * ldc, ldc: ldc, workspace: scratch.gemm, kernel: kernel)
        }
    }

    /// `C[j] = α·Σ_{i ≥ j's block start} W[i, j]·B[i]` (dV = Pᵀ·dO, dK = dSᵀ·Q): W a (T, T) tile
    /// read down its columns, B and C (T, dh) row blocks.
    private func tileColumnsTimesRows(alpha: Float, w: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                                      c: UnsafeMutablePointer<Float>, ldc: Int, scratch: Scratch) {
        let t = context, dh = headDimension
        if usesOpenBLAS {
            BLAS.sgemm(.transposed, .none, m: t, n: dh, k: t, alpha: alpha, a: w, lda: t, b: b, ldb: ldb, beta: 0, c: c, ldc: ldc)
            return
        }
        let packed = scratch.pack.reserve(TiledGEMM.packedCount(k: t, n: dh))
        TiledGEMM.pack(.none, k: t, n: dh, b: b, ldb: ldb, into: packed)
        for j0 in stride(from: 0, to: t, by: Self.causalBlock) {
            let j1 = blockEnd(j0)
            TiledGEMM.multiply(.transposed, m: j1 - j0, n: dh, alpha: alpha, a: w + j0 * t + j0, lda: t, packedB: packed,
                               packedRows: t, rows: j0..<t, beta: 0, c: c + j0 * ldc, ldc: ldc, workspace: scratch.gemm, kernel: kernel)
        }
    }

    /// A worker's scratch for one item.
    struct Scratch { let gemm: GEMMWorkspace, pack: GEMMWorkspace }

    var q: UnsafeMutablePointer<Float> { qkv }
    var k: UnsafeMutablePointer<Float> { qkv + d }
    var v: UnsafeMutablePointer<Float> { qkv + 2 * d }
    var scale: Float { 1 / Float(headDimension).squareRoot() }

    /// Fills `weights` and `output`; with `scores` (B, H, T, T) given, also records the scaled
    /// pre-softmax scores there with −∞ above the diagonal.
    func forward(threads: Int, scores: UnsafeMutablePointer<Float>?) {
        nonisolated(unsafe) let scores = scores  // written only at item (b, h)'s own tile
        Parallel.forEach(batch * heads, threads: threads, setup: { Scratch(gemm: workspaces[$0], pack: packs[$0]) }) { item, scratch in
            forward(batch: item / heads, head: item % heads, scores: scores, scratch: scratch)
        }
    }

    func forward(batch b: Int, head h: Int, scores: UnsafeMutablePointer<Float>?, scratch: Scratch) {
        let t = context, tile = (b * heads + h) * t * t
        let p = weights + tile
        let block = b * t * d + h * headDimension, ld = 3 * d, input = b * t * ld + h * headDimension
        if fuses(item: b * heads + h, head: h, scores: scores) {
            // The same bits as below, in one call: no packing, no per-block driver (Zen 4, the
            // Duo-LLM oracle at T = 64, head width 16: see BENCHMARKS.md).
            let transposedKeys = FusedKernels.causalAttentionScratch(context: t, headDimension: headDimension)
            let buffer = scratch.pack.reserve(transposedKeys + (keepsWeights ? 0 : t * t))
            FusedKernels.causalAttention(kernel: kernel, context: t, headDimension: headDimension, q: q + input, k: k + input, v: v + input, ld: ld,
                                         scale: scale, weights: keepsWeights ? p : buffer + transposedKeys, output: output + block, ldo: d,
                                         scratch: buffer)
            return
        }
        rowsTimesRows(alpha: scale, a: q + input, lda: ld, b: k + input, ldb: ld, c: p, scratch: scratch)
        if let scores {
            let s = scores + tile
            for i in 0..<t {
                for j in 0..<t { s[i * t + j] = j <= i ? p[i * t + j] : -.infinity }
            }
        }
        let forced = forcedKeys?[b * heads + h]
        for i in 0..<t {
            let row = p + i * t
            if let forced, forced.isEmpty == false, forced[i] >= 0 {
                row.update(repeating: 0, count: t)
                row[forced[i]] = 1
                continue
            }
            switch kind {
            case .softmax: CausalRows.softmax(row, visible: i + 1, length: t)
            case .relu: CausalRows.relu(row, visible: i + 1, length: t)
            case .none: break
            }
        }
        if zeroedHeads?[h] == true {
            for i in 0..<t { (output + block + i * d).update(repeating: 0, count: headDimension) }
        } else {
            tileTimesRows(alpha: 1, w: p, b: v + input, ldb: ld, c: output + block, ldc: d, scratch: scratch)
        }
    }

    /// Whether item `item` (head `h`) runs on `FusedKernels.causalAttention`: fused kernels for the
    /// tile's vector unit, a plain causal softmax (no recorded scores, forced keys or zeroed head)
    /// and a shape it takes.
    func fuses(item: Int, head h: Int, scores: UnsafeMutablePointer<Float>?) -> Bool {
        fusesItems && FusedKernels.runs(on: kernel) && !usesOpenBLAS && kind == .softmax && scores == nil && zeroedHeads?[h] != true
            && (forcedKeys?[item].isEmpty ?? true) && FusedKernels.fitsCausalAttention(context: context, headDimension: headDimension)
    }

    /// From dL/d(output) (B·T, d), writes dL/d[q | k | v] (B·T, 3d); `tiles` holds one (T, T) tile per worker.
    func backward(threads: Int, outputGradient: UnsafeMutablePointer<Float>, dqkv: UnsafeMutablePointer<Float>,
                  tiles: UnsafeMutablePointer<Float>) {
        // Each item writes only its own blocks of dq, dk, dv and its worker's tile.
        let d = self.d
        nonisolated(unsafe) let dO = outputGradient, dq = dqkv, dk = dqkv + d, dv = dqkv + 2 * d, tiles = tiles
        let tileSize = context * context
        Parallel.forEach(batch * heads, threads: threads,
                         setup: { worker in (tiles + worker * tileSize, Scratch(gemm: workspaces[worker], pack: packs[worker])) }) { item, scratch in
            backward(batch: item / heads, head: item % heads, dO: dO, dq: dq, dk: dk, dv: dv, tile: scratch.0,
                     scratch: scratch.1)
        }
    }

    func backward(batch b: Int, head h: Int, dO: UnsafeMutablePointer<Float>, dq: UnsafeMutablePointer<Float>,
                  dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>, tile: UnsafeMutablePointer<Float>,
                  scratch: Scratch) {
        let t = context, dh = headDimension
        let p = weights + (b * heads + h) * t * t
        let block = b * t * d + h * dh, ld = 3 * d, input = b * t * ld + h * dh
        if zeroedHeads?[h] == true {
            // The head's output is zero whatever q, k, v are: no gradient reaches them.
            for i in 0..<t {
                (dq + input + i * ld).update(repeating: 0, count: dh)
                (dk + input + i * ld).update(repeating: 0, count: dh)
                (dv + input + i * ld).update(repeating: 0, count: dh)
            }
            return
        }
        if fusesBackward && fuses(item: b * heads + h, head: h, scores: nil) {
            // The same bits as below, in one call (no packing or per-block driver).
            let transposedValues = scratch.pack.reserve(FusedKernels.causalAttentionScratch(context: t, headDimension: dh))
            FusedKernels.causalAttentionBackward(kernel: kernel, context: t, headDimension: dh, q: q + input, k: k + input, v: v + input, ld: ld,
                                                 scale: scale, weights: p, outputGradient: dO + block, ldo: d,
                                                 dq: dq + input, dk: dk + input, dv: dv + input, scoreGradient: tile,
                                                 scratch: transposedValues)
            return
        }
        rowsTimesRows(alpha: 1, a: dO + block, lda: d, b: v + input, ldb: ld, c: tile, scratch: scratch)       // dP
        tileColumnsTimesRows(alpha: 1, w: p, b: dO + block, ldb: d, c: dv + input, ldc: ld, scratch: scratch)  // dV = Pᵀ·dO
        let forced = forcedKeys?[b * heads + h]
        for i in 0..<t {
            // dP and dS exist up to the row's block end; the products below read no further.
            let row = tile + i * t, weightsRow = p + i * t, length = blockEnd(i)
            if let forced, forced.isEmpty == false, forced[i] >= 0 {
                row.update(repeating: 0, count: length)            // a forced row is a constant
                continue
            }
            switch kind {
            case .softmax: CausalRows.softmaxBackward(weights: weightsRow, gradient: row, length: length)
            case .relu: CausalRows.reluBackward(weights: weightsRow, gradient: row, visible: i + 1, length: length)
            case .none: break
            }
        }
        tileTimesRows(alpha: scale, w: tile, b: k + input, ldb: ld, c: dq + input, ldc: ld, scratch: scratch)         // dQ = scale·dS·K
        tileColumnsTimesRows(alpha: scale, w: tile, b: q + input, ldb: ld, c: dk + input, ldc: ld, scratch: scratch)  // dK = scale·dSᵀ·Q
    }
}
