import Attention
import Foundation
import SequenceParallel
import Simulator
import TensorCore

extension SimCalibrateCommand {
    /// Bytes/s of the merge family on this machine: one partial result of `tokens` × `heads` × d
    /// folded into another (`PartialAttention.merge`, as the executors merge each block), counted
    /// as the simulator counts it, 12 bytes per element of out and lse. Median of the merges that
    /// fit in `budget` seconds (at least 3, at most 25), after one warm-up.
    static func mergeRate(tokens: Int, heads: Int, dimension: Int, budget: Double = 0.2) throws(CommandError) -> Double {
        let inputs = ShardedInputs(seed: 2, heads: heads, keyHeads: heads, headDimension: dimension)
        let outputs = (inputs.tensor(.query, tokens: 0..<tokens), inputs.tensor(.key, tokens: 0..<tokens))
        // Finite log-sum-exps of both signs, as blocks give.
        let lse = (0..<2).map { side in
            Tensor(unchecked: [tokens, heads], storage: (0..<(tokens * heads)).map { Float(($0 * 13 + side * 7) % 17) / 4 - 2 })
        }
        var times: [Double] = [], finite = true
        do throws(AttentionError) {
            let partial = try PartialAttention(output: outputs.1, logSumExp: lse[1])
            var accumulator = try PartialAttention(output: outputs.0, logSumExp: lse[0])
            try accumulator.merge(partial)   // warm-up
            let begin = ContinuousClock.now
            while times.count < 25 && (times.count < 3 || (ContinuousClock.now - begin).inSeconds < budget) {
                let start = ContinuousClock.now
                try accumulator.merge(partial)
                times.append((ContinuousClock.now - start).inSeconds)
            }
            finite = accumulator.logSumExp.storage.allSatisfy(\.isFinite)
        } catch {
            throw .failure("sim validate: the merge benchmark failed: \(error)")
        }
        let seconds = BenchOracleCommand.median(times)
        guard seconds > 0, finite else { throw .failure("sim validate: the merge benchmark timed nothing") }
        return ScheduleReplay.mergeBytesPerElement * Double(tokens * heads * (dimension + 1)) / seconds
    }
}
