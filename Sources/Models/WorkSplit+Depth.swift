import TensorCore

/// Small weight gradients cut along their depth: `Xᵀ·dY` at d = 64 is 64–256 rows by 64–256
/// columns over k = 4096 tokens. Cut by rows or columns of C, every worker packed all of the
/// operand the pieces share (4096 × 64 floats at d = 64); cut along k, each worker packs only
/// its own blocks' rows of both operands.
extension WorkSplit {
    /// Rows of the inner dimension per block, and at most how many blocks (their partial sums
    /// are kept: at most 8 × 1 MB). Fixed by the shape alone, never by the thread count: each
    /// block is summed on its own and the blocks then in order, so the bits are the same on any
    /// number of threads.
    static let depthBlock = 1024, maximumBlocks = 8

    /// Whether `gemm` cuts this product along k: a weight gradient (`Aᵀ·B`, β = 0, no epilogue)
    /// of at most 256 K elements (d = 256's) over at least two blocks.
    static func splitsDepth(_ transA: BLAS.Transpose, _ transB: BLAS.Transpose, m: Int, n: Int, k: Int,
                            beta: Float, epilogue: TiledGEMM.Epilogue) -> Bool {
        transA == .transposed && transB == .none && beta == 0 && epilogue == .none
            && m * n <= 262_144 && k >= 2 * depthBlock
    }

    /// `C ← α·Aᵀ·B` (A k × m, B k × n): each block of rows of A and B into its own partial C,
    /// the blocks shared out as balanced rows (`rows(balanced:)`), then C = the partials added in
    /// block order, its rows shared out. With more workers than blocks, each block's C is cut too, by rows or 16-column
    /// panels like `gemm`'s pieces (where C is cut changes no bits). A product that `TiledGEMM`
    /// runs as its transpose is computed as Cᵀ = Bᵀ·A here, block by block, and brought out of
    /// that layout once, in the sum (the same bits: a·b = b·a).
    func depthBlocks(m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                     b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let blocks = min(Self.maximumBlocks, (k + Self.depthBlock - 1) / Self.depthBlock)
        let blockDepth = (k + blocks - 1) / blocks, size = m * n
        let transposed = TiledGEMM.weightGradientRunsAsTranspose(m: m, n: n, ldb: ldb)
        // The product computed: rows × columns of (transposed ? Cᵀ : C) = leftᵀ·right.
        let (rows, columns) = transposed ? (n, m) : (m, n)
        let (ldl, ldr) = transposed ? (ldb, lda) : (lda, ldb)
        let byRows = rows >= columns, lanes = RegisterTile.columns
        let units = byRows ? rows : (columns + lanes - 1) / lanes
        let parts = min(units, max(1, (threads + blocks - 1) / blocks))
        // Each piece writes its own block of its own partial; each worker its own rows of C.
        nonisolated(unsafe) let partials = partials.reserve(blocks * size), c = c
        nonisolated(unsafe) let (left, right) = transposed ? (b, a) : (a, b)
        let workspaces = workspaces
        self.rows(blocks * parts, balanced: true) { range, worker in
            for piece in range {
                let block = piece / parts, part = piece % parts
                let k0 = block * blockDepth, depth = min(blockDepth, k - k0)
                let lower = Self.cut(units, piece: part, of: parts), upper = Self.cut(units, piece: part + 1, of: parts)
                let partial = partials + block * size
                if byRows {
                    TiledGEMM.multiply(.transposed, .none, m: upper - lower, n: columns, k: depth, alpha: alpha,
                                       a: left + k0 * ldl + lower, lda: ldl, b: right + k0 * ldr, ldb: ldr, beta: 0,
                                       c: partial + lower * columns, ldc: columns, workspace: workspaces[worker])
                } else {
                    let first = lower * lanes, last = min(columns, upper * lanes)
                    TiledGEMM.multiply(.transposed, .none, m: rows, n: last - first, k: depth, alpha: alpha,
                                       a: left + k0 * ldl, lda: ldl, b: right + k0 * ldr + first, ldb: ldr, beta: 0,
                                       c: partial + first, ldc: columns, workspace: workspaces[worker])
                }
            }
        }
        self.rows(m) { range, _ in
            if transposed {
                Self.addPartialsTransposed(partials, rows: range, m: m, n: n, blocks: blocks, into: c, ldc: ldc)
            } else {
                for i in range { Self.addPartials(partials + i * n, count: n, blocks: blocks, stride: size, into: c + i * ldc) }
            }
        }
    }

    /// `out[j] = ((p₀[j] + p₁[j]) + p₂[j]) + …` for `blocks` partials `stride` floats apart, or
    /// with `adding`, `out[j] +=` that sum.
    static func addPartials(_ first: UnsafePointer<Float>, count: Int, blocks: Int, stride: Int,
                            into out: UnsafeMutablePointer<Float>, adding: Bool = false) {
        var j = 0
        while j + 8 <= count {
            var sum = UnsafeRawPointer(first + j).loadUnaligned(as: SIMD8<Float>.self)
            for block in 1..<blocks { sum += UnsafeRawPointer(first + block * stride + j).loadUnaligned(as: SIMD8<Float>.self) }
            if adding { sum = UnsafeRawPointer(out + j).loadUnaligned(as: SIMD8<Float>.self) + sum }
            UnsafeMutableRawPointer(out + j).storeBytes(of: sum, as: SIMD8<Float>.self)
            j += 8
        }
        while j < count {
            var sum = first[j]
            for block in 1..<blocks { sum += first[block * stride + j] }
            out[j] = adding ? out[j] + sum : sum
            j += 1
        }
    }

    /// Rows `rows` of C from partials of Cᵀ (n × m each): `C[i][j] = Σ_blocks Pᵀ[j][i]` in block
    /// order, eight rows of C at a time from contiguous floats of each partial.
    private static func addPartialsTransposed(_ partials: UnsafePointer<Float>, rows: Range<Int>, m: Int, n: Int, blocks: Int,
                                              into c: UnsafeMutablePointer<Float>, ldc: Int) {
        let size = m * n
        var i = rows.lowerBound
        while i + 8 <= rows.upperBound {
            for j in 0..<n {
                let first = partials + j * m + i
                var sum = UnsafeRawPointer(first).loadUnaligned(as: SIMD8<Float>.self)
                for block in 1..<blocks { sum += UnsafeRawPointer(first + block * size).loadUnaligned(as: SIMD8<Float>.self) }
                for lane in 0..<8 { c[(i + lane) * ldc + j] = sum[lane] }
            }
            i += 8
        }
        while i < rows.upperBound {
            for j in 0..<n {
                var sum = partials[j * m + i]
                for block in 1..<blocks { sum += partials[block * size + j * m + i] }
                c[i * ldc + j] = sum
            }
            i += 1
        }
    }
}
