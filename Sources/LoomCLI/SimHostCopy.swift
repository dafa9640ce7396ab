import Foundation
import TensorCore
import Wire

extension SimCalibrateCommand {
    /// Bytes/s at which a local transfer occupies its sender's and its receiver's cores: a tensor
    /// of `bytes` copied into a shared-memory slot of a ready segment, then out of it into new
    /// memory by a receiver that has mapped the segment already (a run makes its slots and maps
    /// its peers' segments before its clock starts). Each side pays bytes / rate; the rate is
    /// 2 · bytes over the two copies' time, median of `samples`.
    static func hostCopyRate(bytes: Int, samples: Int = 7) throws(CommandError) -> Double {
        LargeMessageMemory.configure()   // as a worker's allocator is
        let count = max(1, bytes / 4)
        let tensor = Tensor(unchecked: [count], storage: (0..<count).map { Float($0 % 251) })
        var times: [Double] = [], intact = true
        do throws(WireError) {
            let sender = try SharedTensorSender(slotCount: 8, slotBytes: max(count * 4, 1 << 20))
            let receiver = SharedTensorReceiver()
            for _ in 0...samples {
                let start = ContinuousClock.now
                let handle = try sender.send(tensor)
                let received = try receiver.tensor(handle)
                times.append((ContinuousClock.now - start).inSeconds)
                intact = intact && received.count == count && received.storage[count - 1] == tensor.storage[count - 1]
            }
        } catch { throw .failure("sim validate: the copy benchmark failed: \(error)") }
        guard intact else { throw .failure("sim validate: the copy benchmark read back other bytes than it sent") }
        times.removeFirst()   // the first maps the segment
        return 2 * Double(count * 4) / BenchOracleCommand.median(times)
    }
}
