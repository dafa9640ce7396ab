import Cluster
import ClusterTestSupport
import Foundation
import SequenceParallel
import Testing
import Tasks

/// `attention.sharded` on real worker processes: exact against float64, bytes as the formula.
@Suite(.serialized) struct ShardedAttentionTests {
    static var registry: TaskRegistry {
        var registry = TaskRegistry.builtIn
        for kind in SequenceParallelKinds.all { registry.register(kind) }
        return registry
    }

    /// Runs one problem on a gang of `ranks` and returns every rank's metrics by name.
    static func run(_ cluster: TestCluster, ranks: Int, _ params: [String: ParameterValue]) throws -> [String: ParameterValue] {
        let ids = try cluster.coordinator.submit(kind: "attention.sharded", params: params.merging(["verify": .bool(true)]) { a, _ in a },
                                                 gang: ranks)
        let result = try #require(cluster.coordinator.waitForResults(ids, timeout: .seconds(120))?.first, "\(cluster.logText)")
        try #require(result.succeeded, "\(result.error)\n\(cluster.logText)")
        // Every metric of every rank is declared, so reports can label it.
        let undeclared = result.metrics.keys.filter { registry.metrics.spec(for: $0) == nil }
        #expect(undeclared.isEmpty, "undeclared metrics: \(undeclared.sorted())")
        return result.metrics
    }

    static func rankMetric(_ metrics: [String: ParameterValue], _ rank: Int, _ name: String) -> Double? {
        metrics[rank == 0 ? name : "rank\(rank).\(name)"]?.number
    }

    /// The gang's throughput is credited with its slowest rank's time, over the whole useful work.
    @Test func gangThroughputUsesTheSlowestRank() throws {
        let cluster = try TestCluster(workers: 3, registry: ShardedAttentionTests.registry)
        let metrics = try ShardedAttentionTests.run(cluster, ranks: 3, [
            "algorithm": .string("ring"), "tokens": .int(96), "heads": .int(2), "head_dim": .int(8), "causal": .bool(true)])
        let walls = (0..<3).compactMap { ShardedAttentionTests.rankMetric(metrics, $0, "wall_s") }
        let slowest = try #require(walls.max())
        #expect(walls.count == 3 && metrics["gang_wall_s"]?.number == slowest)
        let flops = 4.0 * 8 * Double(96 * 97 / 2) * 2
        #expect(metrics["useful_flops"]?.number == flops)
        #expect(abs((metrics["gflops"]?.number ?? 0) - flops / slowest / 1e9) <= 1e-9 * flops / slowest / 1e9)
    }

    @Test(arguments: ["ring", "zigzag_ring", "ulysses", "tokenring"])
    func exactForEveryGangSizeMaskAndHeadLayout(algorithm: String) throws {
        let cluster = try TestCluster(workers: 4, registry: ShardedAttentionTests.registry)
        // N = 101 divides by no 2P here; H = 4 with Hkv = 4 (MHA) and 2 (GQA).
        for ranks in 1...4 {
            for causal in [false, true] {
                for keyHeads in [4, 2] where algorithm != "ulysses" || (4 % ranks == 0 && keyHeads % ranks == 0) {
                    let backward = true
                    let metrics = try ShardedAttentionTests.run(cluster, ranks: ranks, [
                        "algorithm": .string(algorithm), "tokens": .int(101), "heads": .int(4), "kv_heads": .int(keyHeads),
                        "head_dim": .int(16), "causal": .bool(causal), "seed": .int(ranks * 10 + keyHeads),
                        "backward": .bool(backward)])
                    for rank in 0..<ranks {
                        let out = ShardedAttentionTests.rankMetric(metrics, rank, "rel_error_out") ?? .infinity
                        let lse = ShardedAttentionTests.rankMetric(metrics, rank, "rel_error_lse") ?? .infinity
                        // Float32 blockwise attention against float64: 1e-5 (DESIGN.md).
                        #expect(out <= 1e-5 && lse <= 1e-5, "\(algorithm) P=\(ranks) causal=\(causal) Hkv=\(keyHeads) rank \(rank): out \(out), lse \(lse)")
                        let sent = ShardedAttentionTests.rankMetric(metrics, rank, "bytes_sent")
                        let expected = ShardedAttentionTests.rankMetric(metrics, rank, "expected_bytes_sent")
                        #expect(sent == expected && sent != nil, "rank \(rank) sent \(sent ?? -1) bytes, formula \(expected ?? -1)")
                        guard backward else { continue }
                        for gradient in ["dq", "dk", "dv"] {
                            let error = ShardedAttentionTests.rankMetric(metrics, rank, "rel_error_\(gradient)") ?? .infinity
                            // Float32 backward against float64: 1e-4 (DESIGN.md).
                            #expect(error <= 1e-4, "\(algorithm) P=\(ranks) causal=\(causal) Hkv=\(keyHeads) rank \(rank): \(gradient) \(error)")
                        }
                        let backwardSent = ShardedAttentionTests.rankMetric(metrics, rank, "bwd_bytes_sent")
                        #expect(backwardSent != nil && backwardSent == ShardedAttentionTests.rankMetric(metrics, rank, "bwd_expected_bytes_sent"))
                    }
                }
            }
        }
    }

    @Test(arguments: [(2, 1), (2, 2), (4, 1), (4, 2), (4, 4)])
    func uspIsExactForEveryDegreeMaskAndHeadLayout(ranks: Int, degree: Int) throws {
        let cluster = try TestCluster(workers: ranks, registry: ShardedAttentionTests.registry)
        // N = 101 divides by no 2P; H = 4 with Hkv = 4 (MHA) and 2 (GQA) where u divides both.
        for causal in [false, true] {
            for keyHeads in [4, 2] where keyHeads % degree == 0 {
                let metrics = try ShardedAttentionTests.run(cluster, ranks: ranks, [
                    "algorithm": .string("usp"), "ulysses_degree": .int(degree), "tokens": .int(101), "heads": .int(4),
                    "kv_heads": .int(keyHeads), "head_dim": .int(16), "causal": .bool(causal), "seed": .int(ranks * 10 + keyHeads),
                    "backward": .bool(true)])
                let name = "usp P=\(ranks) u=\(degree) causal=\(causal) Hkv=\(keyHeads)"
                for rank in 0..<ranks {
                    let out = ShardedAttentionTests.rankMetric(metrics, rank, "rel_error_out") ?? .infinity
                    let lse = ShardedAttentionTests.rankMetric(metrics, rank, "rel_error_lse") ?? .infinity
                    // Float32 blockwise attention against float64: 1e-5 (DESIGN.md).
                    #expect(out <= 1e-5 && lse <= 1e-5, "\(name) rank \(rank): out \(out), lse \(lse)")
                    for gradient in ["dq", "dk", "dv"] {
                        let error = ShardedAttentionTests.rankMetric(metrics, rank, "rel_error_\(gradient)") ?? .infinity
                        // Float32 backward against float64: 1e-4 (DESIGN.md).
                        #expect(error <= 1e-4, "\(name) rank \(rank): \(gradient) \(error)")
                    }
                    for prefix in ["", "bwd_"] {
                        let sent = ShardedAttentionTests.rankMetric(metrics, rank, prefix + "bytes_sent")
                        let expected = ShardedAttentionTests.rankMetric(metrics, rank, prefix + "expected_bytes_sent")
                        #expect(sent == expected && sent != nil, "\(name) rank \(rank): \(prefix)sent \(sent ?? -1), formula \(expected ?? -1)")
                    }
                    // The all-to-alls stay inside the group; the ring reaches only the same member of the other groups.
                    for peer in 0..<ranks where peer != rank {
                        let sameGroup = peer / degree == rank / degree, sameMember = peer % degree == rank % degree
                        let bytes = ShardedAttentionTests.rankMetric(metrics, rank, "bytes_to_r\(peer)") ?? 0
                        #expect(sameGroup || sameMember || bytes == 0, "\(name): rank \(rank) sent \(bytes) bytes to rank \(peer)")
                    }
                }
            }
        }
    }

    @Test func bytesPerRankEqualTheRingFormulaOverBothPaths() throws {
        let cluster = try TestCluster(workers: 4, registry: ShardedAttentionTests.registry)
        let (ranks, tokens, keyHeads, d) = (4, 256, 2, 32)
        for frames in [false, true] {
            let metrics = try ShardedAttentionTests.run(cluster, ranks: ranks, [
                "algorithm": .string("ring"), "tokens": .int(tokens), "heads": .int(4), "kv_heads": .int(keyHeads),
                "head_dim": .int(d), "frames": .bool(frames)])
            let formula = Double((ranks - 1) * 2 * (tokens / ranks) * keyHeads * d * 4)
            for rank in 0..<ranks {
                #expect(ShardedAttentionTests.rankMetric(metrics, rank, "bytes_sent") == formula)
                // Ring: everything goes to the next rank and comes from the previous one.
                #expect(ShardedAttentionTests.rankMetric(metrics, rank, "bytes_to_r\((rank + 1) % ranks)") == formula)
                #expect(ShardedAttentionTests.rankMetric(metrics, rank, "bytes_from_r\((rank + ranks - 1) % ranks)") == formula)
                let path = frames ? "frame_transfers" : "shared_memory_transfers"
                #expect(ShardedAttentionTests.rankMetric(metrics, rank, path) == Double((ranks - 1) * 2), "\(path)")
            }
        }
    }

    @Test func ulyssesBytesMatchTheAllToAllFormula() throws {
        let cluster = try TestCluster(workers: 4, registry: ShardedAttentionTests.registry)
        let (ranks, tokens, heads, keyHeads, d) = (4, 256, 8, 4, 16)
        let metrics = try ShardedAttentionTests.run(cluster, ranks: ranks, [
            "algorithm": .string("ulysses"), "tokens": .int(tokens), "heads": .int(heads), "kv_heads": .int(keyHeads),
            "head_dim": .int(d), "causal": .bool(true)])
        let c = tokens / ranks
        // q, k, v of the other ranks' heads out, then output and lse of their tokens back.
        let formula = Double((ranks - 1) * c * (heads + 2 * keyHeads) * d * 4 / ranks + (ranks - 1) * c * heads * (d + 1) * 4 / ranks)
        for rank in 0..<ranks {
            #expect(ShardedAttentionTests.rankMetric(metrics, rank, "bytes_sent") == formula)
            #expect(ShardedAttentionTests.rankMetric(metrics, rank, "bytes_received") == formula)
            #expect((ShardedAttentionTests.rankMetric(metrics, rank, "rel_error_out") ?? 1) <= 1e-5)
        }
    }

    @Test func badProblemsAreRefusedBeforeAnyWorkerStarts() throws {
        let cluster = try TestCluster(workers: 0, registry: ShardedAttentionTests.registry)
        #expect { _ = try cluster.coordinator.submit(kind: "attention.sharded", params: ["tokens": .int(64), "algorithm": .string("rign")], gang: 2) } throws: {
            "\($0)".contains("algorithm") || "\($0)".contains("rign")
        }
        #expect { _ = try cluster.coordinator.submit(kind: "attention.sharded", params: ["tokens": .int(3), "algorithm": .string("zigzag_ring")], gang: 2) } throws: {
            "\($0)".contains("tokens ≥ 4")
        }
        #expect { _ = try cluster.coordinator.submit(kind: "attention.sharded", params: ["tokens": .int(64), "heads": .int(6), "kv_heads": .int(4)], gang: 2) } throws: {
            "\($0)".contains("multiple of kv_heads")
        }
        #expect { _ = try cluster.coordinator.submit(kind: "attention.sharded", params: ["tokens": .int(64), "algorithm": .string("ulysses"), "heads": .int(6), "kv_heads": .int(3)], gang: 4) } throws: {
            "\($0)".contains("must divide heads (6) and kv_heads (3)")
        }
        #expect { _ = try cluster.coordinator.submit(kind: "attention.sharded", params: ["tokens": .int(64), "algorithm": .string("usp")], gang: 4) } throws: {
            "\($0)".contains("got 0 on 4 ranks; give ulysses_degree = one of 1, 2, 4")
        }
        #expect { _ = try cluster.coordinator.submit(kind: "attention.sharded", params: ["tokens": .int(64), "algorithm": .string("usp"), "ulysses_degree": .int(3)], gang: 4) } throws: {
            "\($0)".contains("got 3 on 4 ranks")
        }
        #expect { _ = try cluster.coordinator.submit(kind: "attention.sharded", params: ["tokens": .int(64), "algorithm": .string("usp"), "ulysses_degree": .int(4), "heads": .int(6), "kv_heads": .int(2)], gang: 4) } throws: {
            "\($0)".contains("ulysses_degree (4) must divide heads (6) and kv_heads (2); give ulysses_degree = one of 1, 2")
        }
        // A latency whose nanoseconds overflow Int64 once stopped every rank that converted it.
        #expect { _ = try cluster.coordinator.submit(kind: "attention.sharded", params: ["tokens": .int(64), "link_gbps": .double(1),
                                                                                          "link_latency_us": .double(1e30)], gang: 2) } throws: {
            "\($0)".contains("link_latency_us") && "\($0)".contains("1000000")
        }
        // Past any machine: refused whole, and the product never overflows on the way.
        for tokens in [1 << 40, Int.max / 2] {
            #expect { _ = try cluster.coordinator.submit(kind: "attention.sharded", params: ["tokens": .int(tokens)], gang: 2) } throws: {
                "\($0)".contains("past the 2^36 floats (256 GiB)") && "\($0)".contains("give fewer tokens, heads or head_dim")
            }
        }
    }

    /// A problem within the absolute bound but past the worker's memory fails on each rank
    /// before it allocates, saying how much it needs and what to lower; the worker lives on.
    @Test func aProblemPastTheWorkersMemoryFailsWithTheSizeAndTheFix() throws {
        let cluster = try TestCluster(workers: 2, registry: ShardedAttentionTests.registry)
        // 2^24 tokens × 16 heads × d 64: 2^34 floats whole; each rank would hold 2^23 tokens of
        // q, k, v and out four times over, 512 GiB.
        let big: [String: ParameterValue] = ["algorithm": .string("ring"), "tokens": .int(1 << 24), "heads": .int(16), "head_dim": .int(64)]
        let ids = try cluster.coordinator.submit(kind: "attention.sharded", params: big, gang: 2)
        let result = try #require(cluster.coordinator.waitForResults(ids, timeout: .seconds(60))?.first, "\(cluster.logText)")
        #expect(!result.succeeded)
        #expect(result.error.contains("attention.sharded rank") && result.error.contains("needs 512.0 GiB"), "\(result.error)")
        #expect(result.error.contains("% of its memory); give fewer tokens, heads or head_dim, a larger gang"), "\(result.error)")
        // The same workers then run a problem that fits.
        let metrics = try ShardedAttentionTests.run(cluster, ranks: 2, ["algorithm": .string("ring"), "tokens": .int(64), "heads": .int(2), "head_dim": .int(8)])
        #expect((metrics["rel_error_out"]?.number ?? 1) < 1e-5)
    }
}

/// Throttled links and dead ranks.
@Suite(.serialized) struct ShardedAttentionLinkTests {
    @Test func aThrottledLinkTakesAtLeastBytesOverBandwidth() throws {
        let cluster = try TestCluster(workers: 2, registry: ShardedAttentionTests.registry)
        // Each rank forwards one K/V block of 2 · 512 · 2 · 32 · 4 = 262,144 bytes at 1 MB/s.
        let metrics = try ShardedAttentionTests.run(cluster, ranks: 2, [
            "algorithm": .string("ring"), "tokens": .int(1024), "heads": .int(2), "head_dim": .int(32),
            "link_gbps": .double(0.001), "link_latency_us": .double(1000)])
        // Each rank's clock starts when it passed the start barrier, a few ms apart, so the
        // bound is checked on the slower of the two with a 10 % margin for that skew.
        let walls = (0..<2).map { ShardedAttentionTests.rankMetric(metrics, $0, "wall_s") ?? 0 }
        #expect(walls.max()! >= 0.9 * (0.262 + 0.001), "ranks finished in \(walls) s, faster than the modelled link allows")
        // Each rank receives one block, so neither can finish before most of the link time has
        // passed, however the wait and the compute overlap on a busy machine.
        #expect(walls.min()! >= 0.5 * 0.263 && walls.max()! < 30, "rank wall times \(walls) s")
        let link = ShardedAttentionTests.rankMetric(metrics, 0, "link_busy_s") ?? 0
        #expect(abs(link - 0.263) < 0.01, "the modelled link was busy \(link) s for 262,144 bytes at 1 MB/s plus 1 ms")
    }

    @Test func aRankKilledMidJobFailsTheAttemptAndTheRetrySucceeds() throws {
        let cluster = try TestCluster(workers: 3, registry: ShardedAttentionTests.registry)
        // 2 ranks, 1 MB per step at 1 MB/s: the job takes about a second per attempt.
        let ids = try cluster.coordinator.submit(kind: "attention.sharded", params: [
            "algorithm": .string("ring"), "tokens": .int(2048), "heads": .int(2), "head_dim": .int(64),
            "link_gbps": .double(0.001), "verify": .bool(true)], gang: 2)
        try cluster.wait(for: "the job to start") { $0.workers.filter { $0.running == 1 }.count == 2 }
        Thread.sleep(forTimeInterval: 0.3)
        let victim = try #require(try cluster.status().workers.first { $0.running == 1 })
        kill(Int32(victim.pid), SIGKILL)
        let result = try #require(cluster.coordinator.waitForResults(ids, timeout: .seconds(60))?.first, "\(cluster.logText)")
        #expect(result.succeeded && result.attempt == 2, "\(result)\n\(cluster.logText)")
        #expect((result.metrics["rel_error_out"]?.number ?? 1) <= 1e-5 && (result.metrics["rank1.rel_error_out"]?.number ?? 1) <= 1e-5)
        #expect(try cluster.status().counters["attempts_lost"] == 1)
    }
}
