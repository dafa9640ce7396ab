import Attention
import Foundation
import NumericTestSupport
import TensorCore
import Testing

/// The float64 reference: its backward against central differences of its forward (the first link
/// of STYLE §6), and its forward against cases small enough to work out by hand.
@Suite("Float64 reference attention")
struct ReferenceAttentionTests {
    struct GradientCase: Sendable, CustomTestStringConvertible {
        var score: ScoreFunction
        var mask: AttentionMask
        var maskName: String
        var queries: Int, keys: Int
        var scale: Double?
        var testDescription: String {
            "\(score), \(maskName) (\(mask)), n \(queries) m \(keys)" + (scale.map { ", scale \($0)" } ?? "")
        }
    }

    static let gradientCases: [GradientCase] = {
        let masks: [(String, AttentionMask, Int, Int, Double?)] = [
            ("none", .none, 5, 7, nil),
            ("causal", .causal(), 5, 7, nil),
            ("causal aligned to end, n > m", .causalAlignedToEnd(queries: 7, keys: 4), 7, 4, nil),
            ("window 2", AttentionMask(window: 2), 6, 6, 0.8),
            ("causal window 3 with offsets", AttentionMask(isCausal: true, window: 3, queryOffset: 4, keyOffset: 2), 5, 7, nil),
            ("some rows see no key", .causal(queryOffset: -2), 5, 7, 1.3),
        ]
        return ScoreFunction.allCases.flatMap { score in
            masks.map { GradientCase(score: score, mask: $1, maskName: $0, queries: $2, keys: $3, scale: $4) }
        }
    }()

    /// L = ⟨G, output⟩ for a fixed random G, so ∂L/∂output = G.
    @Test("backward matches central differences of forward", arguments: gradientCases)
    func backwardMatchesCentralDifferences(_ c: GradientCase) throws {
        let heads = 4, keyHeads = 2, d = 3
        let inputs = AttentionInputs(queries: c.queries, keys: c.keys, heads: heads, keyHeads: keyHeads,
                                     headDimension: d, seed: 11)
        let shape = inputs.shape
        var rng = TestRandom(seed: 12)
        let g = rng.normals(count: c.queries * heads * d)
        let (q, k, v) = (inputs.queryValues, inputs.keyValues, inputs.valueValues)
        if c.score == .relu {
            // Central differences straddling ReLU's kink at s = 0 are wrong by up to half the jump,
            // so these inputs must keep every visible |s| well above the step h·scale·|k| ≈ 1e-5.
            let smallest = Self.smallestVisibleScore(inputs, mask: c.mask, scale: c.scale)
            try #require(smallest > 1e-3, "seed gives a score \(smallest) near ReLU's kink")
        }
        func loss(_ q: [Double], _ k: [Double], _ v: [Double]) -> Double {
            let output = ReferenceAttention.forward(query: q, key: k, value: v, shape: shape, mask: c.mask,
                                                    score: c.score, scale: c.scale).output
            return zip(output, g).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let analytic = ReferenceAttention.backward(query: q, key: k, value: v, shape: shape, mask: c.mask,
                                                   score: c.score, scale: c.scale, outputGradient: g)
        // Every coordinate (samples ≥ count); 1e-6 as in STYLE §6: the central difference of a smooth
        // float64 function with O(1) inputs is itself good to about 1e-10.
        checkGradient({ loss($0, k, v) }, at: q, analytic: analytic.query, samples: q.count, name: "q")
        checkGradient({ loss(q, $0, v) }, at: k, analytic: analytic.key, samples: k.count, name: "k")
        checkGradient({ loss(q, k, $0) }, at: v, analytic: analytic.value, samples: v.count, name: "v")
    }

    static func smallestVisibleScore(_ inputs: AttentionInputs, mask: AttentionMask, scale: Double?) -> Double {
        let s = inputs.shape, d = s.headDimension
        let scale = scale ?? 1 / Double(d).squareRoot()
        var smallest = Double.infinity
        for i in 0..<s.queries {
            for h in 0..<s.heads {
                for j in 0..<s.keys where mask.isVisible(query: i, key: j) {
                    var dot = 0.0
                    for c in 0..<d {
                        dot += inputs.queryValues[(i * s.heads + h) * d + c]
                            * inputs.keyValues[(j * s.keyHeads + h / s.groupSize) * d + c]
                    }
                    smallest = min(smallest, abs(scale * dot))
                }
            }
        }
        return smallest
    }

    // MARK: Hand-checkable cases

    /// Tiny cases are exact up to a few roundings of O(1) numbers.
    static let handTolerance = 1e-12

    static func shape(_ n: Int, _ m: Int, _ heads: Int, _ keyHeads: Int, _ d: Int) throws -> AttentionShape {
        try AttentionShape(query: [n, heads, d], key: [m, keyHeads, d], value: [m, keyHeads, d])
    }

    static func expectClose(_ actual: [Double], _ expected: [Double], _ what: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        let report = ErrorReport(actual, expected)
        #expect(report.relative <= handTolerance, "\(what): \(report)", sourceLocation: sourceLocation)
    }

    @Test("one key: the output is that key's value, weighted by the score function", arguments: ScoreFunction.allCases)
    func oneKey(_ score: ScoreFunction) throws {
        let q = [0.5, -1.0], k = [2.0, 0.25], v = [3.0, -7.0]
        let s = (0.5 * 2 - 0.25) / 2.0.squareRoot()       // scale·⟨q, k⟩ with scale 1/√2
        let result = ReferenceAttention.forward(query: q, key: k, value: v, shape: try Self.shape(1, 1, 1, 1, 2),
                                                mask: .none, score: score)
        let (weight, lse): (Double, Double) = switch score {
        case .softmax: (1, s)                              // one key takes all the weight
        case .relu: (max(s, 0), 0)                         // N = 1, lse = log 1
        case .softplus: (log(1 + exp(s)), 0)
        }
        Self.expectClose(result.output, v.map { weight * $0 }, "output")
        Self.expectClose(result.logSumExp, [lse], "lse")
    }

    @Test("equal scores: the output is the mean of the values", arguments: ScoreFunction.allCases)
    func uniformScores(_ score: ScoreFunction) throws {
        let m = 4
        let v = [1.0, 2, 3, 5, -4, 0, 10, 1]              // [m, 1, 2]
        let result = ReferenceAttention.forward(query: [0, 0], key: [1, 2, -3, 4, 5, 6, 7, -8], value: v,
                                                shape: try Self.shape(1, m, 1, 1, 2), mask: .none, score: score)
        let mean = [(1.0 + 3 - 4 + 10) / 4, (2.0 + 5 + 0 + 1) / 4]
        // q = 0 gives s = 0 everywhere: softmax weights 1/m; relu weights ReLU(0)/m = 0;
        // softplus weights log 2 / m.
        let factor: Double = switch score { case .softmax: 1; case .relu: 0; case .softplus: log(2.0) }
        Self.expectClose(result.output, mean.map { factor * $0 }, "output")
        Self.expectClose(result.logSumExp, [log(Double(m))], "lse")   // log Σ e^0 = log m = log N
    }

    @Test("causal: query 0 sees only key 0")
    func causalFirstQuery() throws {
        let inputs = AttentionInputs(queries: 4, keys: 4, heads: 2, keyHeads: 1, headDimension: 3, seed: 3)
        let result = inputs.referenceForward(mask: .causal(), score: .softmax)
        for h in 0..<2 {
            Self.expectClose(Array(result.output[(h * 3)..<(h * 3 + 3)]), Array(inputs.valueValues[0..<3]),
                             "query 0, head \(h)")
        }
        // Query 3 sees everything: the same as no mask.
        let full = inputs.referenceForward(mask: .none, score: .softmax)
        Self.expectClose(Array(result.output[18...]), Array(full.output[18...]), "query 3")
    }

    struct MaskCase: Sendable, CustomTestStringConvertible {
        var mask: AttentionMask
        var queries: Int, keys: Int
        var testDescription: String { "\(mask), n \(queries) m \(keys)" }
    }

    static let maskCases: [MaskCase] = [
        MaskCase(mask: AttentionMask(window: 2), queries: 6, keys: 6),
        MaskCase(mask: AttentionMask(isCausal: true, window: 3), queries: 6, keys: 6),
        MaskCase(mask: AttentionMask(window: 1), queries: 4, keys: 4),
        MaskCase(mask: .causal(queryOffset: 10, keyOffset: 8), queries: 3, keys: 6),
        MaskCase(mask: .causalAlignedToEnd(queries: 2, keys: 5), queries: 2, keys: 5),
        MaskCase(mask: .causalAlignedToEnd(queries: 5, keys: 2), queries: 5, keys: 2),
        MaskCase(mask: AttentionMask(isCausal: true, window: 2, queryOffset: 3, keyOffset: 0), queries: 4, keys: 6),
        MaskCase(mask: AttentionMask(window: 3, queryOffset: 0, keyOffset: 5), queries: 4, keys: 4),
    ]

    /// With q = 0 every visible key weighs the same, so each row is the mean of the values it sees,
    /// and the set it sees follows from the definition in `AttentionMask`: with Δ = qpos − kpos,
    /// causal needs Δ ≥ 0 and a window W needs |Δ| < W. A row that sees nothing is 0 with lse −∞.
    @Test("window, offsets and end alignment select the documented keys", arguments: maskCases)
    func maskSemantics(_ c: MaskCase) throws {
        let n = c.queries, m = c.keys
        let v = (0..<m).map { Double($0 * $0 + 1) }        // [m, 1, 1], distinct values
        let result = ReferenceAttention.forward(query: [Double](repeating: 0, count: n), key: (0..<m).map(Double.init),
                                                value: v, shape: try Self.shape(n, m, 1, 1, 1), mask: c.mask,
                                                score: .softmax)
        for i in 0..<n {
            let seen = (0..<m).filter { j in
                let delta = (c.mask.queryOffset + i) - (c.mask.keyOffset + j)
                return (!c.mask.isCausal || delta >= 0) && (c.mask.window.map { abs(delta) < $0 } ?? true)
            }
            if seen.isEmpty {
                #expect(result.output[i] == 0 && result.logSumExp[i] == -.infinity, "row \(i) sees no key")
            } else {
                let mean = seen.map { v[$0] }.reduce(0, +) / Double(seen.count)
                #expect(abs(result.output[i] - mean) <= 1e-12 * mean, "row \(i) sees keys \(seen)")
                #expect(abs(result.logSumExp[i] - log(Double(seen.count))) <= 1e-12, "row \(i) sees keys \(seen)")
            }
        }
    }

    @Test("explicit cases of the offsets")
    func offsetExamples() throws {
        // Query 0 at position 10, keys at 8, 9, 10, …: it sees keys 0…2.
        #expect(AttentionMask.causal(queryOffset: 10, keyOffset: 8).visibleKeys(query: 0, keyCount: 6) == 0..<3)
        // Aligned to the end with n = 2, m = 5: query 0 sees keys 0…3, query 1 all five.
        let end = AttentionMask.causalAlignedToEnd(queries: 2, keys: 5)
        #expect(end.visibleKeys(query: 0, keyCount: 5) == 0..<4)
        #expect(end.visibleKeys(query: 1, keyCount: 5) == 0..<5)
        // n = 5, m = 2: queries 0…2 see nothing, query 3 key 0, query 4 keys 0…1.
        let late = AttentionMask.causalAlignedToEnd(queries: 5, keys: 2)
        #expect((0..<5).map { late.visibleKeys(query: $0, keyCount: 2) } == [0..<0, 0..<0, 0..<0, 0..<1, 0..<2])
    }

    @Test("grouped-query heads read key/value head h / (H / Hkv)")
    func groupedQueryHeads() throws {
        let n = 2, m = 3, heads = 6, keyHeads = 2, d = 2
        var v = [Double](repeating: 0, count: m * keyHeads * d)   // [m, Hkv, d]
        for j in 0..<m {
            for kv in 0..<keyHeads {
                for c in 0..<d { v[(j * keyHeads + kv) * d + c] = Double(100 * kv + 10 * j + c) }
            }
        }
        var rng = TestRandom(seed: 4)
        let result = ReferenceAttention.forward(query: [Double](repeating: 0, count: n * heads * d),
                                                key: rng.normals(count: m * keyHeads * d), value: v,
                                                shape: try Self.shape(n, m, heads, keyHeads, d), mask: .none,
                                                score: .softmax)
        for i in 0..<n {
            for h in 0..<heads {
                let kv = h / 3                               // groups of H / Hkv = 3 query heads
                let expected = (0..<d).map { c in Double(100 * kv + 10 + c) }   // mean over j of 10 j = 10
                Self.expectClose(Array(result.output[((i * heads + h) * d)..<((i * heads + h + 1) * d)]), expected,
                                 "query \(i), head \(h) → kv head \(kv)")
            }
        }
    }

    @Test("softmax stays finite for scores far beyond exp's range")
    func largeScores() throws {
        // s = 1000·⟨q, k⟩/1: e^1000 overflows float64; the max shift must keep everything finite.
        let k = [1.0, 0.5, -1.0]                            // [m = 3, 1, 1]
        let result = ReferenceAttention.forward(query: [1000.0], key: k, value: [1, 2, 3],
                                                shape: try Self.shape(1, 3, 1, 1, 1), mask: .none,
                                                score: .softmax, scale: 1)
        // Weights e^0, e^−500, e^−2000 relative to the largest: key 0 takes all of it.
        Self.expectClose(result.output, [1], "output")
        Self.expectClose(result.logSumExp, [1000 + log1p(exp(-500.0))], "lse")
        let softplus = ReferenceAttention.forward(query: [1e200], key: k, value: [1, 2, 3],
                                              shape: try Self.shape(1, 3, 1, 1, 1), mask: .none,
                                              score: .softplus, scale: 1)
        #expect(softplus.output.allSatisfy { $0.isFinite }, "softplus of 1e200 overflowed: \(softplus.output)")
    }

    @Test("the tensor overloads equal the array versions")
    func tensorOverloads() throws {
        let inputs = AttentionInputs(queries: 5, keys: 6, heads: 2, keyHeads: 1, headDimension: 4, seed: 8)
        let mask = AttentionMask.causal(queryOffset: 1)
        let arrays = inputs.referenceForward(mask: mask, score: .softplus, scale: 0.5)
        let tensors = try ReferenceAttention.forward(query: inputs.query, key: inputs.key, value: inputs.value,
                                                     mask: mask, score: .softplus, scale: 0.5)
        #expect(arrays.output == tensors.output && arrays.logSumExp == tensors.logSumExp)
        let gradient = makeRandomTensor(shape: [5, 2, 4], seed: 9)
        let arrayGradients = inputs.referenceBackward(mask: mask, score: .softplus, scale: 0.5,
                                                      outputGradient: gradient.values)
        let tensorGradients = try ReferenceAttention.backward(query: inputs.query, key: inputs.key,
                                                              value: inputs.value, mask: mask, score: .softplus,
                                                              scale: 0.5, outputGradient: gradient.tensor)
        #expect(arrayGradients.query == tensorGradients.query && arrayGradients.key == tensorGradients.key
                && arrayGradients.value == tensorGradients.value)
    }
}
