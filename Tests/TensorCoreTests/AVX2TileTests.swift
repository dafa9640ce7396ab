import Testing
import TensorCore

/// The AVX2 tile's C kernel (`TileKernel.avx2Block`, `avx2Strip`) against Swift's `RegisterTile`,
/// bit for bit: every row count, inner dimensions around the unrolling by four, A read along its
/// rows, packed in strips or transposed, every epilogue, and values that test the edges (NaN,
/// −0, negatives under the ReLU, a NaN mask). A product that agreed only to rounding would fail.
@Suite struct AVX2TileTests {
    struct Case: CustomStringConvertible, Sendable {
        var rowStride: Int, kStride: Int, k: Int, ldb = 16
        var description: String { "A(r, p) at r·\(rowStride) + p·\(kStride), B rows \(ldb) apart, k \(k)" }
    }

    // In place along rows (attention's strips, NN products), packed strips of 6, transposed in
    // place: the C tile's loops with constant strides, and its general loop (B rows 24 apart).
    static let cases: [Case] = [0, 1, 3, 4, 5, 7, 64, 67, 130].flatMap { k in
        [Case(rowStride: max(k, 1) + 3, kStride: 1, k: k), Case(rowStride: 1, kStride: 6, k: k),
         Case(rowStride: 1, kStride: 23, k: k), Case(rowStride: max(k, 1) + 3, kStride: 1, k: k, ldb: 24),
         Case(rowStride: 1, kStride: 6, k: k, ldb: 24)]
    }

    enum Epilogue: CaseIterable { case plain, accumulate, relu, mask }

    /// Values with sign changes, a few exact zeros of either sign and one NaN in A.
    static func values(_ count: Int, seed: Int, nan: Int? = nil) -> [Float] {
        var x = (0..<count).map { i in Float((i * 37 + seed * 11) % 29 - 14) / 8 + Float(i % 3) / 1024 }
        if count > 5 { x[5] = -0.0 }
        if let nan, nan < count { x[nan] = .nan }
        return x
    }

    @Test(arguments: cases) func theCTileHasTheSwiftTilesBits(_ c: Case) {
        let ldc = 21, ldm = 19
        let aCount = 6 * c.rowStride + max(c.k, 1) * c.kStride + 8
        let a = Self.values(aCount, seed: 1, nan: c.k > 3 ? c.rowStride * 2 + 3 * c.kStride : nil)
        let b = Self.values(max(c.k, 1) * c.ldb + 16, seed: 2)
        let start = Self.values(6 * ldc, seed: 3)
        var mask = Self.values(6 * ldm, seed: 4)
        mask[ldm + 2] = .nan
        for rows in 1...6 {
            for epilogue in Epilogue.allCases {
                for alpha: Float in [1, -0.75] {
                    var swift = start, viaC = start
                    a.withUnsafeBufferPointer { a in
                        b.withUnsafeBufferPointer { b in
                            mask.withUnsafeBufferPointer { m in
                                let accumulate = epilogue == .accumulate, relu = epilogue == .relu
                                let maskBase = epilogue == .mask ? m.baseAddress : nil
                                swift.withUnsafeMutableBufferPointer { out in
                                    Self.swiftBlock(rows, c.k, a.baseAddress!, c.rowStride, c.kStride, b.baseAddress!, c.ldb, out.baseAddress!, ldc,
                                                    alpha, accumulate, relu, maskBase, ldm)
                                }
                                viaC.withUnsafeMutableBufferPointer { out in
                                    TileKernel.avx2Block(rows: rows, c.k, a.baseAddress!, rowStride: c.rowStride, kStride: c.kStride,
                                                         b.baseAddress!, c.ldb, out.baseAddress!, ldc, alpha: alpha,
                                                         accumulating: accumulate, relu: relu, mask: maskBase, ldm: ldm)
                                }
                            }
                        }
                    }
                    #expect(swift.map(\.bitPattern) == viaC.map(\.bitPattern), "\(c), \(rows) rows, \(epilogue), α \(alpha)")
                }
            }
        }
    }

    /// The strip entry attention calls: several panels per call, each its own block of C.
    @Test(arguments: [(6, 64, 3, 16), (5, 130, 2, 16), (1, 7, 4, 16), (4, 0, 1, 16), (6, 67, 2, 40), (3, 9, 3, 17)])
    func aStripIsItsPanelsBlockByBlock(rows: Int, k: Int, count: Int, ldb: Int) {
        let lda = k + 5, ldc = 16 * count + 3, panelStride = max(k, 1) * ldb + 16
        let a = Self.values(6 * lda + 8, seed: 5)
        let b = Self.values(count * panelStride, seed: 6)
        let start = Self.values(6 * ldc, seed: 7)
        for accumulating in [false, true] {
            var expected = start, strip = start
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    expected.withUnsafeMutableBufferPointer { out in
                        for p in 0..<count {
                            Self.swiftBlock(rows, k, a.baseAddress!, lda, 1, b.baseAddress! + p * panelStride, ldb, out.baseAddress! + 16 * p, ldc,
                                            0.125, accumulating, false, nil, 0)
                        }
                    }
                    strip.withUnsafeMutableBufferPointer { out in
                        TileKernel.avx2Strip(rows: rows, k: k, a: a.baseAddress!, lda: lda, b: b.baseAddress!, ldb: ldb,
                                             panelStride: panelStride, count: count, c: out.baseAddress!, ldc: ldc,
                                             alpha: 0.125, accumulating: accumulating)
                    }
                }
            }
            #expect(expected.map(\.bitPattern) == strip.map(\.bitPattern), "\(rows) rows, k \(k), \(count) panels, B rows \(ldb) apart, accumulating \(accumulating)")
        }
    }

    /// Swift's tile for a run-time row count.
    static func swiftBlock(_ rows: Int, _ k: Int, _ a: UnsafePointer<Float>, _ rowStride: Int, _ kStride: Int,
                           _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float,
                           _ accumulating: Bool, _ relu: Bool, _ mask: UnsafePointer<Float>?, _ ldm: Int) {
        RegisterTile.block(rows: rows, k, a, rowStride: rowStride, kStride: kStride, b, ldb, c, ldc, alpha: alpha,
                           accumulating: accumulating, relu: relu, mask: mask, ldm: ldm)
    }
}
