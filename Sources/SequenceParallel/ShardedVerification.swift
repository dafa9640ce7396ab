import Attention
import Cluster
import TensorCore
import Tasks

/// Compares a rank's sharded result with the float64 single-process reference (off the timed path).
enum ShardedVerification {
    /// `‖a − b‖/‖b‖` of the rank's dq, dk and dv against the float64 backward pass of the whole
    /// problem, rebuilt from the seed.
    static func gradientErrors(_ gradients: ShardedGradients, chunks: [Range<Int>], problem: ShardedProblem) throws -> [String: ParameterValue] {
        let all = 0..<problem.layout.tokens
        let query = problem.inputs.tensor(.query, tokens: all), key = problem.inputs.tensor(.key, tokens: all)
        let value = problem.inputs.tensor(.value, tokens: all), outputGradient = problem.inputs.tensor(.outputGradient, tokens: all)
        let mask: AttentionMask = problem.isCausal ? .causal() : .none
        let reference = try ReferenceAttention.backward(query: query, key: key, value: value, mask: mask, score: .softmax,
                                                        outputGradient: outputGradient)
        func error(_ parts: [Tensor], _ full: [Double], width: Int) -> Double {
            var difference = 0.0, norm = 0.0
            for (part, range) in zip(parts, chunks) {
                for (offset, a) in part.storage.enumerated() {
                    let b = full[range.lowerBound * width + offset]
                    difference += (Double(a) - b) * (Double(a) - b)
                    norm += b * b
                }
            }
            return (difference / max(norm, .leastNormalMagnitude)).squareRoot()
        }
        let d = problem.inputs.headDimension
        return [ShardedMetric.errorDQ.name: .double(error(gradients.query, reference.query, width: problem.inputs.heads * d)),
                ShardedMetric.errorDK.name: .double(error(gradients.key, reference.key, width: problem.inputs.keyHeads * d)),
                ShardedMetric.errorDV.name: .double(error(gradients.value, reference.value, width: problem.inputs.keyHeads * d))]
    }

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
        return [ShardedMetric.errorOut.name: .double((outError / max(outNorm, .leastNormalMagnitude)).squareRoot()),
                ShardedMetric.errorLSE.name: .double((lseError / max(lseNorm, .leastNormalMagnitude)).squareRoot())]
    }
}
