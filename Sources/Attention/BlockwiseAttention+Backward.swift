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
    /// - Complexity: 10·n·m·H·d floating-point operations (fewer under a mask); O(n·H·d + m·Hkv·d)
    ///   memory when the threads divide the key/value heads (one dq; packed K and V, transposed Q
    ///   and dO), O(T·n·H·d + m·Hkv·d) otherwise (a dq per thread).
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
        // Key blocks are whole 16-key panels (the micro-kernel's width), as in the forward pass.
        let keyBlock = ForwardKernel.roundedToPanels(min(backwardKeyBlock, shape.keys))
        let threads = min(resolvedThreads, shape.keyHeads * ((shape.keys + keyBlock - 1) / keyBlock))
        // D_i = dO_i · out_i, per row and head: the softmax Jacobian's diagonal correction.
        var rowDot = Tensor(uncheckedZeros: [shape.queries, shape.heads])
        let d = shape.headDimension
        let passes = BackwardPasses(threads: resolvedThreads)
        outputGradient.withUnsafeBufferPointer { dO in
            result.output.withUnsafeBufferPointer { o in
                rowDot.withUnsafeMutableBufferPointer { rd in
                    passes.rowDots(dO.baseAddress!, o.baseAddress!, into: rd.baseAddress!, rows: shape.queries * shape.heads, d: d)
                }
            }
        }
        let padded = (d + MicroKernel.columns - 1) / MicroKernel.columns * MicroKernel.columns
        let n = shape.queries, heads = shape.heads
        let byHead = BackwardKernel.takesWholeHeads(keyHeads: shape.keyHeads, threads: threads)
        let slices = byHead ? 1 : threads
        // dq per slice, head-major with padded rows (`[slices, H, n, padded d]`): the micro-kernel
        // writes 16 columns at a time, which would run into the next head in `[n, H, d]`.
        let dqT = UnsafeMutablePointer<Float>.allocate(capacity: slices * heads * n * padded)
        dqT.initialize(repeating: 0, count: slices * heads * n * padded)
        defer { dqT.deallocate() }
        query.withUnsafeBufferPointer { q in
        key.withUnsafeBufferPointer { k in
        value.withUnsafeBufferPointer { v in
        outputGradient.withUnsafeBufferPointer { dO in
        result.logSumExp.withUnsafeBufferPointer { lse in
        rowDot.withUnsafeBufferPointer { rd in
        dk.withUnsafeMutableBufferPointer { dkb in
        dv.withUnsafeMutableBufferPointer { dvb in
            // K as panels (scores) and column panels (dq); V as panels (dP); Q and dO transposed
            // per head (`[H, padded d, n]`), the left operands of dKᵀ += Qᵀ·dS and dVᵀ += dOᵀ·P.
            let keys = PackedKeyValues(keyPanelsAndColumns: k.baseAddress!, shape: shape, threads: threads)
            let values = PackedKeyValues(valuePanels: v.baseAddress!, shape: shape, threads: threads)
            let queryColumns = TransposedHeads(q.baseAddress!, rows: n, heads: heads, d: d, padded: padded, threads: passes.threads)
            let gradientColumns = TransposedHeads(dO.baseAddress!, rows: n, heads: heads, d: d, padded: padded, threads: passes.threads)
            defer {
                keys.deallocate(); values.deallocate()
                queryColumns.deallocate(); gradientColumns.deallocate()
            }
            let kernel = BackwardKernel(
                setup: KernelSetup(shape: shape, mask: mask, score: score, scale: scale ?? 1 / Float(d).squareRoot(),
                                   queryBlock: min(backwardQueryBlock, shape.queries), keyBlock: keyBlock), padded: padded,
                q: q.baseAddress!, dO: dO.baseAddress!, keys: keys, values: values,
                queryColumns: queryColumns.pointer, gradientColumns: gradientColumns.pointer, columnStride: queryColumns.stride,
                lse: lse.baseAddress!, rowDot: rd.baseAddress!,
                dq: dqT, dk: dkb.baseAddress!, dv: dvb.baseAddress!)
            kernel.run(threads: threads, byHead: byHead)
        }}}}}}}}
        // Sum the slices' dq and return it to the `[n, H, d]` layout.
        dq.withUnsafeMutableBufferPointer { dqb in
            passes.sumWorkers(dqT, workers: slices, into: dqb.baseAddress!, rows: n, heads: heads, d: d, padded: padded)
        }
        return AttentionGradients(query: dq, key: dk, value: dv)
    }
}

/// One backward call's buffers; work items are (key/value head, key block) pairs.
///
/// Every product runs on `MicroKernel` (6 × 16 register blocks), as in the forward pass:
/// S = scale·Q·Kᵀ and dP = dO·Vᵀ on K and V panels, dq += dS·K on padded K rows, and the key-side
/// gradients transposed, dKᵀ += Qᵀ·dS and dVᵀ += dOᵀ·P, so that P and dS are read as stored.
/// (Through OpenBLAS the same pass ran at 0.58–0.86 of sgemm on one machine depending only on
/// which threads had called OpenBLAS first; BENCHMARKS.md.)
/// `@unchecked Sendable`: inputs are only read; each item owns the dk/dv rows of its key block
/// and head; slice t of `dq` is written by one thread at a time.
struct BackwardKernel: BlockKernel, @unchecked Sendable {
    let setup: KernelSetup
    let padded: Int                      // d rounded up to a multiple of 16
    let q: UnsafePointer<Float>          // [n, H, d]
    let dO: UnsafePointer<Float>         // [n, H, d]
    let keys: PackedKeyValues            // K panels and padded K rows
    let values: PackedKeyValues          // V panels
    let queryColumns: UnsafePointer<Float>     // [H, padded, columnStride]
    let gradientColumns: UnsafePointer<Float>  // [H, padded, columnStride]
    let columnStride: Int                      // TransposedHeads.stride(rows: n)
    let lse: UnsafePointer<Float>        // [n, H]
    let rowDot: UnsafePointer<Float>     // [n, H]
    let dq: UnsafeMutablePointer<Float>  // [T, H, n, padded], one slice per thread
    let dk: UnsafeMutablePointer<Float>  // [m, Hkv, d]
    let dv: UnsafeMutablePointer<Float>  // [m, Hkv, d]

    /// One thread's tiles, allocated once per call.
    final class Scratch {
        let weights: UnsafeMutablePointer<Float>        // [queryBlock, tileWidth]: P (or A)
        let scoreGradient: UnsafeMutablePointer<Float>  // [queryBlock, tileWidth]: dP, then scale·dS
        let scores: UnsafeMutablePointer<Float>         // [queryBlock, tileWidth], relu/softplus only
        let keyGradient: UnsafeMutablePointer<Float>    // [padded, tileWidth]: dKᵀ of the key block
        let valueGradient: UnsafeMutablePointer<Float>  // [padded, tileWidth]: dVᵀ
        let panelP: UnsafeMutablePointer<Float>         // [queryBlock, 16]: one panel of P, contiguous
        let panelS: UnsafeMutablePointer<Float>         // [queryBlock, 16]: the same panel of dS
        let lo: UnsafeMutablePointer<Int>               // [queryBlock]
        let hi: UnsafeMutablePointer<Int>               // [queryBlock]

        init(queryBlock: Int, tileWidth: Int, padded: Int, keepScores: Bool) {
            weights = .allocate(capacity: queryBlock * tileWidth)
            scoreGradient = .allocate(capacity: queryBlock * tileWidth)
            scores = .allocate(capacity: keepScores ? queryBlock * tileWidth : 1)
            keyGradient = .allocate(capacity: padded * tileWidth)
            valueGradient = .allocate(capacity: padded * tileWidth)
            lo = .allocate(capacity: queryBlock)
            hi = .allocate(capacity: queryBlock)
            panelP = .allocate(capacity: queryBlock * MicroKernel.columns)
            panelS = .allocate(capacity: queryBlock * MicroKernel.columns)
        }

        deinit {
            weights.deallocate(); scoreGradient.deallocate(); scores.deallocate()
            keyGradient.deallocate(); valueGradient.deallocate()
            lo.deallocate(); hi.deallocate()
            panelP.deallocate(); panelS.deallocate()
        }
    }

    var tileWidth: Int { (keyBlock + MicroKernel.columns - 1) / MicroKernel.columns * MicroKernel.columns }

    /// Whether each key/value head is one work item (all its key blocks in order, on one
    /// thread): when the heads divide evenly among the threads. Its query heads' dq rows are then
    /// written by that item alone, so dq is one buffer with the bits of one thread, the same from
    /// run to run and on any such thread count. Otherwise the (key block, head) pairs are dealt
    /// to one dq slice per thread (`slice(ofItem:slices:)`), summed after: the same bits from run
    /// to run on a given number of threads. Same speed at n = 8192, 8 heads, 2 threads, both
    /// tiles (BENCHMARKS.md).
    static func takesWholeHeads(keyHeads: Int, threads: Int) -> Bool {
        threads <= 1 || keyHeads % threads == 0
    }

    /// The dq slice that work item `item` (heaviest first) adds to: dealt in a snake, 0, 1, …,
    /// T−1, T−1, …, 1, 0, 0, 1, …, so under a causal mask, where an item's work falls off
    /// linearly with its key block, every slice gets the same total to within one item's step.
    /// Fixed by the item, not by which thread is free first (an earlier version handed items out
    /// on demand, and dq then varied in its last bits from run to run).
    static func slice(ofItem item: Int, slices: Int) -> Int {
        let round = item / slices, place = item % slices
        return round % 2 == 0 ? place : slices - 1 - place
    }

    func run(threads: Int, byHead: Bool) {
        let keyBlocks = (shape.keys + keyBlock - 1) / keyBlock
        let setup: @Sendable (Int) -> Scratch = { _ in
            Scratch(queryBlock: queryBlock, tileWidth: tileWidth, padded: padded, keepScores: score != .softmax)
        }
        if byHead {
            Parallel.forEach(shape.keyHeads, threads: threads, setup: setup, body: { head, scratch in
                for block in 0..<keyBlocks { compute(keyBlock: block, keyHead: head, slice: 0, scratch: scratch) }
            })
            return
        }
        // One work item per slice, each slice's items in order; early key blocks, seen by the
        // most queries under a causal mask, come first.
        let items = keyBlocks * shape.keyHeads
        Parallel.forEach(threads, threads: threads, setup: setup, body: { slice, scratch in
            for item in 0..<items where Self.slice(ofItem: item, slices: threads) == slice {
                compute(keyBlock: item / shape.keyHeads, keyHead: item % shape.keyHeads, slice: slice, scratch: scratch)
            }
        })
    }

    func compute(keyBlock kb: Int, keyHead: Int, slice: Int, scratch: Scratch) {
        let d = shape.headDimension, n = shape.queries, m = shape.keys, H = shape.heads
        let strip = MicroKernel.stripRows, lanes = MicroKernel.columns
        let wide = TileKernel.active == .avx512   // the tile takes two 16-key panels at once
        let ldq = H * d
        let j0 = kb * keyBlock
        let width = min(keyBlock, m - j0)
        let panels = (width + lanes - 1) / lanes, tw = panels * lanes  // tw: this tile's row stride
        let keyPanels = keys.panel(head: keyHead, firstKey: j0)
        let valuePanels = values.panel(head: keyHead, firstKey: j0)
        let dKT = scratch.keyGradient, dVT = scratch.valueGradient      // [padded, tw]
        dKT.update(repeating: 0, count: padded * tw)
        dVT.update(repeating: 0, count: padded * tw)
        let dqBase = dq + slice * H * n * padded
        let P = scratch.weights, dS = scratch.scoreGradient
        let rowLo = scratch.lo, rowHi = scratch.hi

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
                // Row side, 6 query rows at a time: P, then scale·dS, then dq += scale·dS·K.
                var s = 0
                while s < rows {
                    let R = min(strip, rows - s)
                    defer { s += R }
                    let qRows = q + (i0 + s) * ldq + h * d
                    let dORows = dO + (i0 + s) * ldq + h * d
                    // Only the panels this strip's rows can see (the causal diagonal, a window's
                    // edges); the columns left out are zeroed with the masked ones below.
                    var seenLo = width, seenHi = 0
                    for r in s..<(s + R) where lo[r] < hi[r] {
                        seenLo = min(seenLo, lo[r])
                        seenHi = max(seenHi, hi[r])
                    }
                    let pLo = seenLo < seenHi ? seenLo / lanes : 0
                    let pHi = seenLo < seenHi ? (seenHi + lanes - 1) / lanes : 0
                    let keyEnd = min(pHi * lanes, width)
                    MicroKernel.products(rows: R, k: d, alpha: scale, a: qRows, lda: ldq,
                                         panels: keyPanels + pLo * lanes * d, count: pHi - pLo,
                                         into: P + s * tw + pLo * lanes, ldc: tw)
                    for r in s..<(s + R) {
                        let row = P + r * tw
                        if score == .softmax {
                            _ = TileKernels.exponentiate(row, width: tw, lo[r], hi[r],
                                                         shift: lse[(i0 + r) * H + h])
                        } else {
                            (scratch.scores + r * tw).update(from: row, count: tw)
                            let visible = Float(mask.visibleKeys(query: i0 + r, keyCount: m).count)
                            TileKernels.pointwiseScore(row, width: tw, lo[r], hi[r], score: score,
                                                       weight: visible > 0 ? 1 / visible : 0)
                        }
                    }
                    MicroKernel.products(rows: R, k: d, alpha: 1, a: dORows, lda: ldq,
                                         panels: valuePanels + pLo * lanes * d, count: pHi - pLo,
                                         into: dS + s * tw + pLo * lanes, ldc: tw)
                    for r in s..<(s + R) {
                        if score == .softmax {
                            TileKernels.softmaxScoreGradient(dS + r * tw, weights: P + r * tw, width: tw,
                                                             lo[r], hi[r], rowDot: rowDot[(i0 + r) * H + h],
                                                             factor: scale)
                        } else {
                            let visible = Float(mask.visibleKeys(query: i0 + r, keyCount: m).count)
                            TileKernels.pointwiseScoreGradient(dS + r * tw, scores: scratch.scores + r * tw,
                                                               width: tw, lo[r], hi[r], score: score,
                                                               weight: visible > 0 ? scale / visible : 0)
                        }
                    }
                    if keyEnd > pLo * lanes {
                        let keyRows = keys.rows(head: keyHead, key: j0 + pLo * lanes)
                        MicroKernel.accumulate(rows: R, k: keyEnd - pLo * lanes, a: dS + s * tw + pLo * lanes,
                                               lda: tw, b: keyRows.start, ldb: keyRows.ldb, panelStride: keyRows.panelStride,
                                               count: padded / lanes,
                                               into: dqBase + (h * n + i0 + s) * padded, ldc: padded)
                    }
                }
                // Key side: dVᵀ += dOᵀ·P and dKᵀ += Qᵀ·(scale·dS), 6 coordinates at a time, one
                // 16-key panel of P and dS at a time so that panel stays in L1 across the strips.
                let ldt = columnStride
                let gradientBlock = gradientColumns + h * padded * ldt + i0
                let queryColumnBlock = queryColumns + h * padded * ldt + i0
                // The rows that see a key of panel p: contiguous, since every mask's key range
                // moves forward with the query; the others have zero P and dS there.
                func seeing(_ p: Int) -> Range<Int> {
                    var r0 = rows, r1 = 0
                    for r in 0..<rows where lo[r] < min(hi[r], (p + 1) * lanes) && hi[r] > p * lanes {
                        r0 = min(r0, r)
                        r1 = r + 1
                    }
                    return r0 < r1 ? r0..<r1 : 0..<0
                }
                var p = 0
                while p < panels {
                    let range = seeing(p)
                    // Two panels at once where the tile takes 32 columns and both panels are seen
                    // by the same rows (every panel off a causal diagonal): the same sums, term by
                    // term, as one panel at a time.
                    let count = wide && p + 1 < panels && seeing(p + 1) == range ? 2 : 1
                    defer { p += count }
                    guard !range.isEmpty else { continue }
                    let r0 = range.lowerBound, r1 = range.upperBound
                    // On the 6 × 16 tile the panel is first copied out of its tile rows (tw
                    // floats apart), so that every accumulation below streams it from contiguous
                    // memory: the rows 1.5 KB apart fell in a few L1 sets and were read from L2
                    // at each of the d/6 passes (AVX2 tile, d = 128: the backward 7 % faster).
                    // The AVX-512 tile's panel pairs, read in place, ran as fast (BENCHMARKS.md).
                    var bP = UnsafePointer(P + r0 * tw + p * lanes), bS = UnsafePointer(dS + r0 * tw + p * lanes)
                    var ldb = tw
                    if !wide {
                        let packedP = scratch.panelP, packedS = scratch.panelS
                        for r in 0..<(r1 - r0) {
                            (packedP + r * lanes).update(from: bP + r * tw, count: lanes)
                            (packedS + r * lanes).update(from: bS + r * tw, count: lanes)
                        }
                        bP = UnsafePointer(packedP); bS = UnsafePointer(packedS); ldb = lanes
                    }
                    var c = 0
                    while c < d {
                        let R = min(strip, d - c)
                        defer { c += R }
                        MicroKernel.accumulate(rows: R, k: r1 - r0, a: gradientBlock + c * ldt + r0, lda: ldt,
                                               b: bP, ldb: ldb, count: count,
                                               into: dVT + c * tw + p * lanes, ldc: tw)
                        MicroKernel.accumulate(rows: R, k: r1 - r0, a: queryColumnBlock + c * ldt + r0, lda: ldt,
                                               b: bS, ldb: ldb, count: count,
                                               into: dKT + c * tw + p * lanes, ldc: tw)
                    }
                }
            }
        }
        for j in 0..<width {
            let dkRow = dk + (j0 + j) * shape.keyHeads * d + keyHead * d
            let dvRow = dv + (j0 + j) * shape.keyHeads * d + keyHead * d
            for c in 0..<d {
                dkRow[c] = dKT[c * tw + j]
                dvRow[c] = dVT[c * tw + j]
            }
        }
    }
}

/// Per head, the transpose of a `[rows, heads, d]` tensor: `[heads, padded, stride]`, coordinates
/// d ..< padded and columns rows ..< stride zero. Gives the key-side products of the backward pass
/// a contiguous left operand.
struct TransposedHeads {
    let pointer: UnsafeMutablePointer<Float>
    /// Floats from one coordinate's row to the next: `rows` rounded up to 16, plus 16 when that
    /// is an even number of 16s. The key-side products read 6 of these rows at once; at a power
    /// of two (n = 8192: 32 KB apart) all six fall in one set of the L1 cache.
    let stride: Int

    static func stride(rows: Int) -> Int {
        let rounded = (rows + 15) / 16 * 16
        return rounded / 16 % 2 == 0 ? rounded + 16 : rounded
    }

    init(_ source: UnsafePointer<Float>, rows: Int, heads: Int, d: Int, padded: Int, threads: Int = 1) {
        let stride = Self.stride(rows: rows)
        let pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(1, heads * padded * stride))
        self.pointer = pointer
        self.stride = stride
        let passes = BackwardPasses.Pointers(a: source, b: source, target: pointer)
        // A head per item, each on the threads; blocks of 64 rows keep the written lines of each
        // coordinate in cache while rows stream in.
        let block = 64
        Parallel.forEach(heads, threads: threads, setup: { _ in () }, body: { h, _ in
            let source = passes.a, head = passes.target + h * padded * stride
            head.initialize(repeating: 0, count: padded * stride)
            var r0 = 0
            while r0 < rows {
                let r1 = min(r0 + block, rows)
                for r in r0..<r1 {
                    let row = source + (r * heads + h) * d
                    for c in 0..<d { head[c * stride + r] = row[c] }
                }
                r0 = r1
            }
        })
    }

    func deallocate() { pointer.deallocate() }
}
