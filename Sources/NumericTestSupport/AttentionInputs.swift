import Attention
import TensorCore

/// Random query, key and value tensors for one attention call, with exact float64 copies.
///
/// The values are normal draws rounded to float32, so the float64 copies hold exactly the numbers
/// the float32 kernel reads, and a comparison measures only the kernel's own rounding.
public struct AttentionInputs: Sendable, CustomStringConvertible {
    /// The extents n, m, H, Hkv, d.
    public var shape: AttentionShape
    /// `[n, H, d]`
    public var query: Tensor
    /// `[m, Hkv, d]`
    public var key: Tensor
    /// `[m, Hkv, d]`
    public var value: Tensor
    /// `query` in float64, flat `[n, H, d]`.
    public var queryValues: [Double]
    /// `key` in float64, flat `[m, Hkv, d]`.
    public var keyValues: [Double]
    /// `value` in float64, flat `[m, Hkv, d]`.
    public var valueValues: [Double]

    /// Standard normal inputs (scaled by `standardDeviation`) drawn from `seed`.
    /// - Parameters:
    ///   - queries: n.
    ///   - keys: m.
    ///   - heads: H, a multiple of `keyHeads`.
    ///   - keyHeads: Hkv.
    ///   - headDimension: d.
    ///   - seed: the seed; q, k and v are drawn in that order from one stream.
    ///   - standardDeviation: the spread of every element.
    /// - Precondition: the extents make a valid `AttentionShape`.
    /// - Complexity: O((n·H + 2·m·Hkv)·d).
    public init(queries: Int, keys: Int, heads: Int, keyHeads: Int, headDimension: Int,
                seed: UInt64, standardDeviation: Double = 1) {
        var rng = TestRandom(seed: seed)
        let d = headDimension
        let q = rng.float32Normals(count: queries * heads * d, standardDeviation: standardDeviation)
        let k = rng.float32Normals(count: keys * keyHeads * d, standardDeviation: standardDeviation)
        let v = rng.float32Normals(count: keys * keyHeads * d, standardDeviation: standardDeviation)
        self.init(queries: queries, keys: keys, heads: heads, keyHeads: keyHeads, headDimension: d,
                  query: q, key: k, value: v)
    }

    /// Inputs from given values (each must be exactly representable in float32 for the float64
    /// copies to match the tensors; other values are rounded in the tensors only).
    /// - Precondition: the counts match `[n, H, d]` and `[m, Hkv, d]`, and the extents make a valid
    ///   `AttentionShape`.
    public init(queries: Int, keys: Int, heads: Int, keyHeads: Int, headDimension d: Int,
                query: [Double], key: [Double], value: [Double]) {
        do {
            shape = try AttentionShape(query: [queries, heads, d], key: [keys, keyHeads, d],
                                       value: [keys, keyHeads, d])
            self.query = try Tensor(shape: [queries, heads, d], storage: query.map { Float($0) })
            self.key = try Tensor(shape: [keys, keyHeads, d], storage: key.map { Float($0) })
            self.value = try Tensor(shape: [keys, keyHeads, d], storage: value.map { Float($0) })
        } catch {
            preconditionFailure("AttentionInputs: \(error)")
        }
        queryValues = query
        keyValues = key
        valueValues = value
    }

    /// The float64 reference forward pass on these inputs.
    /// - Complexity: O(n·m·H·d).
    public func referenceForward(mask: AttentionMask, score: ScoreFunction,
                                 scale: Double? = nil) -> (output: [Double], logSumExp: [Double]) {
        ReferenceAttention.forward(query: queryValues, key: keyValues, value: valueValues, shape: shape,
                                   mask: mask, score: score, scale: scale)
    }

    /// The float64 reference backward pass on these inputs for `∂L/∂output = outputGradient`.
    /// - Complexity: O(n·m·H·d).
    public func referenceBackward(mask: AttentionMask, score: ScoreFunction, scale: Double? = nil,
                                  outputGradient: [Double]) -> (query: [Double], key: [Double], value: [Double]) {
        ReferenceAttention.backward(query: queryValues, key: keyValues, value: valueValues, shape: shape,
                                    mask: mask, score: score, scale: scale, outputGradient: outputGradient)
    }

    /// Rows `range` of the keys and values (the query is unchanged), as one shard of a sequence.
    /// - Precondition: `range` lies within `0..<m`.
    public func keySlice(_ range: Range<Int>) -> AttentionInputs {
        let width = shape.keyHeads * shape.headDimension
        let elements = (range.lowerBound * width)..<(range.upperBound * width)
        return AttentionInputs(queries: shape.queries, keys: range.count, heads: shape.heads,
                               keyHeads: shape.keyHeads, headDimension: shape.headDimension,
                               query: queryValues, key: Array(keyValues[elements]),
                               value: Array(valueValues[elements]))
    }

    public var description: String {
        "n \(shape.queries), m \(shape.keys), H \(shape.heads)/\(shape.keyHeads), d \(shape.headDimension)"
    }
}

/// A random float32 tensor with its float64 copy: standard normal draws scaled by
/// `standardDeviation` and rounded to float32, so the copy is exact.
/// - Complexity: O(elements).
public func makeRandomTensor(shape: [Int], seed: UInt64,
                             standardDeviation: Double = 1) -> (tensor: Tensor, values: [Double]) {
    var rng = TestRandom(seed: seed)
    let values = rng.float32Normals(count: shape.reduce(1, *), standardDeviation: standardDeviation)
    do {
        return (try Tensor(shape: shape, storage: values.map { Float($0) }), values)
    } catch {
        preconditionFailure("makeRandomTensor: \(error)")
    }
}
