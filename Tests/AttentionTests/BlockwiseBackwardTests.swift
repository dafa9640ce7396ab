@testable import Attention
import NumericTestSupport
import TensorCore
import Testing

/// The float32 blockwise backward pass against the float64 reference backward (the second link of
/// STYLE §6; `ReferenceAttentionTests` checks the first, reference against central differences).
///
/// Tolerance 1e-4 relative: the backward recomputes P from the float32 lse, forms dS = P∘(dP − D)
/// with a difference that cancels (D ≈ dP on average), and sums dk and dv over every query of a
/// group, so it loses about an order of magnitude more than the forward pass's 1e-5.
@Suite("Blockwise backward vs float64 reference")
struct BlockwiseBackwardTests {
    static let tolerance = 1e-4

    static let maskAndScoreCases = KernelCase.maskAndScoreSweep(
        sizes: [(7, 5), (70, 100), (1, 100), (70, 33), (33, 70), (1, 1), (7, 100), (100, 5)],
        dimensions: [8, 33, 64],
        tiles: [(16, 32), nil, (32, 16)])

    static let raggedCases = KernelCase.raggedSweep(
        queries: [1, 7, 70], keys: [1, 5, 100], dimensions: [8, 33, 64],
        tiles: [(16, 32), (32, 16), nil, (7, 5)])

    @Test("every mask and score function", arguments: maskAndScoreCases)
    func masksAndScores(_ c: KernelCase) throws {
        try Self.check(c)
    }

    @Test("ragged n and m (not multiples of the blocks)", arguments: raggedCases)
    func raggedSizes(_ c: KernelCase) throws {
        try Self.check(c)
    }

    /// When the key/value heads divide evenly among the threads, each head is one work item and
    /// dq has the bits of one thread: the same in every run and on 1, 2 and 4 threads. Small key
    /// blocks make many items, so a slice per worker handed items on demand would differ.
    @Test(arguments: [AttentionMask.none, .causal()])
    func gradientsAreTheSameBitsOnThreadsThatDivideTheHeads(mask: AttentionMask) throws {
        let (n, heads, d) = (96, 4, 24)
        let q = makeRandomTensor(shape: [n, heads, d], seed: 1).tensor, k = makeRandomTensor(shape: [n, heads, d], seed: 2).tensor
        let v = makeRandomTensor(shape: [n, heads, d], seed: 3).tensor, dO = makeRandomTensor(shape: [n, heads, d], seed: 4).tensor
        let runs = try [1, 2, 2, 2, 4, 4].map { try Self.gradientBits(mask: mask, threads: $0, q, k, v, dO) }
        let same = runs.allSatisfy { $0 == runs[0] }
        #expect(same, "dq, dk or dv differ between runs on 1, 2 and 4 threads")
    }

    /// When they do not (3 heads on 2 or 4 threads, one key/value head shared by 4 query heads on
    /// 2), the (key block, head) items are dealt to the threads' dq slices by a fixed rule, so a
    /// given number of threads gives the same bits in every run. Items handed to whichever thread
    /// was free first made dq differ in its last bits from run to run.
    @Test(arguments: [AttentionMask.none, .causal()])
    func gradientsAreTheSameBitsFromRunToRunOnOtherThreadCounts(mask: AttentionMask) throws {
        for (heads, keyHeads, threads) in [(3, 3, 2), (3, 3, 4), (4, 1, 2)] {
            let n = 96, d = 24
            let q = makeRandomTensor(shape: [n, heads, d], seed: 1).tensor, dO = makeRandomTensor(shape: [n, heads, d], seed: 4).tensor
            let k = makeRandomTensor(shape: [n, keyHeads, d], seed: 2).tensor, v = makeRandomTensor(shape: [n, keyHeads, d], seed: 3).tensor
            let runs = try (0..<4).map { _ in try Self.gradientBits(mask: mask, threads: threads, q, k, v, dO) }
            let same = runs.allSatisfy { $0 == runs[0] }
            #expect(same, "\(heads) heads, \(keyHeads) key heads, \(threads) threads: dq, dk or dv differ between runs")
        }
    }

    /// The snake deal: each slice gets one item per round, and slices take turns at the heavy end.
    @Test func itemsAreDealtToSlicesInASnake() {
        #expect((0..<8).map { BackwardKernel.slice(ofItem: $0, slices: 2) } == [0, 1, 1, 0, 0, 1, 1, 0])
        #expect((0..<7).map { BackwardKernel.slice(ofItem: $0, slices: 3) } == [0, 1, 2, 2, 1, 0, 0])
        #expect((0..<3).map { BackwardKernel.slice(ofItem: $0, slices: 1) } == [0, 0, 0])
    }

    /// dq, dk and dv's bits from one forward and backward on `threads` threads, 16 × 16 tiles.
    static func gradientBits(mask: AttentionMask, threads: Int, _ q: Tensor, _ k: Tensor, _ v: Tensor, _ dO: Tensor) throws -> [[UInt32]] {
        let attention = BlockwiseAttention(mask: mask, threads: threads, queryBlock: 16, keyBlock: 16)
        let result = try attention.forward(query: q, key: k, value: v)
        let gradients = try attention.backward(query: q, key: k, value: v, result: result, outputGradient: dO)
        return [gradients.query, gradients.key, gradients.value].map { $0.storage.map(\.bitPattern) }
    }

    static func check(_ c: KernelCase) throws {
        let inputs = c.makeInputs()
        let attention = c.attention
        let result = try attention.forward(query: inputs.query, key: inputs.key, value: inputs.value)
        let outputGradient = makeRandomTensor(shape: [c.queries, c.heads, c.headDimension], seed: c.seed + 1000)
        let gradients = try attention.backward(query: inputs.query, key: inputs.key, value: inputs.value,
                                               result: result, outputGradient: outputGradient.tensor)
        let reference = inputs.referenceBackward(mask: c.attentionMask, score: c.score,
                                                 outputGradient: outputGradient.values)
        for (name, actual, expected) in [("dq", gradients.query, reference.query),
                                         ("dk", gradients.key, reference.key),
                                         ("dv", gradients.value, reference.value)] {
            let report = ErrorReport(actual.storage, expected)
            #expect(report.relative <= tolerance, "\(name): \(report.describing(shape: actual.shape))")
        }
    }
}
