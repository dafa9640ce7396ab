import Testing
@testable import SequenceParallel

/// TokenRing schedules as values: coverage and bytes.
@Suite struct TokenRingScheduleTests {
    @Test(arguments: [(64, 1), (64, 4), (67, 3), (16, 8), (9, 2)], [false, true])
    func everyVisiblePairIsComputedExactlyOnce(_ c: (tokens: Int, ranks: Int), causal: Bool) {
        var seen = [Int](repeating: 0, count: c.tokens * c.tokens)
        for rank in 0..<c.ranks {
            let schedule = TokenRingSchedule(tokens: c.tokens, ranks: c.ranks, rank: rank, isCausal: causal)
            let layout = schedule.layout
            #expect(Set(schedule.steps.map(\.queryOwner)).count == c.ranks, "each rank's queries visit once")
            for step in schedule.steps {
                let owner = layout.chunks(ofRank: step.queryOwner), mine = layout.chunks(ofRank: rank)
                for block in step.blocks {
                    #expect(step.heldChunks.contains(block.queryChunk), "a computed chunk must be held")
                    for i in layout.range(ofChunk: owner[block.queryChunk]) {
                        for j in layout.range(ofChunk: mine[block.keyChunk]) where block.mask == .full || j <= i {
                            seen[i * c.tokens + j] += 1
                        }
                    }
                }
            }
        }
        for i in 0..<c.tokens {
            for j in 0..<c.tokens {
                #expect(seen[i * c.tokens + j] == (!causal || j <= i ? 1 : 0), "pair (\(i), \(j))")
            }
        }
    }

    @Test(arguments: [2, 4, 8])
    func bytesMatchTheClosedFormsAndCausalMovesThreeQuarters(ranks: Int) {
        let (tokens, heads, d) = (64 * ranks, 4, 16)
        let c = tokens / ranks
        let plain = (0..<ranks).map { TokenRingSchedule(tokens: tokens, ranks: ranks, rank: $0, isCausal: false).bytesSent(heads: heads, headDimension: d) }
        let queries: Int = (ranks - 1) * c * heads * d * 4
        let results: Int = (ranks - 1) * c * heads * (d + 1) * 4
        for bytes in plain { #expect(bytes == queries + results) }
        let causal = (0..<ranks).map { TokenRingSchedule(tokens: tokens, ranks: ranks, rank: $0, isCausal: true).bytesSent(heads: heads, headDimension: d) }
        let causalTotal: Int = causal.reduce(0, +), plainTotal: Int = plain.reduce(0, +)
        #expect(causalTotal * 4 == plainTotal * 3, "causal TokenRing moves 0.75 of the non-causal bytes in all")
    }
}

/// The per-step transfers a trace draws add up to each schedule's bytes formula.
@Test(arguments: SequenceParallelKinds.Algorithm.allCases, [false, true])
func scheduledTransfersSumToTheFormula(algorithm: SequenceParallelKinds.Algorithm, causal: Bool) {
    let ranks = 4, tokens = 103, heads = 8, keyHeads = 4, d = 16
    let u = 2   // usp: two groups of two
    let transfers = algorithm.forwardTransfers(tokens: tokens, ranks: ranks, isCausal: causal, heads: heads, keyHeads: keyHeads, headDimension: d,
                                               ulyssesDegree: u)
    for rank in 0..<ranks {
        let expected: Int
        switch algorithm {
        case .ring, .zigzagRing:
            let layout = ShardLayout(tokens: tokens, ranks: ranks, kind: algorithm == .ring ? .contiguous : .zigzag)
            expected = RingSchedule(layout: layout, rank: rank, isCausal: causal).bytesSent(keyHeads: keyHeads, headDimension: d)
        case .tokenring:
            expected = TokenRingSchedule(tokens: tokens, ranks: ranks, rank: rank, isCausal: causal).bytesSent(heads: heads, headDimension: d)
        case .ulysses:
            expected = UlyssesSchedule(layout: ShardLayout(tokens: tokens, ranks: ranks, kind: .contiguous), rank: rank, heads: heads,
                                       keyHeads: keyHeads, isCausal: causal).bytesSent(headDimension: d)
        case .usp:
            expected = HybridSchedule(tokens: tokens, ranks: ranks, ulyssesDegree: u, rank: rank, heads: heads, keyHeads: keyHeads,
                                      isCausal: causal).bytesSent(headDimension: d)
        }
        #expect(transfers.filter { $0.from == rank }.reduce(0) { $0 + $1.bytes } == expected, "\(algorithm) rank \(rank)")
        #expect(transfers.allSatisfy { $0.from != $0.to && $0.receiveStep >= $0.step })
    }

}

/// The closed form of the chunks a query owner still needs, against its definition.
@Suite struct TokenRingNeededChunksTests {
    @Test func neededChunksInClosedFormAreTheScansResult() {
        for ranks in 1...9 {
            for causal in [false, true] {
                let layout = ShardLayout(tokens: 4 * ranks, ranks: ranks, kind: causal ? .zigzag : .contiguous)
                for owner in 0..<ranks {
                    for step in 0...ranks {
                        #expect(TokenRingSchedule.neededChunks(owner: owner, from: step, layout: layout, isCausal: causal)
                                    == TokenRingSchedule.neededChunksByScan(owner: owner, from: step, layout: layout, isCausal: causal),
                                "P = \(ranks) causal \(causal) owner \(owner) step \(step)")
                    }
                }
            }
        }
    }
}
