import Foundation
import TensorCore

/// Moves tensors to processes on the same host through shared memory: `send` copies a tensor
/// into a free slot of this sender's segment and returns the small handle to send over ZeroMQ.
///
/// The segment is a memfd made and faulted in once (a fresh page costs more than the copy), then
/// reused: a receiver frees a slot by flipping its flag in the segment when it is done, so no
/// release message travels back. Use only between peers whose `HostIdentity` values are equal.
///
/// Not `Sendable`: one thread sends. Releasing the sender closes its descriptor; receivers that
/// mapped the segment keep their mapping, and the kernel frees the memory with the last one.
public final class SharedTensorSender {
    private let segment: SharedSegment
    private var nextSlot = 0

    /// How often `send` looks for a free slot while all are full.
    static let pollInterval: Duration = .microseconds(50)

    /// The number of slots: tensors that can be in flight at once.
    public var slotCount: Int { segment.slotCount }
    /// The largest tensor in bytes that fits one slot (the request rounded up to whole pages).
    public var slotBytes: Int { segment.slotBytes }

    /// Creates the segment with `slotCount` slots of at least `slotBytes` bytes each.
    /// - Precondition: `slotCount ≥ 1`, `slotBytes ≥ 1`.
    /// - Throws: `WireError.sharedMemory` when the memory cannot be made (out of memory, out of
    ///   descriptors, more than 64 GiB).
    public init(slotCount: Int = 4, slotBytes: Int) throws(WireError) {
        segment = try SharedSegment.create(slotCount: slotCount, slotBytes: slotBytes)
    }

    /// How many slots are free now.
    public var freeSlotCount: Int { (0..<segment.slotCount).count { segment.isFree($0) } }

    /// Copies `tensor` into a free slot and returns its handle.
    ///
    /// While every slot is full it waits, polling the slots' flags, for at most `timeout`.
    /// - Returns: the handle; send its `header` to the receiver, which frees the slot.
    /// - Throws: `WireError.sharedMemory` when the tensor is larger than a slot, or when no slot
    ///   was freed within `timeout` (the receiver keeps every slot: it holds views or has died).
    /// - Complexity: O(tensor bytes), one memcpy.
    public func send(_ tensor: Tensor, timeout: Duration = .seconds(10)) throws(WireError) -> SharedTensorHandle {
        let byteCount = tensor.count * MemoryLayout<Float>.size
        guard byteCount <= segment.slotBytes else {
            throw .sharedMemory("tensor \(Tensor.describe(tensor.shape)) of \(byteCount) bytes does not fit a slot of \(segment.slotBytes) bytes; make the SharedTensorSender with slotBytes ≥ \(byteCount)")
        }
        let slot = try freeSlot(timeout: timeout)
        tensor.withUnsafeBufferPointer { source in
            if let address = source.baseAddress {
                segment.data(slot).copyMemory(from: address, byteCount: byteCount)
            }
        }
        let generation = segment.markFull(slot)
        return SharedTensorHandle(processID: getpid(), fileDescriptor: segment.fileDescriptor, token: segment.token,
                                  slot: slot, generation: generation, offset: 0, byteCount: byteCount,
                                  shape: tensor.shape)
    }

    /// The next free slot in ring order, waiting up to `timeout`.
    private func freeSlot(timeout: Duration) throws(WireError) -> Int {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            for step in 0..<segment.slotCount {
                let slot = (nextSlot + step) % segment.slotCount
                if segment.isFree(slot) {
                    nextSlot = (slot + 1) % segment.slotCount
                    return slot
                }
            }
            guard clock.now < deadline else {
                throw .sharedMemory("no free slot among \(segment.slotCount) after \(timeout): the receiver still holds every tensor (views not yet released) or has died; release views sooner or use more slots")
            }
            usleep(UInt32(SharedTensorSender.pollInterval.inSeconds * 1e6))
        }
    }
}
