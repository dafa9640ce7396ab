import Attention
import Foundation
import NumericTestSupport
import TensorCore
import Testing

/// `PartialAttention.merge`: attention over all keys equals the merge of attention over any split
/// of the keys, in any order, and the merge is safe at the extremes.
@Suite("Merging partial results")
struct MergeTests {
    /// 1e-5 as for a forward pass: each merge adds a few roundings per element on top of the parts.
    static let tolerance = 1e-5

    struct SplitCase: Sendable, CustomTestStringConvertible {
        var parts: Int
        var mask: MaskKind
        var score: ScoreFunction
        var seed: UInt64
        var testDescription: String { "\(parts) parts, \(mask), \(score), seed \(seed)" }
    }

    static let splitCases: [SplitCase] = {
        let masks: [MaskKind] = [.none, .causal, .causalAlignedToEnd, .causalWindow, .emptyRowsCausal, .window, .causalShifted]
        var cases: [SplitCase] = []
        for parts in 2...8 {
            for (j, score) in [ScoreFunction.softmax, .relu].enumerated() {
                cases.append(SplitCase(parts: parts, mask: masks[(parts + j) % masks.count], score: score,
                                       seed: UInt64(10 * parts + j)))
            }
        }
        cases.append(SplitCase(parts: 5, mask: .causal, score: .softplus, seed: 99))
        return cases
    }()

    static let queries = 37, keys = 91, heads = 4, keyHeads = 2, headDimension = 16

    /// Random cut points (distinct, so no slice is empty) and a random merge order.
    static func split(_ c: SplitCase) -> (slices: [Range<Int>], order: [Int]) {
        var rng = TestRandom(seed: c.seed)
        var cuts = Set<Int>()
        while cuts.count < c.parts - 1 { cuts.insert(Int.random(in: 1..<keys, using: &rng)) }
        let bounds = [0] + cuts.sorted() + [keys]
        let slices = (0..<c.parts).map { bounds[$0]..<bounds[$0 + 1] }
        return (slices, Array(0..<c.parts).shuffled(using: &rng))
    }

    /// The mask of one key slice: the same global positions, so keyOffset moves to the slice start.
    static func sliceMask(_ mask: AttentionMask, start: Int) -> AttentionMask {
        var sliced = mask
        sliced.keyOffset += start
        return sliced
    }

    /// Float64 reference parts rounded to float32 and merged: tests the merge alone.
    @Test("merge of reference parts equals attention over all keys", arguments: splitCases)
    func mergeOfReferenceParts(_ c: SplitCase) throws {
        try Self.checkMergedParts(c) { part, sliceMask, merged in
            let reference = part.referenceForward(mask: sliceMask, score: c.score)
            return try PartialAttention(
                output: Tensor(shape: merged.output.shape, storage: reference.output.map { Float($0) }),
                logSumExp: Tensor(shape: merged.logSumExp.shape, storage: reference.logSumExp.map { Float($0) }))
        }
    }

    /// Blockwise parts, each over one key slice with its own keyOffset, merged in a random order.
    @Test("merge of blockwise parts equals attention over all keys", arguments: splitCases)
    func mergeOfBlockwiseParts(_ c: SplitCase) throws {
        try Self.checkMergedParts(c) { part, sliceMask, _ in
            try BlockwiseAttention(mask: sliceMask, score: c.score, threads: 1, queryBlock: 16, keyBlock: 16)
                .forward(query: part.query, key: part.key, value: part.value)
        }
    }

    /// Splits the keys as `c` says, computes each slice's part with `makePart(slice inputs, slice
    /// mask, the merged result so far)`, merges the parts in `c`'s random order, and compares with
    /// the float64 reference over all keys.
    static func checkMergedParts(_ c: SplitCase,
                                 _ makePart: (AttentionInputs, AttentionMask, PartialAttention) throws -> PartialAttention) throws {
        let inputs = AttentionInputs(queries: queries, keys: keys, heads: heads,
                                     keyHeads: keyHeads, headDimension: headDimension, seed: c.seed)
        let mask = c.mask.mask(queries: queries, keys: keys)
        let (slices, order) = split(c)
        var merged = PartialAttention(empty: queries, heads: heads, headDimension: headDimension)
        for index in order {
            let part = try makePart(inputs.keySlice(slices[index]),
                                    sliceMask(mask, start: slices[index].lowerBound), merged)
            try merged.merge(part)
        }
        try expectMatchesWhole(merged, inputs: inputs, mask: mask, score: c.score, slices: slices, order: order)
    }

    static func expectMatchesWhole(_ merged: PartialAttention, inputs: AttentionInputs, mask: AttentionMask,
                                   score: ScoreFunction, slices: [Range<Int>], order: [Int]) throws {
        let whole = inputs.referenceForward(mask: mask, score: score)
        let output = ErrorReport(merged.output.storage, whole.output)
        #expect(output.relative <= tolerance,
                "slices \(slices) merged in order \(order): output \(output.describing(shape: merged.output.shape))")
        let lse = LogSumExpReport(merged.logSumExp.storage, whole.logSumExp)
        #expect(lse.isWithin(tolerance), "slices \(slices) merged in order \(order): \(lse)")
    }

    @Test("merging an empty part (lse −∞) changes nothing, in either order")
    func emptyPartIsIdentity() throws {
        let inputs = AttentionInputs(queries: 9, keys: 13, heads: 2, keyHeads: 1, headDimension: 8, seed: 5)
        // emptyRowsCausal leaves rows 0–2 at −∞ in `part` itself, so −∞ meets −∞ there too.
        let part = try BlockwiseAttention(mask: .causal(queryOffset: -3), threads: 1)
            .forward(query: inputs.query, key: inputs.key, value: inputs.value)
        let empty = PartialAttention(empty: 9, heads: 2, headDimension: 8)
        // Identity is a copy, not arithmetic, so exact equality is the right check here.
        #expect(try part.merging(empty) == part)
        #expect(try empty.merging(part) == part)
        #expect(try empty.merging(empty) == empty)
    }

    /// Pairs of lse values whose exponentials overflow float32 (e^88.7) and float64 (e^709).
    static let extremePairs: [(Float, Float)] = [
        (0, 1e4), (1e4, 0), (1e4, -1e4), (-1e4, 1e4), (1e4, 1e4), (-1e4, -1e4), (3e4, 3e4 - 1), (-3e4, 2e4),
    ]

    @Test("merge does not overflow for lse differences of 1e4", arguments: 0..<extremePairs.count)
    func extremeLogSumExps(_ index: Int) throws {
        let (la, lb) = Self.extremePairs[index]
        let a = try PartialAttention(output: Tensor(shape: [1, 1, 4], storage: [1, 2, 3, 4]),
                                     logSumExp: Tensor(shape: [1, 1], storage: [la]))
        let b = try PartialAttention(output: Tensor(shape: [1, 1, 4], storage: [-4, 0, 8, 1]),
                                     logSumExp: Tensor(shape: [1, 1], storage: [lb]))
        let merged = try a.merging(b)
        // Float64 closed form, shifted by the larger lse: ℓ = max + log(1 + e^−|Δ|).
        let x = Double(la), y = Double(lb)
        let top = max(x, y)
        let wa = exp(x - top), wb = exp(y - top)
        let expectedLSE = top + log(wa + wb)
        let expectedOutput: [Double] = zip(a.output.storage, b.output.storage).map { (x: Float, y: Float) -> Double in
            (wa * Double(x) + wb * Double(y)) / (wa + wb)
        }
        #expect(merged.output.storage.allSatisfy { $0.isFinite } && merged.logSumExp.storage.allSatisfy { $0.isFinite },
                "lse \(la), \(lb): merged \(merged.output.storage), lse \(merged.logSumExp.storage)")
        // 1e-6: one rounding of the weights and of ℓ in float32 (ε ≈ 6e-8), with room.
        #expect(relativeError(merged.output.storage, expectedOutput) <= 1e-6,
                "lse \(la), \(lb): output \(merged.output.storage), expected \(expectedOutput)")
        #expect(relativeError(merged.logSumExp.storage, [expectedLSE]) <= 1e-6,
                "lse \(la), \(lb): got \(merged.logSumExp.storage[0]), expected \(expectedLSE)")
    }

    @Test("merge refuses parts of different shapes, naming both")
    func mismatchedShapesThrow() throws {
        var a = PartialAttention(empty: 3, heads: 2, headDimension: 4)
        let b = PartialAttention(empty: 3, heads: 2, headDimension: 5)
        let error = #expect(throws: AttentionError.self) { try a.merge(b) }
        #expect(error?.description.contains("[3, 2, 4]") == true && error?.description.contains("[3, 2, 5]") == true,
                "\(String(describing: error))")
    }
}
