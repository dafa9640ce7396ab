extension Kernels {
    /// √(2/π), the slope of GELU's tanh argument.
    @usableFromInline static let geluScale: Float = 0.797_884_560_802_865_4
    /// The cubic coefficient of GELU's tanh approximation (Hendrycks & Gimpel 2016).
    @usableFromInline static let geluCubic: Float = 0.044_715

    /// GELU in its tanh approximation (GPT-2's), elementwise: not the exact `x·Φ(x)` with erf.
    ///
    /// `y = ½x(1 + tanh u)` with `u = √(2/π)(x + 0.044715x³)`. The kernel evaluates the
    /// identity `½(1 + tanh u) = 1/(1 + e^(−2u))`, which needs one exponential and avoids the
    /// cancellation of `1 + tanh u` for negative x, where tanh u is close to −1.
    /// - Parameters:
    ///   - input: `count` floats x.
    ///   - output: `count` floats y; may be `input` itself.
    ///   - count: the number of elements, ≥ 0.
    /// - Complexity: O(count).
    @inlinable
    public static func gelu(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int) {
        let vectorEnd = count & ~15
        for i in stride(from: 0, to: vectorEnd, by: 16) {
            store(geluVector(load(input + i)), to: output + i)
        }
        let tail = count - vectorEnd
        if tail > 0 {
            let x = loadPartial(input + vectorEnd, count: tail, padding: 0)
            storePartial(geluVector(x), to: output + vectorEnd, count: tail)
        }
    }

    /// GELU (tanh approximation) backward pass: `inputGradient[i] += dy[i] · y′(x[i])`.
    ///
    /// With `s = ½(1 + tanh u) = 1/(1 + e^(−2u))` and `u′ = √(2/π)(1 + 3·0.044715x²)`,
    /// `y′ = s + ½x(1 − tanh²u)u′ = s·(1 + 2x(1 − s)u′)`. `1 − s` is taken as `e^(−2u)·s` when
    /// `e^(−2u) ≤ 1` (s near 1, where `1 − s` would cancel) and as `1 − s` otherwise.
    /// The gradient accumulates (`+=`): zero it before the first use.
    /// - Parameters:
    ///   - outputGradient: `count` floats dy.
    ///   - input: `count` floats x, as given to the forward pass.
    ///   - count: the number of elements, ≥ 0.
    ///   - inputGradient: `count` floats, accumulated into; may be `outputGradient` itself.
    /// - Complexity: O(count).
    @inlinable
    public static func geluBackward(outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>,
                                    count: Int, inputGradient: UnsafeMutablePointer<Float>) {
        let vectorEnd = count & ~15
        for i in stride(from: 0, to: vectorEnd, by: 16) {
            let derivative = geluDerivativeVector(load(input + i))
            store(load(inputGradient + i).addingProduct(load(outputGradient + i), derivative), to: inputGradient + i)
        }
        let tail = count - vectorEnd
        if tail > 0 {
            let derivative = geluDerivativeVector(loadPartial(input + vectorEnd, count: tail, padding: 0))
            let dy = loadPartial(outputGradient + vectorEnd, count: tail, padding: 0)
            let previous = loadPartial(inputGradient + vectorEnd, count: tail, padding: 0)
            storePartial(previous.addingProduct(dy, derivative), to: inputGradient + vectorEnd, count: tail)
        }
    }

    /// `x / (1 + e^(−2u))`: see `gelu(_:into:count:)`. For x → −∞ the exponential saturates to +∞
    /// and y to −0, the limit.
    @inlinable @inline(__always)
    static func geluVector(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let inner = x.addingProduct(SIMD16(repeating: geluCubic), x * x * x)
        let e = fastExp(inner * (-2 * geluScale))
        return x / (1 + e)
    }

    /// `s·(1 + 2x(1 − s)u′)`: see `geluBackward(outputGradient:input:count:inputGradient:)`.
    @inlinable @inline(__always)
    static func geluDerivativeVector(_ x: SIMD16<Float>) -> SIMD16<Float> {
        // Past |x| = 20 the float32 derivative is exactly 1 or −0 already. Clamping there keeps
        // 2x·u′ and x² finite; they overflow from x ≈ −1.2e13 and x ≈ 1.8e19, where 0·∞ made the
        // slope NaN. Comparisons with NaN are false, so NaN stays NaN.
        let xc = x.replacing(with: 20, where: x .> 20).replacing(with: -20, where: x .< -20)
        let squared = xc * xc
        let inner = xc.addingProduct(SIMD16(repeating: geluCubic), squared * xc)
        let e = fastExp(inner * (-2 * geluScale))
        let s = 1 / (1 + e)
        // e = +∞ gives s = 0 and e·s = NaN; that lane takes the `1 − s` branch.
        let complement = (e * s).replacing(with: 1 - s, where: e .> 1)
        let slope = SIMD16<Float>(repeating: 1).addingProduct(squared, SIMD16(repeating: 3 * geluCubic)) * geluScale
        return s * (1 + 2 * xc * complement * slope)
    }

    /// ReLU, elementwise: `y = max(x, 0)`. NaN stays NaN and −0 stays −0.
    /// - Parameters:
    ///   - input: `count` floats x.
    ///   - output: `count` floats y; may be `input` itself.
    ///   - count: the number of elements, ≥ 0.
    /// - Complexity: O(count).
    @inlinable
    public static func relu(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int) {
        let vectorEnd = count & ~15
        for i in stride(from: 0, to: vectorEnd, by: 16) {
            let x = load(input + i)
            // `replacing` keeps NaN (NaN < 0 is false); pointwiseMax would be free to drop it.
            store(x.replacing(with: 0, where: x .< 0), to: output + i)
        }
        for i in vectorEnd..<count {
            let x = input[i]
            output[i] = x < 0 ? 0 : x
        }
    }

    /// ReLU backward pass: `inputGradient[i] += dy[i]` where `x[i] > 0`, else nothing.
    ///
    /// The derivative at x = 0 is taken as 0, as in PyTorch. The gradient accumulates (`+=`).
    /// - Parameters:
    ///   - outputGradient: `count` floats dy.
    ///   - input: `count` floats x, as given to the forward pass.
    ///   - count: the number of elements, ≥ 0.
    ///   - inputGradient: `count` floats, accumulated into; may be `outputGradient` itself.
    ///   - accumulating: false to overwrite `inputGradient` instead (no zeroing pass first).
    /// - Complexity: O(count).
    @inlinable
    public static func reluBackward(outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>,
                                    count: Int, inputGradient: UnsafeMutablePointer<Float>, accumulating: Bool = true) {
        let vectorEnd = count & ~15
        let zero = SIMD16<Float>()
        for i in stride(from: 0, to: vectorEnd, by: 16) {
            let passed = zero.replacing(with: load(outputGradient + i), where: load(input + i) .> zero)
            store(accumulating ? load(inputGradient + i) + passed : passed, to: inputGradient + i)
        }
        for i in vectorEnd..<count {
            let passed: Float = input[i] > 0 ? outputGradient[i] : 0
            inputGradient[i] = accumulating ? inputGradient[i] + passed : passed
        }
    }

    /// GELU (tanh approximation) of every element of a tensor of any shape.
    ///
    /// See `gelu(_:into:count:)` for the formula.
    /// - Returns: a tensor of `x`'s shape.
    /// - Complexity: O(x.count).
    public static func gelu(_ x: Tensor) -> Tensor {
        elementwise(x) { input, output, count in gelu(input, into: output, count: count) }
    }

    /// GELU (tanh approximation) backward pass, returning a fresh input gradient.
    /// - Parameters:
    ///   - outputGradient: dy, of `input`'s shape.
    ///   - input: x as given to the forward pass.
    /// - Returns: dL/dx, of `input`'s shape.
    /// - Throws: `TensorError.shapeMismatch` naming both shapes when they differ.
    /// - Complexity: O(input.count).
    public static func geluBackward(outputGradient: Tensor, input: Tensor) throws(TensorError) -> Tensor {
        try elementwiseBackward("geluBackward", outputGradient, input) { dy, x, count, dx in
            geluBackward(outputGradient: dy, input: x, count: count, inputGradient: dx)
        }
    }

    /// ReLU of every element of a tensor of any shape.
    /// - Returns: a tensor of `x`'s shape holding `max(x, 0)`.
    /// - Complexity: O(x.count).
    public static func relu(_ x: Tensor) -> Tensor {
        elementwise(x) { input, output, count in relu(input, into: output, count: count) }
    }

    /// ReLU backward pass, returning a fresh input gradient.
    /// - Parameters:
    ///   - outputGradient: dy, of `input`'s shape.
    ///   - input: x as given to the forward pass.
    /// - Returns: dL/dx, of `input`'s shape: dy where x > 0, else 0.
    /// - Throws: `TensorError.shapeMismatch` naming both shapes when they differ.
    /// - Complexity: O(input.count).
    public static func reluBackward(outputGradient: Tensor, input: Tensor) throws(TensorError) -> Tensor {
        try elementwiseBackward("reluBackward", outputGradient, input) { dy, x, count, dx in
            reluBackward(outputGradient: dy, input: x, count: count, inputGradient: dx)
        }
    }

    /// Runs a raw elementwise kernel from `x` into a fresh tensor of its shape.
    static func elementwise(_ x: Tensor,
                            _ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
        var result = Tensor(uncheckedZeros: x.shape)
        x.withUnsafeBufferPointer { input in
            result.withUnsafeMutableBufferPointer { output in
                guard let source = input.baseAddress, let target = output.baseAddress else { return }
                kernel(source, target, input.count)
            }
        }
        return result
    }

    /// Checks `dy` against `x` and runs a raw accumulating backward kernel into a zeroed gradient.
    static func elementwiseBackward(
        _ operation: String, _ outputGradient: Tensor, _ input: Tensor,
        _ kernel: (UnsafePointer<Float>, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>) -> Void
    ) throws(TensorError) -> Tensor {
        guard outputGradient.shape == input.shape else {
            throw .shapeMismatch(operation: "\(operation) (outputGradient, input)", outputGradient.shape, input.shape)
        }
        var gradient = Tensor(uncheckedZeros: input.shape)
        outputGradient.withUnsafeBufferPointer { dy in
            input.withUnsafeBufferPointer { x in
                gradient.withUnsafeMutableBufferPointer { dx in
                    guard let dyStart = dy.baseAddress, let xStart = x.baseAddress, let dxStart = dx.baseAddress
                    else { return }
                    kernel(dyStart, xStart, x.count, dxStart)
                }
            }
        }
        return gradient
    }
}
