import Tasks

/// The parameters of `attention.sharded`, decoded once per run.
public struct ShardedAttentionParameters: TaskParameters, Equatable {
    public static let declaration: [ParameterSpec] = [
        ParameterSpec("algorithm", .string, default: .string("ring"), "ring, zigzag_ring, ulysses, tokenring or usp (Ulysses in groups, ring across them)",
                          choices: SequenceParallelKinds.Algorithm.allCases.map(\.rawValue)),
        ParameterSpec("tokens", .int, "sequence length N"),
        ParameterSpec("heads", .int, default: .int(8), "query heads H"),
        ParameterSpec("kv_heads", .int, default: .int(0), "key/value heads Hkv (0: same as heads)"),
        ParameterSpec("head_dim", .int, default: .int(64), "head dimension d"),
        ParameterSpec("ulysses_degree", .int, default: .int(0), "usp only: ranks per Ulysses group U (U divides the gang size, heads and kv_heads); the ring runs across the P/U groups"),
        ParameterSpec("causal", .bool, default: .bool(false), "causal mask"),
        ParameterSpec("seed", .int, default: .int(1), "seed of the inputs (each rank makes its own shard)"),
        ParameterSpec("threads", .int, default: .int(1), "BLAS and attention threads per rank"),
        ParameterSpec("backward", .bool, default: .bool(false), "also run the backward pass (dq, dk, dv from a seeded or given dout)"),
        ParameterSpec("verify", .bool, default: .bool(false), "compare with the float64 reference afterwards (off the timed path)"),
        ParameterSpec("frames", .bool, default: .bool(false), "send plain frames even between ranks on one host"),
        ParameterSpec("link_gbps", .double, default: .double(0), "model each link at this many GB/s (0: unthrottled)",
                      minimum: 0, maximum: 1e6),
        ParameterSpec("link_latency_us", .double, default: .double(0), "with link_gbps: latency per message in µs",
                      minimum: 0, maximum: 1e6),
        ParameterSpec("pin_cores", .bool, default: .bool(false), "pin rank r's thread to the (r mod C)-th of the C CPUs it may use, for the run: a placement loom sim validate follows when ranks outnumber cores"),
        ParameterSpec("input_dir", .string, default: .string(""), "read q.npy, k.npy, v.npy ([N, H, d], [N, Hkv, d], float32) from here instead of the seed", input: true),
        ParameterSpec("output_dir", .string, default: .string(""), "write each rank's output chunks here (out.r<rank>.c<i>.npy, lse.…)"),
    ]

    public var algorithm: SequenceParallelKinds.Algorithm
    public var tokens: Int, heads: Int, kvHeads: Int, headDim: Int
    /// USP's group size u (0: not given, which usp refuses).
    public var ulyssesDegree: Int
    public var causal: Bool
    public var seed: Int, threads: Int
    public var backward: Bool, verify: Bool, frames: Bool
    public var linkGbps: Double, linkLatencyMicroseconds: Double
    public var pinCores: Bool
    public var inputDirectory: String, outputDirectory: String

    /// A problem of `tokens` tokens with the declared defaults for the rest (set fields to change them).
    /// - Throws: the declaration's problem with `tokens`.
    public init(algorithm: SequenceParallelKinds.Algorithm, tokens: Int) throws(ParameterProblem) {
        self.init(ResolvedParameters(try Self.declaration.resolve(["tokens": .int(tokens)], kind: "attention.sharded")))
        self.algorithm = algorithm
    }

    /// The values to submit: what the wire and the store carry, decoded again on each rank.
    public var values: [String: ParameterValue] {
        ["algorithm": .string(algorithm.rawValue), "tokens": .int(tokens), "heads": .int(heads), "kv_heads": .int(kvHeads),
         "head_dim": .int(headDim), "ulysses_degree": .int(ulyssesDegree), "causal": .bool(causal), "seed": .int(seed), "threads": .int(threads),
         "backward": .bool(backward), "verify": .bool(verify), "frames": .bool(frames), "link_gbps": .double(linkGbps),
         "link_latency_us": .double(linkLatencyMicroseconds), "pin_cores": .bool(pinCores), "input_dir": .string(inputDirectory),
         "output_dir": .string(outputDirectory)]
    }

    public init(_ values: ResolvedParameters) {
        guard let algorithm = SequenceParallelKinds.Algorithm(rawValue: values.string("algorithm")) else {
            preconditionFailure("the declaration's choices admit only known algorithms")
        }
        self.algorithm = algorithm
        tokens = values.int("tokens"); heads = values.int("heads"); kvHeads = values.int("kv_heads"); headDim = values.int("head_dim")
        ulyssesDegree = values.int("ulysses_degree")
        causal = values.bool("causal")
        seed = values.int("seed"); threads = values.int("threads")
        backward = values.bool("backward"); verify = values.bool("verify"); frames = values.bool("frames")
        linkGbps = values.double("link_gbps"); linkLatencyMicroseconds = values.double("link_latency_us")
        pinCores = values.bool("pin_cores")
        inputDirectory = values.string("input_dir"); outputDirectory = values.string("output_dir")
    }

    public func check(gangSize: Int) throws(ParameterProblem) { _ = try ShardedProblem(self, ranks: gangSize) }
}
