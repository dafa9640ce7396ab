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
    /// - Complexity: 4·n·m·H·d floating-point operations (fewer under a mask); O(n·H·d + m·Hkv·d)
    ///   memory (the output and a packed copy of the keys and values).
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
                                    setup: KernelSetup(shape: shape, mask: mask, score: score,
                                                       scale: scale ?? 1 / Float(shape.headDimension).squareRoot(),
                                                       queryBlock: min(forwardQueryBlock, shape.queries), keyBlock: forwardKeyBlock),
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
struct ForwardKernel: BlockKernel, @unchecked Sendable {
    let setup: KernelSetup
    let q: UnsafePointer<Float>        // [n, H, d]
    let k: UnsafePointer<Float>        // [m, Hkv, d]
    let v: UnsafePointer<Float>        // [m, Hkv, d]
    let out: UnsafeMutablePointer<Float>  // [n, H, d], zero on entry
    let lse: UnsafeMutablePointer<Float>  // [n, H]

    func run(threads: Int) {
        let packed = PackedKeyValues(keyPanels: k, valueColumns: v, shape: shape, threads: threads)
        defer { packed.deallocate() }
        let queryBlocks = (shape.queries + queryBlock - 1) / queryBlock
        let items = queryBlocks * shape.heads
        Parallel.forEach(items, threads: threads, setup: { _ in
            ForwardScratch(rows: queryBlock, maxTileWidth: Self.tileWidth(keyBlock),
                           paddedDimension: packed.paddedDimension)
        }, body: { item, scratch in
            // Later query blocks see more keys under a causal mask: hand them out first.
            let block = queryBlocks - 1 - item / shape.heads
            compute(block: block, head: item % shape.heads, packed: packed, scratch: scratch)
        })
    }

    /// `keys` rounded up to whole panels of 16. Key tiles start and end on panel boundaries, so a
    /// tile is a run of packed panels; columns outside a row's visible keys are masked as usual.
    static func roundedToPanels(_ keys: Int) -> Int {
        (keys + MicroKernel.columns - 1) / MicroKernel.columns * MicroKernel.columns
    }

    /// The widest tile for a key block: whole panels, at least one.
    static func tileWidth(_ keyBlock: Int) -> Int {
        max(MicroKernel.columns, roundedToPanels(keyBlock))
    }

    func compute(block: Int, head h: Int, packed: PackedKeyValues, scratch: ForwardScratch) {
        let d = shape.headDimension, dp = packed.paddedDimension, m = shape.keys
        let i0 = block * queryBlock
        let rows = min(queryBlock, shape.queries - i0)
        let ldq = shape.heads * d
        let oBlock = out + (i0 * shape.heads + h) * d
        let lo = scratch.lo, hi = scratch.hi, rowMax = scratch.rowMax, rowSum = scratch.rowSum

        let acc = scratch.accumulator               // [rows, dp] contiguous: the strided output rows
        acc.update(repeating: 0, count: rows * dp)  // (stride H·d) thrash the cache when rescaled
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
        // wide and run only the rows that see them; within a tile each strip also skips the panels
        // its rows cannot see. All split points lie on panel boundaries: no panel is done twice.
        if keyLo < keyHi {
            let panel = MicroKernel.columns
            keyLo = keyLo / panel * panel
            keyHi = min(Self.roundedToPanels(keyHi), packed.paddedKeys)
            var fullLo = keyLo, fullHi = keyHi
            for r in 0..<rows where lo[r] < hi[r] {
                fullLo = max(fullLo, lo[r])
                fullHi = min(fullHi, hi[r])
            }
            fullLo = Self.roundedToPanels(fullLo)
            fullHi = fullHi / panel * panel
            let boundaryWidth = Self.tileWidth(keyBlock / 2)
            let fullWidth = Self.tileWidth(keyBlock)
            if fullLo >= fullHi {
                computeTiles(keyLo, keyHi, maxWidth: boundaryWidth, rows: rows, i0: i0, h: h,
                             packed: packed, scratch: scratch)
            } else {
                computeTiles(keyLo, fullLo, maxWidth: boundaryWidth, rows: rows, i0: i0, h: h,
                             packed: packed, scratch: scratch)
                computeTiles(fullLo, fullHi, maxWidth: fullWidth, rows: rows, i0: i0, h: h,
                             packed: packed, scratch: scratch)
                computeTiles(fullHi, keyHi, maxWidth: boundaryWidth, rows: rows, i0: i0, h: h,
                             packed: packed, scratch: scratch)
            }
        }

        for r in 0..<rows {
            let lseIndex = (i0 + r) * shape.heads + h
            let visible = hi[r] - lo[r]
            let target = oBlock + r * ldq
            if visible <= 0 {
                lse[lseIndex] = -.infinity
                target.update(repeating: 0, count: d)
            } else if score == .softmax {
                TileKernels.scaledCopy(acc + r * dp, to: target, count: d, by: 1 / rowSum[r])
                lse[lseIndex] = rowMax[r] + logf(rowSum[r])
            } else {
                target.update(from: acc + r * dp, count: d)
                lse[lseIndex] = logf(Float(visible))
            }
        }
    }

    /// Folds keys `keyLo..<keyHi` (multiples of 16) into the running row state, in tiles of
    /// nearly equal width, each a multiple of 16 and at most `maxWidth` (a multiple of 16).
    ///
    /// Each tile is done in strips of 6 query rows, the micro-kernel's height: the strip's scores
    /// (6 × width, in L1) are computed, turned into weights and multiplied into the accumulator
    /// before the next strip, so the score tile never leaves L1. The tile's packed keys and
    /// values (2·width·d floats) stay in L2 across the strips. Only rows that see at least one of
    /// the tile's keys take part.
    func computeTiles(_ keyLo: Int, _ keyHi: Int, maxWidth: Int, rows: Int, i0: Int, h: Int,
                      packed: PackedKeyValues, scratch: ForwardScratch) {
        guard keyLo < keyHi else { return }
        let kvHead = h / shape.groupSize
        let qBlock = q + (i0 * shape.heads + h) * shape.headDimension
        let lo = scratch.lo, hi = scratch.hi
        let unit = MicroKernel.columns
        let units = (keyHi - keyLo) / unit
        let unitsPerTile = maxWidth / unit
        let tileCount = (units + unitsPerTile - 1) / unitsPerTile
        for t in 0..<tileCount {
            let j0 = keyLo + unit * (units * t / tileCount)
            let j1 = keyLo + unit * (units * (t + 1) / tileCount)
            // Rows with a visible key in [j0, j1): contiguous, since every mask's key range moves
            // forward with the query; rows in between that see none get zero weights below.
            var first = rows, last = 0
            for r in 0..<rows where lo[r] < j1 && hi[r] > j0 && lo[r] < hi[r] {
                first = min(first, r)
                last = r + 1
            }
            guard first < last else { continue }
            let height = MicroKernel.stripRows
            for r0 in stride(from: first, to: last, by: height) {
                computeStrip(rows: r0..<min(r0 + height, last), keys: j0..<j1, q: qBlock,
                             packed: packed, kvHead: kvHead, scratch: scratch)
            }
        }
    }

    /// Folds the tile's keys `keys` into the running state of up to 6 query rows `rows`.
    ///
    /// Only the panels holding a key that one of the rows sees are computed: on the causal
    /// diagonal that skips the masked triangle in 16-key steps (the tiles around it skip only
    /// whole rows).
    @inline(__always)
    func computeStrip(rows: Range<Int>, keys: Range<Int>, q qBlock: UnsafePointer<Float>,
                      packed: PackedKeyValues, kvHead: Int, scratch: ForwardScratch) {
        let d = shape.headDimension, dp = packed.paddedDimension, ldq = shape.heads * d
        let unit = MicroKernel.columns
        let lo = scratch.lo, hi = scratch.hi, rowMax = scratch.rowMax, rowSum = scratch.rowSum
        let acc = scratch.accumulator
        var seenLo = keys.upperBound, seenHi = keys.lowerBound
        for r in rows where lo[r] < hi[r] {
            seenLo = min(seenLo, max(lo[r], keys.lowerBound))
            seenHi = max(seenHi, min(hi[r], keys.upperBound))
        }
        guard seenLo < seenHi else { return }
        // The panel-aligned window [j0, j1) of the tile that these rows see.
        let j0 = keys.lowerBound + (seenLo - keys.lowerBound) / unit * unit
        let j1 = min(Self.roundedToPanels(seenHi - keys.lowerBound) + keys.lowerBound, keys.upperBound)
        let width = j1 - j0
        let strip = scratch.strip  // [rows.count, width]
        // S = scale · Q_strip · K_windowᵀ   (rows.count × width)
        MicroKernel.products(rows: rows.count, k: d, alpha: scale, a: qBlock + rows.lowerBound * ldq, lda: ldq,
                             panels: packed.panel(head: kvHead, firstKey: j0), count: width / unit,
                             into: strip, ldc: width)
        for r in rows {
            let row = strip + (r - rows.lowerBound) * width
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
                    if rowSum[r] != 0 { TileKernels.scale(acc + r * dp, count: d, by: factor) }
                    rowSum[r] *= factor
                    rowMax[r] = tileMax
                }
                rowSum[r] += TileKernels.exponentiate(row, width: width, cLo, cHi, shift: rowMax[r])
            } else {
                TileKernels.pointwiseScore(row, width: width, cLo, cHi, score: score,
                                           weight: 1 / Float(hi[r] - lo[r]))
            }
        }
        // O_acc[rows] += P_strip · V_window   (rows.count × padded d)
        let values = packed.rows(head: kvHead, key: j0)
        MicroKernel.accumulate(rows: rows.count, k: width, a: strip, lda: width,
                               b: values.start, ldb: values.ldb, panelStride: values.panelStride,
                               count: dp / unit, into: acc + rows.lowerBound * dp, ldc: dp)
    }

    /// How far (in natural-log units) a row maximum may grow before the accumulator is rescaled.
    static let rescaleThreshold: Float = 8
}

/// One forward thread's strip and row state, allocated once per call and reused for every item.
final class ForwardScratch {
    let strip: UnsafeMutablePointer<Float>        // [6, maxTileWidth], one strip of weights
    let accumulator: UnsafeMutablePointer<Float>  // [rows, paddedDimension]
    let rowMax: UnsafeMutablePointer<Float>       // [rows]
    let rowSum: UnsafeMutablePointer<Float>       // [rows]
    let lo: UnsafeMutablePointer<Int>             // [rows] first visible key
    let hi: UnsafeMutablePointer<Int>             // [rows] one past the last visible key

    init(rows: Int, maxTileWidth: Int, paddedDimension: Int) {
        strip = .allocate(capacity: MicroKernel.maxStripRows * maxTileWidth)
        accumulator = .allocate(capacity: rows * paddedDimension)
        rowMax = .allocate(capacity: rows)
        rowSum = .allocate(capacity: rows)
        lo = .allocate(capacity: rows)
        hi = .allocate(capacity: rows)
    }

    deinit {
        strip.deallocate(); accumulator.deallocate()
        rowMax.deallocate(); rowSum.deallocate()
        lo.deallocate(); hi.deallocate()
    }
}
