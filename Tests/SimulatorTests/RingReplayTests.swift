import SequenceParallel
import Simulator
import Testing

/// Ring schedules replayed on modelled links: the compute-bound and comm-bound limits come out as
/// their formulas, the bytes are the executor's, and the zigzag layout balances causal work.
@Suite struct RingReplayTests {
    static func problem(_ tokens: Int, _ ranks: Int, causal: Bool = false) -> RingReplay.Problem {
        RingReplay.Problem(tokens: tokens, ranks: ranks, causal: causal, heads: 8, keyHeads: 8, headDimension: 64)
    }

    /// Relative difference, within which a formula holds (float64 sums of a few terms).
    static func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-9) -> Bool { abs(a - b) / abs(b) <= tolerance }

    @Test(arguments: [2, 3, 4, 8])
    func computeBoundTakesEveryStepsComputeOneAfterAnother(ranks: Int) throws {
        let rate = 50e9, tokens = 1024 * ranks
        let replay = RingReplay(algorithm: .ring, problem: Self.problem(tokens, ranks), computeRate: rate,
                                network: try .ring(ranks, bandwidth: 1e18, latency: 0))
        let result = try replay.run()
        let perStep = 4 * 1024.0 * 1024 * 8 * 64 / rate
        #expect(Self.close(result.total, Double(ranks) * perStep, 1e-6), "\(result.total) vs \(Double(ranks) * perStep)")
        #expect(result.computeFraction > 0.999)
    }

    @Test(arguments: [2, 3, 4, 8])
    func commBoundWaitsForEveryHandOff(ranks: Int) throws {
        let bandwidth = 1e8, latency = 20e-6, tokens = 512 * ranks
        let replay = RingReplay(algorithm: .ring, problem: Self.problem(tokens, ranks), computeRate: 1e18,
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
            let result = try RingReplay(algorithm: algorithm, problem: Self.problem(tokens, ranks, causal: true), computeRate: 50e9, network: network).run()
            let expected = algorithm.forwardTransfers(tokens: tokens, ranks: ranks, isCausal: true, heads: 8, keyHeads: 8, headDimension: 64)
                .reduce(0) { $0 + $1.bytes }
            #expect(result.bytes == expected, "\(algorithm): \(result.bytes) vs \(expected)")
        }
        let plain = try RingReplay(algorithm: .ring, problem: Self.problem(tokens, ranks, causal: true), computeRate: 50e9, network: network).run()
        let zigzag = try RingReplay(algorithm: .zigzagRing, problem: Self.problem(tokens, ranks, causal: true), computeRate: 50e9, network: network).run()
        // Contiguous causal: the last rank sees every earlier chunk, the first only its own diagonal.
        #expect(plain.computeSeconds.last! > 3 * plain.computeSeconds.first!)
        #expect(zigzag.total < 0.7 * plain.total, "zigzag \(zigzag.total) against ring \(plain.total)")
        let spread = (zigzag.computeSeconds.max()! - zigzag.computeSeconds.min()!) / zigzag.computeSeconds.max()!
        #expect(spread < 0.01, "zigzag gives every rank the same causal work: \(zigzag.computeSeconds)")
    }
}
