/// A dense float32 tensor: a shape and contiguous row-major storage (the last axis varies fastest).
///
/// Storage is a Swift array, so copies are cheap until written (copy on write) and a tensor is
/// `Sendable`. Kernels reach the floats through `withUnsafeBufferPointer` once, outside their loops.
public struct Tensor: Sendable, Equatable {
    /// The extent of each axis; empty for a scalar.
    public private(set) var shape: [Int]
    /// The elements in row-major order; `storage.count == shape.reduce(1, *)`.
    ///
    /// Read-only, so no caller can break that count: writes go through the subscript or
    /// `withUnsafeMutableBufferPointer`, which keep it.
    @inlinable public var storage: [Float] { elements }
    /// The stored elements; a separate name because `@inlinable` writers such as
    /// `withUnsafeMutableBufferPointer` cannot use a setter that is not public.
    @usableFromInline internal var elements: [Float]

    /// A tensor of zeros.
    /// - Throws: `TensorError.invalidShape` for a negative extent.
    public init(zeros shape: [Int]) throws(TensorError) {
        try Tensor.validate(shape)
        self.shape = shape
        self.elements = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    /// A tensor filled with `value`.
    public init(repeating value: Float, shape: [Int]) throws(TensorError) {
        try Tensor.validate(shape)
        self.shape = shape
        self.elements = [Float](repeating: value, count: shape.reduce(1, *))
    }

    /// Wraps `storage` with `shape`.
    /// - Throws: `TensorError.invalidShape` when the element count does not match the shape.
    public init(shape: [Int], storage: [Float]) throws(TensorError) {
        try Tensor.validate(shape)
        let count = shape.reduce(1, *)
        guard count == storage.count else {
            throw .invalidShape("shape \(Tensor.describe(shape)) holds \(count) elements, but \(storage.count) were given")
        }
        self.shape = shape
        self.elements = storage
    }

    /// Wraps `storage` with a shape the caller has already checked, for paths that build a tensor
    /// from a buffer whose size they computed from the shape (no `throws` to handle).
    /// - Precondition: no extent is negative and `storage.count == shape.reduce(1, *)`.
    public init(unchecked shape: [Int], storage: [Float]) {
        // O(rank), beside the O(count) buffer the caller built: cheap enough to check in every build.
        precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == storage.count,
                     "shape \(shape) does not hold \(storage.count) elements")
        self.shape = shape
        self.elements = storage
    }

    /// A tensor of zeros whose shape the caller has already checked (no negative extents).
    public init(uncheckedZeros shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in shape \(shape)")
        self.shape = shape
        self.elements = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    /// The number of elements.
    public var count: Int { storage.count }
    /// The number of axes.
    public var rank: Int { shape.count }
    /// Row-major strides in elements.
    public var strides: [Int] {
        var result = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in shape.indices.reversed() {
            result[axis] = running
            running *= shape[axis]
        }
        return result
    }

    /// The same elements under another shape with the same element count.
    /// - Throws: `TensorError.shapeMismatch` naming both shapes.
    public func reshaped(_ newShape: [Int]) throws(TensorError) -> Tensor {
        try Tensor.validate(newShape)
        guard newShape.reduce(1, *) == count else {
            throw .shapeMismatch(operation: "reshape", shape, newShape)
        }
        var copy = self
        copy.shape = newShape
        return copy
    }

    /// The element at a multi-index (for tests and small tools; kernels use raw pointers).
    public subscript(_ index: Int...) -> Float {
        get { storage[offset(of: index)] }
        set { elements[offset(of: index)] = newValue }
    }

    private func offset(of index: [Int]) -> Int {
        precondition(index.count == shape.count, "index \(index) for a tensor of shape \(shape)")
        var offset = 0
        for axis in shape.indices {
            precondition(index[axis] >= 0 && index[axis] < shape[axis], "index \(index) out of shape \(shape)")
            offset = offset * shape[axis] + index[axis]
        }
        return offset
    }

    /// Calls `body` with the elements, read-only.
    @inlinable
    public func withUnsafeBufferPointer<R, E>(_ body: (UnsafeBufferPointer<Float>) throws(E) -> R) throws(E) -> R {
        try elements.withUnsafeBufferPointer { (buffer) throws(E) -> R in try body(buffer) }
    }

    /// Calls `body` with the elements, writable.
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R, E>(_ body: (UnsafeMutableBufferPointer<Float>) throws(E) -> R) throws(E) -> R {
        try elements.withUnsafeMutableBufferPointer { (buffer) throws(E) -> R in try body(buffer) }
    }

    /// `[2, 3, 4]` as text, for error messages.
    public static func describe(_ shape: [Int]) -> String {
        "[" + shape.map(String.init).joined(separator: ", ") + "]"
    }

    static func validate(_ shape: [Int]) throws(TensorError) {
        if let bad = shape.first(where: { $0 < 0 }) {
            throw .invalidShape("negative extent \(bad) in shape \(describe(shape))")
        }
        // `reduce(1, *)` wraps silently under -Ounchecked: [2³², 2³²] would count 0 elements.
        guard !shape.contains(0) else { return }
        var count = 1
        for extent in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            guard !overflow else {
                throw .invalidShape("shape \(describe(shape)) has more elements than an Int can count")
            }
            count = product
        }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String { "Tensor\(Tensor.describe(shape))" }
}
