internal import CKernels
import Dispatch
import Synchronization
/// Loom's own single-threaded matrix product for the skinny shapes of small-model training:
/// `C ← α·op(A)·op(B) + β·C`, row-major, every block one `RegisterTile`.
///
/// The transformer's products have one short side (d = 64…256) and one long one (batch·T rows).
/// OpenBLAS packs both operands for every call, which at these shapes costs as much as the
/// arithmetic: on the 2-core Zen VM its weight gradients `Xᵀ·dY` ([64, 4096] × [4096, 256])
/// ran at 20–24 GFLOP/s on two threads and the forward products at about 44 (BENCHMARKS.md).
/// Here a row-major A is read in place; op(B) and a transposed A are copied per chunk of the
/// inner dimension into contiguous panels, a cost of one part in 2·m (or 2·n) of the arithmetic.
///
/// Blocking: the inner dimension in chunks of `depthChunk` steps, C's rows in groups of
/// `rowGroup`; within a chunk and group each 16-column panel of B (≤ 16 KB) stays in L1 while
/// the group's strips of A (≤ 96 KB) come from L2.
public enum TiledGEMM {
    /// What a product does to each result before storing it.
    public enum Epilogue: Sendable, Equatable {
        /// Stores `α·op(A)·op(B) + β·C` as it is.
        case none
        /// Stores max(x, 0) of it (NaN kept): an FFN's activation fused into its first product.
        case relu
        /// Stores it where the same entry of the mask is > 0, and 0 elsewhere: the ReLU's backward
        /// pass fused into the product that forms its input gradient, masked by the activations
        /// after the ReLU (x > 0 exactly where relu(x) > 0).
        case positiveIn(Mask)

        /// A matrix of C's shape, rows `ld` apart. `@unchecked Sendable`: it is only read, and the
        /// caller keeps it alive and unchanged for the product.
        public struct Mask: @unchecked Sendable, Equatable {
            public let base: UnsafePointer<Float>
            public let ld: Int
            public init(_ base: UnsafePointer<Float>, ld: Int) { self.base = base; self.ld = ld }
        }

        /// The epilogue for the block of C from (row, column): a mask moves with it.
        public func offset(row: Int, column: Int) -> Epilogue {
            guard case .positiveIn(let mask) = self else { return self }
            return .positiveIn(Mask(mask.base + row * mask.ld + column, ld: mask.ld))
        }

        var mask: Mask? { if case .positiveIn(let mask) = self { mask } else { nil } }
    }

    /// Whether a weight gradient of m × n runs as its transpose: when that computes at least 5 %
    /// fewer padded elements (`transposeComputesLess`), or when it has fewer rows than columns and
    /// the transpose computes no more than 5 % beyond it. Never both a shape and its transpose, so
    /// the transposed call runs as written.
    static func runsAsTranspose(m: Int, n: Int) -> Bool {
        transposeComputesLess(m: m, n: n) || (m < n && !transposeComputesLess(m: n, n: m))
    }

    /// Whether `multiply` runs the weight gradient `Aᵀ·B` (C m × n, B's rows `ldb` apart) as
    /// its transpose `Bᵀ·A`, into scratch: a caller cutting the product can do so itself and
    /// bring the transposed C out once.
    public static func weightGradientRunsAsTranspose(m: Int, n: Int, ldb: Int) -> Bool {
        runsAsTranspose(m: m, n: n) && ldb < widestTransposedB
    }

    /// Whether C of m × n computes at least 5 % fewer padded elements as its transpose (n × m):
    /// rows in strips of 6, columns in panels of 16. A weight gradient into 67 logits computes 80
    /// columns for 67 as written, 72 rows for 67 transposed.
    static func transposeComputesLess(m: Int, n: Int) -> Bool {
        let strip = RegisterTile.rows, lanes = RegisterTile.columns
        func padded(_ rows: Int, _ columns: Int) -> Int {
            (rows + strip - 1) / strip * strip * ((columns + lanes - 1) / lanes * lanes)
        }
        return 20 * padded(n, m) < 19 * padded(m, n)
    }

    /// Steps of the inner dimension per pass over C.
    static let depthChunk = 256

    /// Whether a transposed A read in place is asked for ahead of the tile (`loom_prefetch_rows`
    /// per chunk and, on the AVX-512 tile, `prefetchAhead`). On unless switched off for the whole
    /// process to measure what it gains (`TrainingFusion.operandPrefetch`); the same bits either way.
    public static let asksAhead = Atomic<Bool>(true)
    /// Rows of C per group (16 strips of 6).
    static let rowGroup = 96
    /// dY's row length (floats) from which a wide weight gradient is no longer run as its
    /// transpose: read in place, dY's strips then step 2 KB or more per k, falling into few L1
    /// sets (d = 256 on the AVX2 tile: dW-ffn-in 96 → 83 GFLOP/s transposed; d = 128 about even).
    static let widestTransposedB = 512

    /// How a transposed A (a weight gradient's Xᵀ) reaches the tile; the same bits either way.
    public enum TransposedA: String, Sendable {
        /// Packed per chunk into contiguous strips of 6 rows.
        case packed
        /// Read where it lies: 6 contiguous floats per step, lda apart.
        case inPlace = "in place"
    }

    /// How a transposed A with rows `lda` floats apart reaches `kernel`'s tile, for a product
    /// `columns` wide (C's n).
    ///
    /// Rows of 512 floats (2 KB) or more are packed on either tile: read in place, the strip then
    /// steps into another page at nearly every k, where the hardware prefetchers stop (Zen 4, one
    /// core, d = 256's dW-ffn-out, lda = 1,024: AVX2 tile 0.81–0.83 of sgemm in place, 0.97–0.98
    /// packed; AVX-512 0.98–1.01 against 1.04–1.05; lda = 768: 0.92–0.93 against 0.98).
    /// Narrower, the AVX-512 tile reads in place: packing stalls on memory with nothing to overlap
    /// (Zen 4, d = 64: dW products 80–88 → 93–110 GFLOP/s). For the AVX2 tile the faster way
    /// differs between machines (packing was faster on the AVX2-only machines measured; in place
    /// 10–25 % faster on Zen 4) and with the width: on Zen 3, in place was ahead on d = 64's
    /// weight gradients (64 to 192 columns) and 2–24 % behind on d = 256's (256 to 1,024), in
    /// 12 of 12 paired rounds (BENCHMARKS.md). So it is measured once per process for each:
    /// `avx2TransposedA` below `wideFromColumns`, `avx2TransposedAWide` from there on.
    public static func transposedA(for kernel: TileKernel, lda: Int, columns: Int) -> TransposedA {
        if lda >= packedFromLeadingDimension { return .packed }
        guard kernel != .avx512 else { return .inPlace }
        return columns >= wideFromColumns ? avx2TransposedAWide.choice : avx2TransposedA.choice
    }

    /// The width (C's columns, 16 panels) from which a transposed A's way on the AVX2 tile is
    /// the one measured on a wide product.
    public static let wideFromColumns = 256

    /// The row length (floats) of a transposed A from which it is always packed.
    public static let packedFromLeadingDimension = 512

    /// The AVX2 tile's way for narrow products, timed on the first use: a weight gradient's
    /// shape (256 × 64 over 1,024 rows, FFN-out's at d = 64; about 0.4 ms) both ways, alternated,
    /// five samples each after a warm-up; in place only when its median is at least 3 % faster.
    /// `speedup` is packed's median time over in place's.
    public static let avx2TransposedA = measureTransposedA(m: 256, n: 64, k: 1024)

    /// The same for products `wideFromColumns` wide or more, timed on d = 256's output
    /// projection gradient (256 × 256, here over 512 rows; about 1 ms).
    public static let avx2TransposedAWide = measureTransposedA(m: 256, n: 256, k: 512)

    /// Times `Xᵀ·Y` (`m × n` over `k` rows, `lda = m`) on the AVX2 tile with A packed and in place.
    static func measureTransposedA(m: Int, n: Int, k: Int) -> (choice: TransposedA, speedup: Double) {
        let a = UnsafeMutablePointer<Float>.allocate(capacity: k * m), b = UnsafeMutablePointer<Float>.allocate(capacity: k * n)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        for i in 0..<(k * m) { a[i] = Float(i % 13) / 16 - 0.4 }
        for i in 0..<(k * n) { b[i] = Float(i % 11) / 16 - 0.3 }
        let workspace = GEMMWorkspace()
        func seconds(_ way: TransposedA) -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            multiply(.transposed, .none, m: m, n: n, k: k, a: a, lda: m, b: b, ldb: n, beta: 0, c: c, ldc: n,
                     workspace: workspace, kernel: .avx2, transposedA: way)
            return Double(DispatchTime.now().uptimeNanoseconds - start)
        }
        _ = seconds(.packed); _ = seconds(.inPlace)
        var packed: [Double] = [], inPlace: [Double] = []
        for _ in 0..<5 { packed.append(seconds(.packed)); inPlace.append(seconds(.inPlace)) }
        let speedup = packed.sorted()[2] / inPlace.sorted()[2]
        return (speedup >= 1.03 ? .inPlace : .packed, speedup)
    }

    /// `C ← α·op(A)·op(B) + β·C` with op(A) `m × k` and op(B) `k × n`, like `BLAS.sgemm`.
    /// - Parameters:
    ///   - workspace: scratch for packed panels, reused across calls (one per thread).
    ///   - rowsDone: called with each group of rows of C (at most `rowGroup`, in order) as soon
    ///     as they are final, while they are still in cache: an elementwise pass over them (an
    ///     activation, a LayerNorm backward) then reads no memory the product did not just write.
    /// - Precondition: pointers hold the extents their leading dimensions imply; `workspace` is
    ///   not used by another thread during the call.
    /// - Complexity: 2·m·n·k floating-point operations; O(256·n) extra memory, O(256·(n + m)) with
    ///   a transposed A.
    public static func multiply(_ transA: BLAS.Transpose, _ transB: BLAS.Transpose, m: Int, n: Int, k: Int,
                                alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                                b: UnsafePointer<Float>, ldb: Int,
                                beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                                workspace: GEMMWorkspace, epilogue: Epilogue = .none, kernel: TileKernel = .active,
                                transposedA: TransposedA? = nil, rowsDone: ((Range<Int>) -> Void)? = nil) {
        // `rowsDone` is unwrapped with if-let and passed whole with a `last` flag: an optional call
        // and a conditional argument here crashed Swift 6.3.1's release build (SIL verifier).
        guard prepare(m: m, n: n, k: k, beta: beta, c: c, ldc: ldc, epilogue: epilogue) else {
            if m > 0, n > 0, let rowsDone { rowsDone(0..<m) }
            return
        }
        if transA != .none && transB == .none && Self.weightGradientRunsAsTranspose(m: m, n: n, ldb: ldb)
            && epilogue == .none && rowsDone == nil {
            // A weight gradient with fewer rows than columns (Xᵀ·dY at d < 4d: dW-ffn-in, dW-qkv)
            // runs as its transpose, dYᵀ·X, into scratch: the wide dY is then read in place as A
            // and only the narrow X is packed (Zen 4, d = 64, one core: 87–92 → 102–110 GFLOP/s).
            // So does one whose last panel would be mostly padding (dW-unembed: 67 columns).
            // The same bits: each element is the same chain of fused multiply-adds (a·b = b·a)
            // over the same chunks, with C brought in and out.
            let transposed = workspace.reserveTransposedC(m * n)
            if beta != 0 { for i in 0..<m { for j in 0..<n { transposed[j * m + i] = c[i * ldc + j] } } }
            multiply(.transposed, .none, m: n, n: m, k: k, alpha: alpha, a: b, lda: ldb, b: a, ldb: lda,
                     beta: beta == 0 ? 0 : 1, c: transposed, ldc: m, workspace: workspace, kernel: kernel, transposedA: transposedA)
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = transposed[j * m + i] } }
            return
        }
        let lanes = RegisterTile.columns
        let panels = (n + lanes - 1) / lanes
        let chunk = min(depthChunk, k)
        // Per chunk of the inner dimension: op(B) as contiguous [panel][step][16] (zero-padded).
        let inPlaceT = transA != .none && (transposedA ?? Self.transposedA(for: kernel, lda: lda, columns: n)) == .inPlace
        let bPack = workspace.reserve(chunk * panels * lanes + (inPlaceT ? 0 : aPackCount(transA, m: m, chunk)))
        var k0 = 0
        while k0 < k {
            let depth = min(depthChunk, k - k0)
            // A transposed A read in place: the tile's steps of lda floats took its rows from L3 a
            // few lines at a time. A chunk's rows are asked for at once (loom_prefetch_rows), except
            // on the AVX-512 tile where the chunk before asked for them step by step while it ran
            // (`prefetchAhead`: a whole chunk after a whole chunk).
            let ahead = inPlaceT && asksAhead.load(ordering: .relaxed), spread = ahead && kernel == .avx512
            if ahead && (!spread || k0 == 0 || depth < depthChunk) { loom_prefetch_rows(a + k0 * lda, depth, lda, m) }
            packB(transB, b, ldb, rows: k0..<(k0 + depth), columns: n, into: bPack)
            chunkProduct(transA, m: m, n: n, depth: depth, alpha: alpha, a: a, lda: lda, aK0: k0,
                         b: bPack, panelStride: depth * lanes, accumulate: k0 > 0 || beta != 0,
                         relu: epilogue == .relu && k0 + depth == k, mask: k0 + depth == k ? epilogue.mask : nil, kernel: kernel,
                         inPlaceT: inPlaceT, c: c, ldc: ldc, aPack: bPack + chunk * panels * lanes, scratch: workspace.edgeBlock,
                         rowsDone: rowsDone, last: k0 + depth == k,
                         prefetchAhead: spread && k0 + 2 * depth <= k ? depth * lda : 0)
            k0 += depth
        }
    }

    /// Floats `packed(transB:…)` writes: op(B) (k × n) as `[panel][k][16]`.
    public static func packedCount(k: Int, n: Int) -> Int {
        (n + RegisterTile.columns - 1) / RegisterTile.columns * RegisterTile.columns * k
    }

    /// Packs all of op(B) (`k × n`) as `[panel][k][16]`, zero-padded, for `multiply(packedB:)`:
    /// one packing serves every product on a prefix or suffix of its rows, and any prefix of its
    /// panels (attention's causal blocks).
    public static func pack(_ transB: BLAS.Transpose, k: Int, n: Int, b: UnsafePointer<Float>, ldb: Int,
                            into packed: UnsafeMutablePointer<Float>) {
        guard k > 0, n > 0 else { return }
        packB(transB, b, ldb, rows: 0..<k, columns: n, into: packed)
    }

    /// `C ← α·op(A)·B' + β·C` where B' is rows `rows` and the first `n` columns of a B packed by
    /// `pack` with `packedRows` rows in all; op(A) is `m × rows.count`.
    /// - Precondition: `rows` lies in `0..<packedRows`; n ≤ the packed width.
    public static func multiply(_ transA: BLAS.Transpose, m: Int, n: Int, alpha: Float = 1,
                                a: UnsafePointer<Float>, lda: Int,
                                packedB: UnsafePointer<Float>, packedRows: Int, rows: Range<Int>,
                                beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                                workspace: GEMMWorkspace, epilogue: Epilogue = .none, kernel: TileKernel = .active,
                                transposedA: TransposedA? = nil) {
        let k = rows.count
        guard prepare(m: m, n: n, k: k, beta: beta, c: c, ldc: ldc, epilogue: epilogue) else { return }
        let lanes = RegisterTile.columns
        let inPlaceT = transA != .none && (transposedA ?? Self.transposedA(for: kernel, lda: lda, columns: n)) == .inPlace
        let aPack = workspace.reserve(inPlaceT ? 0 : aPackCount(transA, m: m, min(depthChunk, k)))
        var k0 = 0
        while k0 < k {
            let depth = min(depthChunk, k - k0)
            chunkProduct(transA, m: m, n: n, depth: depth, alpha: alpha, a: a, lda: lda, aK0: k0,
                         b: packedB + (rows.lowerBound + k0) * lanes, panelStride: packedRows * lanes,
                         accumulate: k0 > 0 || beta != 0, relu: epilogue == .relu && k0 + depth == k,
                         mask: k0 + depth == k ? epilogue.mask : nil, kernel: kernel, inPlaceT: inPlaceT,
                         c: c, ldc: ldc, aPack: aPack, scratch: workspace.edgeBlock)
            k0 += depth
        }
    }

    /// Applies a β other than 0 and 1 to C up front (the chunks then add), and settles empty
    /// products (β·C, through the epilogue); false when nothing is left to multiply.
    private static func prepare(m: Int, n: Int, k: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                                epilogue: Epilogue) -> Bool {
        guard m > 0, n > 0 else { return false }
        if beta != 0 && beta != 1 {
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
        }
        guard k > 0 else {
            if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            if epilogue == .relu {
                for i in 0..<m { for j in 0..<n where c[i * ldc + j] < 0 { c[i * ldc + j] = 0 } }
            }
            if let mask = epilogue.mask {
                for i in 0..<m { for j in 0..<n where !(mask.base[i * mask.ld + j] > 0) { c[i * ldc + j] = 0 } }
            }
            return false
        }
        return true
    }

    /// Scratch floats for a transposed A's packed strips: all m rows of one chunk.
    private static func aPackCount(_ transA: BLAS.Transpose, m: Int, _ chunk: Int) -> Int {
        transA == .none ? 0 : (m + RegisterTile.rows - 1) / RegisterTile.rows * (chunk * RegisterTile.rows + 8)
    }

    /// One chunk of the inner dimension: `C (+)= α·op(A)[:, aK0..<aK0+depth]·B`, B as panels of
    /// `depth` rows × 16, `panelStride` floats apart, rows 16 apart.
    private static func chunkProduct(_ transA: BLAS.Transpose, m: Int, n: Int, depth: Int, alpha: Float,
                                     a: UnsafePointer<Float>, lda: Int, aK0 k0: Int,
                                     b bPack: UnsafePointer<Float>, panelStride: Int, accumulate: Bool, relu: Bool,
                                     mask: Epilogue.Mask?, kernel: TileKernel, inPlaceT: Bool, c: UnsafeMutablePointer<Float>, ldc: Int,
                                     aPack: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                                     rowsDone: ((Range<Int>) -> Void)? = nil, last: Bool = false, prefetchAhead: Int = 0) {
        let lanes = RegisterTile.columns, strip = RegisterTile.rows
        let panels = (n + lanes - 1) / lanes, span = depth * strip + 8
        // A transposed A read in place (`transposedA(for:lda:columns:)`) feeds the tile 6 floats per step, lda apart.
        if transA != .none && !inPlaceT {
            // Read in place, a transposed A's strip would step lda floats per k: packed, it is
            // one contiguous run that stays in L1 across the panels. All m rows of the chunk are
            // packed first, each row of A read once, left to right (one forward stream), and
            // spread over the strips.
            packStrips(a + k0 * lda, lda, depth: depth, m: m, into: aPack, span: span)
        }
        var i0 = 0
        while i0 < m {
            let groupEnd = min(i0 + rowGroup, m)
            let aGroup: UnsafePointer<Float>, rowStride: Int, kStride: Int, stripStride: Int
            if transA == .none {
                aGroup = a + i0 * lda + k0; rowStride = lda; kStride = 1; stripStride = strip * lda
            } else if inPlaceT {
                aGroup = a + k0 * lda + i0; rowStride = 1; kStride = lda; stripStride = strip
            } else {
                aGroup = UnsafePointer(aPack + (i0 / strip) * span); rowStride = 1; kStride = strip; stripStride = span
            }
            var panel = 0
            while panel < panels {
                let bBlock = bPack + panel * panelStride
                let width = min(lanes, n - panel * lanes)
                #if arch(x86_64)
                if kernel == .avx512 {
                    // Two full panels per block where they exist; the group's strips in one call;
                    // a last partial panel written through the tile's masked stores.
                    let pair = width == lanes && n - panel * lanes >= 2 * lanes
                    loom_column_avx512(Int32(groupEnd - i0), depth, aGroup, rowStride, kStride, stripStride, bBlock, lanes,
                                       panelStride, Int32(pair ? 2 * lanes : width), c + i0 * ldc + panel * lanes, ldc, alpha,
                                       accumulate ? 1 : 0, relu ? 1 : 0, mask.map { $0.base + i0 * $0.ld + panel * lanes }, mask?.ld ?? 0,
                                       panel == 0 ? prefetchAhead : 0)
                    panel += pair ? 2 : 1
                    continue
                }
                if width == lanes && TileKernel.hasCTile {
                    // The group's strips on this panel in one call: one call per 6 × 16 block
                    // cost about 3 % of a d = 256 step (perf) in argument passing alone.
                    loom_column_avx2(Int32(groupEnd - i0), depth, aGroup, rowStride, kStride, stripStride, bBlock, lanes,
                                     c + i0 * ldc + panel * lanes, ldc, alpha, accumulate ? 1 : 0, relu ? 1 : 0,
                                     mask.map { $0.base + i0 * $0.ld + panel * lanes }, mask?.ld ?? 0)
                    panel += 1
                    continue
                }
                #endif
                var i = i0, aStrip = aGroup
                while i < groupEnd {
                    let rows = min(strip, groupEnd - i)
                    let cBlock = c + i * ldc + panel * lanes
                    let maskBlock = mask.map { $0.base + i * $0.ld + panel * lanes }, ldm = mask?.ld ?? 0
                    if width == lanes {
                        if relu {
                            tile(rows, depth, aStrip, rowStride, kStride, bBlock, lanes, cBlock, ldc, alpha, accumulate, relu: true)
                        } else if let maskBlock {
                            tile(rows, depth, aStrip, rowStride, kStride, bBlock, lanes, cBlock, ldc, alpha, accumulate, relu: false,
                                 mask: maskBlock, ldm: ldm)
                        } else {
                            tile(rows, depth, aStrip, rowStride, kStride, bBlock, lanes, cBlock, ldc, alpha, accumulate, relu: false)
                        }
                    } else {
                        // A partial panel goes through a full-width scratch block.
                        tile(rows, depth, aStrip, rowStride, kStride, bBlock, lanes, scratch, lanes, alpha, false, relu: false)
                        for r in 0..<rows {
                            for j in 0..<width {
                                let value = scratch[r * lanes + j]
                                let x = accumulate ? cBlock[r * ldc + j] + value : value
                                if let maskBlock {
                                    cBlock[r * ldc + j] = maskBlock[r * ldm + j] > 0 ? x : 0
                                } else {
                                    cBlock[r * ldc + j] = relu && x < 0 ? 0 : x
                                }
                            }
                        }
                    }
                    i += strip
                    aStrip += stripStride
                }
                panel += 1
            }
            if last, let rowsDone { rowsDone(i0..<groupEnd) }
            i0 = groupEnd
        }
    }

    /// Rows 0..<m of a transposed A's chunk (`depth` steps, A's rows `lda` apart) into strips of 6,
    /// strip s at `span`·s, step p's 6 floats at 6·p, zeros past m. In C where the C tile is: the
    /// Swift loop kept its counters on the stack, and the packing took a fifth of a d = 64 weight
    /// gradient (Zen 3, `bench gemm`: 0.53–0.70 of the tile with it, 0.68–0.81 in C).
    private static func packStrips(_ a: UnsafePointer<Float>, _ lda: Int, depth: Int, m: Int,
                                   into aPack: UnsafeMutablePointer<Float>, span: Int) {
        #if arch(x86_64)
        if TileKernel.hasCTile {
            loom_pack_strips_avx2(a, lda, depth, Int32(m), aPack, span)
            return
        }
        #endif
        let strip = RegisterTile.rows, strips = (m + strip - 1) / strip
        for p in 0..<depth {
            let source = a + p * lda
            for s in 0..<strips {
                let first = s * strip, count = min(strip, m - first)
                let row = aPack + s * span + p * strip
                if first + 8 <= m {
                    // 8 wide: the 2 extra floats land in the next step's slot (or the strip's
                    // slack) and are overwritten before use; they are read from op(A)'s own
                    // columns, never past the caller's slice.
                    RegisterTile.store(RegisterTile.load(source + first), row)
                } else {
                    for r in 0..<count { row[r] = source[first + r] }
                    for r in count..<strip { row[r] = 0 }
                }
            }
        }
    }

    /// Copies rows `rows` of op(B) (`columns` wide) into contiguous 16-column panels,
    /// `[panel][row][16]`, zero-padding the last panel. Strided panels read in place conflict in
    /// L1 (at ldb = 768 or 256 floats their rows fall in 4 of its 64 sets).
    private static func packB(_ transB: BLAS.Transpose, _ b: UnsafePointer<Float>, _ ldb: Int,
                              rows: Range<Int>, columns n: Int, into packed: UnsafeMutablePointer<Float>) {
        let lanes = RegisterTile.columns, depth = rows.count
        let panels = (n + lanes - 1) / lanes
        if transB == .none {
            #if arch(x86_64)
            if TileKernel.hasCTile {
                loom_pack_rows_avx2(b + rows.lowerBound * ldb, ldb, depth, Int32(n), packed)
                return
            }
            #endif
            // Row by row, so B is read as one forward stream (a weight gradient's B comes from
            // memory; panel by panel, the reads would step ldb floats and defeat prefetching).
            let full = n / lanes, width = n - full * lanes, panelSize = depth * lanes
            for p in 0..<depth {
                let source = b + (rows.lowerBound + p) * ldb
                var out = packed + p * lanes
                for panel in 0..<full {
                    RegisterTile.store(RegisterTile.load(source + panel * lanes), out)
                    RegisterTile.store(RegisterTile.load(source + panel * lanes + 8), out + 8)
                    out += panelSize
                }
                if width > 0 {
                    out.update(from: source + full * lanes, count: width)
                    (out + width).update(repeating: 0, count: lanes - width)
                }
            }
            return
        }
        #if arch(x86_64)
        if TileKernel.hasCTile {
            // 8 × 8 blocks transposed in registers rather than the scalar gather below: the blocked
            // backward passes pack their transposed weights every step (d = 256: 1 MB each).
            for panel in 0..<panels {
                let first = panel * lanes
                loom_pack_panel_transposed_avx2(b + first * ldb + rows.lowerBound, ldb, depth, Int32(min(lanes, n - first)),
                                                packed + panel * depth * lanes)
            }
            return
        }
        #endif
        for panel in 0..<panels {
            let first = panel * lanes, width = min(lanes, n - first)
            let target = packed + panel * depth * lanes
            if width < lanes {
                for p in 0..<depth { (target + p * lanes + width).update(repeating: 0, count: lanes - width) }
            }
            for j in 0..<width {
                let source = b + (first + j) * ldb + rows.lowerBound
                for p in 0..<depth { target[p * lanes + j] = source[p] }
            }
        }
    }

    /// One block on the AVX2 tile.
    @inline(__always)
    private static func tile(_ rows: Int, _ k: Int, _ a: UnsafePointer<Float>, _ rowStride: Int, _ kStride: Int,
                             _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int,
                             _ alpha: Float, _ accumulate: Bool, relu: Bool,
                             mask: UnsafePointer<Float>? = nil, ldm: Int = 0) {
        TileKernel.avx2Block(rows: rows, k, a, rowStride: rowStride, kStride: kStride, b, ldb, c, ldc, alpha: alpha,
                             accumulating: accumulate, relu: relu, mask: mask, ldm: ldm)
    }
}

/// Scratch memory for `TiledGEMM`: grows to the largest request and is kept, so a training step
/// allocates nothing once warm. One per worker thread: `reserve` is not synchronised, so two
/// threads must never use one workspace at the same time.
///
/// `@unchecked Sendable`, because per-worker arrays of workspaces are captured by the `@Sendable`
/// bodies of `Parallel.forEach` (the transformer's products and attention items). That is safe
/// because each body uses only the workspace at its own index (the `worker` that `forEach` gives
/// one thread, or a piece index that it hands out once), and the parallel calls of one step run
/// one after another. Dropping the conformance would only move the `@unchecked` to those arrays'
/// owners; a lock would cost every product.
public final class GEMMWorkspace: @unchecked Sendable {
    private var storage: UnsafeMutablePointer<Float>
    private var capacity: Int
    /// A 6 × 16 block for partial panels of C.
    let edgeBlock: UnsafeMutablePointer<Float>

    public init() {
        capacity = 0
        storage = .allocate(capacity: 0)
        edgeBlock = .allocate(capacity: RegisterTile.rows * RegisterTile.columns)
    }

    deinit {
        storage.deallocate()
        transposedStorage.deallocate()
        edgeBlock.deallocate()
    }

    /// At least `count` floats, contents undefined; valid until the next call.
    public func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            storage.deallocate()
            capacity = max(count, capacity * 2)
            storage = .allocate(capacity: capacity)
        }
        return storage
    }

    private var transposedStorage: UnsafeMutablePointer<Float> = .allocate(capacity: 0)
    private var transposedCapacity = 0

    /// A second buffer, for a product computed as its transpose (`reserve` serves its packing).
    func reserveTransposedC(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > transposedCapacity {
            transposedStorage.deallocate()
            transposedCapacity = max(count, transposedCapacity * 2)
            transposedStorage = .allocate(capacity: transposedCapacity)
        }
        return transposedStorage
    }
}
