import NumericTestSupport
import Testing
import TensorCore

@Suite struct BLASTests {
    /// Kernels multiply one head of a head-interleaved `[n, H, d]` tensor in place, through leading
    /// dimensions H·d: the product must read only that head's columns and write only C's block.
    @Test func sgemmHonoursLeadingDimensions() throws {
        let (n, heads, d) = (5, 3, 4)
        let head = 1
        let x = try TestInputs.normal(shape: [n, heads, d], seed: 31)   // (n, H, d) row-major
        let y = try TestInputs.normal(shape: [n, heads, d], seed: 32)
        // scores (n, n) = x[:, head, :] · y[:, head, :]ᵀ, written into columns 2..<7 of a (n, 9) buffer.
        let ldc = 9
        var scores = [Float](repeating: -1, count: n * ldc)
        x.tensor.withUnsafeBufferPointer { xs in
            y.tensor.withUnsafeBufferPointer { ys in
                scores.withUnsafeMutableBufferPointer { c in
                    BLAS.sgemm(.none, .transposed, m: n, n: n, k: d, alpha: 1,
                               a: xs.baseAddress! + head * d, lda: heads * d,
                               b: ys.baseAddress! + head * d, ldb: heads * d,
                               beta: 0, c: c.baseAddress! + 2, ldc: ldc)
                }
            }
        }
        var actual: [Float] = []
        var expected: [Double] = []
        for i in 0..<n {
            for j in 0..<ldc {
                let value = scores[i * ldc + j]
                guard (2..<(2 + n)).contains(j) else {
                    #expect(value == -1, "sgemm wrote outside its block at (\(i), \(j))")
                    continue
                }
                var sum = 0.0
                for p in 0..<d { sum += x.values[(i * heads + head) * d + p] * y.values[((j - 2) * heads + head) * d + p] }
                actual.append(value)
                expected.append(sum)
            }
        }
        // k = 4 products in float32: a few ulp; a wrong leading dimension gives an error of order 1.
        let report = ErrorReport(actual, expected)
        #expect(report.relative < 1e-6, "\(report)")
    }

    @Test func versionIsParsedFromTheConfiguration() {
        // e.g. "OpenBLAS 0.3.21 NO_AFFINITY ...": the version is the word after "OpenBLAS".
        let version = BLAS.version
        let parts = version.split(separator: ".")
        #expect(parts.count >= 2 && parts.allSatisfy { Int($0) != nil },
                "version \(version) from configuration \(BLAS.configuration)")
        #expect(BLAS.threadCount >= 1)
    }
}
