import Foundation
import TensorCore
import Wire

extension GangMembership {
    /// Whether tensors to `peer` go through shared memory: its host identity matches ours.
    public func sharesMemory(with peer: Int) -> Bool {
        peer < peerHosts.count && HostIdentity.current.sharesMemory(with: peerHosts[peer])
    }

    /// Sends `tensor` to rank `peer` under `tag` (at most 30 characters), through shared memory
    /// when the peer is on this machine and as one float32 frame otherwise.
    /// - Parameter forceFrames: send a plain frame even to a same-host peer (for comparisons).
    /// - Throws: `ClusterError` on cancellation, timeout (the peer frees no slot), or a socket failure.
    public func send(_ tensor: Tensor, to peer: Int, tag: String, forceFrames: Bool = false) throws(ClusterError) {
        precondition(!tag.isEmpty && tag.utf8.count <= 30, "a tensor tag is 1–30 characters")
        var header = ByteWriter()
        var payload: [Data] = []
        if !forceFrames && sharesMemory(with: peer) {
            let bytes = tensor.count * MemoryLayout<Float>.size
            do throws(WireError) {
                if tensorSender == nil || tensorSender!.slotBytes < bytes {
                    tensorSender = try SharedTensorSender(slotCount: 8, slotBytes: max(bytes, 1 << 20))
                }
            } catch { throw .wire(error) }
            let sender = tensorSender!
            // Wait for a free slot here, where cancellation can be checked, not inside `send`.
            let end = ContinuousClock.now + peerTimeout
            while sender.freeSlotCount == 0 {
                if let task { try task.checkCancellation() }
                guard ContinuousClock.now < end else {
                    throw .timeout("rank \(rank): rank \(peer) freed no shared-memory slot for \(peerTimeout)")
                }
                Thread.sleep(forTimeInterval: 0.0005)
            }
            do throws(WireError) {
                let handle = try sender.send(tensor, timeout: .seconds(1))
                header.write(UInt8(1))
                header.write(bytes: handle.header)
            } catch { throw .wire(error) }
            sharedMemoryTransfers += 1
        } else {
            header.write(UInt8(0))
            header.write(UInt32(tensor.shape.count))
            for extent in tensor.shape { header.write(extent) }
            payload = [tensor.frame]
            frameTransfers += 1
        }
        try send(Message("t:" + tag, header: header.data, payload: payload), to: peer)
        tensorBytesSent[peer, default: 0] += tensor.count * MemoryLayout<Float>.size
    }

    /// Receives the tensor rank `peer` sent under `tag`, by whichever path it took.
    /// - Throws: `ClusterError` on cancellation, timeout, or a handle or frame that does not decode.
    public func receiveTensor(_ tag: String, from peer: Int) throws(ClusterError) -> Tensor {
        guard let task else { throw .gangFailed("rank \(rank) is not connected to its gang") }
        let (_, message) = try receive("t:" + tag, from: peer, context: task)
        let tensor = try decodeTensor(message)
        tensorBytesReceived[peer, default: 0] += tensor.count * MemoryLayout<Float>.size
        return tensor
    }

    private func decodeTensor(_ message: Message) throws(ClusterError) -> Tensor {
        do throws(WireError) {
            var reader = ByteReader(message.header)
            switch try reader.readUInt8("tensor path") {
            case 1:
                let handle = try SharedTensorHandle(header: try reader.readBytes("tensor handle"))
                try reader.finish("a shared tensor")
                if tensorReceiver == nil { tensorReceiver = SharedTensorReceiver() }
                return try tensorReceiver!.tensor(handle)
            case 0:
                let rank = try reader.readCount("tensor rank", minimumItemBytes: 8)
                guard rank <= 8 else { throw WireError.malformed("tensor of rank \(rank); at most 8") }
                var shape: [Int] = []
                for _ in 0..<rank { shape.append(try reader.readInt("tensor extent")) }
                try reader.finish("a tensor frame header")
                guard message.payload.count == 1 else { throw WireError.malformed("a tensor message carries one frame, not \(message.payload.count)") }
                return try Tensor(shape: shape, frame: message.payload[0])
            case let path:
                throw WireError.malformed("unknown tensor path \(path)")
            }
        } catch { throw .wire(error) }
    }
}
