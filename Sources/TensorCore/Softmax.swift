extension Kernels {
    /// Softmax of each row of a row-major `rows × columns` matrix:
    /// `output[r, j] = exp(x[r, j] − m_r) / Σ_k exp(x[r, k] − m_r)` with `m_r = max_k x[r, k]`.
    ///
    /// Subtracting the row maximum changes nothing mathematically but keeps every exponent ≤ 0:
    /// `expf` overflows past 88.7, so raw logits of a few hundred would give ∞/∞ = NaN.
    /// A row whose maximum is −∞ (every entry masked out) gives zeros, not NaN, so fully masked
    /// attention rows stay harmless. A NaN or +∞ entry makes its row NaN.
    /// - Parameters:
    ///   - input: `rows · columns` floats, row-major.
    ///   - output: `rows · columns` floats; may be `input` itself.
    ///   - rows: the number of rows, ≥ 0.
    ///   - columns: the length of each row, ≥ 0.
    /// - Complexity: O(rows · columns), three passes over each row.
    @inlinable
    public static func softmax(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>,
                               rows: Int, columns: Int) {
        let vectorEnd = columns & ~15
        let tail = columns - vectorEnd
        for r in 0..<rows {
            let x = input + r * columns
            let y = output + r * columns

            // Pass 1: the row maximum. −∞ padding cannot win a max.
            var maxima = SIMD16<Float>(repeating: -.infinity)
            for i in stride(from: 0, to: vectorEnd, by: 16) {
                maxima = pointwiseMax(maxima, load(x + i))
            }
            if tail > 0 {
                maxima = pointwiseMax(maxima, loadPartial(x + vectorEnd, count: tail, padding: -.infinity))
            }
            let rowMax = maxima.max()
            if rowMax == -.infinity {
                // exp(−∞ − (−∞)) would be NaN: a fully masked row has no mass anywhere.
                y.update(repeating: 0, count: columns)
                continue
            }

            // Pass 2: exponentials, stored, and their sum. −∞ padding exponentiates to 0.
            let shift = SIMD16<Float>(repeating: rowMax)
            var sums = SIMD16<Float>()
            for i in stride(from: 0, to: vectorEnd, by: 16) {
                let e = fastExp(load(x + i) - shift)
                store(e, to: y + i)
                sums += e
            }
            if tail > 0 {
                let e = fastExp(loadPartial(x + vectorEnd, count: tail, padding: -.infinity) - shift)
                storePartial(e, to: y + vectorEnd, count: tail)
                sums += e
            }

            // Pass 3: normalise. The sum is ≥ 1 (the maximum contributes e⁰), so 1/sum is finite.
            let inverse = 1 / sums.sum()
            let scale = SIMD16<Float>(repeating: inverse)
            for i in stride(from: 0, to: vectorEnd, by: 16) {
                store(load(y + i) * scale, to: y + i)
            }
            for i in vectorEnd..<columns { y[i] *= inverse }
        }
    }

    /// Softmax over the last axis of a tensor of any shape (a scalar's softmax is 1).
    ///
    /// See `softmax(_:into:rows:columns:)` for the formula and the handling of masked rows.
    /// - Returns: a tensor of `x`'s shape whose rows along the last axis each sum to 1.
    /// - Complexity: O(x.count).
    public static func softmax(_ x: Tensor) -> Tensor {
        let (rows, columns) = rowsAndColumns(of: x.shape)
        var result = Tensor(uncheckedZeros: x.shape)
        x.withUnsafeBufferPointer { input in
            result.withUnsafeMutableBufferPointer { output in
                guard let source = input.baseAddress, let target = output.baseAddress else { return }
                softmax(source, into: target, rows: rows, columns: columns)
            }
        }
        return result
    }
}
