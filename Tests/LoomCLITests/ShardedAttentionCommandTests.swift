import Foundation
import ProcessTestSupport
import TensorCore
import Testing

/// `loom attention --algorithm … --workers P` gives the same files as the single-process command.
@Suite(.serialized) struct ShardedAttentionCommandTests {
    @Test(arguments: [("ring", 2, false), ("ring", 3, true), ("zigzag_ring", 2, true), ("zigzag_ring", 4, false), ("ulysses", 2, true), ("tokenring", 3, true), ("tokenring", 2, false), ("usp", 4, true)])
    func shardedOutputMatchesTheSingleProcessCommand(algorithm: String, workers: Int, causal: Bool) throws {
        let scratch = try TemporaryDirectory()
        var random = SeededRandom(seed: 5)
        for (name, heads) in [("q", 4), ("k", 2), ("v", 2)] {
            let tensor = try Tensor(shape: [97, heads, 16], storage: (0..<(97 * heads * 16)).map { _ in random.normal() })
            try tensor.writeNPY(toFile: scratch.path("\(name).npy"))
        }
        let inputs = ["--q", scratch.path("q.npy"), "--k", scratch.path("k.npy"), "--v", scratch.path("v.npy")] + (causal ? ["--causal"] : [])
        let single = try LoomProcess.run(["attention"] + inputs + ["--out", scratch.path("out1.npy"), "--lse", scratch.path("lse1.npy")])
        try #require(single.status == 0, "\(single)")
        // usp: two groups of two workers (H = 4, Hkv = 2).
        let degree = algorithm == "usp" ? ["--ulysses-degree", "2"] : []
        let sharded = try LoomProcess.run(["attention"] + inputs + degree + ["--algorithm", algorithm, "--workers", String(workers),
                                                                    "--out", scratch.path("out2.npy"), "--lse", scratch.path("lse2.npy"), "--json"],
                                          deadline: .seconds(120))
        try #require(sharded.status == 0, "\(sharded)")
        #expect(sharded.standardOutput.contains("\"workers\":\(workers)"), "\(sharded)")
        for name in ["out", "lse"] {
            let a = try Tensor(contentsOfNPYFile: scratch.path("\(name)1.npy")), b = try Tensor(contentsOfNPYFile: scratch.path("\(name)2.npy"))
            #expect(a.shape == b.shape)
            let difference = zip(a.storage, b.storage).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
            let norm = a.storage.reduce(0.0) { $0 + Double($1) * Double($1) }
            // Both are float32 blockwise results within 1e-5 of float64; they differ in merge order only.
            #expect((difference / norm).squareRoot() <= 1e-5, "\(name): ‖Δ‖/‖a‖ = \((difference / norm).squareRoot())")
        }
    }

    @Test(arguments: [
        (["--algorithm", "rign"], "did you mean 'ring'"),
        (["--algorithm", "ring", "--window", "4"], "drop --window"),
        (["--workers", "2"], "only with --algorithm"),
        (["--algorithm", "zigzag_ring", "--workers", "60"], "use fewer --workers"),
        (["--algorithm", "usp"], "needs --ulysses-degree"),
        (["--algorithm", "ring", "--ulysses-degree", "2"], "only with --algorithm usp"),
        (["--algorithm", "usp", "--ulysses-degree", "3"], "got 3 on 2 ranks; give ulysses_degree = one of 1, 2"),
    ])
    func badShardedArgumentsExitTwo(extra: [String], expected: String) throws {
        let scratch = try TemporaryDirectory()
        for (name, heads) in [("q", 2), ("k", 2), ("v", 2)] {
            try Tensor(uncheckedZeros: [100, heads, 8]).writeNPY(toFile: scratch.path("\(name).npy"))
        }
        let outcome = try LoomProcess.run(["attention", "--q", scratch.path("q.npy"), "--k", scratch.path("k.npy"),
                                           "--v", scratch.path("v.npy"), "--out", scratch.path("o.npy")] + extra)
        #expect(outcome.status == 2 && outcome.standardError.contains(expected), "\(outcome)")
    }
}

/// `loom attention --backward --algorithm …` gives the same gradients as one process.
@Suite(.serialized) struct ShardedBackwardCommandTests {
    @Test(arguments: [("ring", 3, false), ("zigzag_ring", 2, true), ("ulysses", 2, true), ("tokenring", 3, true), ("usp", 2, false)])
    func shardedGradientsMatchTheSingleProcessCommand(algorithm: String, workers: Int, causal: Bool) throws {
        let scratch = try TemporaryDirectory()
        var random = SeededRandom(seed: 9)
        for (name, heads) in [("q", 4), ("k", 2), ("v", 2), ("dout", 4)] {
            let tensor = try Tensor(shape: [61, heads, 8], storage: (0..<(61 * heads * 8)).map { _ in random.normal() })
            try tensor.writeNPY(toFile: scratch.path("\(name).npy"))
        }
        let inputs = ["attention", "--q", scratch.path("q.npy"), "--k", scratch.path("k.npy"), "--v", scratch.path("v.npy"),
                      "--backward", "--dout", scratch.path("dout.npy")] + (causal ? ["--causal"] : [])
        let single = try LoomProcess.run(inputs + ["--dq", scratch.path("dq1.npy"), "--dk", scratch.path("dk1.npy"), "--dv", scratch.path("dv1.npy")])
        try #require(single.status == 0, "\(single)")
        let sharded = try LoomProcess.run(inputs + ["--dq", scratch.path("dq2.npy"), "--dk", scratch.path("dk2.npy"), "--dv", scratch.path("dv2.npy"),
                                                    "--algorithm", algorithm, "--workers", String(workers)]
                                                   + (algorithm == "usp" ? ["--ulysses-degree", "2"] : []), deadline: .seconds(120))
        try #require(sharded.status == 0, "\(sharded)")
        for name in ["dq", "dk", "dv"] {
            let a = try Tensor(contentsOfNPYFile: scratch.path("\(name)1.npy")), b = try Tensor(contentsOfNPYFile: scratch.path("\(name)2.npy"))
            #expect(a.shape == b.shape)
            let difference = zip(a.storage, b.storage).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
            let norm = a.storage.reduce(0.0) { $0 + Double($1) * Double($1) }
            // Both float32 backward passes are within 1e-4 of float64; they differ in summation order.
            #expect((difference / norm).squareRoot() <= 1e-4, "\(name): ‖Δ‖/‖a‖ = \((difference / norm).squareRoot())")
        }
    }
}
