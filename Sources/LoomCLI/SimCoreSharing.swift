import Attention
import Foundation
import SequenceParallel
import TensorCore

extension SimCalibrateCommand {
    /// How much of the cores' fair share `ranks` single-thread attention blocks get when they run
    /// at once on `cores` cores: 1 when time-slicing costs nothing; less when the blocks evict
    /// each other's caches and the scheduler switches between them. Measured with threads, each
    /// running the block `rounds` times, against one block alone.
    static func sharingEfficiency(ranks: Int, cores: Int, chunk: Int, heads: Int, keyHeads: Int, dimension: Int,
                                  rounds: Int = 2) throws(CommandError) -> Double {
        let inputs = ShardedInputs(seed: 1, heads: heads, keyHeads: keyHeads, headDimension: dimension)
        let q = inputs.tensor(.query, tokens: 0..<chunk), k = inputs.tensor(.key, tokens: 0..<chunk), v = inputs.tensor(.value, tokens: 0..<chunk)
        return try BLAS.withThreadCount(1) { () throws(CommandError) -> Double in
            let attention = BlockwiseAttention(mask: .none, threads: 1)
            var alone: [Double] = []
            do {
                _ = try attention.forward(query: q, key: k, value: v)   // warm-up
                for _ in 0..<3 {
                    let start = ContinuousClock.now
                    _ = try attention.forward(query: q, key: k, value: v)
                    alone.append((ContinuousClock.now - start).inSeconds)
                }
            } catch { throw .failure("sim validate: \(error)") }
            let group = DispatchGroup(), failures = FailureBox()
            let start = ContinuousClock.now
            for _ in 0..<ranks {
                group.enter()
                let thread = Thread {
                    defer { group.leave() }
                    do {
                        for _ in 0..<rounds { _ = try BlockwiseAttention(mask: .none, threads: 1).forward(query: q, key: k, value: v) }
                    } catch { failures.record("\(error)") }
                }
                thread.start()
            }
            group.wait()
            let together = (ContinuousClock.now - start).inSeconds
            if let failure = failures.first { throw .failure("sim validate: \(failure)") }
            // Fair sharing: ranks × rounds blocks over min(ranks, cores) cores.
            let fair = BenchOracleCommand.median(alone) * Double(ranks * rounds) / Double(min(ranks, cores))
            return min(1, fair / together)
        }
    }
}

/// The first error of the sharing benchmark's threads.
private final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []
    func record(_ message: String) { lock.lock(); messages.append(message); lock.unlock() }
    var first: String? { lock.lock(); defer { lock.unlock() }; return messages.first }
}
