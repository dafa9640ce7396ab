import TensorCore

/// Causal multi-head attention of one layer over (batch, head) items, forward and backward.
///
/// Symbols: B batch, T context, H heads, dh = d/H, s = q·k/√dh. Each item (b, h) works on
/// (T, dh) slices of the (B·T, 3d) [q | k | v] buffer (leading dimension 3d, no copies):
/// forward `S = scale·Q·Kᵀ`, `P = rowwise(S)` (softmax over keys j ≤ i, or ReLU(S)/(i+1)),
/// `O = P·V`; backward `dP = dO·Vᵀ`, `dV = Pᵀ·dO`, `dS = P ⊙ (dP − rowsum(P ⊙ dP))` (softmax) or
/// `dS = [P > 0]·dP/(i+1)` (ReLU), `dQ = scale·dS·K`, `dK = scale·dSᵀ·Q`.
/// At T ≤ 256 a full (T, T) tile per item fits in L2, so each product is one `TiledGEMM` call on
/// the worker's own workspace; the masked upper triangle holds zeros.
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
    /// One product workspace per worker.
    let workspaces: [GEMMWorkspace]
    /// Whether the products run on OpenBLAS's sgemm instead (`Transformer.usesOpenBLASProducts`).
    let usesOpenBLAS: Bool

    var d: Int { heads * headDimension }

    /// `C ← α·op(A)·op(B)` on Loom's TiledGEMM, or on OpenBLAS when asked to.
    private func product(_ transA: BLAS.Transpose, _ transB: BLAS.Transpose, m: Int, n: Int, k: Int, alpha: Float,
                         a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float,
                         c: UnsafeMutablePointer<Float>, ldc: Int, workspace: GEMMWorkspace) {
        if usesOpenBLAS {
            BLAS.sgemm(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        } else {
            TiledGEMM.multiply(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                               beta: beta, c: c, ldc: ldc, workspace: workspace)
        }
    }
    var q: UnsafeMutablePointer<Float> { qkv }
    var k: UnsafeMutablePointer<Float> { qkv + d }
    var v: UnsafeMutablePointer<Float> { qkv + 2 * d }
    var scale: Float { 1 / Float(headDimension).squareRoot() }

    /// Fills `weights` and `output`; with `scores` (B, H, T, T) given, also records the scaled
    /// pre-softmax scores there with −∞ above the diagonal.
    func forward(threads: Int, scores: UnsafeMutablePointer<Float>?) {
        nonisolated(unsafe) let scores = scores  // written only at item (b, h)'s own tile
        Parallel.forEach(batch * heads, threads: threads, setup: { workspaces[$0] }) { item, workspace in
            forward(batch: item / heads, head: item % heads, scores: scores, workspace: workspace)
        }
    }

    func forward(batch b: Int, head h: Int, scores: UnsafeMutablePointer<Float>?, workspace: GEMMWorkspace) {
        let t = context, tile = (b * heads + h) * t * t
        let p = weights + tile
        let block = b * t * d + h * headDimension, ld = 3 * d, input = b * t * ld + h * headDimension
        product(.none, .transposed, m: t, n: t, k: headDimension, alpha: scale, a: q + input, lda: ld,
                b: k + input, ldb: ld, beta: 0, c: p, ldc: t, workspace: workspace)
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
            product(.none, .none, m: t, n: headDimension, k: t, alpha: 1, a: p, lda: t,
                       b: v + input, ldb: ld, beta: 0, c: output + block, ldc: d, workspace: workspace)
        }
    }

    /// From dL/d(output) (B·T, d), writes dL/d[q | k | v] (B·T, 3d); `tiles` holds one (T, T) tile per worker.
    func backward(threads: Int, outputGradient: UnsafeMutablePointer<Float>, dqkv: UnsafeMutablePointer<Float>,
                  tiles: UnsafeMutablePointer<Float>) {
        // Each item writes only its own blocks of dq, dk, dv and its worker's tile.
        let d = self.d
        nonisolated(unsafe) let dO = outputGradient, dq = dqkv, dk = dqkv + d, dv = dqkv + 2 * d, tiles = tiles
        let tileSize = context * context
        Parallel.forEach(batch * heads, threads: threads,
                         setup: { worker in (tiles + worker * tileSize, workspaces[worker]) }) { item, scratch in
            backward(batch: item / heads, head: item % heads, dO: dO, dq: dq, dk: dk, dv: dv, tile: scratch.0,
                     workspace: scratch.1)
        }
    }

    func backward(batch b: Int, head h: Int, dO: UnsafeMutablePointer<Float>, dq: UnsafeMutablePointer<Float>,
                  dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>, tile: UnsafeMutablePointer<Float>,
                  workspace: GEMMWorkspace) {
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
        product(.none, .transposed, m: t, n: t, k: dh, alpha: 1, a: dO + block, lda: d,
                b: v + input, ldb: ld, beta: 0, c: tile, ldc: t, workspace: workspace)  // dP
        product(.transposed, .none, m: t, n: dh, k: t, alpha: 1, a: p, lda: t,
                b: dO + block, ldb: d, beta: 0, c: dv + input, ldc: ld, workspace: workspace)  // dV = Pᵀ·dO
        let forced = forcedKeys?[b * heads + h]
        for i in 0..<t {
            let row = tile + i * t, weightsRow = p + i * t
            if let forced, forced.isEmpty == false, forced[i] >= 0 {
                row.update(repeating: 0, count: t)                 // a forced row is a constant
                continue
            }
            switch kind {
            case .softmax: CausalRows.softmaxBackward(weights: weightsRow, gradient: row, length: t)
            case .relu: CausalRows.reluBackward(weights: weightsRow, gradient: row, visible: i + 1, length: t)
            case .none: break
            }
        }
        product(.none, .none, m: t, n: dh, k: t, alpha: scale, a: tile, lda: t,
                b: k + input, ldb: ld, beta: 0, c: dq + input, ldc: ld, workspace: workspace)  // dQ = scale·dS·K
        product(.transposed, .none, m: t, n: dh, k: t, alpha: scale, a: tile, lda: t,
                b: q + input, ldb: ld, beta: 0, c: dk + input, ldc: ld, workspace: workspace)  // dK = scale·dSᵀ·Q
    }
}
