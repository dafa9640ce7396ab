import NumericTestSupport
import Testing
import TensorCore

/// ε as in PyTorch and GPT-2.
private let epsilon = 1e-5

/// Layer normalisation in float64, with the statistics and gradients Loom's kernels return.
private enum LayerNormReference {
    /// `y = (x − μ)·rstd·γ + β` per row of C columns, with the biased variance.
    static func forward(_ x: [Double], gamma: [Double], beta: [Double])
        -> (output: [Double], mean: [Double], rstd: [Double]) {
        let columns = gamma.count
        var output = x, mean: [Double] = [], rstd: [Double] = []
        for start in stride(from: 0, to: x.count, by: columns) {
            let row = x[start..<(start + columns)]
            let mu = row.reduce(0, +) / Double(columns)
            let variance = row.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(columns)
            let s = 1 / (variance + epsilon).squareRoot()
            for j in 0..<columns { output[start + j] = (x[start + j] - mu) * s * gamma[j] + beta[j] }
            mean.append(mu)
            rstd.append(s)
        }
        return (output, mean, rstd)
    }

    /// The gradients of `Σ dy ⊙ y` with respect to x, γ and β (llm.c's `layernorm_backward`).
    static func backward(_ dy: [Double], _ x: [Double], gamma: [Double])
        -> (input: [Double], gamma: [Double], beta: [Double]) {
        let columns = gamma.count
        let (_, mean, rstd) = forward(x, gamma: gamma, beta: [Double](repeating: 0, count: columns))
        var dx = [Double](repeating: 0, count: x.count)
        var dGamma = [Double](repeating: 0, count: columns)
        var dBeta = [Double](repeating: 0, count: columns)
        for (r, start) in stride(from: 0, to: x.count, by: columns).enumerated() {
            let normalized = (0..<columns).map { (x[start + $0] - mean[r]) * rstd[r] }
            let g = (0..<columns).map { gamma[$0] * dy[start + $0] }
            let gMean = g.reduce(0, +) / Double(columns)
            let projectionMean = zip(g, normalized).reduce(0) { $0 + $1.0 * $1.1 } / Double(columns)
            for j in 0..<columns {
                dx[start + j] = (g[j] - gMean - normalized[j] * projectionMean) * rstd[r]
                dGamma[j] += normalized[j] * dy[start + j]
                dBeta[j] += dy[start + j]
            }
        }
        return (dx, dGamma, dBeta)
    }
}

/// A layer norm input: its shape and the mean its values are drawn around.
struct LayerNormCase: Sendable, CustomTestStringConvertible {
    var shape: [Int]
    var mean = 0.0
    var testDescription: String { "\(Tensor.describe(shape)) around \(mean)" }
}

/// Inputs of one case: x, γ around 1, β around 0, all float32-exact.
private func layerNormInputs(_ c: LayerNormCase, seed: UInt64) throws
    -> (x: (tensor: Tensor, values: [Double]), gamma: (tensor: Tensor, values: [Double]),
        beta: (tensor: Tensor, values: [Double])) {
    let columns = c.shape.last!
    return (try TestInputs.normal(shape: c.shape, seed: seed, mean: c.mean, standardDeviation: 2),
            try TestInputs.normal(shape: [columns], seed: seed + 1, mean: 1, standardDeviation: 0.5),
            try TestInputs.normal(shape: [columns], seed: seed + 2, standardDeviation: 0.5))
}

@Suite struct LayerNormTests {
    static let cases = [
        LayerNormCase(shape: [3, 1]), LayerNormCase(shape: [4, 7]), LayerNormCase(shape: [2, 16]),
        LayerNormCase(shape: [2, 3, 33]), LayerNormCase(shape: [64]),
        // |μ| ≫ σ: E[x²] − μ² would cancel catastrophically in float32; two passes must not.
        LayerNormCase(shape: [4, 48], mean: 1000),
    ]

    @Test(arguments: cases)
    func forwardMatchesFloat64(_ c: LayerNormCase) throws {
        let (x, gamma, beta) = try layerNormInputs(c, seed: 61)
        let (output, mean, rstd) = try Kernels.layerNorm(x.tensor, gamma: gamma.tensor, beta: beta.tensor)
        let reference = LayerNormReference.forward(x.values, gamma: gamma.values, beta: beta.values)
        #expect(output.shape == c.shape)
        #expect(mean.shape == Array(c.shape.dropLast()))
        #expect(rstd.shape == Array(c.shape.dropLast()))
        // Around 0 each output carries a few float32 roundings: 5e-7 (measured ≤ 8e-8).
        // Around M = 1000 the float32 row sum (≈ 48 000, ulp 0.004, about six roundings deep in
        // the SIMD reduction) puts μ off by up to ≈ 2.5e-4, and x − μ carries that at the scale
        // of σ = 2: up to ≈ 1.2e-4 relative, so 3e-4 (measured 6e-5). E[x²] − μ² would put σ²
        // off by ~M²·2⁻²⁴/σ² ≈ 1.5%, far outside either bound.
        let tolerance = c.mean == 0 ? 5e-7 : 3e-4
        let outputReport = ErrorReport(output.storage, reference.output)
        #expect(outputReport.relative < tolerance, "output: \(outputReport.describing(shape: c.shape))")
        // μ and rstd are each a short float32 reduction and one division or square root: a few ulp.
        let meanReport = ErrorReport(mean.storage, reference.mean)
        #expect(meanReport.relative < 1e-6, "mean: \(meanReport)")
        let rstdReport = ErrorReport(rstd.storage, reference.rstd)
        #expect(rstdReport.relative < 1e-6, "rstd: \(rstdReport)")
    }

    /// First link: the float64 backward against central differences of the float64 forward, for
    /// the loss L = Σ w ⊙ y with random weights w (so dy = w).
    @Test func float64BackwardMatchesCentralDifferences() throws {
        let c = LayerNormCase(shape: [3, 9])
        let (x, gamma, beta) = try layerNormInputs(c, seed: 62)
        let w = try TestInputs.normal(shape: c.shape, seed: 65).values
        func loss(_ x: [Double], _ gamma: [Double], _ beta: [Double]) -> Double {
            zip(LayerNormReference.forward(x, gamma: gamma, beta: beta).output, w).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let analytic = LayerNormReference.backward(w, x.values, gamma: gamma.values)
        // 1e-6: the central difference of a smooth float64 function of O(1) inputs is good to ~1e-10.
        checkGradient({ loss($0, gamma.values, beta.values) }, at: x.values, analytic: analytic.input, name: "x")
        checkGradient({ loss(x.values, $0, beta.values) }, at: gamma.values, analytic: analytic.gamma, name: "γ")
        checkGradient({ loss(x.values, gamma.values, $0) }, at: beta.values, analytic: analytic.beta, name: "β")
    }

    /// Second link: the float32 kernel's backward against the float64 backward.
    @Test(arguments: cases)
    func backwardMatchesFloat64(_ c: LayerNormCase) throws {
        let (x, gamma, beta) = try layerNormInputs(c, seed: 63)
        let dy = try TestInputs.normal(shape: c.shape, seed: 66)
        let forward = try Kernels.layerNorm(x.tensor, gamma: gamma.tensor, beta: beta.tensor)
        let gradients = try Kernels.layerNormBackward(outputGradient: dy.tensor, input: x.tensor,
                                                      gamma: gamma.tensor, mean: forward.mean, rstd: forward.rstd)
        let reference = LayerNormReference.backward(dy.values, x.values, gamma: gamma.values)
        #expect(gradients.input.shape == c.shape)
        #expect(gradients.gamma.shape == [c.shape.last!])
        #expect(gradients.beta.shape == [c.shape.last!])
        // dx subtracts two row means from g and cancels, so allow twice the forward's 5e-7
        // (measured ≤ 1.1e-7). Around 1000 the forward's μ error enters n̂, and through it dx
        // and dγ, at the same 1.2e-4 scale (measured 5e-6 and 2.6e-5).
        let tolerance = c.mean == 0 ? 1e-6 : 3e-4
        let dx = ErrorReport(gradients.input.storage, reference.input)
        #expect(dx.relative < tolerance, "dx: \(dx.describing(shape: c.shape))")
        let dGamma = ErrorReport(gradients.gamma.storage, reference.gamma)
        #expect(dGamma.relative < tolerance, "dγ: \(dGamma)")
        // dβ = Σ_rows dy: a float32 sum of at most 6 terms.
        let dBeta = ErrorReport(gradients.beta.storage, reference.beta)
        #expect(dBeta.relative < 1e-6, "dβ: \(dBeta)")
    }

    @Test func rawBackwardAccumulates() throws {
        let (rows, columns) = (2, 19)
        let c = LayerNormCase(shape: [rows, columns])
        let (x, gamma, beta) = try layerNormInputs(c, seed: 64)
        let dy = try TestInputs.normal(shape: c.shape, seed: 67)
        let forward = try Kernels.layerNorm(x.tensor, gamma: gamma.tensor, beta: beta.tensor)
        let fresh = try Kernels.layerNormBackward(outputGradient: dy.tensor, input: x.tensor, gamma: gamma.tensor,
                                                  mean: forward.mean, rstd: forward.rstd)
        var dx = try Tensor(repeating: 1, shape: c.shape)
        var dGamma = try Tensor(repeating: 2, shape: [columns])
        var dBeta = try Tensor(repeating: 3, shape: [columns])
        dy.tensor.withUnsafeBufferPointer { dy in
            x.tensor.withUnsafeBufferPointer { x in
                gamma.tensor.withUnsafeBufferPointer { gamma in
                    forward.mean.withUnsafeBufferPointer { mean in
                        forward.rstd.withUnsafeBufferPointer { rstd in
                            dx.withUnsafeMutableBufferPointer { dx in
                                dGamma.withUnsafeMutableBufferPointer { dGamma in
                                    dBeta.withUnsafeMutableBufferPointer { dBeta in
                                        Kernels.layerNormBackward(
                                            outputGradient: dy.baseAddress!, input: x.baseAddress!,
                                            gamma: gamma.baseAddress!, mean: mean.baseAddress!,
                                            rstd: rstd.baseAddress!, rows: rows, columns: columns,
                                            inputGradient: dx.baseAddress!, gammaGradient: dGamma.baseAddress!,
                                            betaGradient: dBeta.baseAddress!)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        // The same terms added to 1, 2, 3 instead of 0: equal up to one rounding of the sum.
        for (accumulated, (gradient, start)) in [(dx, (fresh.input, 1.0)), (dGamma, (fresh.gamma, 2.0)),
                                                 (dBeta, (fresh.beta, 3.0))] {
            let report = ErrorReport(accumulated.storage, gradient.doubles.map { $0 + start })
            #expect(report.relative < 1e-6, "accumulating onto \(start): \(report)")
        }
    }

    @Test func constantRowNormalisesToBeta() throws {
        // σ² = 0 and C = 16 make μ exact, so x − μ is exactly 0 and the output is β itself.
        let columns = 16
        let x = try Tensor(repeating: 5, shape: [2, columns])
        let gamma = try TestInputs.normal(shape: [columns], seed: 68).tensor
        let beta = try TestInputs.normal(shape: [columns], seed: 69).tensor
        let (output, mean, rstd) = try Kernels.layerNorm(x, gamma: gamma, beta: beta)
        #expect(Array(output.storage[0..<columns]) == beta.storage)
        #expect(Array(output.storage[columns...]) == beta.storage)
        #expect(mean.storage == [5, 5])
        #expect(rstd.storage == [Float](repeating: 1 / Float(epsilon).squareRoot(), count: 2))
    }

    @Test func emptyRowsAndEmptyColumns() throws {
        let noColumns = try Kernels.layerNorm(Tensor(zeros: [3, 0]), gamma: Tensor(zeros: [0]), beta: Tensor(zeros: [0]))
        #expect(noColumns.output.shape == [3, 0])
        #expect(noColumns.mean.storage == [0, 0, 0])
        #expect(noColumns.rstd.storage == [Float](repeating: 1 / Float(epsilon).squareRoot(), count: 3))
        let noRows = try Kernels.layerNorm(Tensor(zeros: [0, 4]), gamma: Tensor(zeros: [4]), beta: Tensor(zeros: [4]))
        #expect(noRows.output.shape == [0, 4])
        #expect(noRows.mean.shape == [0])
    }

    @Test func forwardShapeErrorsNameBothShapes() throws {
        let x = try Tensor(zeros: [2, 4])
        let four = try Tensor(zeros: [4])
        let three = try Tensor(zeros: [3])
        let badGamma = #expect(throws: TensorError.self) { try Kernels.layerNorm(x, gamma: three, beta: four) }
        #expect(badGamma?.description == "layerNorm (input, gamma): shapes [2, 4] and [3] do not fit")
        let badBeta = #expect(throws: TensorError.self) { try Kernels.layerNorm(x, gamma: four, beta: three) }
        #expect(badBeta?.description == "layerNorm (input, beta): shapes [2, 4] and [3] do not fit")
        let scalar = try Tensor(zeros: [])
        let rankZero = #expect(throws: TensorError.self) { try Kernels.layerNorm(scalar, gamma: four, beta: four) }
        #expect(rankZero?.description == "layerNorm needs rank ≥ 1 (input, gamma): shapes [] and [4] do not fit")
    }

    @Test func backwardShapeErrorsNameBothShapes() throws {
        let x = try Tensor(zeros: [2, 4])
        let gamma = try Tensor(zeros: [4])
        let rowStatistics = try Tensor(zeros: [2])
        let badDy = #expect(throws: TensorError.self) {
            try Kernels.layerNormBackward(outputGradient: Tensor(zeros: [4, 2]), input: x, gamma: gamma,
                                          mean: rowStatistics, rstd: rowStatistics)
        }
        #expect(badDy?.description == "layerNormBackward (input, outputGradient): shapes [2, 4] and [4, 2] do not fit")
        let badMean = #expect(throws: TensorError.self) {
            try Kernels.layerNormBackward(outputGradient: x, input: x, gamma: gamma,
                                          mean: Tensor(zeros: [3]), rstd: rowStatistics)
        }
        #expect(badMean?.description == "layerNormBackward (input, mean): shapes [2, 4] and [3] do not fit")
        let badRstd = #expect(throws: TensorError.self) {
            try Kernels.layerNormBackward(outputGradient: x, input: x, gamma: gamma,
                                          mean: rowStatistics, rstd: Tensor(zeros: [2, 1]))
        }
        #expect(badRstd?.description == "layerNormBackward (input, rstd): shapes [2, 4] and [2, 1] do not fit")
        let badGamma = #expect(throws: TensorError.self) {
            try Kernels.layerNormBackward(outputGradient: x, input: x, gamma: Tensor(zeros: [5]),
                                          mean: rowStatistics, rstd: rowStatistics)
        }
        #expect(badGamma?.description == "layerNorm (input, gamma): shapes [2, 4] and [5] do not fit")
    }
}
