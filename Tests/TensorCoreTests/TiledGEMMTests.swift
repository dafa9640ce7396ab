import NumericTestSupport
import Testing
@testable import TensorCore

/// Loom's own product against a float64 reference, for every transpose, shapes that are not whole
/// 6 × 16 blocks, inner dimensions past one 256-step chunk, every kind of β, and leading
/// dimensions wider than the operands (nothing outside C's block may change).
@Suite struct TiledGEMMTests {
    struct Case: CustomStringConvertible, Sendable {
        var transA: BLAS.Transpose, transB: BLAS.Transpose
        var m: Int, n: Int, k: Int, alpha: Float, beta: Float
        var description: String { "\(transA)·\(transB) \(m)×\(n)×\(k) α \(alpha) β \(beta)" }
    }

    static let cases: [Case] = [
        Case(transA: .none, transB: .none, m: 64, n: 192, k: 64, alpha: 1, beta: 0),
        Case(transA: .none, transB: .none, m: 37, n: 67, k: 19, alpha: 1, beta: 1),
        Case(transA: .none, transB: .transposed, m: 50, n: 64, k: 256, alpha: 1, beta: 0),
        Case(transA: .none, transB: .transposed, m: 13, n: 35, k: 300, alpha: 0.5, beta: 1),
        Case(transA: .transposed, transB: .none, m: 64, n: 48, k: 600, alpha: 1, beta: 0),
        Case(transA: .transposed, transB: .none, m: 29, n: 67, k: 517, alpha: 1, beta: 0.25),
        Case(transA: .transposed, transB: .transposed, m: 7, n: 21, k: 33, alpha: -2, beta: 1),
        // Several row groups of 96, the last one ragged.
        Case(transA: .transposed, transB: .none, m: 203, n: 40, k: 300, alpha: 1, beta: 0),
        Case(transA: .none, transB: .none, m: 150, n: 33, k: 70, alpha: 1, beta: 1),
        Case(transA: .none, transB: .none, m: 1, n: 1, k: 1, alpha: 1, beta: 0),
        // Panel pairs, then an odd full panel, then a partial one (AVX-512 takes 32 columns at once).
        Case(transA: .none, transB: .none, m: 31, n: 90, k: 64, alpha: 1, beta: 0),
        Case(transA: .transposed, transB: .none, m: 20, n: 64, k: 270, alpha: 0.5, beta: 1),
        Case(transA: .none, transB: .none, m: 5, n: 16, k: 0, alpha: 1, beta: 0.5),
        // A transposed A's strips where the packing's 8-float copies stop short (m − 6s < 8).
        Case(transA: .transposed, transB: .none, m: 8, n: 16, k: 9, alpha: 1, beta: 0),
        Case(transA: .transposed, transB: .none, m: 14, n: 33, k: 257, alpha: 1, beta: 1),
        Case(transA: .transposed, transB: .none, m: 3, n: 20, k: 5, alpha: 1, beta: 0),
    ]

    /// Every case on every kernel this CPU supports (so the AVX2 tile is still tested on an
    /// AVX-512 machine), a transposed A both packed and read in place, each against float64 and
    /// all bit for bit against each other.
    @Test(arguments: cases) func everyKernelMatchesFloat64AndTheOthers(_ c: Case) throws {
        let first = try check(c, kernel: TileKernel.supported[0])
        for kernel in TileKernel.supported {
            for way in [TiledGEMM.TransposedA.packed, .inPlace] where c.transA == .transposed || way == .packed {
                let result = try check(c, kernel: kernel, transposedA: way)
                #expect(result.map(\.bitPattern) == first.map(\.bitPattern),
                        "\(kernel), transposed A \(way.rawValue), differs from \(TileKernel.supported[0]) on \(c)")
            }
        }
    }

    /// Which weight gradients run as their transpose: fewer rows than columns (unless that
    /// computes 5 % more padding), or a last panel mostly padding (67 logits); never a shape and
    /// its transpose both, or the transposed call would transpose again.
    @Test func weightGradientsRunAsTheirTransposeWhenThatComputesLess() {
        #expect(TiledGEMM.runsAsTranspose(m: 64, n: 256))     // dW-ffn-in at d = 64
        #expect(TiledGEMM.runsAsTranspose(m: 64, n: 67))      // dW-unembed at d = 64
        #expect(TiledGEMM.runsAsTranspose(m: 256, n: 67))     // dW-unembed at d = 256: 80 columns for 67
        #expect(!TiledGEMM.runsAsTranspose(m: 1024, n: 256))  // dW-ffn-out: whole strips and panels
        #expect(!TiledGEMM.runsAsTranspose(m: 256, n: 256))
        let both = (1...200).flatMap { m in
            (1...200).filter { n in TiledGEMM.runsAsTranspose(m: m, n: n) && TiledGEMM.runsAsTranspose(m: n, n: m) }.map { (m, $0) }
        }
        #expect(both.isEmpty, "shapes whose transpose would transpose again: \(both.prefix(5))")
    }

    /// A weight gradient with fewer rows than columns runs as its transpose (up to a row length
    /// of B, past which the last case stays as written); the packed-B path never does, so the
    /// two give the same bits only if the transpose changes nothing.
    @Test(arguments: [(20, 70, 300, Float(0)), (6, 17, 40, 1), (64, 256, 600, 0.25), (1, 2, 1, 1), (8, 600, 40, 1),
                      (256, 67, 300, 0.5), (128, 67, 40, 0)])
    func aWideWeightGradientHasTheBitsOfTheProductAsWritten(m: Int, n: Int, k: Int, beta: Float) throws {
        var random = TestRandom(seed: UInt64(m * 7 + n * 3 + k))
        let lda = m + 2, ldb = n + 1, ldc = n + 3
        let a = (0..<(k * lda)).map { _ in Float(random.nextNormal()) }      // op(A) = Aᵀ is m × k
        let b = (0..<(k * ldb)).map { _ in Float(random.nextNormal()) }      // op(B) = B is k × n
        let c0 = (0..<(m * ldc)).map { _ in Float(random.nextNormal()) }
        var packed = [Float](repeating: .nan, count: TiledGEMM.packedCount(k: k, n: n))
        TiledGEMM.pack(.none, k: k, n: n, b: b, ldb: ldb, into: &packed)
        let workspace = GEMMWorkspace()
        for kernel in TileKernel.supported {
            var direct = c0, viaPacked = c0
            TiledGEMM.multiply(.transposed, .none, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb,
                               beta: beta, c: &direct, ldc: ldc, workspace: workspace, kernel: kernel)
            packed.withUnsafeBufferPointer { packed in
                TiledGEMM.multiply(.transposed, m: m, n: n, alpha: 0.5, a: a, lda: lda, packedB: packed.baseAddress!,
                                   packedRows: k, rows: 0..<k, beta: beta, c: &viaPacked, ldc: ldc, workspace: workspace, kernel: kernel)
            }
            #expect(direct.map(\.bitPattern) == viaPacked.map(\.bitPattern), "\(kernel), \(m)×\(n)×\(k) β \(beta)")
        }
    }

    @Test func theAVX2TilesWayOfReadingATransposedAIsMeasuredForNarrowAndWideProducts() {
        let narrow = TiledGEMM.avx2TransposedA, wide = TiledGEMM.avx2TransposedAWide
        let wideFrom = TiledGEMM.wideFromColumns
        for measured in [narrow, wide] {
            #expect(measured.speedup.isFinite && measured.speedup > 0)
            #expect(measured.choice == (measured.speedup >= 1.03 ? .inPlace : .packed))
        }
        #expect(TiledGEMM.transposedA(for: .avx2, lda: 256, columns: 64) == narrow.choice)
        #expect(TiledGEMM.transposedA(for: .avx2, lda: 256, columns: wideFrom - 1) == narrow.choice)
        #expect(TiledGEMM.transposedA(for: .avx2, lda: 256, columns: wideFrom) == wide.choice)
        #expect(TiledGEMM.transposedA(for: .avx2, lda: 256, columns: 1024) == wide.choice)
        for columns in [16, 64, wideFrom, 1024] {
            #expect(TiledGEMM.transposedA(for: .avx512, lda: 256, columns: columns) == .inPlace)
        }
        // Rows 2 KB apart or more are packed on either tile (each step would start a new page).
        for kernel in TileKernel.allCases {
            for columns in [64, wideFrom] {
                let measured = columns >= wideFrom ? wide : narrow
                let narrower = kernel == .avx512 ? TiledGEMM.TransposedA.inPlace : measured.choice
                #expect(TiledGEMM.transposedA(for: kernel, lda: TiledGEMM.packedFromLeadingDimension - 1, columns: columns) == narrower)
                #expect(TiledGEMM.transposedA(for: kernel, lda: TiledGEMM.packedFromLeadingDimension, columns: columns) == .packed)
                #expect(TiledGEMM.transposedA(for: kernel, lda: 1024, columns: columns) == .packed)
            }
        }
    }

    /// C after the product of case `c` on `kernel`, checked against float64.
    func check(_ c: Case, kernel: TileKernel, transposedA: TiledGEMM.TransposedA? = nil) throws -> [Float] {
        // Stored shapes, with 3 extra columns in every leading dimension.
        let (aRows, aColumns) = c.transA == .none ? (c.m, c.k) : (c.k, c.m)
        let (bRows, bColumns) = c.transB == .none ? (c.k, c.n) : (c.n, c.k)
        let lda = aColumns + 3, ldb = bColumns + 3, ldc = c.n + 3
        var random = TestRandom(seed: UInt64(c.m * 1_000_003 + c.n * 1009 + c.k))
        let a = (0..<(aRows * lda)).map { _ in Float(random.nextNormal()) }
        let b = (0..<(bRows * ldb)).map { _ in Float(random.nextNormal()) }
        let c0 = (0..<(c.m * ldc)).map { _ in Float(random.nextNormal()) }
        func opA(_ i: Int, _ p: Int) -> Double { Double(c.transA == .none ? a[i * lda + p] : a[p * lda + i]) }
        func opB(_ p: Int, _ j: Int) -> Double { Double(c.transB == .none ? b[p * ldb + j] : b[j * ldb + p]) }
        var expected: [Double] = [], actual: [Float] = []
        var result = c0
        let workspace = GEMMWorkspace()
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                result.withUnsafeMutableBufferPointer { out in
                    TiledGEMM.multiply(c.transA, c.transB, m: c.m, n: c.n, k: c.k, alpha: c.alpha,
                                       a: a.baseAddress!, lda: lda, b: b.baseAddress!, ldb: ldb,
                                       beta: c.beta, c: out.baseAddress!, ldc: ldc, workspace: workspace, kernel: kernel,
                                       transposedA: transposedA)
                }
            }
        }
        for i in 0..<c.m {
            for j in 0..<ldc {
                guard j < c.n else {
                    #expect(result[i * ldc + j] == c0[i * ldc + j], "wrote outside C's block at (\(i), \(j))")
                    continue
                }
                var sum = 0.0
                for p in 0..<c.k { sum += opA(i, p) * opB(p, j) }
                expected.append(Double(c.alpha) * sum + (c.beta == 0 ? 0 : Double(c.beta) * Double(c0[i * ldc + j])))
                actual.append(result[i * ldc + j])
            }
        }
        // float32 sums of ≤ 600 products: ‖error‖/‖C‖ of order 1e-7; a wrong index gives order 1.
        let error = relativeError(actual, expected)
        #expect(error < 2e-6, "\(c) on \(kernel), transposed A \(transposedA?.rawValue ?? "by kernel"): ‖a−b‖/‖b‖ = \(error)")
        return result
    }

    /// The same workspace serves a large transposed product and then a small one.
    @Test func workspaceIsReusedAcrossShapes() throws {
        let workspace = GEMMWorkspace()
        for (m, n, k) in [(20, 100, 90), (6, 16, 4)] {
            var random = TestRandom(seed: UInt64(m + n + k))
            let a = (0..<(m * k)).map { _ in Float(random.nextNormal()) }
            let b = (0..<(n * k)).map { _ in Float(random.nextNormal()) }
            var out = [Float](repeating: 0, count: m * n)
            TiledGEMM.multiply(.none, .transposed, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k,
                               beta: 0, c: &out, ldc: n, workspace: workspace)
            var expected: [Double] = []
            for i in 0..<m {
                for j in 0..<n {
                    var sum = 0.0
                    for p in 0..<k { sum += Double(a[i * k + p]) * Double(b[j * k + p]) }
                    expected.append(sum)
                }
            }
            #expect(relativeError(out, expected) < 1e-6)
        }
    }

    /// `pack` lays op(B) out as `[panel][k][16]`, zero past n, exactly (a copy): op(B) stored and
    /// transposed, with panels whole, ragged and narrower than 8 (the transposed one goes through
    /// 8 × 8 blocks in registers on AVX2 machines), depths that are and are not multiples of 8,
    /// and B's rows wider than op(B) needs.
    @Test(arguments: [BLAS.Transpose.none, .transposed])
    func packLaysOutEveryPanelExactly(transB: BLAS.Transpose) {
        var random = TestRandom(seed: 41)
        for (k, n) in [(1, 1), (7, 5), (8, 8), (13, 9), (16, 16), (64, 17), (29, 40), (300, 67)] {
            let ldb = (transB == .none ? n : k) + 3
            let b = (0..<((transB == .none ? k : n) * ldb)).map { _ in Float(random.nextNormal()) }
            var packed = [Float](repeating: .nan, count: TiledGEMM.packedCount(k: k, n: n))
            TiledGEMM.pack(transB, k: k, n: n, b: b, ldb: ldb, into: &packed)
            var expected: [Float] = []
            for panel in 0..<((n + 15) / 16) {
                for p in 0..<k {
                    for lane in 0..<16 {
                        let j = panel * 16 + lane
                        expected.append(j >= n ? 0 : transB == .none ? b[p * ldb + j] : b[j * ldb + p])
                    }
                }
            }
            #expect(packed.map(\.bitPattern) == expected.map(\.bitPattern), "k \(k), n \(n), \(transB)")
        }
    }

    /// One packing of B serves products on a range of its rows and a prefix of its columns, with
    /// A as stored or transposed, and matches the float64 product of those slices.
    @Test(arguments: [BLAS.Transpose.none, .transposed], [BLAS.Transpose.none, .transposed])
    func prepackedSlicesMatchFloat64(transA: BLAS.Transpose, transB: BLAS.Transpose) throws {
        let (k, width) = (300, 37)     // past one 256-step chunk; 3 panels, the last partial
        var random = TestRandom(seed: 77)
        let b = (0..<(k * width)).map { _ in Float(random.nextNormal()) }          // op(B) is k × width
        let ldb = transB == .none ? width : k
        var packed = [Float](repeating: .nan, count: TiledGEMM.packedCount(k: k, n: width))
        TiledGEMM.pack(transB, k: k, n: width, b: b, ldb: ldb, into: &packed)
        func opB(_ p: Int, _ j: Int) -> Double { Double(transB == .none ? b[p * ldb + j] : b[j * ldb + p]) }
        let workspace = GEMMWorkspace()
        for (rows, n, m) in [(0..<300, 37, 13), (0..<40, 16, 7), (120..<300, 33, 20), (5..<6, 1, 1)] {
            let depth = rows.count, lda = transA == .none ? depth + 2 : m + 2
            let a = (0..<((transA == .none ? m : depth) * lda)).map { _ in Float(random.nextNormal()) }
            func opA(_ i: Int, _ p: Int) -> Double { Double(transA == .none ? a[i * lda + p] : a[p * lda + i]) }
            let ldc = n + 1
            var results: [[Float]] = []
            for way in transA == .none ? [TiledGEMM.TransposedA.packed] : [.packed, .inPlace] {
                var c = [Float](repeating: 1, count: m * ldc)
                packed.withUnsafeBufferPointer { packed in
                    TiledGEMM.multiply(transA, m: m, n: n, alpha: 0.5, a: a, lda: lda, packedB: packed.baseAddress!,
                                       packedRows: k, rows: rows, beta: 1, c: &c, ldc: ldc, workspace: workspace, transposedA: way)
                }
                results.append(c)
            }
            let c = results[0]
            #expect(results.allSatisfy { $0.map(\.bitPattern) == c.map(\.bitPattern) }, "a transposed A packed and in place differ")
            var expected: [Double] = [], actual: [Float] = []
            for i in 0..<m {
                for j in 0..<n {
                    var sum = 0.0
                    for p in 0..<depth { sum += opA(i, p) * opB(rows.lowerBound + p, j) }
                    expected.append(1 + 0.5 * sum)
                    actual.append(c[i * ldc + j])
                }
                #expect(c[i * ldc + n] == 1, "wrote past column \(n) in row \(i)")
            }
            let error = relativeError(actual, expected)
            #expect(error < 2e-6, "rows \(rows), n \(n), m \(m): ‖a−b‖/‖b‖ = \(error)")
        }
    }

    /// The mask epilogue stores exactly what the ReLU's backward pass makes of the plain product
    /// (x where the mask is > 0, else 0; NaN x kept where the mask passes it, dropped where not;
    /// NaN and −0 masks block), applied once after the last 256-step chunk: on full and partial
    /// panels, ragged strips, β = 0 and 1, k = 0, and packed B, with the mask's own stride.
    @Test(arguments: [(37, 67, 19, Float(0)), (13, 35, 300, 1), (64, 256, 64, 0), (7, 16, 600, 0), (5, 3, 0, 1), (9, 80, 40, 1)])
    func maskEpilogueEqualsProductThenReLUBackward(_ shape: (m: Int, n: Int, k: Int, beta: Float)) throws {
        let (m, n, k, beta) = shape
        let lda = k + 1, ldb = n + 2, ldc = n + 3, ldm = n + 5
        var random = TestRandom(seed: UInt64(m * 131 + n * 17 + k))
        var a = (0..<(m * lda)).map { _ in Float(random.nextNormal()) }
        let b = (0..<(k * ldb)).map { _ in Float(random.nextNormal()) }
        let c0 = (0..<(m * ldc)).map { _ in Float(random.nextNormal()) }
        var mask = (0..<(m * ldm)).map { _ in Float(random.nextNormal()) }
        if k > 0 { a[0] = .nan }                // row 0 of C is NaN
        mask[0] = .nan; mask[1] = -0.0; mask[2] = 0; mask[3] = .leastNonzeroMagnitude
        let workspace = GEMMWorkspace()
        var plain = c0
        TiledGEMM.multiply(.none, .none, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: &plain, ldc: ldc,
                           workspace: workspace, kernel: .avx2)
        var expected = plain
        plain.withUnsafeBufferPointer { plain in
            mask.withUnsafeBufferPointer { mask in
                expected.withUnsafeMutableBufferPointer { expected in
                    for i in 0..<m {
                        Kernels.reluBackward(outputGradient: plain.baseAddress! + i * ldc, input: mask.baseAddress! + i * ldm, count: n,
                                             inputGradient: expected.baseAddress! + i * ldc, accumulating: false)
                    }
                }
            }
        }
        var passed = 0, blocked = 0
        for i in 0..<m { for j in 0..<n { if mask[i * ldm + j] > 0 { passed += 1 } else { blocked += 1 } } }
        #expect(passed > 0 && blocked > 0, "the mask should both pass and block entries")
        try mask.withUnsafeBufferPointer { maskBuffer in
            let epilogue = TiledGEMM.Epilogue.positiveIn(.init(maskBuffer.baseAddress!, ld: ldm))
            for kernel in TileKernel.supported {
                var fused = c0, packedFused = c0
                TiledGEMM.multiply(.none, .none, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: &fused, ldc: ldc,
                                   workspace: workspace, epilogue: epilogue, kernel: kernel)
                var packed = [Float](repeating: .nan, count: max(1, TiledGEMM.packedCount(k: k, n: n)))
                TiledGEMM.pack(.none, k: k, n: n, b: b, ldb: ldb, into: &packed)
                packed.withUnsafeBufferPointer { packed in
                    TiledGEMM.multiply(.none, m: m, n: n, a: a, lda: lda, packedB: packed.baseAddress!, packedRows: k, rows: 0..<k,
                                       beta: beta, c: &packedFused, ldc: ldc, workspace: workspace, epilogue: epilogue, kernel: kernel)
                }
                let same = fused.map(\.bitPattern) == expected.map(\.bitPattern)
                let samePacked = packedFused.map(\.bitPattern) == expected.map(\.bitPattern)
                #expect(same, "\(kernel): the mask epilogue differs from the product then reluBackward (or wrote outside C)")
                #expect(samePacked, "\(kernel), packed B: the mask epilogue differs")
            }
            // Blocks of C from (row, column) take the mask from the same place.
            let shifted = epilogue.offset(row: 1, column: 2)
            guard case .positiveIn(let moved) = shifted else { Issue.record("offset lost the mask"); return }
            #expect(moved.base == maskBuffer.baseAddress! + ldm + 2 && moved.ld == ldm)
            _ = try #require(TiledGEMM.Epilogue.relu.offset(row: 3, column: 4) == .relu)
        }
    }

    /// The ReLU epilogue stores exactly `max(x, 0)` of the plain product (bit for bit, NaN kept,
    /// applied once after the last 256-step chunk, not per chunk), which is the float64 product
    /// through a ReLU; on full and partial panels, ragged strips, β = 0 and 1, and packed B.
    @Test(arguments: [(37, 67, 19, Float(0)), (13, 35, 300, 1), (64, 256, 64, 0), (7, 16, 600, 1), (5, 3, 0, 1), (9, 80, 40, 1)])
    func reluEpilogueEqualsProductThenReLU(_ shape: (m: Int, n: Int, k: Int, beta: Float)) throws {
        let (m, n, k, beta) = shape
        let lda = k + 1, ldb = n + 2, ldc = n + 3
        var random = TestRandom(seed: UInt64(m * 7919 + n * 31 + k))
        var a = (0..<(m * lda)).map { _ in Float(random.nextNormal()) }
        let b = (0..<(k * ldb)).map { _ in Float(random.nextNormal()) }
        let c0 = (0..<(m * ldc)).map { _ in Float(random.nextNormal()) }
        if k > 0 { a[0] = .nan }    // row 0 of C is NaN: ReLU must keep it
        let workspace = GEMMWorkspace()
        var plain = c0
        TiledGEMM.multiply(.none, .none, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: &plain, ldc: ldc,
                           workspace: workspace, kernel: .avx2)
        for kernel in TileKernel.supported {
        var fused = c0, packedFused = c0
        TiledGEMM.multiply(.none, .none, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: &fused, ldc: ldc,
                           workspace: workspace, epilogue: .relu, kernel: kernel)
        var packed = [Float](repeating: .nan, count: max(1, TiledGEMM.packedCount(k: k, n: n)))
        TiledGEMM.pack(.none, k: k, n: n, b: b, ldb: ldb, into: &packed)
        packed.withUnsafeBufferPointer { packed in
            TiledGEMM.multiply(.none, m: m, n: n, a: a, lda: lda, packedB: packed.baseAddress!, packedRows: k, rows: 0..<k,
                               beta: beta, c: &packedFused, ldc: ldc, workspace: workspace, epilogue: .relu, kernel: kernel)
        }
        var expected: [Double] = [], actual: [Float] = []
        var negatives = 0
        for i in 0..<m {
            for j in 0..<ldc {
                let index = i * ldc + j
                guard j < n else {
                    #expect(fused[index] == c0[index] && packedFused[index] == c0[index], "wrote outside C at (\(i), \(j))")
                    continue
                }
                let x = plain[index], want: Float = x < 0 ? 0 : x
                #expect(fused[index].bitPattern == want.bitPattern, "\(kernel) (\(i), \(j)): \(fused[index]) for relu(\(x))")
                #expect(packedFused[index].bitPattern == want.bitPattern, "\(kernel), packed B, (\(i), \(j))")
                if x < 0 { negatives += 1 }
                guard !(k > 0 && i == 0) else { continue }
                var sum = beta == 0 ? 0 : Double(c0[index])
                for p in 0..<k { sum += Double(a[i * lda + p]) * Double(b[p * ldb + j]) }
                expected.append(max(sum, 0))
                actual.append(fused[index])
            }
        }
        #expect(negatives > 0, "the case must have negative results for the ReLU to act on")
        if !expected.isEmpty {
            let error = relativeError(actual, expected)
            #expect(error < 2e-6, "\(kernel): ‖a−b‖/‖b‖ = \(error)")
        }
        }
    }

    /// `LOOM_KERNEL` values: a kernel name or `auto`; anything else, or a kernel this CPU lacks,
    /// is an error that names the setting and the fix.
    @Test func kernelSettingsAreCheckedWithTheFix() throws {
        #expect(try TileKernel.chosen(nil) == TileKernel.best)
        #expect(try TileKernel.chosen("auto") == TileKernel.best)
        #expect(try TileKernel.chosen("AVX2") == .avx2)
        #expect(TileKernel.supported.first == .avx2)
        do {
            _ = try TileKernel.chosen("sse9")
            Issue.record("an unknown kernel was accepted")
        } catch {
            #expect(error.description.contains("LOOM_KERNEL=sse9 names no kernel; use avx2, avx512 or auto"))
        }
        if TileKernel.avx512.isSupported {
            #expect(try TileKernel.chosen("avx512") == .avx512)
        } else {
            #expect(throws: TileKernelError.unsupported(.avx512)) { try TileKernel.chosen("avx512") }
        }
    }
}
