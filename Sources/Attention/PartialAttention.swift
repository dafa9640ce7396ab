import Foundation
import TensorCore

/// The result of attention over some set of keys: `output [n, H, d]` and `logSumExp [n, H]`.
///
/// Results over disjoint key sets combine exactly with `merge(_:)`, which is how blockwise and
/// sharded attention build the whole from parts.
public struct PartialAttention: Sendable, Equatable {
    /// `[n, H, d]`: the weighted values.
    public var output: Tensor
    /// `[n, H]`: the natural-log normaliser of each row (see `ScoreFunction` for relu/softplus).
    public var logSumExp: Tensor

    /// Pairs an output with its log-sum-exp.
    /// - Throws: `AttentionError.shape` unless output is `[n, H, d]` and logSumExp `[n, H]`.
    public init(output: Tensor, logSumExp: Tensor) throws(AttentionError) {
        guard output.rank == 3, logSumExp.shape == Array(output.shape.prefix(2)) else {
            throw .shape("output \(Tensor.describe(output.shape)) and logSumExp \(Tensor.describe(logSumExp.shape)) do not pair: expected [n, H, d] and [n, H]")
        }
        self.output = output
        self.logSumExp = logSumExp
    }

    /// An empty result (no keys seen): output 0, logSumExp −∞; merging into it copies the other.
    public init(empty queries: Int, heads: Int, headDimension: Int) {
        output = Tensor(uncheckedZeros: [queries, heads, headDimension])
        logSumExp = Tensor(unchecked: [queries, heads], storage: [Float](repeating: -.infinity, count: queries * heads))
    }

    /// Folds another result for the same query rows, over other keys, into this one.
    ///
    /// With σ the logistic function and ℓ each row's log-sum-exp:
    /// `output ← output − σ(ℓ_b − ℓ)·(output − output_b)`, `ℓ ← ℓ − log σ(ℓ − ℓ_b)`.
    /// This is `ℓ = log(e^ℓ + e^ℓ_b)` and the matching convex combination, without overflow.
    /// A row with ℓ_b = −∞ (no keys) is unchanged; a row with ℓ = −∞ takes the other's values.
    /// - Throws: `AttentionError.shape` when the shapes differ.
    /// - Complexity: O(n·H·d).
    public mutating func merge(_ other: PartialAttention) throws(AttentionError) {
        guard output.shape == other.output.shape else {
            throw .shape("merge: output shapes \(Tensor.describe(output.shape)) and \(Tensor.describe(other.output.shape)) differ")
        }
        let rows = logSumExp.count
        let d = output.shape[2]
        other.output.withUnsafeBufferPointer { ob in
            other.logSumExp.withUnsafeBufferPointer { lb in
                output.withUnsafeMutableBufferPointer { oa in
                    logSumExp.withUnsafeMutableBufferPointer { la in
                        Merge.rows(rows, headDimension: d,
                                   output: oa.baseAddress!, logSumExp: la.baseAddress!,
                                   otherOutput: ob.baseAddress!, otherLogSumExp: lb.baseAddress!)
                    }
                }
            }
        }
    }

    /// `merge(_:)` on a copy.
    public func merging(_ other: PartialAttention) throws(AttentionError) -> PartialAttention {
        var copy = self
        try copy.merge(other)
        return copy
    }
}

/// The stable merge on raw rows, shared by `PartialAttention` and the sharded executors.
public enum Merge {
    /// Merges `rows` rows of width `headDimension`: (output, logSumExp) ← merge with (otherOutput, otherLogSumExp).
    /// - Precondition: output and otherOutput hold rows·headDimension floats; the lse buffers hold rows.
    public static func rows(_ rows: Int, headDimension d: Int,
                            output: UnsafeMutablePointer<Float>, logSumExp: UnsafeMutablePointer<Float>,
                            otherOutput: UnsafePointer<Float>, otherLogSumExp: UnsafePointer<Float>) {
        for row in 0..<rows {
            let la = logSumExp[row], lb = otherLogSumExp[row]
            if lb == -.infinity { continue }               // the other saw no key: nothing to add
            let o = output + row * d, ob = otherOutput + row * d
            if la == -.infinity {                           // this saw no key: take the other
                o.update(from: ob, count: d)
                logSumExp[row] = lb
                continue
            }
            // σ(lb − la) is the other's share of the total weight; computed from a difference,
            // so neither e^la nor e^lb is ever formed and nothing overflows.
            let share = sigmoid(lb - la)
            for k in 0..<d { o[k] -= share * (o[k] - ob[k]) }
            logSumExp[row] = la - logSigmoid(la - lb)
        }
    }

    @inline(__always) static func sigmoid(_ x: Float) -> Float {
        x >= 0 ? 1 / (1 + expf(-x)) : { let e = expf(x); return e / (1 + e) }()
    }

    /// log σ(x) = −log(1 + e^−x), computed without overflow for either sign of x.
    @inline(__always) static func logSigmoid(_ x: Float) -> Float {
        x >= 0 ? -log1pf(expf(-x)) : x - log1pf(expf(x))
    }
}
