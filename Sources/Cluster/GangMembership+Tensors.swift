import Foundation
import TensorCore
import Wire

extension GangMembership {
    /// Whether tensors to `peer` go through shared memory: its host identity matches ours.
    public func sharesMemory(with peer: Int) -> Bool {
        peer < peerHosts.count && HostIdentity.current.sharesMemory(with: peerHosts[peer])
    }

    /// Makes the shared-memory slots for tensors of up to `bytes` now, so that the first timed
    /// send does not pay for creating and faulting in the segment.
    public func reserveSharedMemory(bytesPerTensor bytes: Int) throws(ClusterError) {
        guard peerHosts.indices.contains(where: { $0 != rank && sharesMemory(with: $0) }) else { return }
        do throws(WireError) {
            if tensorSender == nil || tensorSender!.slotBytes < bytes {
                tensorSender = try SharedTensorSender(slotCount: 8, slotBytes: max(bytes, 1 << 20))
            }
        } catch { throw .wire(error) }
    }

    /// Maps now the shared-memory segment of every rank this one takes tensors from on this host
    /// (ring: the previous rank; mesh: all), by one empty tensor each way: a receiver maps and
    /// faults in a sender's whole segment on its first handle (8 slots; 7 ms for 64 MiB here),
    /// which a timed run should not pay. Call after `reserveSharedMemory`, on every rank.
    public func mapPeersSharedMemory() throws(ClusterError) {
        guard size > 1 else { return }
        let others = (0..<size).filter { $0 != rank }
        let targets = topology == .ring ? [(rank + 1) % size] : others
        let sources = topology == .ring ? [(rank - 1 + size) % size] : others
        let empty = Tensor(unchecked: [0], storage: [])
        // Set-up, not the run's traffic: the counters a run reports are left as they were.
        let counted = (sharedMemoryTransfers, frameTransfers, tensorBytesSent, tensorBytesReceived)
        for peer in Set(targets).sorted() where sharesMemory(with: peer) { try send(empty, to: peer, tag: "map") }
        for peer in Set(sources).sorted() where sharesMemory(with: peer) { _ = try receiveTensor("map", from: peer) }
        (sharedMemoryTransfers, frameTransfers, tensorBytesSent, tensorBytesReceived) = counted
    }

    /// Sends `tensor` to rank `peer` under `tag` (at most 30 characters), through shared memory
    /// when the peer is on this machine and as one float32 frame otherwise.
    ///
    /// It never waits for a shared-memory slot: when every slot still holds a tensor that its
    /// receiver has not taken (an all-to-all sends many before receiving any), the tensor goes
    /// as a frame instead, so no pattern of sends and receives can deadlock on slots.
    /// - Parameter forceFrames: send a plain frame even to a same-host peer (for comparisons).
    /// - Throws: `ClusterError` on cancellation, timeout (the peer frees no slot), or a socket failure.
    public func send(_ tensor: Tensor, to peer: Int, tag: String, forceFrames: Bool = false) throws(ClusterError) {
        precondition(!tag.isEmpty && tag.utf8.count <= 30, "a tensor tag is 1–30 characters")
        var header = ByteWriter()
        var payload: [Data] = []
        let sentAt = MonotonicTime.nanoseconds
        let bytes = tensor.count * MemoryLayout<Float>.size
        if !forceFrames && sharesMemory(with: peer) {
            do throws(WireError) {
                if tensorSender == nil || tensorSender!.slotBytes < bytes {
                    tensorSender = try SharedTensorSender(slotCount: 8, slotBytes: max(bytes, 1 << 20))
                }
            } catch { throw .wire(error) }
        }
        if !forceFrames && sharesMemory(with: peer), let sender = tensorSender, sender.freeSlotCount > 0 {
            do throws(WireError) {
                let handle = try sender.send(tensor, timeout: .seconds(1))
                header.write(UInt8(1))
                header.write(sentAt)
                header.write(bytes: handle.header)
            } catch { throw .wire(error) }
            sharedMemoryTransfers += 1
        } else {
            header.write(UInt8(0))
            header.write(sentAt)
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
        let (tensor, sentAt) = try decodeTensor(message)
        let bytes = tensor.count * MemoryLayout<Float>.size
        tensorBytesReceived[peer, default: 0] += bytes
        if let throttle { try waitForModelledArrival(of: bytes, sentAt: sentAt, from: peer, throttle: throttle, task: task) }
        return tensor
    }

    /// Holds a received tensor until a link of `throttle`'s speed would have delivered it: the
    /// link from `peer` sends one message at a time, each taking latency + bytes / bandwidth
    /// from when both it was sent and the previous one had arrived.
    private func waitForModelledArrival(of bytes: Int, sentAt: UInt64, from peer: Int, throttle: LinkThrottle,
                                        task: TaskContext) throws(ClusterError) {
        let start = max(sentAt, linkFreeAt[peer] ?? 0)
        let transmission = throttle.latency.inSeconds + Double(bytes) / throttle.bytesPerSecond
        modelledLinkSeconds[peer, default: 0] += transmission
        let arrival = start + UInt64(transmission * 1e9)
        linkFreeAt[peer] = arrival
        while MonotonicTime.nanoseconds < arrival {
            try task.checkCancellation()
            let left = Double(arrival - min(arrival, MonotonicTime.nanoseconds)) / 1e9
            Thread.sleep(forTimeInterval: min(left, 0.01))
        }
    }

    private func decodeTensor(_ message: Message) throws(ClusterError) -> (Tensor, sentAt: UInt64) {
        do throws(WireError) {
            var reader = ByteReader(message.header)
            let path = try reader.readUInt8("tensor path")
            let sentAt = try reader.readUInt64("send time")
            switch path {
            case 1:
                let handle = try SharedTensorHandle(header: try reader.readBytes("tensor handle"))
                try reader.finish("a shared tensor")
                if tensorReceiver == nil { tensorReceiver = SharedTensorReceiver() }
                return (try tensorReceiver!.tensor(handle), sentAt)
            case 0:
                let rank = try reader.readCount("tensor rank", minimumItemBytes: 8)
                guard rank <= 8 else { throw WireError.malformed("tensor of rank \(rank); at most 8") }
                var shape: [Int] = []
                for _ in 0..<rank { shape.append(try reader.readInt("tensor extent")) }
                try reader.finish("a tensor frame header")
                guard message.payload.count == 1 else { throw WireError.malformed("a tensor message carries one frame, not \(message.payload.count)") }
                return (try Tensor(shape: shape, frame: message.payload[0]), sentAt)
            case let path:
                throw WireError.malformed("unknown tensor path \(path)")
            }
        } catch { throw .wire(error) }
    }
}
