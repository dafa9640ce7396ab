import TensorCore

extension Tensor {
    /// The rows `range` of the first axis, as a new tensor (`[range.count, …]`).
    /// - Precondition: `range` lies within the first axis.
    public func rows(_ range: Range<Int>) -> Tensor {
        precondition(!shape.isEmpty && range.lowerBound >= 0 && range.upperBound <= shape[0], "rows \(range) outside \(shape)")
        let width = shape.dropFirst().reduce(1, *)
        var result = Tensor(uncheckedZeros: [range.count] + shape.dropFirst())
        result.withUnsafeMutableBufferPointer { destination in
            storage.withUnsafeBufferPointer { source in
                for i in 0..<(range.count * width) { destination[i] = source[range.lowerBound * width + i] }
            }
        }
        return result
    }
}

extension Tensor {
    /// Heads `range` of a `[n, H, d]` tensor (or `[n, H]`), as a new `[n, range.count, d]` tensor.
    public func heads(_ range: Range<Int>) -> Tensor {
        precondition(shape.count >= 2 && range.lowerBound >= 0 && range.upperBound <= shape[1], "heads \(range) outside \(shape)")
        let n = shape[0], h = shape[1], d = shape.count == 3 ? shape[2] : 1
        var result = Tensor(uncheckedZeros: [n, range.count] + shape.dropFirst(2))
        result.withUnsafeMutableBufferPointer { destination in
            storage.withUnsafeBufferPointer { source in
                for row in 0..<n {
                    for (index, head) in range.enumerated() {
                        for i in 0..<d { destination[(row * range.count + index) * d + i] = source[(row * h + head) * d + i] }
                    }
                }
            }
        }
        return result
    }

    /// The tensors stacked along the first axis (they agree on the other axes).
    public static func concatenatingRows(_ parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty && parts.allSatisfy { Array($0.shape.dropFirst()) == Array(parts[0].shape.dropFirst()) },
                     "rows of different shapes")
        return Tensor(unchecked: [parts.reduce(0) { $0 + $1.shape[0] }] + parts[0].shape.dropFirst(),
                      storage: parts.flatMap(\.storage))
    }

    /// The tensors side by side along the head axis (they agree on rows and head dimension).
    public static func concatenatingHeads(_ parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty && parts.allSatisfy { $0.shape[0] == parts[0].shape[0] && $0.shape.count == parts[0].shape.count },
                     "head blocks of different shapes")
        let n = parts[0].shape[0], d = parts[0].shape.count == 3 ? parts[0].shape[2] : 1
        let total = parts.reduce(0) { $0 + $1.shape[1] }
        var result = Tensor(uncheckedZeros: [n, total] + parts[0].shape.dropFirst(2))
        var offset = 0
        for part in parts {
            let h = part.shape[1]
            result.withUnsafeMutableBufferPointer { destination in
                for row in 0..<n {
                    for head in 0..<h {
                        for i in 0..<d { destination[(row * total + offset + head) * d + i] = part.storage[(row * h + head) * d + i] }
                    }
                }
            }
            offset += h
        }
        return result
    }
}
