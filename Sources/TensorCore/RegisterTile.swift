/// The register-blocked inner loop every Loom matrix product runs on: a block of up to 6 rows ×
/// 16 columns of C held in twelve 8-lane accumulators (AVX2 has sixteen registers: twelve sums,
/// two B vectors, one broadcast A value).
///
/// Per step of the inner dimension it loads one 16-wide row of B and broadcasts one A value per
/// row. A is read in place through two strides, so a row-major A (`rowStride` = lda,
/// `kStride` = 1) and a transposed one (`rowStride` = 1, `kStride` = lda) need no packing.
/// Inlined into its callers so that a constant row count folds the row tests away.
public enum RegisterTile {
    /// Rows of C per block.
    public static let rows = 6
    /// Columns of C per block.
    public static let columns = 16

    /// One R × 16 block over k steps: `C = α·A·B`, or `C += α·A·B` when `accumulating`; with
    /// `relu`, each result x is stored as max(x, 0) (NaN kept), so a ReLU costs no pass of its own;
    /// with `mask` (C's shape, rows `ldm` apart), x is kept where mask > 0 and stored as 0 elsewhere.
    /// A(r, p) is `a[r·rowStride + p·kStride]`; B(p, 0..<16) starts at `b + p·ldb`; C rows are
    /// `ldc` apart. Written out row by row (not as arrays) so that the twelve sums stay in registers.
    /// - Precondition: 1 ≤ R ≤ 6; B rows hold 16 readable floats.
    @inlinable @inline(__always)
    public static func block(_ R: Int, _ k: Int, _ a: UnsafePointer<Float>, rowStride: Int, kStride: Int,
                             _ b: UnsafePointer<Float>, _ ldb: Int,
                             _ c: UnsafeMutablePointer<Float>, _ ldc: Int,
                             alpha: Float, accumulating: Bool, relu: Bool = false,
                             mask: UnsafePointer<Float>? = nil, ldm: Int = 0) {
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
        var c40 = SIMD8<Float>(), c41 = SIMD8<Float>(), c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
        var pa = a, pb = b
        for _ in 0..<k {
            let b0 = load(pb), b1 = load(pb + 8)
            var x = SIMD8<Float>(repeating: pa[0])
            c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
            if R > 1 {
                x = SIMD8<Float>(repeating: pa[rowStride])
                c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
            }
            if R > 2 {
                x = SIMD8<Float>(repeating: pa[2 * rowStride])
                c20 = c20.addingProduct(x, b0); c21 = c21.addingProduct(x, b1)
            }
            if R > 3 {
                x = SIMD8<Float>(repeating: pa[3 * rowStride])
                c30 = c30.addingProduct(x, b0); c31 = c31.addingProduct(x, b1)
            }
            if R > 4 {
                x = SIMD8<Float>(repeating: pa[4 * rowStride])
                c40 = c40.addingProduct(x, b0); c41 = c41.addingProduct(x, b1)
            }
            if R > 5 {
                x = SIMD8<Float>(repeating: pa[5 * rowStride])
                c50 = c50.addingProduct(x, b0); c51 = c51.addingProduct(x, b1)
            }
            pa += kStride
            pb += ldb
        }
        @inline(__always) func put(_ low: SIMD8<Float>, _ high: SIMD8<Float>, row r: Int) {
            let p = c + r * ldc
            var x0 = low * alpha, x1 = high * alpha
            if accumulating { x0 = load(p) + x0; x1 = load(p + 8) + x1 }
            if relu { x0 = x0.replacing(with: 0, where: x0 .< 0); x1 = x1.replacing(with: 0, where: x1 .< 0) }
            if let mask {
                let m = mask + r * ldm, zero = SIMD8<Float>()
                x0 = zero.replacing(with: x0, where: load(m) .> zero); x1 = zero.replacing(with: x1, where: load(m + 8) .> zero)
            }
            store(x0, p); store(x1, p + 8)
        }
        put(c00, c01, row: 0)
        if R > 1 { put(c10, c11, row: 1) }
        if R > 2 { put(c20, c21, row: 2) }
        if R > 3 { put(c30, c31, row: 3) }
        if R > 4 { put(c40, c41, row: 4) }
        if R > 5 { put(c50, c51, row: 5) }
    }

    /// `block` for a row count known only at run time (1 ≤ rows ≤ 6): one specialised body per count.
    @inlinable @inline(__always)
    public static func block(rows: Int, _ k: Int, _ a: UnsafePointer<Float>, rowStride: Int, kStride: Int,
                             _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int,
                             alpha: Float, accumulating: Bool, relu: Bool = false,
                             mask: UnsafePointer<Float>? = nil, ldm: Int = 0) {
        switch rows {
        case 6: block(6, k, a, rowStride: rowStride, kStride: kStride, b, ldb, c, ldc, alpha: alpha, accumulating: accumulating, relu: relu, mask: mask, ldm: ldm)
        case 5: block(5, k, a, rowStride: rowStride, kStride: kStride, b, ldb, c, ldc, alpha: alpha, accumulating: accumulating, relu: relu, mask: mask, ldm: ldm)
        case 4: block(4, k, a, rowStride: rowStride, kStride: kStride, b, ldb, c, ldc, alpha: alpha, accumulating: accumulating, relu: relu, mask: mask, ldm: ldm)
        case 3: block(3, k, a, rowStride: rowStride, kStride: kStride, b, ldb, c, ldc, alpha: alpha, accumulating: accumulating, relu: relu, mask: mask, ldm: ldm)
        case 2: block(2, k, a, rowStride: rowStride, kStride: kStride, b, ldb, c, ldc, alpha: alpha, accumulating: accumulating, relu: relu, mask: mask, ldm: ldm)
        default: block(1, k, a, rowStride: rowStride, kStride: kStride, b, ldb, c, ldc, alpha: alpha, accumulating: accumulating, relu: relu, mask: mask, ldm: ldm)
        }
    }

    @inlinable @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inlinable @inline(__always)
    static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }
}
