import Foundation
import TensorCore

extension Tensor {
    /// The elements as one frame of raw little-endian float32, with no copy when the frame is
    /// sent without one (the frame shares the tensor's storage).
    public var frame: Data {
        let box = StorageBox(storage)
        let count = storage.count * MemoryLayout<Float>.size
        guard count > 0 else { return Data() }
        // The box keeps the array alive and unmodified while the Data exists.
        let base = box.storage.withUnsafeBufferPointer { UnsafeMutableRawPointer(mutating: $0.baseAddress!) }
        return Data(bytesNoCopy: base, count: count, deallocator: .custom { _, _ in _ = box })
    }

    /// A tensor of `shape` from a frame of raw little-endian float32.
    /// - Throws: `WireError.malformed` when the frame's size does not match the shape.
    public init(shape: [Int], frame: Data) throws(WireError) {
        guard shape.allSatisfy({ $0 >= 0 }), shape.count <= 8 else {
            throw .malformed("tensor shape \(shape) is not a shape of at most 8 non-negative extents")
        }
        let (count, overflow) = shape.reduce((1, false)) { partial, extent in
            let (product, over) = partial.0.multipliedReportingOverflow(by: extent)
            return (product, partial.1 || over)
        }
        guard !overflow, count <= Int.max / 4, count * MemoryLayout<Float>.size == frame.count else {
            throw .malformed("tensor frame of \(frame.count) bytes does not hold shape \(shape) of float32")
        }
        var storage = [Float](repeating: 0, count: count)
        storage.withUnsafeMutableBytes { destination in
            frame.withUnsafeBytes { source in destination.copyMemory(from: source) }
        }
        do {
            try self.init(shape: shape, storage: storage)
        } catch {
            throw .malformed("tensor shape \(shape): \(error)")
        }
    }
}

/// Holds a tensor's storage for a frame that points into it.
private final class StorageBox: @unchecked Sendable {
    // @unchecked: `storage` is never mutated after init.
    let storage: [Float]
    init(_ storage: [Float]) { self.storage = storage }
}
