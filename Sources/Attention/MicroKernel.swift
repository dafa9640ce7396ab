/// Register-blocked matrix products for the forward pass, on panels packed 16 columns wide.
///
/// One call computes a block of up to 6 rows × 16 columns of C in twelve 8-lane accumulators
/// (AVX2 has sixteen registers: twelve sums, two B vectors, one broadcast A value). Per step of
/// the inner dimension it loads one 16-wide row of B and broadcasts one A value per row, so A is
/// read in place (any row stride) and never packed: the forward pass feeds it the query rows and
/// the probability strip as they lie. On the 2-core Zen VM at d = 64, both products of attention
/// ran at 38–40 GFLOP/s on one core and 36–38 per core with both busy, against about 36 per
/// core for OpenBLAS's sgemm on 2 threads; through OpenBLAS the forward pass also spent a tenth
/// of its time (perf) packing K, V and P and zeroing C for β = 0.
enum MicroKernel {
    /// Rows of C per block.
    static let rows = 6
    /// Columns of C per block, the width of a packed panel.
    static let columns = 16

    /// `S[R × 16·panels] = α · A[R × k] · B`, B stored as `panels` panels of `[k, 16]` one after
    /// the other (the packed keys of a tile), A rows `lda` apart, S rows `ldc` apart.
    /// - Precondition: 1 ≤ rows ≤ 6.
    static func products(rows: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                         panels: UnsafePointer<Float>, count: Int,
                         into c: UnsafeMutablePointer<Float>, ldc: Int) {
        // One specialised loop per row count: `block` folds its row tests for a constant R.
        switch rows {
        case 6: productLoop(6, k, alpha, a, lda, panels, count, c, ldc)
        case 5: productLoop(5, k, alpha, a, lda, panels, count, c, ldc)
        case 4: productLoop(4, k, alpha, a, lda, panels, count, c, ldc)
        case 3: productLoop(3, k, alpha, a, lda, panels, count, c, ldc)
        case 2: productLoop(2, k, alpha, a, lda, panels, count, c, ldc)
        default: productLoop(1, k, alpha, a, lda, panels, count, c, ldc)
        }
    }

    /// `C[R × 16·count] += A[R × k] · B`, B rows `ldb` apart with `count` 16-wide panels side by
    /// side (the packed values of a tile, `ldb` = padded d), A rows `lda` apart.
    /// - Precondition: 1 ≤ rows ≤ 6.
    static func accumulate(rows: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                           b: UnsafePointer<Float>, ldb: Int, count: Int,
                           into c: UnsafeMutablePointer<Float>, ldc: Int) {
        switch rows {
        case 6: accumulateLoop(6, k, a, lda, b, ldb, count, c, ldc)
        case 5: accumulateLoop(5, k, a, lda, b, ldb, count, c, ldc)
        case 4: accumulateLoop(4, k, a, lda, b, ldb, count, c, ldc)
        case 3: accumulateLoop(3, k, a, lda, b, ldb, count, c, ldc)
        case 2: accumulateLoop(2, k, a, lda, b, ldb, count, c, ldc)
        default: accumulateLoop(1, k, a, lda, b, ldb, count, c, ldc)
        }
    }

    @inline(__always)
    private static func productLoop(_ R: Int, _ k: Int, _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
                                    _ panels: UnsafePointer<Float>, _ count: Int,
                                    _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        for p in 0..<count {
            block(R, k, a, lda, panels + p * k * columns, columns, c + p * columns, ldc,
                  alpha: alpha, accumulating: false)
        }
    }

    @inline(__always)
    private static func accumulateLoop(_ R: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int,
                                       _ b: UnsafePointer<Float>, _ ldb: Int, _ count: Int,
                                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        for p in 0..<count {
            block(R, k, a, lda, b + p * columns, ldb, c + p * columns, ldc, alpha: 1, accumulating: true)
        }
    }

    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    private static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// One R × 16 block: `C = α·A·B` or `C += A·B` over k steps. Written out row by row (not as
    /// arrays) so that the twelve sums stay in registers.
    @inline(__always)
    private static func block(_ R: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int,
                              _ b: UnsafePointer<Float>, _ ldb: Int,
                              _ c: UnsafeMutablePointer<Float>, _ ldc: Int,
                              alpha: Float, accumulating: Bool) {
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
        var c40 = SIMD8<Float>(), c41 = SIMD8<Float>(), c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
        var pa = a, pb = b
        for _ in 0..<k {
            let b0 = load(pb), b1 = load(pb + 8)
            var x = SIMD8<Float>(repeating: pa[0])
            c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
            if R > 1 {
                x = SIMD8<Float>(repeating: pa[lda])
                c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
            }
            if R > 2 {
                x = SIMD8<Float>(repeating: pa[2 * lda])
                c20 = c20.addingProduct(x, b0); c21 = c21.addingProduct(x, b1)
            }
            if R > 3 {
                x = SIMD8<Float>(repeating: pa[3 * lda])
                c30 = c30.addingProduct(x, b0); c31 = c31.addingProduct(x, b1)
            }
            if R > 4 {
                x = SIMD8<Float>(repeating: pa[4 * lda])
                c40 = c40.addingProduct(x, b0); c41 = c41.addingProduct(x, b1)
            }
            if R > 5 {
                x = SIMD8<Float>(repeating: pa[5 * lda])
                c50 = c50.addingProduct(x, b0); c51 = c51.addingProduct(x, b1)
            }
            pa += 1
            pb += ldb
        }
        @inline(__always) func put(_ low: SIMD8<Float>, _ high: SIMD8<Float>, row r: Int) {
            let p = c + r * ldc
            if accumulating {
                store(load(p) + low, p); store(load(p + 8) + high, p + 8)
            } else {
                store(low * alpha, p); store(high * alpha, p + 8)
            }
        }
        put(c00, c01, row: 0)
        if R > 1 { put(c10, c11, row: 1) }
        if R > 2 { put(c20, c21, row: 2) }
        if R > 3 { put(c30, c31, row: 3) }
        if R > 4 { put(c40, c41, row: 4) }
        if R > 5 { put(c50, c51, row: 5) }
    }
}
