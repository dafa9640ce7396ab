@testable import Simulator
import SequenceParallel
import Testing

/// Every schedule replayed step by step (memory ∝ P) gives the very timeline of the table made
/// from the executor's lists, and a large replay keeps rank 0's steps and every rank's finish.
@Suite struct StreamedStepsTests {
    static let cases: [(SequenceParallelKinds.Algorithm, ScheduleReplay.Pass, Bool)] = [
        (.ring, .forward, false), (.ring, .forward, true), (.zigzagRing, .forward, true), (.ring, .backward, false),
        (.zigzagRing, .backward, true), (.tokenring, .backward, false), (.tokenring, .backward, true),
        (.tokenring, .forward, false), (.tokenring, .forward, true), (.ulysses, .forward, false), (.ulysses, .forward, true),
        (.ulysses, .backward, true), (.usp, .forward, false), (.usp, .forward, true), (.usp, .backward, false), (.usp, .backward, true),
    ]

    @Test(arguments: [3, 4])
    func streamedStepsAreTheTables(ranks: Int) throws {
        let network = try Topology.network(.pcieTree, ranks: 4, link: .init(bandwidth: 2e9, latency: 3e-6),
                                           uplink: .init(bandwidth: 1e9, latency: 5e-6), group: 2)
        for (algorithm, pass, causal) in Self.cases {
            // Ulysses splits the heads over the ranks, usp over groups of u (2 on 4 ranks, 3 on 3).
            let mesh = algorithm == .ulysses || algorithm == .usp
            let problem = ScheduleReplay.Problem(tokens: 8 * 97, ranks: ranks, causal: causal, heads: mesh ? 2 * ranks : 4,
                                                 keyHeads: mesh ? ranks : 2, headDimension: 32, ulyssesDegree: ranks == 4 ? 2 : 3)
            // Copies on the cores check each streamed step's bytes taken against the table's.
            for (cores, slowdown, copy) in [(nil, 0.0, nil), (nil, 0.3, nil), (2, 0.0, nil), (nil, 0.0, 3e9), (2, 0.0, 3e9)] as [(Int?, Double, Double?)] {
                let replay = ScheduleReplay(algorithm: algorithm, problem: problem, pass: pass, computeRate: 2e9, network: network, cores: cores,
                                            diagonalRate: 1.5e9, mergeRate: 4e9, transferSlowdown: slowdown, hostCopyRate: copy, pinned: copy != nil)
                let streamed = try replay.run(), table = try replay.run(table: true)
                let name = "\(algorithm) \(pass) causal \(causal) cores \(String(describing: cores)) slowdown \(slowdown) copy \(String(describing: copy)) P = \(ranks)"
                // The same sums in another order: equal to rounding.
                func same(_ a: [[Double]], _ b: [[Double]]) -> Bool {
                    a.map(\.count) == b.map(\.count) && zip(a.joined(), b.joined()).allSatisfy { abs($0 - $1) <= 1e-12 * max(abs($1), 1e-6) }
                }
                #expect(same(streamed.stepEnds, table.stepEnds) && same(streamed.stepStarts, table.stepStarts), "\(name)")
                #expect(same(streamed.stepCompute, table.stepCompute) && same([streamed.computeSeconds], [table.computeSeconds]), "\(name)")
                #expect(streamed.bytes == table.bytes && streamed.transfers == table.transfers, "\(name)")
            }
        }
    }

    @Test func beyondTheTimelineLimitRankZeroKeepsItsSteps() throws {
        let ranks = ScheduleReplay.timelineRanks + 8
        let problem = ScheduleReplay.Problem(tokens: 4 * ranks, ranks: ranks, causal: true, heads: 2, keyHeads: 2, headDimension: 16)
        let result = try ScheduleReplay(algorithm: .zigzagRing, problem: problem, computeRate: 1e9,
                                        network: try Topology.network(.switch, ranks: ranks, link: .init(bandwidth: 1e9, latency: 1e-6))).run()
        #expect(result.stepEnds[0].count == ranks && result.stepEnds[1].count == 1 && result.transferList.isEmpty)
        #expect(result.stepsReplayed == ranks * ranks && result.transfers == ranks * (ranks - 1))
        #expect(result.total == result.stepEnds.map { $0.last! }.max())
    }
}
