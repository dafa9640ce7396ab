/// The active-dormant measurements of Guo et al. 2024 for one layer, from captured tensors.
///
/// Layouts are row-major: attention weights and pre-softmax scores `[B, H, T, T]` (query row,
/// key column; masked entries of scores are −∞ and ignored), per-head outputs after W_O
/// `[B, H, T, d]`, residuals `[B, T, d]`. Position 0 is BOS. `isTrigger[b·T + i]` says whether the
/// input token at position i is a trigger (its target is a back-copy).
public enum HeadMetrics {
    /// The shape of one layer's captures.
    public struct Shape: Sendable, Equatable {
        public var batch: Int, heads: Int, length: Int
        public init(batch: Int, heads: Int, length: Int) { self.batch = batch; self.heads = heads; self.length = length }
    }

    /// `attn_sink`, per head: the mean attention on BOS over non-trigger queries at positions ≥ 1
    /// (position 0 can only see itself).
    public static func attentionSink(weights: UnsafePointer<Float>, shape: Shape, isTrigger: [Bool]) -> [Double] {
        perHead(shape) { b, h, i, row in
            guard i >= 1, !isTrigger[b * shape.length + i] else { return nil }
            return Double(weights[row])
        }
    }

    /// `attn_prev`, per head: the mean attention on the previous position over trigger queries.
    public static func attentionPrevious(weights: UnsafePointer<Float>, shape: Shape, isTrigger: [Bool]) -> [Double] {
        perHead(shape) { b, h, i, row in
            guard i >= 1, isTrigger[b * shape.length + i] else { return nil }
            return Double(weights[row + i - 1])
        }
    }

    /// `sink_logit_margin`, per head: over non-trigger queries at positions ≥ 1, the pre-softmax
    /// score on BOS minus the mean score over the other visible keys 1…i.
    public static func sinkLogitMargin(scores: UnsafePointer<Float>, shape: Shape, isTrigger: [Bool]) -> [Double] {
        perHead(shape) { b, h, i, row in
            guard i >= 1, !isTrigger[b * shape.length + i] else { return nil }
            var others: Double = 0
            for j in 1...i { others += Double(scores[row + j]) }
            return Double(scores[row]) - others / Double(i)
        }
    }

    /// `value_drain`, per head: the mean of ‖W_O v‖ at BOS, and its mean at the other positions
    /// (`valueOutputs` is `ModelHooks.Capture.valueOutputs`: values through W_O, not mixed by
    /// attention, so the measure is the same for softmax and ReLU attention).
    public static func valueDrain(valueOutputs headOutputs: UnsafePointer<Float>, shape: Shape, width: Int) -> [(bos: Double, others: Double)] {
        (0..<shape.heads).map { h in
            var bos: Double = 0, others: Double = 0
            for b in 0..<shape.batch {
                for i in 0..<shape.length {
                    let norm = Self.norm(headOutputs + ((b * shape.heads + h) * shape.length + i) * width, width)
                    if i == 0 { bos += norm } else { others += norm }
                }
            }
            return (bos / Double(shape.batch), shape.length > 1 ? others / Double(shape.batch * (shape.length - 1)) : 0)
        }
    }

    /// `bos_residual_norm`: the mean residual norm at BOS and at the other positions.
    public static func residualNorm(residual: UnsafePointer<Float>, batch: Int, length: Int, width: Int) -> (bos: Double, others: Double) {
        var bos: Double = 0, others: Double = 0
        for b in 0..<batch {
            for i in 0..<length {
                let norm = Self.norm(residual + (b * length + i) * width, width)
                if i == 0 { bos += norm } else { others += norm }
            }
        }
        return (bos / Double(batch), length > 1 ? others / Double(batch * (length - 1)) : 0)
    }

    /// The mean of `value(b, h, i, rowStart)` over the (b, i) where it is not nil, per head.
    private static func perHead(_ shape: Shape, _ value: (Int, Int, Int, Int) -> Double?) -> [Double] {
        (0..<shape.heads).map { h in
            var sum: Double = 0, count = 0
            for b in 0..<shape.batch {
                for i in 0..<shape.length {
                    let row = ((b * shape.heads + h) * shape.length + i) * shape.length
                    if let v = value(b, h, i, row) { sum += v; count += 1 }
                }
            }
            return count > 0 ? sum / Double(count) : .nan
        }
    }

    private static func norm(_ x: UnsafePointer<Float>, _ count: Int) -> Double {
        var sum: Double = 0
        for k in 0..<count { sum += Double(x[k]) * Double(x[k]) }
        return sum.squareRoot()
    }
}
