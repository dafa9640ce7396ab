extension Kernels {
    /// Elementwise natural exponential, `output[i] = eˣ` with `x = input[i]`, through `fastExp`.
    ///
    /// Accuracy and special values are `fastExp`'s: x below −87.33 gives exactly 0, NaN stays NaN.
    /// - Parameters:
    ///   - input: `count` floats.
    ///   - output: `count` floats; may be `input` itself (each element is read before it is written).
    ///   - count: the number of elements, ≥ 0.
    /// - Complexity: O(count).
    @inlinable
    public static func exp(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int) {
        let vectorEnd = count & ~15
        for i in stride(from: 0, to: vectorEnd, by: 16) {
            store(fastExp(load(input + i)), to: output + i)
        }
        let tail = count - vectorEnd
        if tail > 0 {
            let x = loadPartial(input + vectorEnd, count: tail, padding: 0)
            storePartial(fastExp(x), to: output + vectorEnd, count: tail)
        }
    }

    /// Elementwise natural exponential of a tensor of any shape, through `fastExp`.
    /// - Returns: a tensor of `x`'s shape holding `eˣ` element by element.
    /// - Complexity: O(x.count).
    public static func exp(_ x: Tensor) -> Tensor {
        elementwise(x) { input, output, count in exp(input, into: output, count: count) }
    }
}
