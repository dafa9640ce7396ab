import SequenceParallel
@testable import Simulator
import Testing

/// Schedules replayed on modelled links: the compute-bound and comm-bound limits come out as their
/// formulas, the bytes and transfers are the executor's, and the zigzag layout balances causal work.
@Suite struct ScheduleReplayTests {
    static func problem(_ tokens: Int, _ ranks: Int, causal: Bool = false, heads: Int = 8, keyHeads: Int = 8) -> ScheduleReplay.Problem {
        ScheduleReplay.Problem(tokens: tokens, ranks: ranks, causal: causal, heads: heads, keyHeads: keyHeads, headDimension: 64)
    }

    /// Relative difference, within which a formula holds (float64 sums of a few terms).
    static func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-9) -> Bool { abs(a - b) / abs(b) <= tolerance }

    @Test(arguments: [2, 3, 4, 8])
    func computeBoundTakesEveryStepsComputeOneAfterAnother(ranks: Int) throws {
        let rate = 50e9, tokens = 1024 * ranks
        let replay = ScheduleReplay(algorithm: .ring, problem: Self.problem(tokens, ranks), computeRate: rate,
                                network: try .ring(ranks, bandwidth: 1e18, latency: 0))
        let result = try replay.run()
        let perStep = 4 * 1024.0 * 1024 * 8 * 64 / rate
        #expect(Self.close(result.total, Double(ranks) * perStep, 1e-6), "\(result.total) vs \(Double(ranks) * perStep)")
        #expect(result.computeFraction > 0.999)
    }

    @Test(arguments: [2, 3, 4, 8])
    func commBoundWaitsForEveryHandOff(ranks: Int) throws {
        let bandwidth = 1e8, latency = 20e-6, tokens = 512 * ranks
        let replay = ScheduleReplay(algorithm: .ring, problem: Self.problem(tokens, ranks), computeRate: 1e18,
                                network: try .ring(ranks, bandwidth: bandwidth, latency: latency))
        let result = try replay.run()
        let chunkBytes = 2.0 * 512 * 8 * 64 * 4
        #expect(Self.close(result.total, Double(ranks - 1) * (latency + chunkBytes / bandwidth), 1e-6), "\(result.total)")
        #expect(result.computeFraction < 0.01)
    }

    @Test func theBytesAreTheExecutorsAndZigzagBalancesCausalWork() throws {
        let ranks = 4, tokens = 4096
        let network = try Network.ring(ranks, bandwidth: 1e18, latency: 0)
        for algorithm in [SequenceParallelKinds.Algorithm.ring, .zigzagRing] {
            let result = try ScheduleReplay(algorithm: algorithm, problem: Self.problem(tokens, ranks, causal: true), computeRate: 50e9, network: network).run()
            let expected = algorithm.forwardTransfers(tokens: tokens, ranks: ranks, isCausal: true, heads: 8, keyHeads: 8, headDimension: 64)
                .reduce(0) { $0 + $1.bytes }
            #expect(result.bytes == expected, "\(algorithm): \(result.bytes) vs \(expected)")
        }
        let plain = try ScheduleReplay(algorithm: .ring, problem: Self.problem(tokens, ranks, causal: true), computeRate: 50e9, network: network).run()
        let zigzag = try ScheduleReplay(algorithm: .zigzagRing, problem: Self.problem(tokens, ranks, causal: true), computeRate: 50e9, network: network).run()
        // Contiguous causal: the last rank sees every earlier chunk, the first only its own diagonal.
        #expect(plain.computeSeconds.last! > 3 * plain.computeSeconds.first!)
        #expect(zigzag.total < 0.7 * plain.total, "zigzag \(zigzag.total) against ring \(plain.total)")
        let spread = (zigzag.computeSeconds.max()! - zigzag.computeSeconds.min()!) / zigzag.computeSeconds.max()!
        #expect(spread < 0.01, "zigzag gives every rank the same causal work: \(zigzag.computeSeconds)")
    }

    @Test(arguments: [(SequenceParallelKinds.Algorithm.ring, false), (.zigzagRing, true), (.tokenring, false), (.tokenring, true),
                      (.ulysses, false), (.ulysses, true)])
    func everyAlgorithmSendsTheExecutorsTransfers(algorithm: SequenceParallelKinds.Algorithm, causal: Bool) throws {
        let ranks = 4, tokens = 2048
        let network = try Topology.network(.switch, ranks: ranks, link: .init(bandwidth: 20e9, latency: 2e-6))
        let result = try ScheduleReplay(algorithm: algorithm, problem: Self.problem(tokens, ranks, causal: causal, keyHeads: 4),
                                        computeRate: 50e9, network: network).run()
        let expected = algorithm.forwardTransfers(tokens: tokens, ranks: ranks, isCausal: causal, heads: 8, keyHeads: 4, headDimension: 64)
        #expect(result.bytes == expected.reduce(0) { $0 + $1.bytes } && result.transfers == expected.count)
        #expect(result.total > 0 && result.stepEnds.allSatisfy { $0.allSatisfy(\.isFinite) })
        // Work is conserved: every visible pair is computed once, on some rank.
        let pairs = causal ? Double(tokens * (tokens + 1) / 2) : Double(tokens * tokens)
        #expect(Self.close(result.computeSeconds.reduce(0, +), 4 * pairs * 8 * 64 / 50e9, 1e-9))
    }

    @Test(arguments: [1, 2, 4], [false, true])
    func uspSendsTheExecutorsTransfersBothWays(degree: Int, causal: Bool) throws {
        let ranks = 4, tokens = 2048, keyHeads = 4
        let network = try Topology.network(.switch, ranks: ranks, link: .init(bandwidth: 20e9, latency: 2e-6))
        var problem = Self.problem(tokens, ranks, causal: causal, keyHeads: keyHeads)
        problem.ulyssesDegree = degree
        for pass in [ScheduleReplay.Pass.forward, .backward] {
            let result = try ScheduleReplay(algorithm: .usp, problem: problem, pass: pass, computeRate: 50e9, network: network).run()
            let expected = pass == .forward
                ? SequenceParallelKinds.Algorithm.usp.forwardTransfers(tokens: tokens, ranks: ranks, isCausal: causal, heads: 8, keyHeads: keyHeads,
                                                                       headDimension: 64, ulyssesDegree: degree)
                : SequenceParallelKinds.Algorithm.usp.backwardTransfers(tokens: tokens, ranks: ranks, isCausal: causal, heads: 8, keyHeads: keyHeads,
                                                                        headDimension: 64, ulyssesDegree: degree)
            #expect(result.bytes == expected.reduce(0) { $0 + $1.bytes } && result.transfers == expected.count, "u = \(degree) \(pass)")
            // The executor's per-rank formulas, summed.
            let formula = (0..<ranks).reduce(0) { total, rank in
                let schedule = HybridSchedule(tokens: tokens, ranks: ranks, ulyssesDegree: degree, rank: rank, heads: 8, keyHeads: keyHeads,
                                              isCausal: causal)
                return total + (pass == .forward ? schedule.bytesSent(headDimension: 64) : schedule.backwardBytesSent(headDimension: 64))
            }
            #expect(result.bytes == formula, "u = \(degree) \(pass): \(result.bytes) vs \(formula)")
            // Steps: the all-to-all in, the r ring steps, the all-to-all back.
            #expect(result.stepEnds.allSatisfy { $0.count == ranks / degree + 2 && $0.allSatisfy(\.isFinite) })
            let pairs = causal ? Double(tokens * (tokens + 1) / 2) : Double(tokens * tokens)
            let flops = (pass == .forward ? 4.0 : 10.0) * pairs * 8 * 64
            #expect(Self.close(result.computeSeconds.reduce(0, +), flops / 50e9, 1e-9), "every visible pair once, on some rank")
        }
    }

    @Test(arguments: [false, true])
    func uspOfDegreeOneReplaysAsTheRingAndOfDegreePAsUlysses(causal: Bool) throws {
        let ranks = 4, tokens = 4096
        let network = try Topology.network(.mesh, ranks: ranks, link: .init(bandwidth: 5e9, latency: 2e-6))
        func total(_ algorithm: SequenceParallelKinds.Algorithm, degree: Int = 1) throws -> Double {
            var problem = Self.problem(tokens, ranks, causal: causal, keyHeads: 4)
            problem.ulyssesDegree = degree
            return try ScheduleReplay(algorithm: algorithm, problem: problem, computeRate: 50e9, network: network).run().total
        }
        // u = 1 adds two empty all-to-all steps to the ring (zigzag when causal).
        #expect(Self.close(try total(.usp, degree: 1), try total(causal ? .zigzagRing : .ring), 1e-12))
        // u = P: one ring step over the whole sequence on H/P heads, between Ulysses's two all-to-alls.
        #expect(Self.close(try total(.usp, degree: ranks), try total(.ulysses), 1e-9))
    }

    @Test func uspWithABadDegreeIsRefusedWithTheFix() throws {
        let network = try Topology.network(.mesh, ranks: 4, link: .init(bandwidth: 5e9, latency: 2e-6))
        var problem = Self.problem(4096, 4)
        problem.ulyssesDegree = 3
        #expect { _ = try ScheduleReplay(algorithm: .usp, problem: problem, computeRate: 50e9, network: network).run() } throws: {
            "\($0)".contains("give ulysses_degree = one of 1, 2, 4")
        }
    }

    /// An all-to-all of 4,096 ranks on a line holds 16.8 M flows of up to 4,095 hops at once,
    /// about a terabyte: refused before the replay starts (1,024 such ranks once grew past 7 GB
    /// and on). A ring on the same line keeps 2 flows a rank and runs.
    @Test func aReplayPastTheMachinesMemoryIsRefusedBeforeItStarts() throws {
        let ranks = 4096
        let line = try Network(nodes: ranks, links: (0..<ranks - 1).map { .init(from: $0, to: $0 + 1, bandwidth: 1e10, latency: 0) })
        let problem = Self.problem(ranks, ranks, heads: ranks, keyHeads: ranks)
        let start = ContinuousClock.now
        #expect { _ = try ScheduleReplay(algorithm: .ulysses, problem: problem, computeRate: 1e12, network: line).run() } throws: {
            "\($0)".contains("replaying ulysses on 4096 ranks") && "\($0)".contains("give fewer ranks")
        }
        #expect(ContinuousClock.now - start < .seconds(10))
        let ring = try ScheduleReplay(algorithm: .ring, problem: Self.problem(8, 8), computeRate: 1e12,
                                      network: try Network(nodes: 8, links: (0..<7).map { .init(from: $0, to: $0 + 1, bandwidth: 1e10, latency: 0) }))
        #expect(try ring.flowBytes() ?? .max < 1 << 20)
    }

    @Test func tokenRingComputeBoundTakesEveryStepsCompute() throws {
        let ranks = 4, tokens = 4096, rate = 50e9
        let network = try Topology.network(.mesh, ranks: ranks, link: .init(bandwidth: 1e18, latency: 0))
        let result = try ScheduleReplay(algorithm: .tokenring, problem: Self.problem(tokens, ranks), computeRate: rate, network: network).run()
        let perStep = 4 * 1024.0 * 1024 * 8 * 64 / rate
        #expect(Self.close(result.total, Double(ranks) * perStep, 1e-6), "\(result.total) vs \(Double(ranks) * perStep)")
    }

    @Test(arguments: [2, 4, 8])
    func ulyssesAllToAllsShareEachSwitchPort(ranks: Int) throws {
        // Compute is free: two all-to-alls, each (P − 1) equal flows per port at β/(P − 1) each,
        // after the path's two hops of latency.
        let tokens = 256 * ranks, heads = 8, bandwidth = 1e9, latency = 5e-6
        let network = try Topology.network(.switch, ranks: ranks, link: .init(bandwidth: bandwidth, latency: latency))
        let result = try ScheduleReplay(algorithm: .ulysses, problem: Self.problem(tokens, ranks, heads: heads), computeRate: 1e30,
                                        network: network).run()
        let inbound = 256.0 * Double(heads / ranks + 2 * (heads / ranks)) * 64 * 4, outbound = 256.0 * Double(heads / ranks) * 65 * 4
        let expected = 2 * (2 * latency) + Double(ranks - 1) * (inbound + outbound) / bandwidth
        #expect(Self.close(result.total, expected, 1e-6), "\(result.total) vs \(expected)")
    }

    @Test func theSameInputGivesTheSameTimeline() throws {
        let network = try Topology.network(.pcieTree, ranks: 8, link: .init(bandwidth: 32e9, latency: 5e-6),
                                           uplink: .init(bandwidth: 32e9, latency: 5e-6), group: 2)
        let runs = try (0..<2).map { _ in
            try ScheduleReplay(algorithm: .tokenring, problem: Self.problem(8192, 8, causal: true), computeRate: 60e12, network: network).run()
        }
        #expect(runs[0].stepEnds == runs[1].stepEnds && runs[0].total == runs[1].total)
    }

    @Test(arguments: [(SequenceParallelKinds.Algorithm.ring, false), (.zigzagRing, true), (.tokenring, false), (.tokenring, true),
                      (.ulysses, true)])
    func backwardSendsTheExecutorsBytes(algorithm: SequenceParallelKinds.Algorithm, causal: Bool) throws {
        let ranks = 4, tokens = 2048, keyHeads = 4
        let network = try Topology.network(.switch, ranks: ranks, link: .init(bandwidth: 20e9, latency: 2e-6))
        let result = try ScheduleReplay(algorithm: algorithm, problem: Self.problem(tokens, ranks, causal: causal, keyHeads: keyHeads),
                                        pass: .backward, computeRate: 50e9, network: network).run()
        let zigzag = algorithm == .zigzagRing || (algorithm == .tokenring && causal)
        let layout = ShardLayout(tokens: tokens, ranks: ranks, kind: zigzag ? .zigzag : .contiguous)
        let expected = (0..<ranks).reduce(0) { total, rank in
            switch algorithm {
            case .ulysses:
                return total + UlyssesSchedule(layout: layout, rank: rank, heads: 8, keyHeads: keyHeads, isCausal: causal).backwardBytesSent(headDimension: 64)
            case .tokenring:
                return total + RingSchedule(layout: layout, rank: rank, isCausal: causal).directBackwardBytesSent(keyHeads: keyHeads, headDimension: 64)
            default:
                return total + RingSchedule(layout: layout, rank: rank, isCausal: causal).backwardBytesSent(keyHeads: keyHeads, headDimension: 64)
            }
        }
        #expect(result.bytes == expected, "\(algorithm): \(result.bytes) vs \(expected)")
        let pairs = causal ? Double(tokens * (tokens + 1) / 2) : Double(tokens * tokens)
        #expect(Self.close(result.computeSeconds.reduce(0, +), 10 * pairs * 8 * 64 / 50e9, 1e-9), "2.5× the forward's work")
    }

    @Test(arguments: [2, 3, 4])
    func ringBackwardWaitsForEachAccumulator(ranks: Int) throws {
        // Free compute: each step's K/V and the accumulators share the link to the next rank
        // (two equal flows), and the last step sends only the accumulators home.
        let bandwidth = 1e8, latency = 20e-6, tokens = 512 * ranks
        let result = try ScheduleReplay(algorithm: .ring, problem: Self.problem(tokens, ranks), pass: .backward, computeRate: 1e30,
                                        network: try .ring(ranks, bandwidth: bandwidth, latency: latency)).run()
        let block = 2.0 * 512 * 8 * 64 * 4
        let expected = Double(ranks - 1) * (latency + 2 * block / bandwidth) + latency + block / bandwidth
        #expect(Self.close(result.total, expected, 1e-6), "\(result.total) vs \(expected)")
    }

    @Test(arguments: [(4, 2), (3, 2), (4, 1), (2, 2), (4, 8)])
    func ranksSharingCoresComputeAtTheirShare(ranks: Int, cores: Int) throws {
        // Compute-bound, non-causal: every rank has the same work each step, so each step takes
        // the work × max(1, P / cores).
        let rate = 50e9, tokens = 1024 * ranks
        let network = try Topology.network(.mesh, ranks: ranks, link: .init(bandwidth: 1e18, latency: 0))
        for algorithm in [SequenceParallelKinds.Algorithm.ring, .tokenring, .ulysses] where algorithm != .ulysses || 8 % ranks == 0 {
            let result = try ScheduleReplay(algorithm: algorithm, problem: Self.problem(tokens, ranks), computeRate: rate, network: network,
                                            cores: cores).run()
            let alone = try ScheduleReplay(algorithm: algorithm, problem: Self.problem(tokens, ranks), computeRate: rate, network: network).run()
            let expected = alone.total * max(1, Double(ranks) / Double(cores))
            #expect(Self.close(result.total, expected, 1e-6), "\(algorithm) P = \(ranks) on \(cores) cores: \(result.total) vs \(expected)")
            #expect(result.computeSeconds == alone.computeSeconds, "the work itself does not change")
        }
    }

    @Test func oversubscribedCoresDeliverTheirMeasuredShare() throws {
        // Four ranks on two cores at 0.8 of the fair share: every step takes work × 2 / 0.8.
        let ranks = 4, rate = 50e9
        let network = try Topology.network(.mesh, ranks: ranks, link: .init(bandwidth: 1e18, latency: 0))
        let alone = try ScheduleReplay(algorithm: .ring, problem: Self.problem(1024 * ranks, ranks), computeRate: rate, network: network).run()
        let shared = try ScheduleReplay(algorithm: .ring, problem: Self.problem(1024 * ranks, ranks), computeRate: rate, network: network,
                                        cores: 2, coreEfficiency: 0.8).run()
        #expect(Self.close(shared.total, alone.total * 2 / 0.8, 1e-6), "\(shared.total) vs \(alone.total * 2 / 0.8)")
    }
}
