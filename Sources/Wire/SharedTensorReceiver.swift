import Foundation
import TensorCore

/// Reads tensors that a `SharedTensorSender` on the same host placed in shared memory.
///
/// It maps each sender's segment once, on the first handle that names it, and keeps the mapping
/// (`forgetSegments(ofProcess:)` drops them when a peer leaves). Every handle is checked before
/// any byte is read: an unknown segment, a slot out of range, a stale generation or a byte range
/// outside the slot throws instead of crashing.
///
/// Not `Sendable`: one thread receives. The views it returns are `Sendable` `Data` and may be
/// released on any thread.
public final class SharedTensorReceiver {
    private struct SegmentKey: Hashable {
        var processID: Int32
        var fileDescriptor: Int32
        var token: UInt64
    }
    private var segments: [SegmentKey: SharedSegment] = [:]

    /// An empty receiver; it maps nothing until the first handle.
    public init() {}

    /// How many segments are mapped now.
    public var mappedSegmentCount: Int { segments.count }

    /// Copies the tensor `handle` names into a new `Tensor` and frees its slot.
    /// - Throws: `WireError.sharedMemory` or `.malformed` naming what is wrong with the handle.
    /// - Complexity: O(bytes), one memcpy.
    public func tensor(_ handle: SharedTensorHandle) throws(WireError) -> Tensor {
        let (segment, source) = try locate(handle)
        let elements = handle.byteCount / MemoryLayout<Float>.size
        let storage = [Float](unsafeUninitializedCapacity: elements) { buffer, initialized in
            if elements > 0 { UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: source, byteCount: handle.byteCount) }
            initialized = elements
        }
        segment.markFree(handle.slot, generation: handle.generation)
        do {
            return try Tensor(shape: handle.shape, storage: storage)
        } catch {
            throw .malformed("shared handle shape \(handle.shape): \(error)")
        }
    }

    /// The bytes `handle` names, in place (no copy); the slot is freed when the last copy of the
    /// returned `Data` is released, so hold it only as long as needed: the sender waits for it.
    /// - Throws: `WireError.sharedMemory` or `.malformed` naming what is wrong with the handle.
    public func bytes(_ handle: SharedTensorHandle) throws(WireError) -> Data {
        let (segment, source) = try locate(handle)
        let slot = handle.slot, generation = handle.generation
        guard handle.byteCount > 0 else {
            segment.markFree(slot, generation: generation)
            return Data()
        }
        // The deallocator keeps the mapping alive and frees the slot; it may run on any thread.
        return Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: source), count: handle.byteCount,
                    deallocator: .custom { _, _ in segment.markFree(slot, generation: generation) })
    }

    /// Frees the slot of `handle` without reading it (a tensor the receiver does not want).
    /// - Throws: as `tensor(_:)`.
    public func discard(_ handle: SharedTensorHandle) throws(WireError) {
        let (segment, _) = try locate(handle)
        segment.markFree(handle.slot, generation: handle.generation)
    }

    /// Unmaps every segment of process `processID` (a peer that left or died); views already
    /// returned keep their own mapping until released.
    public func forgetSegments(ofProcess processID: Int32) {
        segments = segments.filter { $0.key.processID != processID }
    }

    /// The mapped segment and the first byte of the tensor, after checking every field.
    private func locate(_ handle: SharedTensorHandle) throws(WireError) -> (SharedSegment, UnsafeRawPointer) {
        try handle.checkShape()
        let key = SegmentKey(processID: handle.processID, fileDescriptor: handle.fileDescriptor, token: handle.token)
        let segment: SharedSegment
        if let known = segments[key] {
            segment = known
        } else {
            segment = try SharedSegment.open(processID: key.processID, fileDescriptor: key.fileDescriptor, token: key.token)
            segments[key] = segment
        }
        let name = "segment /proc/\(handle.processID)/fd/\(handle.fileDescriptor)"
        guard handle.slot >= 0, handle.slot < segment.slotCount else {
            throw .sharedMemory("\(name): slot \(handle.slot) does not exist (it has \(segment.slotCount)); the handle is corrupt")
        }
        guard handle.offset >= 0, handle.byteCount >= 0, handle.offset <= segment.slotBytes,
              handle.byteCount <= segment.slotBytes - handle.offset else {
            throw .sharedMemory("\(name): bytes \(handle.offset) ..< \(handle.offset) + \(handle.byteCount) lie outside slot \(handle.slot) of \(segment.slotBytes) bytes; the handle is corrupt")
        }
        guard segment.isFull(handle.slot, generation: handle.generation) else {
            throw .sharedMemory("\(name): slot \(handle.slot) does not hold generation \(handle.generation) (it is free or was refilled); the handle was already used or is stale")
        }
        return (segment, UnsafeRawPointer(segment.data(handle.slot) + handle.offset))
    }
}
