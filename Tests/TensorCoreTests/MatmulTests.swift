import NumericTestSupport
import Testing
import TensorCore

/// float32 sgemm against a float64 triple loop on the same (float32-exact) inputs: k rounded
/// products and sums give a relative error near √k·2⁻²⁴ ≈ 5e-7 for k ≤ 65 (measured ≤ 1.4e-7
/// here). 2e-6 allows other kernels' summation orders; a wrong transpose,
/// stride or batch offset gives an error of order 1.
private let matmulTolerance = 2e-6

/// One product `op(A)·op(B)`: extents, transposes and which operands carry a batch axis.
struct MatmulCase: Sendable, CustomTestStringConvertible {
    var m: Int, n: Int, k: Int
    var transposeA = false, transposeB = false
    /// The batch extent of A or B, nil for a 2-D operand.
    var batchA: Int? = nil, batchB: Int? = nil

    var shapeA: [Int] { (batchA.map { [$0] } ?? []) + (transposeA ? [k, m] : [m, k]) }
    var shapeB: [Int] { (batchB.map { [$0] } ?? []) + (transposeB ? [n, k] : [k, n]) }
    var batch: Int? { batchA ?? batchB }

    var testDescription: String {
        "\(Tensor.describe(shapeA))\(transposeA ? "ᵀ" : "")·\(Tensor.describe(shapeB))\(transposeB ? "ᵀ" : "")"
    }

    /// Every transpose combination of ragged and degenerate extents, 2-D only.
    static let matrices: [MatmulCase] = {
        let extents = [(1, 1, 1), (3, 5, 7), (17, 16, 33), (64, 31, 65), (2, 40, 1)]
        return extents.flatMap { m, n, k in
            [(false, false), (true, false), (false, true), (true, true)].map { ta, tb in
                MatmulCase(m: m, n: n, k: k, transposeA: ta, transposeB: tb)
            }
        }
    }()

    /// Batched and shared operands under every transpose combination.
    static let batches: [MatmulCase] = {
        let batchings: [(Int?, Int?)] = [(3, 3), (3, nil), (nil, 3), (1, 1)]
        return batchings.flatMap { batchA, batchB in
            [(false, false), (true, false), (false, true), (true, true)].map { ta, tb in
                MatmulCase(m: 5, n: 6, k: 7, transposeA: ta, transposeB: tb, batchA: batchA, batchB: batchB)
            }
        }
    }()
}

/// `α·op(A)·op(B)` in float64 with a plain loop, element by element from the stored layout.
private func referenceMatmul(_ c: MatmulCase, _ a: [Double], _ b: [Double], alpha: Double = 1) -> [Double] {
    let (m, n, k) = (c.m, c.n, c.k)
    let items = c.batch ?? 1
    var result = [Double](repeating: 0, count: items * m * n)
    for item in 0..<items {
        let aBase = c.batchA == nil ? 0 : item * m * k
        let bBase = c.batchB == nil ? 0 : item * k * n
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let aValue = a[aBase + (c.transposeA ? p * m + i : i * k + p)]
                    let bValue = b[bBase + (c.transposeB ? j * k + p : p * n + j)]
                    sum += aValue * bValue
                }
                result[item * m * n + i * n + j] = alpha * sum
            }
        }
    }
    return result
}

@Suite struct MatmulTests {
    @Test(arguments: MatmulCase.matrices + MatmulCase.batches)
    func matchesFloat64Loop(_ c: MatmulCase) throws {
        let a = try TestInputs.normal(shape: c.shapeA, seed: 11)
        let b = try TestInputs.normal(shape: c.shapeB, seed: 12)
        let product = try matmul(a.tensor, b.tensor, transposeA: c.transposeA, transposeB: c.transposeB)
        let expectedShape = (c.batch.map { [$0] } ?? []) + [c.m, c.n]
        #expect(product.shape == expectedShape)
        let report = ErrorReport(product.storage, referenceMatmul(c, a.values, b.values))
        #expect(report.relative < matmulTolerance, "\(report.describing(shape: expectedShape))")
    }

    @Test func alphaScalesTheProduct() throws {
        let c = MatmulCase(m: 4, n: 3, k: 5, transposeA: true)
        let a = try TestInputs.normal(shape: c.shapeA, seed: 13)
        let b = try TestInputs.normal(shape: c.shapeB, seed: 14)
        let product = try matmul(a.tensor, b.tensor, transposeA: true, alpha: -0.25)
        let report = ErrorReport(product.storage, referenceMatmul(c, a.values, b.values, alpha: -0.25))
        #expect(report.relative < matmulTolerance, "\(report)")
    }

    @Test func intoAccumulatesWithBeta() throws {
        let c = MatmulCase(m: 6, n: 5, k: 9, transposeB: true, batchA: 2, batchB: 2)
        let a = try TestInputs.normal(shape: c.shapeA, seed: 15)
        let b = try TestInputs.normal(shape: c.shapeB, seed: 16)
        var output = try TestInputs.normal(shape: [2, 6, 5], seed: 17)
        try matmul(a.tensor, b.tensor, into: &output.tensor, transposeB: true, alpha: 0.5, beta: 1)
        let product = referenceMatmul(c, a.values, b.values, alpha: 0.5)
        let expected = zip(output.values, product).map { $0 + $1 }
        let report = ErrorReport(output.tensor.storage, expected)
        #expect(report.relative < matmulTolerance, "\(report)")
    }

    @Test func intoWithZeroBetaIgnoresNaNInTheOutput() throws {
        let c = MatmulCase(m: 3, n: 4, k: 2)
        let a = try TestInputs.normal(shape: c.shapeA, seed: 18)
        let b = try TestInputs.normal(shape: c.shapeB, seed: 19)
        var output = try Tensor(repeating: .nan, shape: [3, 4])
        try matmul(a.tensor, b.tensor, into: &output)
        let report = ErrorReport(output.storage, referenceMatmul(c, a.values, b.values))
        #expect(report.relative < matmulTolerance, "\(report)")
    }

    @Test func intoAnOperandItselfStillGivesTheProduct() throws {
        // c shares a's storage (copy on write): the write must copy first, not read half-written rows.
        let c = MatmulCase(m: 8, n: 8, k: 8)
        let a = try TestInputs.normal(shape: c.shapeA, seed: 20)
        let b = try TestInputs.normal(shape: c.shapeB, seed: 21)
        var output = a.tensor
        try matmul(a.tensor, b.tensor, into: &output, beta: 1)
        let expected = zip(a.values, referenceMatmul(c, a.values, b.values)).map { $0 + $1 }
        let report = ErrorReport(output.storage, expected)
        #expect(report.relative < matmulTolerance, "\(report)")
        #expect(a.tensor.storage == a.values.map(Float.init), "the operand itself must be unchanged")
    }

    @Test func emptyInnerExtentGivesZerosOrScaledOutput() throws {
        let a = try Tensor(zeros: [2, 0])
        let b = try Tensor(zeros: [0, 3])
        let product = try matmul(a, b)
        #expect(product.shape == [2, 3])
        #expect(product.storage == [Float](repeating: 0, count: 6))

        // An empty sum: c ← β·c.
        var output = try Tensor(shape: [2, 3], storage: [1, 2, 3, 4, 5, 6])
        try matmul(a, b, into: &output, beta: 2)
        #expect(output.storage == [2, 4, 6, 8, 10, 12])
        var nans = try Tensor(repeating: .nan, shape: [2, 3])
        try matmul(a, b, into: &nans, beta: 0)
        #expect(nans.storage == [Float](repeating: 0, count: 6))
    }

    @Test func emptyOuterExtentsGiveEmptyResults() throws {
        #expect(try matmul(Tensor(zeros: [0, 4]), Tensor(zeros: [4, 3])).shape == [0, 3])
        #expect(try matmul(Tensor(zeros: [2, 4]), Tensor(zeros: [4, 0])).shape == [2, 0])
        #expect(try matmul(Tensor(zeros: [0, 2, 4]), Tensor(zeros: [4, 3])).shape == [0, 2, 3])
    }

    @Test(arguments: [
        ([2, 3], [4, 5], false, false),     // inner extents differ
        ([2, 3], [2, 3], false, false),     // fits only with a transpose
        ([2, 3], [3, 4], true, false),      // Aᵀ is 3 × 2
        ([2, 3], [4, 3], false, false),     // fits only as ·Bᵀ
        ([3], [3, 2], false, false),        // rank 1
        ([2, 2, 2, 2], [2, 2], false, false),  // rank 4
        ([2, 3, 4], [3, 4, 5], false, false),  // batch extents differ
    ] as [([Int], [Int], Bool, Bool)])
    func mismatchNamesBothShapes(_ shapeA: [Int], _ shapeB: [Int], _ transposeA: Bool, _ transposeB: Bool) throws {
        let a = try Tensor(zeros: shapeA)
        let b = try Tensor(zeros: shapeB)
        let error = #expect(throws: TensorError.self) {
            try matmul(a, b, transposeA: transposeA, transposeB: transposeB)
        }
        #expect(error == .shapeMismatch(operation: "matmul", shapeA, shapeB))
        #expect(error?.description
                    == "matmul: shapes \(Tensor.describe(shapeA)) and \(Tensor.describe(shapeB)) do not fit")
    }

    @Test func extentBeyondCBLASInt32Throws() throws {
        // Empty operands, so nothing is allocated: only the plan sees k = 3·10⁹ > Int32.max.
        let a = try Tensor(zeros: [0, 3_000_000_000])
        let b = try Tensor(zeros: [3_000_000_000, 0])
        let error = #expect(throws: TensorError.self) { try matmul(a, b) }
        #expect(error?.description == "invalid shape: matmul of [0, 3000000000] and [3000000000, 0]: "
                    + "an extent exceeds cblas's Int32 limit 2147483647")
    }

    @Test func wrongOutputShapeNamesBothShapesAndWritesNothing() throws {
        let a = try Tensor(repeating: 1, shape: [2, 3])
        let b = try Tensor(repeating: 1, shape: [3, 4])
        var output = try Tensor(repeating: 9, shape: [4, 2])
        let error = #expect(throws: TensorError.self) { try matmul(a, b, into: &output) }
        #expect(error?.description == "matmul output: shapes [2, 4] and [4, 2] do not fit")
        #expect(output.storage.allSatisfy { $0 == 9 })
    }
}
