import TensorCore

extension Tensor {
    /// The rows `range` of the first axis, as a new tensor (`[range.count, …]`).
    /// - Precondition: `range` lies within the first axis.
    public func rows(_ range: Range<Int>) -> Tensor {
        precondition(!shape.isEmpty && range.lowerBound >= 0 && range.upperBound <= shape[0], "rows \(range) outside \(shape)")
        let width = shape.dropFirst().reduce(1, *)
        var result = Tensor(uncheckedZeros: [range.count] + shape.dropFirst())
        result.storage.withUnsafeMutableBufferPointer { destination in
            storage.withUnsafeBufferPointer { source in
                for i in 0..<(range.count * width) { destination[i] = source[range.lowerBound * width + i] }
            }
        }
        return result
    }
}
