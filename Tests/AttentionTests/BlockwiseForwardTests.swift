import Attention
import NumericTestSupport
import TensorCore
import Testing

/// The float32 blockwise forward pass against the float64 reference.
///
/// Tolerance 1e-5 relative (DESIGN, Numerics): float32 has ε ≈ 6e-8, and a dot product of
/// d ≤ 128 terms plus a weighted sum over m ≤ 600 keys accumulates a relative error of order
/// √(d + m)·ε ≈ 2e-6 on random inputs; 1e-5 leaves room for the polynomial exp (≤ 2 ulp).
@Suite("Blockwise forward vs float64 reference")
struct BlockwiseForwardTests {
    static let tolerance = 1e-5

    static let maskAndScoreCases = KernelCase.maskAndScoreSweep(
        sizes: [(7, 5), (130, 129), (257, 600), (1, 600), (130, 600), (257, 129), (7, 129), (1, 1)],
        dimensions: [8, 33, 64, 128],
        tiles: [(16, 32), nil, (32, 16)])

    static let raggedCases = KernelCase.raggedSweep(
        queries: [1, 7, 130, 257], keys: [1, 5, 129, 600], dimensions: [8, 33, 64, 128],
        tiles: [(16, 32), (32, 16), nil])

    @Test("every mask and score function", arguments: maskAndScoreCases)
    func masksAndScores(_ c: KernelCase) throws {
        try Self.check(c)
    }

    @Test("ragged n and m (not multiples of the blocks)", arguments: raggedCases)
    func raggedSizes(_ c: KernelCase) throws {
        try Self.check(c)
    }

    /// The same inputs give the same output with 1 and 2 threads and with other tile sizes, up to
    /// rounding (tiles reorder the sums, so not bit for bit).
    @Test("threads and tiles do not change the answer", arguments: ScoreFunction.allCases)
    func threadsAndTiles(_ score: ScoreFunction) throws {
        let inputs = AttentionInputs(queries: 130, keys: 129, heads: 4, keyHeads: 2, headDimension: 33, seed: 31)
        let mask = AttentionMask.causalAlignedToEnd(queries: 130, keys: 129)
        let reference = inputs.referenceForward(mask: mask, score: score)
        for (threads, blocks) in [(1, (16, 32)), (2, (16, 32)), (2, (32, 16)), (1, (1, 1)), (2, (128, 512))] {
            let attention = BlockwiseAttention(mask: mask, score: score, threads: threads,
                                               queryBlock: blocks.0, keyBlock: blocks.1)
            let result = try attention.forward(query: inputs.query, key: inputs.key, value: inputs.value)
            let report = ErrorReport(result.output.storage, reference.output)
            #expect(report.relative <= Self.tolerance,
                    "threads \(threads), blocks \(blocks): output \(report.describing(shape: result.output.shape))")
        }
    }

    /// A scale other than 1/√d reaches the scores.
    @Test("explicit scale", arguments: ScoreFunction.allCases)
    func explicitScale(_ score: ScoreFunction) throws {
        let inputs = AttentionInputs(queries: 20, keys: 37, heads: 2, keyHeads: 1, headDimension: 16, seed: 41)
        let attention = BlockwiseAttention(mask: .causal(), score: score, scale: 0.9, threads: 1,
                                           queryBlock: 16, keyBlock: 16)
        let result = try attention.forward(query: inputs.query, key: inputs.key, value: inputs.value)
        let reference = inputs.referenceForward(mask: .causal(), score: score, scale: Double(Float(0.9)))
        let report = ErrorReport(result.output.storage, reference.output)
        #expect(report.relative <= Self.tolerance, "output \(report.describing(shape: result.output.shape))")
    }

    static func check(_ c: KernelCase) throws {
        let inputs = c.makeInputs()
        let result = try c.attention.forward(query: inputs.query, key: inputs.key, value: inputs.value)
        let reference = inputs.referenceForward(mask: c.attentionMask, score: c.score)
        #expect(result.output.shape == [c.queries, c.heads, c.headDimension])
        #expect(result.logSumExp.shape == [c.queries, c.heads])
        let output = ErrorReport(result.output.storage, reference.output)
        #expect(output.relative <= tolerance, "output \(output.describing(shape: result.output.shape))")
        let lse = LogSumExpReport(result.logSumExp.storage, reference.logSumExp)
        #expect(lse.isWithin(tolerance), "\(lse)")
    }
}
