import Foundation
import TensorCore

extension BlockwiseAttention {
    /// Attention of `query` over `key`/`value`: returns `(output [n, H, d], logSumExp [n, H])`.
    ///
    /// Softmax: `out[i] = Σ_j exp(s_ij − lse_i)·v_j` over visible keys, computed one key tile at a
    /// time with a running row maximum, so no exponential overflows and no n×m matrix exists.
    /// A query that sees no key gets output 0 and logSumExp −∞. NaN in the inputs propagates to
    /// the rows it touches; a NaN in value coordinate c can also reach coordinate c of masked rows
    /// of the same query tile and head group (0·NaN in the P·V product). It never crashes.
    /// - Throws: `AttentionError.shape` naming both shapes when they do not fit;
    ///   `AttentionError.parameter` for a window or block size below 1.
    /// - Complexity: 4·n·m·H·d floating-point operations (fewer under a mask); O(n·H·d) memory.
    public func forward(query: Tensor, key: Tensor, value: Tensor) throws(AttentionError) -> PartialAttention {
        let shape = try AttentionShape(query: query.shape, key: key.shape, value: value.shape)
        try validateParameters()
        var output = Tensor(uncheckedZeros: [shape.queries, shape.heads, shape.headDimension])
        var logSumExp = Tensor(uncheckedZeros: [shape.queries, shape.heads])
        if shape.queries > 0 && shape.heads > 0 {
            query.withUnsafeBufferPointer { q in
                key.withUnsafeBufferPointer { k in
                    value.withUnsafeBufferPointer { v in
                        output.withUnsafeMutableBufferPointer { o in
                            logSumExp.withUnsafeMutableBufferPointer { l in
                                let kernel = ForwardKernel(
                                    shape: shape, mask: mask, score: score,
                                    scale: scale ?? 1 / Float(shape.headDimension).squareRoot(),
                                    queryBlock: min(forwardQueryBlock, shape.queries), keyBlock: forwardKeyBlock,
                                    q: q.baseAddress!, k: k.baseAddress ?? q.baseAddress!,
                                    v: v.baseAddress ?? q.baseAddress!,
                                    out: o.baseAddress!, lse: l.baseAddress!)
                                kernel.run(threads: resolvedThreads)
                            }
                        }
                    }
                }
            }
        }
        return try PartialAttention(output: output, logSumExp: logSumExp)
    }

    var resolvedThreads: Int { threads > 0 ? threads : Parallel.activeCores }

    func validateParameters() throws(AttentionError) {
        if let window = mask.window, window < 1 {
            throw .parameter("window must be at least 1 (got \(window)); omit it for no window")
        }
        if let block = queryBlock, block < 1 {
            throw .parameter("queryBlock must be at least 1 (got \(block)); omit it for the tuned default")
        }
        if let block = keyBlock, block < 1 {
            throw .parameter("keyBlock must be at least 1 (got \(block)); omit it for the tuned default")
        }
    }
}

/// One forward call's raw buffers and settings; `run` tiles the work over threads.
///
/// `@unchecked Sendable`: the pointers outlive `run` (the caller's `withUnsafe…` scopes), inputs
/// are only read, and each work item writes only its own (query block, head) rows of out and lse.
struct ForwardKernel: @unchecked Sendable {
    let shape: AttentionShape
    let mask: AttentionMask
    let score: ScoreFunction
    let scale: Float
    let queryBlock: Int
    let keyBlock: Int
    let q: UnsafePointer<Float>        // [n, H, d]
    let k: UnsafePointer<Float>        // [m, Hkv, d]
    let v: UnsafePointer<Float>        // [m, Hkv, d]
    let out: UnsafeMutablePointer<Float>  // [n, H, d], zero on entry
    let lse: UnsafeMutablePointer<Float>  // [n, H]

    func run(threads: Int) {
        let queryBlocks = (shape.queries + queryBlock - 1) / queryBlock
        let items = queryBlocks * shape.heads
        BLASThreading.singleThreaded {
            Parallel.forEach(items, threads: threads, setup: { _ in
                TileScratch(rows: queryBlock, columns: keyBlock, headDimension: shape.headDimension)
            }, body: { item, scratch in
                // Later query blocks see more keys under a causal mask: hand them out first.
                let block = queryBlocks - 1 - item / shape.heads
                compute(block: block, head: item % shape.heads, scratch: scratch)
            })
        }
    }

    func compute(block: Int, head h: Int, scratch: TileScratch) {
        let d = shape.headDimension, m = shape.keys
        let i0 = block * queryBlock
        let rows = min(queryBlock, shape.queries - i0)
        let ldq = shape.heads * d
        let oBlock = out + (i0 * shape.heads + h) * d
        let lo = scratch.lo, hi = scratch.hi, rowMax = scratch.rowMax, rowSum = scratch.rowSum

        let acc = scratch.accumulator              // [rows, d] contiguous: the strided output rows
        acc.update(repeating: 0, count: rows * d)  // (stride H·d) thrash the cache when rescaled
        var keyLo = m, keyHi = 0
        for r in 0..<rows {
            let range = mask.visibleKeys(query: i0 + r, keyCount: m)
            lo[r] = range.lowerBound
            hi[r] = range.upperBound
            if !range.isEmpty {
                keyLo = min(keyLo, range.lowerBound)
                keyHi = max(keyHi, range.upperBound)
            }
            rowMax[r] = -.infinity
            rowSum[r] = 0
        }

        // Keys [fullLo, fullHi) are visible to every row; the keys either side (the causal
        // diagonal, a window's edges) are visible to some rows only. Boundary tiles are half as
        // wide and run only the rows that see them, which halves the masked work on the diagonal.
        var fullLo = keyLo, fullHi = keyHi
        for r in 0..<rows where lo[r] < hi[r] {
            fullLo = max(fullLo, lo[r])
            fullHi = min(fullHi, hi[r])
        }
        if fullLo >= fullHi {
            computeTiles(keyLo, keyHi, maxWidth: keyBlock / 2, rows: rows, i0: i0, h: h, scratch: scratch)
        } else {
            computeTiles(keyLo, fullLo, maxWidth: keyBlock / 2, rows: rows, i0: i0, h: h, scratch: scratch)
            computeTiles(fullLo, fullHi, maxWidth: keyBlock, rows: rows, i0: i0, h: h, scratch: scratch)
            computeTiles(fullHi, keyHi, maxWidth: keyBlock / 2, rows: rows, i0: i0, h: h, scratch: scratch)
        }

        for r in 0..<rows {
            let lseIndex = (i0 + r) * shape.heads + h
            let visible = hi[r] - lo[r]
            let target = oBlock + r * ldq
            if visible <= 0 {
                lse[lseIndex] = -.infinity
                target.update(repeating: 0, count: d)
            } else if score == .softmax {
                TileKernels.scaledCopy(acc + r * d, to: target, count: d, by: 1 / rowSum[r])
                lse[lseIndex] = rowMax[r] + logf(rowSum[r])
            } else {
                target.update(from: acc + r * d, count: d)
                lse[lseIndex] = logf(Float(visible))
            }
        }
    }

    /// Folds keys `keyLo..<keyHi` into the running row state, in tiles of nearly equal width.
    ///
    /// Widths are multiples of 16 where the tile allows (ragged widths leave the SIMD row loops a
    /// scalar tail) and never exceed `maxWidth`; a narrow last tile would cost nearly as much per
    /// call as a full one. Each tile multiplies only the rows that see at least one of its keys.
    func computeTiles(_ keyLo: Int, _ keyHi: Int, maxWidth: Int, rows: Int, i0: Int, h: Int,
                      scratch: TileScratch) {
        guard keyLo < keyHi else { return }
        let d = shape.headDimension
        let ldq = shape.heads * d, ldk = shape.keyHeads * d
        let kvHead = h / shape.groupSize
        let qBlock = q + (i0 * shape.heads + h) * d
        let kHead = k + kvHead * d, vHead = v + kvHead * d
        let lo = scratch.lo, hi = scratch.hi, rowMax = scratch.rowMax, rowSum = scratch.rowSum
        let tile = scratch.tile, acc = scratch.accumulator

        let unit = maxWidth >= 32 ? 16 : 1
        let units = (keyHi - keyLo + unit - 1) / unit
        let unitsPerTile = max(1, maxWidth / unit)
        let tileCount = (units + unitsPerTile - 1) / unitsPerTile
        for t in 0..<tileCount {
            let j0 = keyLo + unit * (units * t / tileCount)
            let j1 = min(keyLo + unit * (units * (t + 1) / tileCount), keyHi)
            let width = j1 - j0
            // Rows with a visible key in [j0, j1): contiguous, since every mask's key range moves
            // forward with the query; rows in between that see none are zeroed below.
            var first = rows, last = 0
            for r in 0..<rows where lo[r] < j1 && hi[r] > j0 && lo[r] < hi[r] {
                first = min(first, r)
                last = r + 1
            }
            guard first < last else { continue }
            // S = scale · Q_rows · K_tileᵀ   (rows first..<last × width)
            BLAS.sgemm(.none, .transposed, m: last - first, n: width, k: d, alpha: scale,
                       a: qBlock + first * ldq, lda: ldq, b: kHead + j0 * ldk, ldb: ldk,
                       beta: 0, c: tile + first * width, ldc: width)
            for r in first..<last {
                let row = tile + r * width
                let cLo = min(max(lo[r] - j0, 0), width), cHi = min(max(hi[r] - j0, 0), width)
                if cLo >= cHi {
                    TileKernels.zeroOutside(row, width: width, 0, 0)
                    continue
                }
                if score == .softmax {
                    let tileMax = TileKernels.maximum(row, cLo, cHi)
                    // Lazy rescaling: keep the old shift unless the maximum grew by more than
                    // `rescaleThreshold`; exponentials then stay below e^8 (no overflow) and most
                    // tiles skip the rescale of the accumulator row. The result is the same.
                    if tileMax > rowMax[r] + Self.rescaleThreshold || rowMax[r] == -.infinity {
                        let factor = rowMax[r] == -.infinity ? 0 : expf(rowMax[r] - tileMax)
                        if rowSum[r] != 0 { TileKernels.scale(acc + r * d, count: d, by: factor) }
                        rowSum[r] *= factor
                        rowMax[r] = tileMax
                    }
                    rowSum[r] += TileKernels.exponentiate(row, width: width, cLo, cHi, shift: rowMax[r])
                } else {
                    TileKernels.pointwiseScore(row, width: width, cLo, cHi, score: score,
                                               weight: 1 / Float(hi[r] - lo[r]))
                }
            }
            // O_acc[first..<last] += P · V_tile   ((last − first) × d)
            BLAS.sgemm(.none, .none, m: last - first, n: d, k: width, alpha: 1,
                       a: tile + first * width, lda: width, b: vHead + j0 * ldk, ldb: ldk,
                       beta: 1, c: acc + first * d, ldc: d)
        }
    }

    /// How far (in natural-log units) a row maximum may grow before the accumulator is rescaled.
    static let rescaleThreshold: Float = 8
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
