import TensorCore

// The executor's exchanges slice and stack tensors around every transfer (Ulysses and usp by
// heads, the rings by rows). Each result is made in one pass of contiguous block copies into
// uninitialised storage: element-by-element loops into zeroed tensors ran at 2–3 GB/s, several
// times the cost of the transfer itself on local workers.

extension Tensor {
    /// The rows `range` of the first axis, as a new tensor (`[range.count, …]`).
    /// - Precondition: `range` lies within the first axis.
    public func rows(_ range: Range<Int>) -> Tensor {
        precondition(!shape.isEmpty && range.lowerBound >= 0 && range.upperBound <= shape[0], "rows \(range) outside \(shape)")
        let width = shape.dropFirst().reduce(1, *)
        return Tensor(unchecked: [range.count] + shape.dropFirst(), storage: Array(storage[(range.lowerBound * width)..<(range.upperBound * width)]))
    }
}

extension Tensor {
    /// Heads `range` of a `[n, H, d]` tensor (or `[n, H]`), as a new `[n, range.count, d]` tensor.
    public func heads(_ range: Range<Int>) -> Tensor {
        precondition(shape.count >= 2 && range.lowerBound >= 0 && range.upperBound <= shape[1], "heads \(range) outside \(shape)")
        let n = shape[0], h = shape[1], d = shape.count == 3 ? shape[2] : 1
        let block = range.count * d   // one row's heads `range`: contiguous in the source
        let values = [Float](unsafeUninitializedCapacity: n * block) { destination, count in
            storage.withUnsafeBufferPointer { source in
                guard let to = destination.baseAddress, let from = source.baseAddress, block > 0 else { return }
                for row in 0..<n { (to + row * block).initialize(from: from + (row * h + range.lowerBound) * d, count: block) }
            }
            count = n * block
        }
        return Tensor(unchecked: [n, range.count] + shape.dropFirst(2), storage: values)
    }

    /// The tensors stacked along the first axis (they agree on the other axes).
    public static func concatenatingRows(_ parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty && parts.allSatisfy { Array($0.shape.dropFirst()) == Array(parts[0].shape.dropFirst()) },
                     "rows of different shapes")
        let total = parts.reduce(0) { $0 + $1.storage.count }
        let values = [Float](unsafeUninitializedCapacity: total) { destination, count in
            var offset = 0
            for part in parts {
                part.storage.withUnsafeBufferPointer { source in
                    if let from = source.baseAddress, let to = destination.baseAddress { (to + offset).initialize(from: from, count: source.count) }
                }
                offset += part.storage.count
            }
            count = total
        }
        return Tensor(unchecked: [parts.reduce(0) { $0 + $1.shape[0] }] + parts[0].shape.dropFirst(), storage: values)
    }

    /// The tensors side by side along the head axis (they agree on rows and head dimension).
    public static func concatenatingHeads(_ parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty && parts.allSatisfy { $0.shape[0] == parts[0].shape[0] && $0.shape.count == parts[0].shape.count },
                     "head blocks of different shapes")
        let n = parts[0].shape[0], d = parts[0].shape.count == 3 ? parts[0].shape[2] : 1
        let total = parts.reduce(0) { $0 + $1.shape[1] }
        let values = [Float](unsafeUninitializedCapacity: n * total * d) { destination, count in
            var offset = 0
            for part in parts {
                let block = part.shape[1] * d   // one row of this part: contiguous in the part and in the result
                part.storage.withUnsafeBufferPointer { source in
                    guard let from = source.baseAddress, let to = destination.baseAddress, block > 0 else { return }
                    for row in 0..<n { (to + row * total * d + offset).initialize(from: from + row * block, count: block) }
                }
                offset += block
            }
            count = n * total * d
        }
        return Tensor(unchecked: [n, total] + parts[0].shape.dropFirst(2), storage: values)
    }
}
