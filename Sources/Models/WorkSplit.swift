import TensorCore

/// How the transformer spreads one step over its threads: every matrix product and row kernel is
/// cut into pieces, each a plain single-threaded call: one per worker for a whole product (each
/// piece packs its own operands), units of rows each worker takes from its own stretch first for
/// of a step (their weights are packed once), so a slowed core does not hold the other up.
///
/// Splitting ourselves rather than letting OpenBLAS thread each call keeps one thread pool busy
/// (attention's per-(batch, head) items run on the same workers). A product is cut along the rows
/// of C when it has more rows than columns, else along C's columns; a small weight gradient
/// `Aᵀ·dY` is cut along its depth instead, in blocks fixed by its shape (`splitsDepth`).
struct WorkSplit: Sendable {
    /// Workers, ≥ 1.
    let threads: Int
    /// Whether products go to OpenBLAS whole, on its own `threads` threads, instead of being cut
    /// into single-threaded pieces (see `Transformer.init`).
    var usesBLASThreads = false
    /// Whether the pieces run on OpenBLAS's sgemm rather than Loom's `TiledGEMM` (the default,
    /// faster at these skinny shapes; kept for `loom bench train --products openblas`).
    var usesOpenBLASProducts = false
    /// Whether `gemm`'s `rowsDone` runs inside the product (true) or after it (`TrainingFusion.rowPasses`).
    var fusesRowPasses = true
    /// Whether `rows(balanced: true)` cuts units taken from each worker's stretch (true) or even halves (`TrainingFusion.balancedPieces`).
    var balancesPieces = true
    /// One `TiledGEMM` scratch per worker, and one for operands packed ahead (attention's).
    let workspaces: [GEMMWorkspace]
    let packs: [GEMMWorkspace]
    /// Weights packed once for a step's blocks of rows (`RowBlockProduct`).
    let ahead = GEMMWorkspace()
    /// Each depth block's share of a small weight gradient (`splitsDepth`).
    let partials = GEMMWorkspace()

    init(threads: Int) {
        self.threads = threads
        workspaces = (0..<max(1, threads)).map { _ in GEMMWorkspace() }
        packs = (0..<max(1, threads)).map { _ in GEMMWorkspace() }
    }

    /// Rows per block of a sum over rows (LayerNorm's gain and bias gradients): each block is
    /// summed in row order by one worker, then the blocks in order, so the sum has the same bits
    /// on any number of threads (a node with more cores trains to the same parameters).
    static let reductionBlock = 64

    /// Blocks of `reductionBlock` rows in `rows` rows.
    static func reductionBlocks(_ rows: Int) -> Int { (rows + reductionBlock - 1) / reductionBlock }

    /// Calls `body(range, worker)` for contiguous pieces of `0..<count`: `threads` even ones, or
    /// with `balanced`, units of a stretch per worker, each worker taking its own stretch's units
    /// front to back and then what the others left from their ends (`homeUnitRows`). `worker`
    /// (0..<threads) indexes per-worker scratch. With `aligned` > 1, every piece but the last
    /// starts and ends on a multiple of it (pieces that would be empty are left out).
    ///
    /// Balanced, a core slowed by a neighbour (a shared VM, an interrupt) takes less of the work;
    /// with even halves the other core waited for it at the end of every phase.
    /// `grain` is the smallest balanced piece worth its own call (a block of the phase's rows).
    func rows(_ count: Int, aligned: Int = 1, balanced: Bool = false, grain: Int = 1,
              _ body: @Sendable (Range<Int>, Int) -> Void) {
        if balanced && balancesPieces && threads > 1 && count > 1 {
            homeUnitRows(count, aligned: aligned, grain: grain, body)
            return
        }
        let pieces = max(1, min(threads, count))
        if pieces == 1 {
            body(0..<count, 0)
            return
        }
        Parallel.forEach(pieces, threads: pieces, setup: { $0 }, body: { piece, worker in
            let range = Self.cut(count, piece: piece, of: pieces, aligned: aligned)
                ..< Self.cut(count, piece: piece + 1, of: pieces, aligned: aligned)
            if !range.isEmpty { body(range, worker) }
        })
    }

    /// `rows(balanced: true)` walked in blocks: `body(firstRow, rows, worker)` for each run of at
    /// most `block` rows of each piece, in order (the blocked phases' loop). Pieces start on
    /// `aligned` and are at least one block long.
    func rowBlocks(_ count: Int, block: Int, aligned: Int, _ body: @Sendable (Int, Int, Int) -> Void) {
        rows(count, aligned: aligned, balanced: true, grain: block) { range, worker in
            var r0 = range.lowerBound
            while r0 < range.upperBound {
                let rows = min(block, range.upperBound - r0)
                body(r0, rows, worker)
                r0 += rows
            }
        }
    }

    /// Where piece `piece` of `pieces` starts in `0..<count`: the even cut, rounded to the
    /// nearest multiple of `aligned`; the end of the last piece is `count`.
    static func cut(_ count: Int, piece: Int, of pieces: Int, aligned: Int = 1) -> Int {
        if piece >= pieces { return count }
        let even = count * piece / pieces
        return aligned > 1 ? min(count, (even + aligned / 2) / aligned * aligned) : even
    }

    /// `C ← α·op(A)·op(B) + β·C` (row-major, op(A) `m × k`, op(B) `k × n`) split across the workers.
    ///
    /// `rowsDone(rows, worker)`, when given, runs over every row of C once it is final, on the
    /// worker (0..<threads) that runs the piece of `rows(m, aligned: reductionBlock)` holding them: on
    /// `TiledGEMM` with rows split across the workers (m ≥ n), group by group inside each
    /// worker's product while the rows are in cache; otherwise after the product, over the same
    /// pieces. Either way each piece sees its rows in order and every block of `reductionBlock`
    /// rows lies in one piece, so a sum by blocks comes out the same.
    /// - Precondition: OpenBLAS runs single-threaded, or on `threads` threads with `usesBLASThreads`.
    func gemm(_ transA: BLAS.Transpose, _ transB: BLAS.Transpose, m: Int, n: Int, k: Int,
              alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
              beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: TiledGEMM.Epilogue = .none,
              rowsDone: (@Sendable (Range<Int>, Int) -> Void)? = nil) {
        let fusesRows = fusesRowPasses && rowsDone != nil && !usesBLASThreads && !usesOpenBLASProducts && m >= n
        gemmPieces(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
                   epilogue: epilogue, rowsDone: fusesRows ? rowsDone : nil)
        if let rowsDone, !fusesRows, m > 0 { rows(m, aligned: Self.reductionBlock, rowsDone) }
    }

    private func gemmPieces(_ transA: BLAS.Transpose, _ transB: BLAS.Transpose, m: Int, n: Int, k: Int,
                            alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: TiledGEMM.Epilogue,
                            rowsDone: (@Sendable (Range<Int>, Int) -> Void)?) {
        if usesBLASThreads {
            BLAS.sgemm(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                       beta: beta, c: c, ldc: ldc)
            Self.apply(epilogue, c, rows: m, columns: n, ldc: ldc)
            return
        }
        // The pointers outlive this call and each piece writes a disjoint block of C (one piece,
        // called in place, on a single worker).
        nonisolated(unsafe) let a = a, b = b, c = c
        let tiled = !usesOpenBLASProducts, workspaces = workspaces
        if tiled && Self.splitsDepth(transA, transB, m: m, n: n, k: k, beta: beta, epilogue: epilogue) && rowsDone == nil {
            depthBlocks(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
            return
        }
        @Sendable func piece(m: Int, n: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>,
                             epilogue: TiledGEMM.Epilogue, worker: Int, firstRow: Int = 0) {
            if tiled {
                TiledGEMM.multiply(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                                   beta: beta, c: c, ldc: ldc, workspace: workspaces[worker], epilogue: epilogue,
                                   rowsDone: rowsDone.map { done in { done($0.lowerBound + firstRow ..< $0.upperBound + firstRow, worker) } })
            } else {
                BLAS.sgemm(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                           beta: beta, c: c, ldc: ldc)
                Self.apply(epilogue, c, rows: m, columns: n, ldc: ldc)
            }
        }
        if m >= n {
            // Pieces on whole blocks of a row sum, for the row passes that run inside them.
            rows(m, aligned: rowsDone == nil ? 1 : Self.reductionBlock) { range, worker in
                let aStart = transA == .none ? a + range.lowerBound * lda : a + range.lowerBound
                piece(m: range.count, n: n, a: aStart, b: b, c: c + range.lowerBound * ldc,
                      epilogue: epilogue.offset(row: range.lowerBound, column: 0), worker: worker, firstRow: range.lowerBound)
            }
        } else {
            // Column pieces start on 16-column panels, so only the last one can be partial.
            let panels = (n + RegisterTile.columns - 1) / RegisterTile.columns
            rows(panels) { range, worker in
                let lower = range.lowerBound * RegisterTile.columns, upper = min(n, range.upperBound * RegisterTile.columns)
                let bStart = transB == .none ? b + lower : b + lower * ldb
                piece(m: m, n: upper - lower, a: a, b: bStart, c: c + lower, epilogue: epilogue.offset(row: 0, column: lower),
                      worker: worker)
            }
        }
    }

    /// `epilogue` in place over an m × n block of C (OpenBLAS products have none of their own).
    private static func apply(_ epilogue: TiledGEMM.Epilogue, _ c: UnsafeMutablePointer<Float>, rows m: Int, columns n: Int, ldc: Int) {
        switch epilogue {
        case .none: break
        case .relu:
            for i in 0..<m { Kernels.relu(c + i * ldc, into: c + i * ldc, count: n) }
        case .positiveIn(let mask):
            for i in 0..<m {
                Kernels.reluBackward(outputGradient: c + i * ldc, input: mask.base + i * mask.ld, count: n,
                                     inputGradient: c + i * ldc, accumulating: false)
            }
        }
    }
}
