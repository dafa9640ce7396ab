import Foundation
import SequenceParallel
import Simulator
import Testing

/// The merges' cost: one elementwise pass per (step, accumulator chunk) at the memory's rate,
/// counted as the schedules make them.
@Suite struct MergeCostTests {
    static let heads = 8, d = 64

    static func problem(_ tokens: Int, _ ranks: Int, causal: Bool) -> ScheduleReplay.Problem {
        ScheduleReplay.Problem(tokens: tokens, ranks: ranks, causal: causal, heads: heads, keyHeads: heads, headDimension: d)
    }

    /// Seconds of merging over all ranks: compute with merges minus compute without.
    static func mergeTotal(_ algorithm: SequenceParallelKinds.Algorithm, _ problem: ScheduleReplay.Problem, pass: ScheduleReplay.Pass = .forward,
                           mergeRate: Double) throws -> (with: ScheduleReplay.Result, seconds: Double) {
        let network = try Topology.network(.mesh, ranks: problem.ranks, link: .init(bandwidth: 1e18, latency: 0))
        let plain = try ScheduleReplay(algorithm: algorithm, problem: problem, pass: pass, computeRate: 1e12, network: network).run()
        let merged = try ScheduleReplay(algorithm: algorithm, problem: problem, pass: pass, computeRate: 1e12, network: network,
                                        mergeRate: mergeRate).run()
        return (merged, merged.computeSeconds.reduce(0, +) - plain.computeSeconds.reduce(0, +))
    }

    @Test(arguments: [2, 3, 4])
    func ringMergesEveryStepsOutputOnce(ranks: Int) throws {
        let c = 512, rate = 1e9, tokens = c * ranks
        let (result, seconds) = try Self.mergeTotal(.ring, Self.problem(tokens, ranks, causal: false), mergeRate: rate)
        let perStep = 12.0 * Double(c * Self.heads * (Self.d + 1)) / rate
        // Each rank's first merge is a copy: 8 of the 12 bytes per element.
        let merges = Double(ranks - 1) + 2.0 / 3
        #expect(abs(seconds - Double(ranks) * merges * perStep) <= 1e-9 * seconds, "\(seconds)")
        // Compute-bound (the links are free): every step is its block and its merge.
        let block = 4.0 * Double(c * c * Self.heads * Self.d) / 1e12
        #expect(abs(result.total - (Double(ranks) * block + merges * perStep)) <= 1e-6 * result.total)
    }

    @Test func zigzagMergesOneOrBothChunksByWhoseKeysItHolds() throws {
        // Rank r merges both half-chunks at step 0 and when it holds an earlier rank's keys (r
        // times), its late half-chunk only when it holds a later rank's (P − 1 − r times).
        let ranks = 4, half = 256, tokens = 2 * half * ranks, rate = 1e9
        let (_, seconds) = try Self.mergeTotal(.zigzagRing, Self.problem(tokens, ranks, causal: true), mergeRate: rate)
        // Step 0 writes both accumulators first: copies, 8 of the 12 bytes per element.
        let halves = (0..<ranks).reduce(0.0) { $0 + 2 * 2 / 3 + Double(2 * $1 + (ranks - 1 - $1)) }
        let expected = halves * Double(half * Self.heads * (Self.d + 1)) * 12 / rate
        #expect(abs(seconds - expected) <= 1e-9 * expected, "\(seconds) vs \(expected)")
    }

    @Test func tokenRingMergesForeignPartialsAtTheOwnersTail() throws {
        let ranks = 3, c = 300, rate = 1e9
        let (result, seconds) = try Self.mergeTotal(.tokenring, Self.problem(c * ranks, ranks, causal: false), mergeRate: rate)
        let one = 12.0 * Double(c * Self.heads * (Self.d + 1)) / rate
        // Step 0 (the rank's own queries) writes the accumulator first: a copy.
        #expect(abs(seconds - Double(ranks) * (Double(ranks - 1) + 2.0 / 3) * one) <= 1e-9 * seconds)
        // The tail step (P) of each rank merges the P − 1 partials that came home.
        for rank in 0..<ranks { #expect(abs(result.stepCompute[rank][ranks] - Double(ranks - 1) * one) <= 1e-9 * one) }
    }

    @Test func backwardAccumulatesDqAndDkDv() throws {
        let ranks = 2, c = 256, rate = 1e9
        let (_, seconds) = try Self.mergeTotal(.ring, Self.problem(c * ranks, ranks, causal: false), pass: .backward, mergeRate: rate)
        // Every rank, every step: dq of its chunk and dK, dV of the held chunk; the first of each
        // accumulator (dq at home, dK/dV at their owner, step 0) is a copy.
        let perStep = 12.0 * Double(c * Self.heads * Self.d + 2 * c * Self.heads * Self.d) / rate
        #expect(abs(seconds - Double(ranks) * (Double(ranks - 1) + 2.0 / 3) * perStep) <= 1e-9 * seconds)
    }

    @Test(arguments: [false, true])
    func uspMergesAsTheRingOfItsGroupsOnItsHeads(causal: Bool) throws {
        // u = 2 on 4 ranks: two rings of two groups, each rank on half the heads: together the
        // merges of a 2-rank ring over all heads, twice (one ring per member index).
        let tokens = 2048, rate = 1e9
        let usp = ScheduleReplay.Problem(tokens: tokens, ranks: 4, causal: causal, heads: Self.heads, keyHeads: Self.heads, headDimension: Self.d,
                                         ulyssesDegree: 2)
        let (_, seconds) = try Self.mergeTotal(.usp, usp, mergeRate: rate)
        let ring = try Self.mergeTotal(causal ? .zigzagRing : .ring, Self.problem(tokens, 2, causal: causal), mergeRate: rate).seconds
        #expect(abs(seconds - ring) <= 1e-9 * ring, "\(seconds) vs \(ring)")
        let (_, backward) = try Self.mergeTotal(.usp, usp, pass: .backward, mergeRate: rate)
        let ringBackward = try Self.mergeTotal(causal ? .zigzagRing : .ring, Self.problem(tokens, 2, causal: causal), pass: .backward,
                                               mergeRate: rate).seconds
        #expect(abs(backward - ringBackward) <= 1e-9 * ringBackward, "\(backward) vs \(ringBackward)")
    }

    @Test func ulyssesHasNothingToMerge() throws {
        let (_, seconds) = try Self.mergeTotal(.ulysses, Self.problem(1024, 4, causal: true), mergeRate: 1e9)
        #expect(seconds == 0)
    }

    @Test func aTopologyFileGivesMergesBothNumbersOrNeither() throws {
        let load = topology(withCompute:)
        let both = try load("{tflops: 100, forward: 0.5, backward: 0.4, memory_gbytes_per_s: 2000, merge: 0.25}")
        #expect(both.compute?.mergeRate == 500e9)
        #expect(try load("{tflops: 100, forward: 0.5, backward: 0.4}").compute?.mergeRate == nil)
        for bad in ["{tflops: 100, forward: 0.5, backward: 0.4, memory_gbytes_per_s: 2000}",
                    "{tflops: 100, forward: 0.5, backward: 0.4, memory_gbytes_per_s: 2000, merge: 1.5}",
                    "{tflops: 100, forward: 0.5, backward: 0.4, memory_gbyte_per_s: 2000, merge: 0.2}"] {
            #expect(throws: (any Error).self, "\(bad)") { try load(bad) }
            do { _ = try load(bad) } catch { #expect("\(error)".contains("t.yaml:6"), "\(error)") }
        }
    }
}
