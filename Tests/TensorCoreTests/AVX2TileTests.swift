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

    /// `TiledGEMM` on the AVX2 tile, whose row groups go to the C kernel one panel column at a
    /// time (`loom_column_avx2`), against Swift's tile block by block: the same bits for row counts
    /// across a group's end and a short last strip, every epilogue, and A read in place or transposed.
    @Test(arguments: [(m: 100, n: 48, k: 70), (m: 97, n: 32, k: 256), (m: 13, n: 16, k: 5), (m: 6, n: 64, k: 1)])
    func aProductIsItsBlocks(m: Int, n: Int, k: Int) {
        let a = Self.values(m * k, seed: 8, nan: m * k > 40 ? 40 : nil), b = Self.values(k * n, seed: 9)
        var mask = Self.values(m * n, seed: 10)
        mask[min(7, m * n - 1)] = .nan
        let workspace = GEMMWorkspace()
        for epilogue in Epilogue.allCases {
            for transposed in [false, true] {
                // op(A) is m × k either way; stored transposed it is k × m.
                let stored = transposed ? (0..<(k * m)).map { a[($0 % m) * k + $0 / m] } : a
                let start = Self.values(m * n, seed: 11)
                var expected = start, product = start
                stored.withUnsafeBufferPointer { sa in
                    b.withUnsafeBufferPointer { b in
                        mask.withUnsafeBufferPointer { mk in
                            let maskBase = epilogue == .mask ? mk.baseAddress : nil
                            expected.withUnsafeMutableBufferPointer { out in
                                for i in stride(from: 0, to: m, by: 6) {
                                    for p in stride(from: 0, to: n, by: 16) {
                                        let aStart = transposed ? sa.baseAddress! + i : sa.baseAddress! + i * k
                                        Self.swiftBlock(min(6, m - i), k, aStart, transposed ? 1 : k, transposed ? m : 1,
                                                        b.baseAddress! + p, n, out.baseAddress! + i * n + p, n, 0.5,
                                                        epilogue == .accumulate, epilogue == .relu, maskBase.map { $0 + i * n + p }, n)
                                    }
                                }
                            }
                            product.withUnsafeMutableBufferPointer { out in
                                let tiled: TiledGEMM.Epilogue = epilogue == .relu ? .relu
                                    : epilogue == .mask ? .positiveIn(.init(mk.baseAddress!, ld: n)) : .none
                                TiledGEMM.multiply(transposed ? .transposed : .none, .none, m: m, n: n, k: k, alpha: 0.5,
                                                   a: sa.baseAddress!, lda: transposed ? m : k, b: b.baseAddress!, ldb: n,
                                                   beta: epilogue == .accumulate ? 1 : 0, c: out.baseAddress!, ldc: n,
                                                   workspace: workspace, epilogue: tiled, kernel: .avx2, transposedA: .inPlace)
                            }
                        }
                    }
                }
                #expect(expected.map(\.bitPattern) == product.map(\.bitPattern), "m \(m), n \(n), k \(k), \(epilogue), transposed \(transposed)")
            }
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
