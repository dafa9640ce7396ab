import Foundation
import TensorCore

extension BlockwiseAttention {
    /// Gradients of a loss with respect to query, key and value, given `∂L/∂output`.
    ///
    /// Recomputes each score tile from q, k and the saved `logSumExp` instead of storing the
    /// weights (flash-attention's backward), with s = scale·q·k and, per visible (i, j):
    /// - softmax: `P = exp(s − lse_i)`, `dS = P ∘ (dO_i·v_j − D_i)` with `D_i = dO_i·out_i`;
    /// - relu/softplus: `A = f(s)/N_i`, `dS = (dO_i·v_j) · f′(s)/N_i`;
    /// then `dv_j = Σ_i A_ij dO_i`, `dk_j = scale·Σ_i dS_ij q_i`, `dq_i = scale·Σ_j dS_ij k_j`.
    /// Grouped-query heads sum their key/value gradients into the shared head.
    /// - Parameters:
    ///   - result: the forward pass's `(output, logSumExp)` for these inputs and this operator.
    ///   - outputGradient: `[n, H, d]`.
    /// - Throws: `AttentionError.shape` when a tensor does not fit the others.
    /// - Complexity: 10·n·m·H·d floating-point operations (fewer under a mask); O(T·n·H·d)
    ///   memory for T threads (each thread accumulates its own dq).
    public func backward(query: Tensor, key: Tensor, value: Tensor, result: PartialAttention,
                         outputGradient: Tensor) throws(AttentionError) -> AttentionGradients {
        let shape = try AttentionShape(query: query.shape, key: key.shape, value: value.shape)
        try validateParameters()
        guard result.output.shape == query.shape, outputGradient.shape == query.shape else {
            throw .shape("backward: output \(Tensor.describe(result.output.shape)) and outputGradient \(Tensor.describe(outputGradient.shape)) must match query \(Tensor.describe(query.shape))")
        }
        guard result.logSumExp.shape == [shape.queries, shape.heads] else {
            throw .shape("backward: logSumExp \(Tensor.describe(result.logSumExp.shape)) must be [n, H] = \(Tensor.describe([shape.queries, shape.heads]))")
        }
        var dq = Tensor(uncheckedZeros: query.shape)
        var dk = Tensor(uncheckedZeros: key.shape)
        var dv = Tensor(uncheckedZeros: value.shape)
        guard shape.queries > 0, shape.keys > 0, shape.heads > 0 else {
            return AttentionGradients(query: dq, key: dk, value: dv)
        }
        let keyBlock = min(backwardKeyBlock, shape.keys)
        let threads = min(resolvedThreads, shape.keyHeads * ((shape.keys + keyBlock - 1) / keyBlock))
        // D_i = dO_i · out_i, per row and head: the softmax Jacobian's diagonal correction.
        var rowDot = Tensor(uncheckedZeros: [shape.queries, shape.heads])
        // Threads after the first accumulate dq privately; summed at the end.
        var privateDQ = Tensor(uncheckedZeros: [max(0, threads - 1), shape.queries, shape.heads, shape.headDimension])
        let d = shape.headDimension
        outputGradient.withUnsafeBufferPointer { dO in
            result.output.withUnsafeBufferPointer { o in
                rowDot.withUnsafeMutableBufferPointer { rd in
                    for row in 0..<(shape.queries * shape.heads) {
                        var sum: Float = 0
                        for c in 0..<d { sum += dO[row * d + c] * o[row * d + c] }
                        rd[row] = sum
                    }
                }
            }
        }
        query.withUnsafeBufferPointer { q in
        key.withUnsafeBufferPointer { k in
        value.withUnsafeBufferPointer { v in
        outputGradient.withUnsafeBufferPointer { dO in
        result.logSumExp.withUnsafeBufferPointer { lse in
        rowDot.withUnsafeBufferPointer { rd in
        dq.withUnsafeMutableBufferPointer { dqb in
        dk.withUnsafeMutableBufferPointer { dkb in
        dv.withUnsafeMutableBufferPointer { dvb in
        privateDQ.withUnsafeMutableBufferPointer { pdq in
            let kernel = BackwardKernel(
                shape: shape, mask: mask, score: score,
                scale: scale ?? 1 / Float(d).squareRoot(),
                queryBlock: min(backwardQueryBlock, shape.queries), keyBlock: keyBlock,
                q: q.baseAddress!, k: k.baseAddress!, v: v.baseAddress!, dO: dO.baseAddress!,
                lse: lse.baseAddress!, rowDot: rd.baseAddress!,
                dq: dqb.baseAddress!, privateDQ: pdq.baseAddress, dk: dkb.baseAddress!, dv: dvb.baseAddress!)
            kernel.run(threads: threads)
        }}}}}}}}}}
        if threads > 1 {
            let count = dq.count
            privateDQ.withUnsafeBufferPointer { pdq in
                dq.withUnsafeMutableBufferPointer { dqb in
                    for t in 0..<(threads - 1) {
                        let part = pdq.baseAddress! + t * count
                        for index in 0..<count { dqb[index] += part[index] }
                    }
                }
            }
        }
        return AttentionGradients(query: dq, key: dk, value: dv)
    }
}

/// One backward call's raw buffers; work items are (key/value head, key block) pairs.
///
/// `@unchecked Sendable`: inputs are only read; each item owns the dk/dv rows of its key block
/// and head; dq is written only by worker 0 (`dq`) or into worker t's own slice of `privateDQ`.
struct BackwardKernel: @unchecked Sendable {
    let shape: AttentionShape
    let mask: AttentionMask
    let score: ScoreFunction
    let scale: Float
    let queryBlock: Int
    let keyBlock: Int
    let q: UnsafePointer<Float>          // [n, H, d]
    let k: UnsafePointer<Float>          // [m, Hkv, d]
    let v: UnsafePointer<Float>          // [m, Hkv, d]
    let dO: UnsafePointer<Float>         // [n, H, d]
    let lse: UnsafePointer<Float>        // [n, H]
    let rowDot: UnsafePointer<Float>     // [n, H]
    let dq: UnsafeMutablePointer<Float>  // [n, H, d], worker 0
    let privateDQ: UnsafeMutablePointer<Float>?  // [T − 1, n, H, d], workers 1…
    let dk: UnsafeMutablePointer<Float>  // [m, Hkv, d]
    let dv: UnsafeMutablePointer<Float>  // [m, Hkv, d]

    final class Scratch {
        let tiles: TileScratch
        let worker: Int
        let keyGradient: UnsafeMutablePointer<Float>    // [keyBlock, d]
        let valueGradient: UnsafeMutablePointer<Float>  // [keyBlock, d]
        let scores: UnsafeMutablePointer<Float>         // [queryBlock, keyBlock], relu/softplus only

        init(worker: Int, queryBlock: Int, keyBlock: Int, headDimension: Int, keepScores: Bool) {
            self.worker = worker
            tiles = TileScratch(rows: queryBlock, columns: keyBlock, headDimension: headDimension, second: true)
            keyGradient = .allocate(capacity: keyBlock * headDimension)
            valueGradient = .allocate(capacity: keyBlock * headDimension)
            scores = .allocate(capacity: keepScores ? queryBlock * keyBlock : 1)
        }

        deinit {
            keyGradient.deallocate(); valueGradient.deallocate(); scores.deallocate()
        }
    }

    func run(threads: Int) {
        let keyBlocks = (shape.keys + keyBlock - 1) / keyBlock
        let items = keyBlocks * shape.keyHeads
        BLASThreading.singleThreaded {
            Parallel.forEach(items, threads: threads, setup: { worker in
                Scratch(worker: worker, queryBlock: queryBlock, keyBlock: keyBlock,
                        headDimension: shape.headDimension, keepScores: score != .softmax)
            }, body: { item, scratch in
                // Early key blocks are seen by the most queries under a causal mask: first.
                compute(keyBlock: item / shape.keyHeads, keyHead: item % shape.keyHeads, scratch: scratch)
            })
        }
    }

    func compute(keyBlock kb: Int, keyHead: Int, scratch: Scratch) {
        let d = shape.headDimension, n = shape.queries, m = shape.keys
        let H = shape.heads
        let ldq = H * d, ldk = shape.keyHeads * d
        let j0 = kb * keyBlock
        let width = min(keyBlock, m - j0)
        let kTile = k + j0 * ldk + keyHead * d
        let vTile = v + j0 * ldk + keyHead * d
        let dK = scratch.keyGradient, dV = scratch.valueGradient
        dK.update(repeating: 0, count: width * d)
        dV.update(repeating: 0, count: width * d)
        let dqBase = scratch.worker == 0 ? dq : privateDQ! + (scratch.worker - 1) * n * ldq
        let tile = scratch.tiles.tile, dS = scratch.tiles.second
        let rowLo = scratch.tiles.lo, rowHi = scratch.tiles.hi

        for h in (keyHead * shape.groupSize)..<((keyHead + 1) * shape.groupSize) {
            var blockStart = 0
            while blockStart < n {
                let blockRows = min(queryBlock, n - blockStart)
                defer { blockStart += blockRows }
                // Only the rows that see a key of this block take part (under a causal mask the
                // block on the diagonal starts part-way down).
                var first = blockRows, last = 0
                for r in 0..<blockRows {
                    let range = mask.visibleKeys(query: blockStart + r, keyCount: m)
                    rowLo[r] = min(max(range.lowerBound - j0, 0), width)
                    rowHi[r] = min(max(range.upperBound - j0, 0), width)
                    if rowLo[r] < rowHi[r] {
                        first = min(first, r)
                        last = r + 1
                    }
                }
                guard first < last else { continue }
                let i0 = blockStart + first, rows = last - first
                let lo = rowLo + first, hi = rowHi + first
                let qBlock = q + i0 * ldq + h * d
                let dOBlock = dO + i0 * ldq + h * d
                // S = scale · Q_blk · K_tileᵀ   (rows × width)
                BLAS.sgemm(.none, .transposed, m: rows, n: width, k: d, alpha: scale,
                           a: qBlock, lda: ldq, b: kTile, ldb: ldk, beta: 0, c: tile, ldc: width)
                for r in 0..<rows {
                    let row = tile + r * width
                    let lseIndex = (i0 + r) * H + h
                    if score == .softmax {
                        _ = TileKernels.exponentiate(row, width: width, lo[r], hi[r], shift: lse[lseIndex])
                    } else {
                        (scratch.scores + r * width).update(from: row, count: width)
                        let visible = Float(mask.visibleKeys(query: i0 + r, keyCount: m).count)
                        TileKernels.pointwiseScore(row, width: width, lo[r], hi[r], score: score,
                                                   weight: visible > 0 ? 1 / visible : 0)
                    }
                }
                // dV_tile += Pᵀ · dO_blk   (width × d)
                BLAS.sgemm(.transposed, .none, m: width, n: d, k: rows, alpha: 1,
                           a: tile, lda: width, b: dOBlock, ldb: ldq, beta: 1, c: dV, ldc: d)
                // dP = dO_blk · V_tileᵀ   (rows × width)
                BLAS.sgemm(.none, .transposed, m: rows, n: width, k: d, alpha: 1,
                           a: dOBlock, lda: ldq, b: vTile, ldb: ldk, beta: 0, c: dS, ldc: width)
                for r in 0..<rows {
                    let lseIndex = (i0 + r) * H + h
                    if score == .softmax {
                        TileKernels.softmaxScoreGradient(dS + r * width, weights: tile + r * width,
                                                         width: width, lo[r], hi[r], rowDot: rowDot[lseIndex])
                    } else {
                        let visible = Float(mask.visibleKeys(query: i0 + r, keyCount: m).count)
                        TileKernels.pointwiseScoreGradient(dS + r * width, scores: scratch.scores + r * width,
                                                           width: width, lo[r], hi[r], score: score,
                                                           weight: visible > 0 ? 1 / visible : 0)
                    }
                }
                // dK_tile += scale · dSᵀ · Q_blk   (width × d)
                BLAS.sgemm(.transposed, .none, m: width, n: d, k: rows, alpha: scale,
                           a: dS, lda: width, b: qBlock, ldb: ldq, beta: 1, c: dK, ldc: d)
                // dQ_blk += scale · dS · K_tile   (rows × d)
                BLAS.sgemm(.none, .none, m: rows, n: d, k: width, alpha: scale,
                           a: dS, lda: width, b: kTile, ldb: ldk, beta: 1, c: dqBase + i0 * ldq + h * d, ldc: ldq)
            }
        }
        for j in 0..<width {
            (dk + (j0 + j) * ldk + keyHead * d).update(from: dK + j * d, count: d)
            (dv + (j0 + j) * ldk + keyHead * d).update(from: dV + j * d, count: d)
        }
    }
}

/// One thread's tile and row state, allocated once per call and reused for every item.
final class TileScratch {
    let tile: UnsafeMutablePointer<Float>      // [rows, columns]
    let second: UnsafeMutablePointer<Float>    // [rows, columns], the backward pass's dP tile
    let rowMax: UnsafeMutablePointer<Float>    // [rows]
    let rowSum: UnsafeMutablePointer<Float>    // [rows]
    let accumulator: UnsafeMutablePointer<Float>  // [rows, d]
    let lo: UnsafeMutablePointer<Int>          // [rows] first visible key
    let hi: UnsafeMutablePointer<Int>          // [rows] one past the last visible key
    private let rows: Int

    init(rows: Int, columns: Int, headDimension: Int, second needsSecond: Bool = false) {
        self.rows = rows
        accumulator = .allocate(capacity: rows * headDimension)
        tile = .allocate(capacity: rows * columns)
        second = .allocate(capacity: needsSecond ? rows * columns : 1)
        rowMax = .allocate(capacity: rows)
        rowSum = .allocate(capacity: rows)
        lo = .allocate(capacity: rows)
        hi = .allocate(capacity: rows)
    }

    deinit {
        tile.deallocate(); second.deallocate(); accumulator.deallocate()
        rowMax.deallocate(); rowSum.deallocate()
        lo.deallocate(); hi.deallocate()
    }
}
