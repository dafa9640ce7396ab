import TensorCore

/// `C = A·B + β·C` for one weight matrix B applied to several blocks of A's rows in turn (a step
/// cut into blocks that stay in L2). On one thread with Loom's products, B is packed once for all
/// blocks, where each ordinary call would pack it again; otherwise each block is an ordinary
/// split product. A product's rows do not depend on how its rows are cut or on whether B was
/// packed ahead (the same chunks of the inner dimension in the same order), so both give the
/// same bits as one product over all rows.
struct RowBlockProduct {
    let split: WorkSplit
    /// op(B) is k × n, row-major with leading dimension ldb.
    let k: Int, n: Int
    let b: UnsafePointer<Float>, ldb: Int
    /// B packed for `TiledGEMM.multiply(packedB:)`, or nil for ordinary calls.
    let packed: UnsafePointer<Float>?

    /// One product per `(k, n, B, ldb)`, packed together in `split.ahead` when `blocks` says the
    /// rows come in several blocks and one thread runs them. The packings live until the next
    /// call of `packed` on the same split.
    static func packed(_ products: [(k: Int, n: Int, b: UnsafeMutablePointer<Float>, ldb: Int)], split: WorkSplit,
                       blocks: Bool) -> [RowBlockProduct] {
        guard blocks, split.threads == 1, !split.usesOpenBLASProducts, !split.usesBLASThreads else {
            return products.map { RowBlockProduct(split: split, k: $0.k, n: $0.n, b: $0.b, ldb: $0.ldb, packed: nil) }
        }
        let counts = products.map { TiledGEMM.packedCount(k: $0.k, n: $0.n) }
        var space = split.ahead.reserve(counts.reduce(0, +))
        var result: [RowBlockProduct] = []
        for (product, count) in zip(products, counts) {
            TiledGEMM.pack(.none, k: product.k, n: product.n, b: product.b, ldb: product.ldb, into: space)
            result.append(RowBlockProduct(split: split, k: product.k, n: product.n, b: product.b, ldb: product.ldb, packed: space))
            space += count
        }
        return result
    }

    /// `C = A·B + β·C` for `rows` rows of A (lda) and C (ldc), through `epilogue`; β is 0 or 1.
    func callAsFunction(rows: Int, a: UnsafePointer<Float>, lda: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                        epilogue: TiledGEMM.Epilogue = .none) {
        guard let packed else {
            split.gemm(.none, .none, m: rows, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, epilogue: epilogue)
            return
        }
        TiledGEMM.multiply(.none, m: rows, n: n, a: a, lda: lda, packedB: packed, packedRows: k, rows: 0..<k,
                           beta: beta, c: c, ldc: ldc, workspace: split.workspaces[0], epilogue: epilogue)
    }
}
