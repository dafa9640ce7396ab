@testable import Simulator
import SequenceParallel
import Testing

/// What local workers add to the replay: ranks pinned to cores (`pinned`) and the copies a
/// transfer costs the cores at both ends (`hostCopyRate`).
@Suite struct LocalWorkerModelTests {
    static func problem(_ ranks: Int) -> ScheduleReplay.Problem {
        ScheduleReplay.Problem(tokens: 1024 * ranks, ranks: ranks, causal: false, heads: 8, keyHeads: 8, headDimension: 64)
    }
    static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) / abs(b) <= 1e-9 }

    @Test func pinnedRanksShareOnlyTheirOwnCore() throws {
        // Three ranks on two cores, non-causal ring, compute-bound: pinned, ranks 0 and 2 share
        // core 0 and rank 1 has core 1; the ring waits for the slow pair, so every step takes
        // 2 × its work (1.5 × when all three share both cores).
        let network = try Topology.network(.mesh, ranks: 3, link: .init(bandwidth: 1e18, latency: 0))
        let alone = try ScheduleReplay(algorithm: .ring, problem: Self.problem(3), computeRate: 50e9, network: network).run()
        let shared = try ScheduleReplay(algorithm: .ring, problem: Self.problem(3), computeRate: 50e9, network: network, cores: 2).run()
        let pinned = try ScheduleReplay(algorithm: .ring, problem: Self.problem(3), computeRate: 50e9, network: network, cores: 2,
                                        pinned: true).run()
        #expect(Self.close(shared.total, alone.total * 1.5), "\(shared.total) vs \(alone.total * 1.5)")
        #expect(Self.close(pinned.total, alone.total * 2), "\(pinned.total) vs \(alone.total * 2)")
        // Rank 1 computes its first step alone on its core, as fast as with a core per rank.
        #expect(Self.close(pinned.stepEnds[1][0], alone.stepEnds[1][0]), "\(pinned.stepEnds[1][0]) vs \(alone.stepEnds[1][0])")
    }

    @Test func pinnedOnAsManyCoresAsRanksIsAlone() throws {
        let network = try Topology.network(.mesh, ranks: 4, link: .init(bandwidth: 1e18, latency: 0))
        for algorithm in [SequenceParallelKinds.Algorithm.ring, .zigzagRing, .tokenring, .ulysses] {
            let alone = try ScheduleReplay(algorithm: algorithm, problem: Self.problem(4), computeRate: 50e9, network: network).run()
            let pinned = try ScheduleReplay(algorithm: algorithm, problem: Self.problem(4), computeRate: 50e9, network: network, cores: 4,
                                            pinned: true).run()
            #expect(Self.close(pinned.total, alone.total), "\(algorithm)")
        }
    }

    @Test func copiesCostTheSenderAndTheReceiver() throws {
        // Two ranks, ring, links so fast they cost nothing: each step computes one block, and
        // step 0 also copies one K/V block out (sender) and one in (receiver); the last step
        // sends and takes nothing.
        let ranks = 2, rate = 50e9, copy = 2e9
        let network = try Topology.network(.mesh, ranks: ranks, link: .init(bandwidth: 1e18, latency: 0))
        let alone = try ScheduleReplay(algorithm: .ring, problem: Self.problem(ranks), computeRate: rate, network: network).run()
        let copying = try ScheduleReplay(algorithm: .ring, problem: Self.problem(ranks), computeRate: rate, network: network,
                                         hostCopyRate: copy).run()
        let block = 2.0 * 1024 * 8 * 64 * 4   // K and V of one chunk, float32
        #expect(Self.close(copying.total, alone.total + 2 * block / copy), "\(copying.total) vs \(alone.total + 2 * block / copy)")
        #expect(copying.bytes == alone.bytes)
    }

    @Test func copiesOfEveryScheduleMatchItsBytes() throws {
        // Compute-free, infinitely fast links: a rank's time is its copies alone, in and out.
        // Summed over ranks that is 2 × the bytes on the wire / the copy rate when no rank waits
        // (each rank's copies at different steps can overlap its waits, so compare the sums).
        let copy = 1e9
        for (algorithm, pass) in [(SequenceParallelKinds.Algorithm.ring, ScheduleReplay.Pass.forward), (.ring, .backward),
                                  (.zigzagRing, .forward), (.tokenring, .forward), (.tokenring, .backward), (.ulysses, .forward)] {
            let network = try Topology.network(.mesh, ranks: 4, link: .init(bandwidth: 1e18, latency: 0))
            let result = try ScheduleReplay(algorithm: algorithm, problem: Self.problem(4), pass: pass, computeRate: 1e30, network: network,
                                            hostCopyRate: copy).run()
            let busy = result.computeSeconds.reduce(0, +)
            #expect(abs(busy - 2 * Double(result.bytes) / copy) <= 1e-6 * busy, "\(algorithm) \(pass): \(busy) vs \(2 * Double(result.bytes) / copy)")
        }
    }
}
