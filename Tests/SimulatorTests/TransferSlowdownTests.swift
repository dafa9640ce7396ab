import Foundation
import SequenceParallel
import Simulator
import Testing

/// Compute slowed by 1 + s while its rank has a transfer in flight, and only then.
@Suite struct TransferSlowdownTests {
    static let c = 1024, heads = 8, d = 64

    /// A 2-rank ring with each step's work W and hand-off D (latency plus K/V over the link).
    static func replay(slowdown: Double, bandwidth: Double, cores: Int? = nil) throws -> (ScheduleReplay.Result, work: Double, handOff: Double) {
        let problem = ScheduleReplay.Problem(tokens: 2 * c, ranks: 2, causal: false, heads: heads, keyHeads: heads, headDimension: d)
        let rate = 1e11, latency = 1e-5
        let network = try Network.ring(2, bandwidth: bandwidth, latency: latency)
        let result = try ScheduleReplay(algorithm: .ring, problem: problem, computeRate: rate, network: network, cores: cores,
                                        transferSlowdown: slowdown).run()
        let work = 4.0 * Double(c * c * heads * d) / rate, handOff = latency + 2.0 * Double(c * heads * d * 4) / bandwidth
        return (result, work, handOff)
    }

    @Test func aTransferShorterThanTheComputeSlowsOnlyItsPart() throws {
        // D < W: the first D seconds run at 1/(1 + s), the rest at full speed; the last step sends nothing.
        let s = 0.5
        let (result, w, d) = try Self.replay(slowdown: s, bandwidth: 1e10)
        try #require(d < w)
        let expected = 2 * w + d * s / (1 + s)
        #expect(abs(result.total - expected) <= 1e-9 * expected, "\(result.total) vs \(expected)")
        #expect(abs(result.computeSeconds[0] - expected) <= 1e-9 * expected)
    }

    @Test func aTransferLongerThanTheComputeSlowsAllOfIt() throws {
        let s = 0.25
        let (result, w, d) = try Self.replay(slowdown: s, bandwidth: 1e8)
        try #require(d > w * (1 + s))
        // Step 0 waits for the hand-off; its compute took W(1 + s); step 1 computes W alone.
        #expect(abs(result.total - (d + w)) <= 1e-9 * (d + w))
        #expect(abs(result.computeSeconds[0] - w * (2 + s)) <= 1e-9 * w)
    }

    @Test func noSlowdownAndSharedCoresKeepTheirTimes() throws {
        let (plain, w, d) = try Self.replay(slowdown: 0, bandwidth: 1e10)
        #expect(abs(plain.total - 2 * w) <= 1e-9 * w && d < w)
        // Ranks sharing cores model CPU workers, whose copies are not this effect.
        let (shared, _, _) = try Self.replay(slowdown: 0.5, bandwidth: 1e10, cores: 1)
        let (unslowed, _, _) = try Self.replay(slowdown: 0, bandwidth: 1e10, cores: 1)
        #expect(shared.total == unslowed.total)
    }

    @Test func aTopologyFileGivesTheSlowdownWithinItsBounds() throws {
        func load(_ slowdown: String) throws -> Topology {
            try topology(withCompute: "{tflops: 100, forward: 0.5, backward: 0.4, transfer_slowdown: \(slowdown)}")
        }
        #expect(try load("0.2").compute?.transferSlowdown == 0.2)
        for bad in ["11", "-0.1", "fast"] {
            do { _ = try load(bad); Issue.record("\(bad) was accepted") } catch { #expect("\(error)".contains("t.yaml:6"), "\(error)") }
        }
    }
}
