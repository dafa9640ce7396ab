import Attention
import Cluster
import TensorCore

/// Compares a rank's sharded result with the float64 single-process reference (off the timed path).
enum ShardedVerification {
    /// `‖a − b‖/‖b‖` of the rank's output and log-sum-exp against attention over the whole
    /// sequence, rebuilt from the seed.
    static func errors(of run: ShardedRun, chunks: [Range<Int>], problem: ShardedProblem) throws -> [String: ParameterValue] {
        let all = 0..<problem.layout.tokens
        let key = problem.inputs.tensor(.key, tokens: all), value = problem.inputs.tensor(.value, tokens: all)
        var outError = 0.0, outNorm = 0.0, lseError = 0.0, lseNorm = 0.0
        for (index, range) in chunks.enumerated() {
            let query = problem.inputs.tensor(.query, tokens: range)
            let mask: AttentionMask = problem.isCausal ? .causal(queryOffset: range.lowerBound, keyOffset: 0) : .none
            let reference = try ReferenceAttention.forward(query: query, key: key, value: value, mask: mask, score: .softmax)
            for (a, b) in zip(run.outputs[index].output.storage, reference.output) {
                outError += (Double(a) - b) * (Double(a) - b)
                outNorm += b * b
            }
            for (a, b) in zip(run.outputs[index].logSumExp.storage, reference.logSumExp) {
                lseError += (Double(a) - b) * (Double(a) - b)
                lseNorm += b * b
            }
        }
        return ["rel_error_out": .double((outError / max(outNorm, .leastNormalMagnitude)).squareRoot()),
                "rel_error_lse": .double((lseError / max(lseNorm, .leastNormalMagnitude)).squareRoot())]
    }
}
