import NumericTestSupport
import TensorCore
import Testing
@testable import Models

/// Small weight gradients cut along k (`WorkSplit.depthBlocks`): right against float64, the same
/// bits on any number of threads (more workers than blocks cut each block's C as well), and C's
/// padding between rows left alone.
@Suite struct WorkSplitDepthTests {
    /// m × n over k: run as its transpose (40 < 70), as written (70 × 40), and with the block
    /// count capped (k = 9000: 8 blocks of 1125); every k leaves a ragged last block.
    @Test(arguments: [(m: 40, n: 70, k: 2500), (m: 70, n: 40, k: 2100), (m: 20, n: 33, k: 9000)])
    func sameBitsOnAnyThreadCountAndRightAgainstFloat64(_ shape: (m: Int, n: Int, k: Int)) {
        let (m, n, k) = (shape.m, shape.n, shape.k), ldc = n + 3
        #expect(WorkSplit.splitsDepth(.transposed, .none, m: m, n: n, k: k, beta: 0, epilogue: .none))
        var random = TestRandom(seed: UInt64(m * 131 + k))
        let a = (0..<(k * m)).map { _ in Float(random.nextNormal()) }    // k × m, read transposed
        let b = (0..<(k * n)).map { _ in Float(random.nextNormal()) }    // k × n
        var results: [[Float]] = []
        for threads in [1, 2, 3, 5] {
            var c = [Float](repeating: -7, count: m * ldc)
            c.withUnsafeMutableBufferPointer { c in
                WorkSplit(threads: threads).gemm(.transposed, .none, m: m, n: n, k: k, alpha: 0.5, a: a, lda: m, b: b, ldb: n,
                                                 beta: 0, c: c.baseAddress!, ldc: ldc)
            }
            results.append(c)
        }
        for (index, threads) in [2, 3, 5].enumerated() {
            // Compared as a Bool: a failing array comparison would print every element.
            let same = results[index + 1].map(\.bitPattern) == results[0].map(\.bitPattern)
            #expect(same, "\(threads) threads give other bits than one")
        }
        let c = results[0]
        #expect((0..<m).allSatisfy { i in c[(i * ldc + n)..<(i * ldc + ldc)].allSatisfy { $0 == -7 } }, "padding between rows written")
        // ‖C − C₆₄‖/‖C₆₄‖ ≤ 1e-5: float32 sums of ≤ 9000 terms, about 1e-6 apart from float64.
        var difference = 0.0, norm = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var expected = 0.0
                for p in 0..<k { expected += Double(a[p * m + i]) * Double(b[p * n + j]) }
                expected *= 0.5
                difference += (Double(c[i * ldc + j]) - expected) * (Double(c[i * ldc + j]) - expected)
                norm += expected * expected
            }
        }
        #expect((difference / norm).squareRoot() <= 1e-5)
    }

    /// Only weight gradients without β, an epilogue or too few rows of k are cut along it.
    @Test func onlyPlainWeightGradientsAreCutAlongK() {
        #expect(!WorkSplit.splitsDepth(.none, .none, m: 64, n: 64, k: 4096, beta: 0, epilogue: .none))
        #expect(!WorkSplit.splitsDepth(.transposed, .none, m: 64, n: 64, k: 4096, beta: 1, epilogue: .none))
        #expect(!WorkSplit.splitsDepth(.transposed, .none, m: 64, n: 64, k: 4096, beta: 0, epilogue: .relu))
        #expect(!WorkSplit.splitsDepth(.transposed, .none, m: 64, n: 64, k: 2047, beta: 0, epilogue: .none))
        #expect(!WorkSplit.splitsDepth(.transposed, .none, m: 1024, n: 1024, k: 4096, beta: 0, epilogue: .none))
        #expect(WorkSplit.splitsDepth(.transposed, .none, m: 1024, n: 256, k: 4096, beta: 0, epilogue: .none))
    }
}
