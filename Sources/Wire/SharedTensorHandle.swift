import Foundation

/// Where a tensor waits in a sender's shared segment: the small value that travels over ZeroMQ
/// instead of the bytes.
///
/// The segment is named by the sender's process id and descriptor (a receiver opens
/// `/proc/<pid>/fd/<fd>`) and a random token that tells it from a later segment that reuses them.
public struct SharedTensorHandle: Sendable, Hashable {
    /// The sending process.
    public var processID: Int32
    /// The sender's descriptor of the segment.
    public var fileDescriptor: Int32
    /// The segment's random token.
    public var token: UInt64
    /// The slot that holds the tensor.
    public var slot: Int
    /// The slot's generation when it was filled; a stale or replayed handle does not match it.
    public var generation: UInt64
    /// The first byte of the tensor within the slot.
    public var offset: Int
    /// The tensor's size in bytes: 4 × the product of `shape`.
    public var byteCount: Int
    /// The tensor's shape.
    public var shape: [Int]

    /// The largest rank a handle may carry, as for tensor frames.
    public static let maximumRank = 8

    /// A handle with every field given (senders make these; tests forge them).
    public init(processID: Int32, fileDescriptor: Int32, token: UInt64, slot: Int, generation: UInt64,
                offset: Int, byteCount: Int, shape: [Int]) {
        self.processID = processID
        self.fileDescriptor = fileDescriptor
        self.token = token
        self.slot = slot
        self.generation = generation
        self.offset = offset
        self.byteCount = byteCount
        self.shape = shape
    }

    /// The handle as a message header (`ByteWriter` fields in declaration order, the shape as a
    /// count and extents).
    public var header: Data {
        var writer = ByteWriter()
        writer.write(UInt32(bitPattern: processID))
        writer.write(UInt32(bitPattern: fileDescriptor))
        writer.write(token)
        writer.write(slot)
        writer.write(generation)
        writer.write(offset)
        writer.write(byteCount)
        writer.write(UInt32(shape.count))
        for extent in shape { writer.write(extent) }
        return writer.data
    }

    /// Decodes a header that `header` wrote, checking the shape against the byte count.
    /// - Throws: `WireError.malformed` naming the field that is short, negative or inconsistent.
    public init(header: Data) throws(WireError) {
        var reader = ByteReader(header)
        processID = Int32(bitPattern: try reader.readUInt32("shared handle process id"))
        fileDescriptor = Int32(bitPattern: try reader.readUInt32("shared handle descriptor"))
        token = try reader.readUInt64("shared handle token")
        slot = try reader.readInt("shared handle slot", in: 0...Int(Int32.max))
        generation = try reader.readUInt64("shared handle generation")
        offset = try reader.readInt("shared handle offset", in: 0...Int.max)
        byteCount = try reader.readInt("shared handle byte count", in: 0...Int.max)
        let rank = try reader.readCount("shared handle rank", minimumItemBytes: 8)
        guard rank <= SharedTensorHandle.maximumRank else {
            throw .malformed("shared handle rank \(rank) exceeds \(SharedTensorHandle.maximumRank)")
        }
        shape = []
        for axis in 0..<rank { shape.append(try reader.readInt("shared handle extent \(axis)", in: 0...Int.max)) }
        try reader.finish("a shared tensor handle")
        try checkShape()
    }

    /// Throws unless `byteCount` is 4 × the product of `shape`, computed without overflow.
    func checkShape() throws(WireError) {
        var elements = 1
        for extent in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: extent)
            guard extent >= 0, !overflow else {
                throw .malformed("shared handle shape \(shape) is negative or overflows")
            }
            elements = product
        }
        guard elements <= Int.max / 4, elements * 4 == byteCount else {
            throw .malformed("shared handle claims \(byteCount) bytes for shape \(shape) of float32 (\(elements) elements)")
        }
    }
}
