import Foundation
import TensorCore

/// Naive float64 attention: the ground truth that tests compare the blockwise kernel against.
///
/// Plain loops over every (query, head, key) triple with no tiling, no online softmax and no
/// block skipping, so each line can be read against the definitions in `ScoreFunction` and
/// `AttentionMask`. With n queries, m keys, H query heads, Hkv key/value heads and head dimension d:
/// - layout: q is `[n, H, d]`, k and v are `[m, Hkv, d]`, row-major, so element (i, h, c) of q is
///   at `(i·H + h)·d + c`; query head h reads key/value head `h / (H / Hkv)` (grouped-query);
/// - scores: `s[i,j] = scale · ⟨q[i,h], k[j,h']⟩` with `scale = 1/√d` unless given;
/// - weights over the N[i] keys that `mask` shows query i (masked keys have weight 0):
///   - softmax: `A = exp(s − lse)`, `lse = log Σ_visible exp(s)`;
///   - relu: `A = ReLU(s) / N`, `lse = log N`;
///   - softplus: `A = log(1 + exp(s)) / N`, `lse = log N`;
/// - `output[i,h] = Σ_j A[i,j] · v[j,h']`; a row that sees no key has output 0 and lse −∞.
///
/// NaN propagates: the weights are summed without skipping zeros, and ReLU(NaN) is NaN, so a NaN
/// in an input reaches every output element it feeds.
public enum ReferenceAttention {
    /// Attention of `query` over `key`/`value` in float64.
    ///
    /// Formulas as in the type's documentation. For softmax the sum is taken after subtracting the
    /// row's largest visible score, so `exp` neither overflows nor underflows the whole row.
    /// - Parameters:
    ///   - query: `[n, H, d]` row-major.
    ///   - key: `[m, Hkv, d]` row-major.
    ///   - value: `[m, Hkv, d]` row-major.
    ///   - shape: the extents n, m, H, Hkv, d.
    ///   - mask: which keys each query sees.
    ///   - score: how scores become weights.
    ///   - scale: the score scale; nil means `1/√d`.
    /// - Returns: `output [n, H, d]` and `logSumExp [n, H]`.
    /// - Precondition: the arrays hold exactly the elements `shape` describes.
    /// - Complexity: O(n·m·H·d).
    public static func forward(query: [Double], key: [Double], value: [Double], shape: AttentionShape,
                               mask: AttentionMask, score: ScoreFunction,
                               scale: Double? = nil) -> (output: [Double], logSumExp: [Double]) {
        checkCounts(query: query, key: key, value: value, shape: shape)
        let n = shape.queries, m = shape.keys, heads = shape.heads, keyHeads = shape.keyHeads
        let d = shape.headDimension
        let scale = scale ?? 1 / Double(d).squareRoot()
        var output = [Double](repeating: 0, count: n * heads * d)      // [n, H, d]
        var logSumExp = [Double](repeating: -.infinity, count: n * heads)  // [n, H]
        var scores = [Double](repeating: 0, count: m)                    // [m]: one row of s
        for i in 0..<n {
            for h in 0..<heads {
                let kvHead = h / shape.groupSize
                let visible = (0..<m).filter { mask.isVisible(query: i, key: $0) }
                if visible.isEmpty { continue }                          // out 0, lse −∞
                for j in visible {
                    scores[j] = scale * dot(query, (i * heads + h) * d, key, (j * keyHeads + kvHead) * d, d)
                }
                let (weights, lse) = rowWeights(scores, visible: visible, score: score)
                logSumExp[i * heads + h] = lse
                let out = (i * heads + h) * d
                for (j, weight) in zip(visible, weights) {
                    let v = (j * keyHeads + kvHead) * d
                    for c in 0..<d { output[out + c] += weight * value[v + c] }
                }
            }
        }
        return (output, logSumExp)
    }

    /// Gradients of a loss L with respect to query, key and value, given `dO = ∂L/∂output`.
    ///
    /// With `dP[i,j] = ⟨dO[i,h], v[j,h']⟩` and `dS = ∂L/∂s`:
    /// - softmax: `dS = P ∘ (dP − D)`, `P = exp(s − lse)`, `D[i] = ⟨dO[i,h], O[i,h]⟩` (= Σ_j P·dP);
    /// - relu: `dS = dP · 1[s > 0] / N` (the derivative at s = 0 is taken as 0);
    /// - softplus: `dS = dP · σ(s) / N`, σ the logistic function;
    ///
    /// and then, since `s = scale · ⟨q, k⟩`: `dq[i,h] = scale · Σ_j dS·k[j,h']`,
    /// `dk[j,h'] = scale · Σ_{i, h in group h'} dS·q[i,h]`, `dv[j,h'] = Σ_{i, h in group h'} A·dO[i,h]`.
    /// The forward pass is recomputed inside; lse does not take part in L.
    /// - Parameters:
    ///   - query, key, value, shape, mask, score, scale: as for `forward`.
    ///   - outputGradient: `∂L/∂output`, `[n, H, d]`.
    /// - Returns: `∂L/∂query [n, H, d]`, `∂L/∂key [m, Hkv, d]`, `∂L/∂value [m, Hkv, d]`.
    /// - Precondition: the arrays hold exactly the elements `shape` describes.
    /// - Complexity: O(n·m·H·d).
    public static func backward(query: [Double], key: [Double], value: [Double], shape: AttentionShape,
                                mask: AttentionMask, score: ScoreFunction, scale: Double? = nil,
                                outputGradient: [Double]) -> (query: [Double], key: [Double], value: [Double]) {
        checkCounts(query: query, key: key, value: value, shape: shape)
        precondition(outputGradient.count == query.count,
                     "outputGradient holds \(outputGradient.count) elements; [n, H, d] needs \(query.count)")
        let n = shape.queries, m = shape.keys, heads = shape.heads, keyHeads = shape.keyHeads
        let d = shape.headDimension
        let scale = scale ?? 1 / Double(d).squareRoot()
        let output = forward(query: query, key: key, value: value, shape: shape, mask: mask,
                             score: score, scale: scale).output      // [n, H, d]
        var dq = [Double](repeating: 0, count: query.count)          // [n, H, d]
        var dk = [Double](repeating: 0, count: key.count)            // [m, Hkv, d]
        var dv = [Double](repeating: 0, count: value.count)          // [m, Hkv, d]
        var scores = [Double](repeating: 0, count: m)                // [m]: one row of s
        for i in 0..<n {
            for h in 0..<heads {
                let kvHead = h / shape.groupSize
                let visible = (0..<m).filter { mask.isVisible(query: i, key: $0) }
                if visible.isEmpty { continue }                      // output is constant 0
                let q = (i * heads + h) * d
                for j in visible {
                    scores[j] = scale * dot(query, q, key, (j * keyHeads + kvHead) * d, d)
                }
                let (weights, _) = rowWeights(scores, visible: visible, score: score)
                let rowDotOutput = dot(outputGradient, q, output, q, d)  // D = ⟨dO, O⟩, softmax only
                let count = Double(visible.count)
                for (j, weight) in zip(visible, weights) {
                    let kv = (j * keyHeads + kvHead) * d
                    let dP = dot(outputGradient, q, value, kv, d)
                    let s = scores[j]
                    let dS: Double
                    switch score {
                    case .softmax: dS = weight * (dP - rowDotOutput)
                    case .relu: dS = s > 0 ? dP / count : (s.isNaN ? s : 0)
                    case .softplus: dS = dP * logistic(s) / count
                    }
                    for c in 0..<d {
                        dq[q + c] += scale * dS * key[kv + c]
                        dk[kv + c] += scale * dS * query[q + c]
                        dv[kv + c] += weight * outputGradient[q + c]
                    }
                }
            }
        }
        return (dq, dk, dv)
    }

    /// `forward` on float32 tensors, widened exactly to float64.
    /// - Parameters:
    ///   - query: `[n, H, d]`.
    ///   - key: `[m, Hkv, d]`.
    ///   - value: `[m, Hkv, d]`.
    ///   - mask, score: as for `forward`.
    ///   - scale: the score scale; nil means `1/√d`.
    /// - Returns: `output [n, H, d]` and `logSumExp [n, H]`, flat and in float64.
    /// - Throws: `AttentionError.shape` when the shapes do not fit (see `AttentionShape`).
    /// - Complexity: O(n·m·H·d).
    public static func forward(query: Tensor, key: Tensor, value: Tensor, mask: AttentionMask,
                               score: ScoreFunction, scale: Float? = nil)
        throws(AttentionError) -> (output: [Double], logSumExp: [Double]) {
        let shape = try AttentionShape(query: query.shape, key: key.shape, value: value.shape)
        return forward(query: query.storage.map(Double.init), key: key.storage.map(Double.init),
                       value: value.storage.map(Double.init), shape: shape, mask: mask, score: score,
                       scale: scale.map(Double.init))
    }

    /// `backward` on float32 tensors, widened exactly to float64.
    /// - Parameters:
    ///   - query, key, value, mask, score, scale: as for the tensor `forward`.
    ///   - outputGradient: `∂L/∂output`, `[n, H, d]`.
    /// - Returns: `∂L/∂query [n, H, d]`, `∂L/∂key [m, Hkv, d]`, `∂L/∂value [m, Hkv, d]`, flat.
    /// - Throws: `AttentionError.shape` when the shapes do not fit or `outputGradient` is not
    ///   the query's shape.
    /// - Complexity: O(n·m·H·d).
    public static func backward(query: Tensor, key: Tensor, value: Tensor, mask: AttentionMask,
                                score: ScoreFunction, scale: Float? = nil, outputGradient: Tensor)
        throws(AttentionError) -> (query: [Double], key: [Double], value: [Double]) {
        let shape = try AttentionShape(query: query.shape, key: key.shape, value: value.shape)
        guard outputGradient.shape == query.shape else {
            throw .shape("outputGradient \(Tensor.describe(outputGradient.shape)) must match query \(Tensor.describe(query.shape))")
        }
        return backward(query: query.storage.map(Double.init), key: key.storage.map(Double.init),
                        value: value.storage.map(Double.init), shape: shape, mask: mask, score: score,
                        scale: scale.map(Double.init), outputGradient: outputGradient.storage.map(Double.init))
    }

    /// The weights A of one row's visible keys, in the order of `visible`, and the row's lse.
    private static func rowWeights(_ scores: [Double], visible: [Int],
                                   score: ScoreFunction) -> (weights: [Double], logSumExp: Double) {
        let count = Double(visible.count)
        switch score {
        case .softmax:
            // exp overflows past s ≈ 709: shift by the largest score so the biggest term is 1.
            var largest = -Double.infinity
            for j in visible where scores[j] > largest { largest = scores[j] }
            var sum = 0.0
            for j in visible { sum += exp(scores[j] - largest) }
            let lse = largest + log(sum)
            return (visible.map { exp(scores[$0] - lse) }, lse)
        case .relu:
            // max(0, s) would turn NaN into 0; the reference lets NaN through.
            return (visible.map { s in scores[s] > 0 || scores[s].isNaN ? scores[s] / count : 0 }, log(count))
        case .softplus:
            return (visible.map { softplus(scores[$0]) / count }, log(count))
        }
    }

    /// log(1 + e^s) without overflow: `max(s, 0) + log1p(e^−|s|)`.
    private static func softplus(_ s: Double) -> Double {
        s.isNaN ? s : max(s, 0) + log1p(exp(-abs(s)))
    }

    /// σ(s) = 1 / (1 + e^−s), evaluated so that e^x never overflows.
    private static func logistic(_ s: Double) -> Double {
        s >= 0 ? 1 / (1 + exp(-s)) : exp(s) / (1 + exp(s))
    }

    /// ⟨a[aStart ..< aStart + count], b[bStart ..< bStart + count]⟩, summed left to right.
    private static func dot(_ a: [Double], _ aStart: Int, _ b: [Double], _ bStart: Int, _ count: Int) -> Double {
        var sum = 0.0
        for c in 0..<count { sum += a[aStart + c] * b[bStart + c] }
        return sum
    }

    private static func checkCounts(query: [Double], key: [Double], value: [Double], shape: AttentionShape) {
        let n = shape.queries, m = shape.keys, d = shape.headDimension
        precondition(query.count == n * shape.heads * d,
                     "query holds \(query.count) elements; [n, H, d] = [\(n), \(shape.heads), \(d)] needs \(n * shape.heads * d)")
        precondition(key.count == m * shape.keyHeads * d && value.count == key.count,
                     "key/value hold \(key.count)/\(value.count) elements; [m, Hkv, d] = [\(m), \(shape.keyHeads), \(d)] needs \(m * shape.keyHeads * d)")
    }
}
