import TensorCore

/// Every trainable parameter of a model in one arena: values and gradients, each contiguous, so
/// an optimiser step is one pass over two flat arrays and a checkpoint is a list of named views.
///
/// `@unchecked Sendable`: the buffers are owned here and freed in `deinit`; a model and its
/// optimiser use them from one training thread at a time (kernels may split the work inside a call).
public final class ParameterStore: @unchecked Sendable {
    /// One named tensor in the arena.
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var shape: [Int]
        /// Start in the arena, in elements.
        public var offset: Int
        public var count: Int
        /// Whether weight decay applies (matrices yes; LayerNorm gains and biases no).
        public var decays: Bool
    }

    public let entries: [Entry]
    /// All values, then all gradients, each `count` floats, zero at first.
    public let values: UnsafeMutablePointer<Float>
    public let gradients: UnsafeMutablePointer<Float>
    public let count: Int
    private let index: [String: Int]

    /// Lays out `tensors` in order. Names must be unique.
    public init(_ tensors: [(name: String, shape: [Int], decays: Bool)]) {
        var entries: [Entry] = [], offset = 0, index: [String: Int] = [:]
        for tensor in tensors {
            precondition(index[tensor.name] == nil, "parameter \(tensor.name) declared twice")
            let count = tensor.shape.reduce(1, *)
            index[tensor.name] = entries.count
            entries.append(Entry(name: tensor.name, shape: tensor.shape, offset: offset, count: count, decays: tensor.decays))
            // Each tensor starts on a 64-byte line (the buffers are line-aligned), so SIMD loads stay
            // aligned and tensors never share a line.
            offset += (count + 15) / 16 * 16
        }
        self.entries = entries
        self.index = index
        self.count = offset
        values = .allocateLines(offset)
        values.initialize(repeating: 0, count: max(1, offset))
        gradients = .allocateLines(offset)
        gradients.initialize(repeating: 0, count: max(1, offset))
    }

    deinit {
        values.deallocate()
        gradients.deallocate()
    }

    /// The entry called `name`, if any.
    public func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    /// The values of `name` (a programming error if it does not exist).
    public func value(_ name: String) -> UnsafeMutablePointer<Float> {
        guard let entry = entry(name) else { preconditionFailure("no parameter \(name)") }
        return values + entry.offset
    }

    /// The gradient of `name` (a programming error if it does not exist).
    public func gradient(_ name: String) -> UnsafeMutablePointer<Float> {
        guard let entry = entry(name) else { preconditionFailure("no parameter \(name)") }
        return gradients + entry.offset
    }

    public func zeroGradients() { gradients.update(repeating: 0, count: count) }

    /// A copy of one parameter as a tensor (checkpoints, hooks, tests).
    public func tensor(_ name: String) -> Tensor? {
        guard let entry = entry(name) else { return nil }
        return try? Tensor(shape: entry.shape, storage: Array(UnsafeBufferPointer(start: values + entry.offset, count: entry.count)))
    }

    /// A copy of one gradient as a tensor.
    public func gradientTensor(_ name: String) -> Tensor? {
        guard let entry = entry(name) else { return nil }
        return try? Tensor(shape: entry.shape, storage: Array(UnsafeBufferPointer(start: gradients + entry.offset, count: entry.count)))
    }

    /// Overwrites one parameter from a tensor of the same shape.
    public func set(_ name: String, from tensor: Tensor) throws(ModelError) {
        guard let entry = entry(name) else { throw .checkpoint("no parameter \(name) in this model") }
        guard tensor.shape == entry.shape else {
            throw .checkpoint("parameter \(name) has shape \(entry.shape) but the tensor given has \(tensor.shape)")
        }
        tensor.storage.withUnsafeBufferPointer { (values + entry.offset).update(from: $0.baseAddress!, count: entry.count) }
    }
}
