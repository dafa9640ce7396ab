extension Kernels {
    /// Layer normalisation of each row of a row-major `rows × columns` matrix (forward pass).
    ///
    /// With μ and σ² the mean and biased variance of row x and ε = `epsilon`:
    /// `rstd = 1/√(σ² + ε)`, `output[j] = (x[j] − μ)·rstd·γ[j] + β[j]`.
    /// The variance is taken in a second pass over `x − μ` rather than as `E[x²] − μ²`, which
    /// cancels catastrophically in float32 when |μ| ≫ σ. An empty row has μ = 0 and σ² = 0.
    /// - Parameters:
    ///   - input: `rows · columns` floats, row-major.
    ///   - rows: the number of rows, ≥ 0.
    ///   - columns: the length of each row (C), ≥ 0.
    ///   - gamma: C scales γ.
    ///   - beta: C shifts β.
    ///   - epsilon: ε, added to the variance; 1e-5 in PyTorch and GPT-2.
    ///   - output: `rows · columns` floats; may be `input` itself.
    ///   - mean: `rows` floats, receives μ of each row for the backward pass.
    ///   - rstd: `rows` floats, receives 1/√(σ² + ε) of each row for the backward pass.
    /// - Complexity: O(rows · columns), three passes over each row.
    @inlinable
    public static func layerNorm(_ input: UnsafePointer<Float>, rows: Int, columns: Int,
                                 gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, epsilon: Float,
                                 into output: UnsafeMutablePointer<Float>,
                                 mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>) {
        let vectorEnd = columns & ~15
        let tail = columns - vectorEnd
        let inverseCount: Float = columns > 0 ? 1 / Float(columns) : 0
        for r in 0..<rows {
            let x = input + r * columns
            let y = output + r * columns

            var sums = SIMD16<Float>()
            for i in stride(from: 0, to: vectorEnd, by: 16) { sums += load(x + i) }
            if tail > 0 { sums += loadPartial(x + vectorEnd, count: tail, padding: 0) }
            let mu = sums.sum() * inverseCount
            let muVector = SIMD16<Float>(repeating: mu)

            // Padding the tail with μ makes its deviations exactly 0.
            var squares = SIMD16<Float>()
            for i in stride(from: 0, to: vectorEnd, by: 16) {
                let d = load(x + i) - muVector
                squares.addProduct(d, d)
            }
            if tail > 0 {
                let d = loadPartial(x + vectorEnd, count: tail, padding: mu) - muVector
                squares.addProduct(d, d)
            }
            let variance = squares.sum() * inverseCount
            let s = 1 / (variance + epsilon).squareRoot()
            mean[r] = mu
            rstd[r] = s

            let sVector = SIMD16<Float>(repeating: s)
            for i in stride(from: 0, to: vectorEnd, by: 16) {
                let normalized = (load(x + i) - muVector) * sVector
                store(load(beta + i).addingProduct(normalized, load(gamma + i)), to: y + i)
            }
            if tail > 0 {
                let normalized = (loadPartial(x + vectorEnd, count: tail, padding: mu) - muVector) * sVector
                let g = loadPartial(gamma + vectorEnd, count: tail, padding: 0)
                let b = loadPartial(beta + vectorEnd, count: tail, padding: 0)
                storePartial(b.addingProduct(normalized, g), to: y + vectorEnd, count: tail)
            }
        }
    }

    /// Layer normalisation backward pass: adds the gradients of the loss with respect to the
    /// input, γ and β to `inputGradient`, `gammaGradient` and `betaGradient`.
    ///
    /// With n̂ = (x − μ)·rstd, g = γ ⊙ dy and C columns (llm.c's `layernorm_backward`):
    /// `dx += (g − mean(g) − n̂·mean(g ⊙ n̂))·rstd`, `dγ += Σ_rows n̂ ⊙ dy`, `dβ += Σ_rows dy`.
    /// The gradients accumulate (`+=`) so callers can sum over uses: zero them before the first.
    /// - Parameters:
    ///   - outputGradient: dy, `rows · columns` floats, row-major.
    ///   - input: x as given to the forward pass, `rows · columns` floats.
    ///   - gamma: C scales γ.
    ///   - mean: `rows` floats μ from the forward pass.
    ///   - rstd: `rows` floats from the forward pass.
    ///   - rows: the number of rows, ≥ 0.
    ///   - columns: C, ≥ 0.
    ///   - inputGradient: `rows · columns` floats, accumulated into; must not overlap the inputs.
    ///   - gammaGradient: C floats, accumulated into.
    ///   - betaGradient: C floats, accumulated into.
    /// - Complexity: O(rows · columns), two passes over each row.
    @inlinable
    public static func layerNormBackward(outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>,
                                         gamma: UnsafePointer<Float>,
                                         mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                                         rows: Int, columns: Int,
                                         inputGradient: UnsafeMutablePointer<Float>,
                                         gammaGradient: UnsafeMutablePointer<Float>,
                                         betaGradient: UnsafeMutablePointer<Float>) {
        let vectorEnd = columns & ~15
        let tail = columns - vectorEnd
        let inverseCount: Float = columns > 0 ? 1 / Float(columns) : 0
        for r in 0..<rows {
            let x = input + r * columns
            let dy = outputGradient + r * columns
            let dx = inputGradient + r * columns
            let mu = SIMD16<Float>(repeating: mean[r])
            let s = SIMD16<Float>(repeating: rstd[r])

            // Pass 1: the two row means, and the parameter gradients, which need n̂ too.
            // Tail padding: dy = 0 and x = μ make every padded lane contribute exactly 0.
            var gradientSums = SIMD16<Float>()
            var projectionSums = SIMD16<Float>()
            for i in stride(from: 0, to: vectorEnd, by: 16) {
                let normalized = (load(x + i) - mu) * s
                let d = load(dy + i)
                let g = load(gamma + i) * d
                gradientSums += g
                projectionSums.addProduct(g, normalized)
                store(load(gammaGradient + i).addingProduct(normalized, d), to: gammaGradient + i)
                store(load(betaGradient + i) + d, to: betaGradient + i)
            }
            if tail > 0 {
                let normalized = (loadPartial(x + vectorEnd, count: tail, padding: mean[r]) - mu) * s
                let d = loadPartial(dy + vectorEnd, count: tail, padding: 0)
                let g = loadPartial(gamma + vectorEnd, count: tail, padding: 0) * d
                gradientSums += g
                projectionSums.addProduct(g, normalized)
                let dGamma = loadPartial(gammaGradient + vectorEnd, count: tail, padding: 0)
                storePartial(dGamma.addingProduct(normalized, d), to: gammaGradient + vectorEnd, count: tail)
                let dBeta = loadPartial(betaGradient + vectorEnd, count: tail, padding: 0)
                storePartial(dBeta + d, to: betaGradient + vectorEnd, count: tail)
            }
            let gradientMean = SIMD16<Float>(repeating: gradientSums.sum() * inverseCount)
            let projectionMean = SIMD16<Float>(repeating: projectionSums.sum() * inverseCount)

            // Pass 2: the input gradient.
            for i in stride(from: 0, to: vectorEnd, by: 16) {
                let normalized = (load(x + i) - mu) * s
                let g = load(gamma + i) * load(dy + i)
                let term = (g - gradientMean - normalized * projectionMean) * s
                store(load(dx + i) + term, to: dx + i)
            }
            if tail > 0 {
                let normalized = (loadPartial(x + vectorEnd, count: tail, padding: mean[r]) - mu) * s
                let g = loadPartial(gamma + vectorEnd, count: tail, padding: 0)
                    * loadPartial(dy + vectorEnd, count: tail, padding: 0)
                let term = (g - gradientMean - normalized * projectionMean) * s
                let previous = loadPartial(dx + vectorEnd, count: tail, padding: 0)
                storePartial(previous + term, to: dx + vectorEnd, count: tail)
            }
        }
    }

    /// Layer normalisation over the last axis of `x`, with the per-row statistics the backward
    /// pass needs.
    ///
    /// See `layerNorm(_:rows:columns:gamma:beta:epsilon:into:mean:rstd:)` for the formula.
    /// - Parameters:
    ///   - x: a tensor of shape `[..., C]`, rank ≥ 1.
    ///   - gamma: scales γ, shape `[C]`.
    ///   - beta: shifts β, shape `[C]`.
    ///   - epsilon: ε, added to the variance.
    /// - Returns: `output` of `x`'s shape, and `mean` and `rstd` of shape `x.shape.dropLast()`.
    /// - Throws: `TensorError.shapeMismatch` naming `x`'s shape and the parameter's that does not fit.
    /// - Complexity: O(x.count).
    public static func layerNorm(_ x: Tensor, gamma: Tensor, beta: Tensor,
                                 epsilon: Float = 1e-5) throws(TensorError)
        -> (output: Tensor, mean: Tensor, rstd: Tensor) {
        let columns = try checkLayerNormParameters(x.shape, gamma: gamma.shape, beta: beta.shape)
        let rowShape = Array(x.shape.dropLast())
        let rows = rowShape.reduce(1, *)
        var output = Tensor(uncheckedZeros: x.shape)
        var mean = Tensor(uncheckedZeros: rowShape)
        var rstd = Tensor(uncheckedZeros: rowShape)
        x.withUnsafeBufferPointer { x in
            gamma.withUnsafeBufferPointer { gamma in
                beta.withUnsafeBufferPointer { beta in
                    output.withUnsafeMutableBufferPointer { output in
                        mean.withUnsafeMutableBufferPointer { mean in
                            rstd.withUnsafeMutableBufferPointer { rstd in
                                // Empty buffers may have no base address; then there are no rows or no columns.
                                guard let x = x.baseAddress, let gamma = gamma.baseAddress,
                                      let beta = beta.baseAddress, let output = output.baseAddress,
                                      let mean = mean.baseAddress, let rstd = rstd.baseAddress else {
                                    fillEmptyRowStatistics(mean, rstd, epsilon: epsilon)
                                    return
                                }
                                layerNorm(x, rows: rows, columns: columns, gamma: gamma, beta: beta,
                                          epsilon: epsilon, into: output, mean: mean, rstd: rstd)
                            }
                        }
                    }
                }
            }
        }
        return (output, mean, rstd)
    }

    /// Layer normalisation backward pass over the last axis, returning fresh gradients.
    ///
    /// See `layerNormBackward(outputGradient:input:gamma:mean:rstd:rows:columns:inputGradient:gammaGradient:betaGradient:)`
    /// for the formula.
    /// - Parameters:
    ///   - outputGradient: dy, of `input`'s shape.
    ///   - input: x as given to the forward pass, shape `[..., C]`.
    ///   - gamma: scales γ, shape `[C]`.
    ///   - mean: μ from the forward pass, shape `input.shape.dropLast()`.
    ///   - rstd: from the forward pass, shape `input.shape.dropLast()`.
    /// - Returns: the gradients with respect to the input (`input`'s shape), γ and β (`[C]`).
    /// - Throws: `TensorError.shapeMismatch` naming `input`'s shape and the operand's that does not fit.
    /// - Complexity: O(input.count).
    public static func layerNormBackward(outputGradient: Tensor, input: Tensor, gamma: Tensor,
                                         mean: Tensor, rstd: Tensor) throws(TensorError)
        -> (input: Tensor, gamma: Tensor, beta: Tensor) {
        let columns = try checkLayerNormParameters(input.shape, gamma: gamma.shape, beta: gamma.shape)
        let rowShape = Array(input.shape.dropLast())
        guard outputGradient.shape == input.shape else {
            throw .shapeMismatch(operation: "layerNormBackward (input, outputGradient)", input.shape, outputGradient.shape)
        }
        guard mean.shape == rowShape else {
            throw .shapeMismatch(operation: "layerNormBackward (input, mean)", input.shape, mean.shape)
        }
        guard rstd.shape == rowShape else {
            throw .shapeMismatch(operation: "layerNormBackward (input, rstd)", input.shape, rstd.shape)
        }
        let rows = rowShape.reduce(1, *)
        var inputGradient = Tensor(uncheckedZeros: input.shape)
        var gammaGradient = Tensor(uncheckedZeros: [columns])
        var betaGradient = Tensor(uncheckedZeros: [columns])
        outputGradient.withUnsafeBufferPointer { dy in
            input.withUnsafeBufferPointer { x in
                gamma.withUnsafeBufferPointer { gamma in
                    mean.withUnsafeBufferPointer { mean in
                        rstd.withUnsafeBufferPointer { rstd in
                            inputGradient.withUnsafeMutableBufferPointer { dx in
                                gammaGradient.withUnsafeMutableBufferPointer { dGamma in
                                    betaGradient.withUnsafeMutableBufferPointer { dBeta in
                                        // No base address means no rows or no columns: nothing to add.
                                        guard let dy = dy.baseAddress, let x = x.baseAddress,
                                              let gamma = gamma.baseAddress, let mean = mean.baseAddress,
                                              let rstd = rstd.baseAddress, let dx = dx.baseAddress,
                                              let dGamma = dGamma.baseAddress, let dBeta = dBeta.baseAddress
                                        else { return }
                                        layerNormBackward(outputGradient: dy, input: x, gamma: gamma,
                                                          mean: mean, rstd: rstd, rows: rows, columns: columns,
                                                          inputGradient: dx, gammaGradient: dGamma,
                                                          betaGradient: dBeta)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (inputGradient, gammaGradient, betaGradient)
    }

    /// Checks that `x` has rank ≥ 1 and γ and β are `[C]`; returns C.
    static func checkLayerNormParameters(_ x: [Int], gamma: [Int], beta: [Int]) throws(TensorError) -> Int {
        guard let columns = x.last else {
            throw .shapeMismatch(operation: "layerNorm needs rank ≥ 1 (input, gamma)", x, gamma)
        }
        guard gamma == [columns] else {
            throw .shapeMismatch(operation: "layerNorm (input, gamma)", x, gamma)
        }
        guard beta == [columns] else {
            throw .shapeMismatch(operation: "layerNorm (input, beta)", x, beta)
        }
        return columns
    }

    /// Rows of zero columns have μ = 0 and σ² = 0; the raw kernel cannot run without base addresses.
    static func fillEmptyRowStatistics(_ mean: UnsafeMutableBufferPointer<Float>,
                                       _ rstd: UnsafeMutableBufferPointer<Float>, epsilon: Float) {
        mean.update(repeating: 0)
        rstd.update(repeating: 1 / epsilon.squareRoot())
    }
}
