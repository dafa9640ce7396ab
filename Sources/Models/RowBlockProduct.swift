import TensorCore

/// `C = A·op(B) + β·C` for one weight matrix B applied to several blocks of A's rows in turn (a step
/// cut into blocks that stay in L2). On one thread with Loom's products, B is packed once for all
/// blocks, where each ordinary call would pack it again; otherwise each block is an ordinary
/// split product. A product's rows do not depend on how its rows are cut or on whether B was
/// packed ahead (the same chunks of the inner dimension in the same order), so both give the
/// same bits as one product over all rows.
struct RowBlockProduct {
    let split: WorkSplit
    /// op(B) is k × n: B row-major with leading dimension ldb, transposed or not.
    let transB: BLAS.Transpose
    let k: Int, n: Int
    let b: UnsafePointer<Float>, ldb: Int
    /// B packed for `TiledGEMM.multiply(packedB:)`, or nil for ordinary calls.
    let packed: UnsafePointer<Float>?

    /// One product per `(k, n, B, ldb)`, packed together in `split.ahead` when `blocks` says the
    /// rows come in several blocks, each run by one thread (the only thread, or a worker that
    /// passes its index), on Loom's own products. The packings live until the next call of
    /// `packed` on the same split.
    static func packed(_ products: [(k: Int, n: Int, b: UnsafeMutablePointer<Float>, ldb: Int)], split: WorkSplit,
                       blocks: Bool, transB: BLAS.Transpose = .none) -> [RowBlockProduct] {
        guard blocks, !split.usesOpenBLASProducts, !split.usesBLASThreads else {
            return products.map { RowBlockProduct(split: split, transB: transB, k: $0.k, n: $0.n, b: $0.b, ldb: $0.ldb, packed: nil) }
        }
        let counts = products.map { TiledGEMM.packedCount(k: $0.k, n: $0.n) }
        var space = split.ahead.reserve(counts.reduce(0, +))
        var result: [RowBlockProduct] = []
        for (product, count) in zip(products, counts) {
            pack(product, transB: transB, into: space, split: split)
            result.append(RowBlockProduct(split: split, transB: transB, k: product.k, n: product.n, b: product.b, ldb: product.ldb,
                                          packed: space))
            space += count
        }
        return result
    }

    /// Floats of a packing from which its panels are shared out among the workers: d = 256's
    /// weights (256 × 1,024, packed every step) rather than d = 64's (64 × 256, some 10 µs).
    static let parallelPackFrom = 32 * 1024

    /// One product's op(B) packed, its panels shared out among the workers when it is large: the
    /// packed layout is panel after panel, so each worker's run of panels is its own stretch.
    private static func pack(_ product: (k: Int, n: Int, b: UnsafeMutablePointer<Float>, ldb: Int), transB: BLAS.Transpose,
                             into space: UnsafeMutablePointer<Float>, split: WorkSplit) {
        let lanes = RegisterTile.columns, panels = (product.n + lanes - 1) / lanes
        guard split.threads > 1, product.k * product.n >= parallelPackFrom else {
            TiledGEMM.pack(transB, k: product.k, n: product.n, b: product.b, ldb: product.ldb, into: space)
            return
        }
        // B is only read; each piece writes its own panels.
        nonisolated(unsafe) let b = UnsafePointer(product.b), space = space
        let k = product.k, n = product.n, ldb = product.ldb
        split.rows(panels) { range, _ in
            let first = range.lowerBound * lanes, end = min(n, range.upperBound * lanes)
            TiledGEMM.pack(transB, k: k, n: end - first, b: transB == .none ? b + first : b + first * ldb, ldb: ldb,
                           into: space + range.lowerBound * k * lanes)
        }
    }

    /// `C = A·B + β·C` for `rows` rows of A (lda) and C (ldc), through `epilogue`; β is 0 or 1.
    /// `worker`: the worker running this block alone (its workspace), or nil for a product split
    /// across the workers (or run on the only one). Unpacked (OpenBLAS products, one thread),
    /// the block is an ordinary product.
    func callAsFunction(rows: Int, a: UnsafePointer<Float>, lda: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                        epilogue: TiledGEMM.Epilogue = .none, worker: Int? = nil) {
        guard let packed, worker != nil || split.threads == 1 else {
            split.gemm(.none, transB, m: rows, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, epilogue: epilogue)
            return
        }
        TiledGEMM.multiply(.none, m: rows, n: n, a: a, lda: lda, packedB: packed, packedRows: k, rows: 0..<k,
                           beta: beta, c: c, ldc: ldc, workspace: split.workspaces[worker ?? 0], epilogue: epilogue)
    }
}
