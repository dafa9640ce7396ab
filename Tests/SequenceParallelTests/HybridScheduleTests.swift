import Testing
@testable import SequenceParallel

/// USP schedules as values: the shards, the transfer lists and the byte formulas, without any process.
@Suite struct HybridScheduleTests {
    static let cases: [(ranks: Int, u: Int)] = [(1, 1), (2, 1), (2, 2), (4, 1), (4, 2), (4, 4), (6, 2), (6, 3), (8, 2)]

    @Test(arguments: cases, [false, true])
    func theRanksSubRangesCoverTheSequenceOnce(_ c: (ranks: Int, u: Int), causal: Bool) {
        let tokens = 101
        var seen = [Int](repeating: 0, count: tokens)
        for rank in 0..<c.ranks {
            let schedule = HybridSchedule(tokens: tokens, ranks: c.ranks, ulyssesDegree: c.u, rank: rank, heads: 24, keyHeads: 12, isCausal: causal)
            #expect(schedule.ranges(ofRank: rank).count == (causal ? 2 : 1))
            for range in schedule.ranges(ofRank: rank) {
                #expect(!range.isEmpty, "rank \(rank) holds an empty sub-range")
                for token in range { seen[token] += 1 }
            }
            // The group's members together hold each group chunk, in member order.
            for (index, chunk) in schedule.groupChunks.enumerated() {
                let parts = schedule.groupRanks.map { schedule.ranges(ofRank: $0)[index] }
                #expect(parts.first?.lowerBound == chunk.lowerBound && parts.last?.upperBound == chunk.upperBound)
                #expect(zip(parts, parts.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
            }
        }
        #expect(seen.allSatisfy { $0 == 1 }, "tokens held other than once: \(seen)")
    }

    @Test(arguments: cases, [false, true])
    func transfersSumToTheFormulasAndTheRingStaysAmongEqualMembers(_ c: (ranks: Int, u: Int), causal: Bool) {
        let (tokens, heads, keyHeads, d) = (103, 24, 12, 16)
        let forward = SequenceParallelKinds.Algorithm.usp.forwardTransfers(tokens: tokens, ranks: c.ranks, isCausal: causal, heads: heads,
                                                                           keyHeads: keyHeads, headDimension: d, ulyssesDegree: c.u)
        let backward = SequenceParallelKinds.Algorithm.usp.backwardTransfers(tokens: tokens, ranks: c.ranks, isCausal: causal, heads: heads,
                                                                             keyHeads: keyHeads, headDimension: d, ulyssesDegree: c.u)
        let r = c.ranks / c.u
        for rank in 0..<c.ranks {
            let schedule = HybridSchedule(tokens: tokens, ranks: c.ranks, ulyssesDegree: c.u, rank: rank, heads: heads, keyHeads: keyHeads,
                                          isCausal: causal)
            #expect(forward.filter { $0.from == rank }.reduce(0) { $0 + $1.bytes } == schedule.bytesSent(headDimension: d))
            #expect(backward.filter { $0.from == rank }.reduce(0) { $0 + $1.bytes } == schedule.backwardBytesSent(headDimension: d))
        }
        for transfer in forward + backward {
            #expect(transfer.from != transfer.to && transfer.receiveStep == transfer.step)
            switch transfer.what {
            case "k/v", "dk/dv":
                #expect((1...r).contains(transfer.step))
                let (g, i) = (transfer.from / c.u, transfer.from % c.u)
                #expect(transfer.to == ((g + 1) % r) * c.u + i, "\(transfer)")
            case "q/k/v", "dout":
                #expect(transfer.step == 0 && transfer.from / c.u == transfer.to / c.u)
            default:
                #expect(transfer.step == r + 1 && transfer.from / c.u == transfer.to / c.u, "\(transfer)")
            }
        }
        // The all-to-alls: each rank sends to the u − 1 others of its group, in and back.
        #expect(forward.filter { $0.what == "q/k/v" }.count == c.ranks * (c.u - 1))
        #expect(forward.filter { $0.what == "k/v" }.count == c.ranks * (r - 1))
        #expect(backward.filter { $0.what == "dk/dv" }.count == (r > 1 ? c.ranks * r : 0))
    }

    @Test(arguments: [(4, 2), (8, 2), (8, 4), (6, 3)])
    func bytesMatchTheClosedForms(ranks: Int, u: Int) {
        // N divisible by 2P: every chunk and sub-range equal, c = N/P.
        let (heads, keyHeads, d) = (24, 12, 16), tokens = 48 * ranks, c = tokens / ranks, r = ranks / u
        for causal in [false, true] {
            let schedule = HybridSchedule(tokens: tokens, ranks: ranks, ulyssesDegree: u, rank: ranks - 1, heads: heads, keyHeads: keyHeads,
                                          isCausal: causal)
            let exchanges = (u - 1) * c * (heads + 2 * keyHeads) * d * 4 / u + (u - 1) * c * heads * (d + 1) * 4 / u
            #expect(schedule.bytesSent(headDimension: d) == exchanges + (r - 1) * 2 * c * keyHeads * d * 4)
            let backward = (u - 1) * c * heads * d * 4 / u + (u - 1) * c * (heads + 2 * keyHeads) * d * 4 / u
            #expect(schedule.backwardBytesSent(headDimension: d) == backward + (r - 1) * 2 * c * keyHeads * d * 4 + r * 2 * c * keyHeads * d * 4)
        }
    }

    @Test(arguments: [false, true])
    func theDegenerateDegreesSendWhatUlyssesAndTheRingSend(causal: Bool) {
        let (ranks, tokens, heads, keyHeads, d) = (4, 101, 8, 4, 16)
        let ring = ShardLayout(tokens: tokens, ranks: ranks, kind: causal ? .zigzag : .contiguous)
        let ulysses = ShardLayout(tokens: tokens, ranks: ranks, kind: .contiguous)
        for rank in 0..<ranks {
            let one = HybridSchedule(tokens: tokens, ranks: ranks, ulyssesDegree: 1, rank: rank, heads: heads, keyHeads: keyHeads, isCausal: causal)
            let ringSchedule = RingSchedule(layout: ring, rank: rank, isCausal: causal)
            #expect(one.ring == ringSchedule && one.ranges(ofRank: rank) == ring.chunks(ofRank: rank).map { ring.range(ofChunk: $0) })
            #expect(one.bytesSent(headDimension: d) == ringSchedule.bytesSent(keyHeads: keyHeads, headDimension: d))
            #expect(one.backwardBytesSent(headDimension: d) == ringSchedule.backwardBytesSent(keyHeads: keyHeads, headDimension: d))
            let all = HybridSchedule(tokens: tokens, ranks: ranks, ulyssesDegree: ranks, rank: rank, heads: heads, keyHeads: keyHeads, isCausal: causal)
            let ulyssesSchedule = UlyssesSchedule(layout: ulysses, rank: rank, heads: heads, keyHeads: keyHeads, isCausal: causal)
            #expect(all.queryHeads(ofMember: rank) == ulyssesSchedule.queryHeads(of: rank))
            if !causal {
                // Non-causal u = P holds Ulysses's contiguous shard; causal, two zigzag sub-ranges.
                #expect(all.ranges(ofRank: rank) == [ulysses.range(ofChunk: rank)])
                #expect(all.bytesSent(headDimension: d) == ulyssesSchedule.bytesSent(headDimension: d))
                #expect(all.backwardBytesSent(headDimension: d) == ulyssesSchedule.backwardBytesSent(headDimension: d))
            }
        }
    }

    @Test func aBadDegreeNamesTheValuesAndTheFix() {
        let notDividingP = HybridSchedule.degreeProblem(3, ranks: 4, heads: 8, keyHeads: 8)
        #expect(notDividingP?.contains("got 3 on 4 ranks; give ulysses_degree = one of 1, 2, 4") == true, "\(notDividingP ?? "")")
        #expect(HybridSchedule.degreeProblem(0, ranks: 4, heads: 8, keyHeads: 8) != nil)
        let notDividingHeads = HybridSchedule.degreeProblem(4, ranks: 4, heads: 6, keyHeads: 2)
        #expect(notDividingHeads?.contains("ulysses_degree (4) must divide heads (6) and kv_heads (2); give ulysses_degree = one of 1, 2") == true,
                "\(notDividingHeads ?? "")")
        #expect(HybridSchedule.degreeProblem(2, ranks: 4, heads: 6, keyHeads: 2) == nil)
    }
}
