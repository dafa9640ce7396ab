import Testing
@testable import SequenceParallel

/// Ring schedules as values: coverage, balance and bytes, without any process.
@Suite struct RingScheduleTests {
    static let cases: [(tokens: Int, ranks: Int, kind: ShardLayout.Kind)] = [
        (64, 1, .contiguous), (64, 4, .contiguous), (67, 3, .contiguous), (16, 8, .contiguous),
        (64, 1, .zigzag), (64, 4, .zigzag), (67, 3, .zigzag), (16, 8, .zigzag), (9, 2, .zigzag),
    ]

    @Test(arguments: cases, [false, true])
    func everyVisiblePairIsComputedExactlyOnce(_ c: (tokens: Int, ranks: Int, kind: ShardLayout.Kind), causal: Bool) {
        let layout = ShardLayout(tokens: c.tokens, ranks: c.ranks, kind: c.kind)
        var seen = [Int](repeating: 0, count: c.tokens * c.tokens)
        for rank in 0..<c.ranks {
            let schedule = RingSchedule(layout: layout, rank: rank, isCausal: causal)
            #expect(schedule.steps.count == c.ranks)
            #expect(Set(schedule.steps.map(\.keyOwner)).count == c.ranks, "each rank's K/V is held once")
            let mine = layout.chunks(ofRank: rank)
            for step in schedule.steps {
                let held = layout.chunks(ofRank: step.keyOwner)
                for block in step.blocks {
                    for i in layout.range(ofChunk: mine[block.queryChunk]) {
                        for j in layout.range(ofChunk: held[block.keyChunk]) where block.mask == .full || j <= i {
                            seen[i * c.tokens + j] += 1
                        }
                    }
                }
            }
        }
        for i in 0..<c.tokens {
            for j in 0..<c.tokens {
                let expected = !causal || j <= i ? 1 : 0
                #expect(seen[i * c.tokens + j] == expected, "pair (\(i), \(j)) computed \(seen[i * c.tokens + j]) times")
            }
        }
    }

    @Test(arguments: [2, 4, 8])
    func zigzagBalancesCausalWorkAndContiguousDoesNot(ranks: Int) {
        func spread(_ kind: ShardLayout.Kind) -> Double {
            let layout = ShardLayout(tokens: 64 * ranks, ranks: ranks, kind: kind)
            let work = (0..<ranks).map { RingSchedule(layout: layout, rank: $0, isCausal: true).visiblePairs }
            return Double(work.max()!) / Double(work.min()!)
        }
        #expect(spread(.zigzag) <= 1.1, "zigzag max/min work \(spread(.zigzag))")
        // Contiguous causal: the last rank does P − ½ block units, the first ½.
        #expect(spread(.contiguous) >= Double(2 * ranks - 1) * 0.9, "ring max/min work \(spread(.contiguous))")
    }

    @Test(arguments: [(2, 1024), (3, 999), (4, 4096)])
    func ringBytesMatchTheClosedForm(ranks: Int, tokens: Int) {
        let (keyHeads, d) = (2, 64)
        for kind in ShardLayout.Kind.allCases {
            let layout = ShardLayout(tokens: tokens, ranks: ranks, kind: kind)
            var total = 0
            for rank in 0..<ranks {
                let bytes = RingSchedule(layout: layout, rank: rank, isCausal: false).bytesSent(keyHeads: keyHeads, headDimension: d)
                total += bytes
                if tokens % (2 * ranks) == 0 {
                    let c = tokens / ranks
                    #expect(bytes == (ranks - 1) * 2 * c * keyHeads * d * 4, "rank \(rank) \(kind)")
                }
            }
            // Every rank's K/V crosses P − 1 links in all.
            #expect(total == (ranks - 1) * 2 * tokens * keyHeads * d * 4)
        }
    }

    @Test func unevenChunksDifferByAtMostOneToken() {
        let layout = ShardLayout(tokens: 101, ranks: 3, kind: .zigzag)
        let sizes = (0..<6).map { layout.range(ofChunk: $0).count }
        #expect(sizes.reduce(0, +) == 101 && sizes.max()! - sizes.min()! <= 1)
        #expect(layout.range(ofChunk: 5).upperBound == 101)
    }
}
