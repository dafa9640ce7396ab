import Attention
import Cluster
import Foundation
import TensorCore
import Tasks
import Wire

/// The task kinds of sequence-parallel attention, for the registry of `loom worker`.
public enum SequenceParallelKinds {
    public static var all: [TaskKind] { [shardedAttention] }

    /// The algorithms this build runs.
    public enum Algorithm: String, Sendable, CaseIterable {
        case ring
        case zigzagRing = "zigzag_ring"
        case ulysses
        case tokenring
        /// Ulysses inside groups of `ulysses_degree` ranks, a ring across the groups (USP).
        case usp

        /// The peer links the algorithm needs.
        var topology: String { self == .ring || self == .zigzagRing ? "ring" : "mesh" }

        /// The global token ranges rank `rank` holds as input and output, in the order its shard
        /// stores them (its chunks; for usp its sub-ranges of its group's chunks).
        /// - Precondition: the shape suits the algorithm (`ShardedProblem` checks it).
        public func tokenRanges(ofRank rank: Int, tokens: Int, ranks: Int, isCausal: Bool, heads: Int, keyHeads: Int,
                                ulyssesDegree: Int = 1) -> [Range<Int>] {
            if self == .usp {
                return HybridSchedule(tokens: tokens, ranks: ranks, ulyssesDegree: ulyssesDegree, rank: rank, heads: heads,
                                      keyHeads: keyHeads, isCausal: isCausal).ranges(ofRank: rank)
            }
            let zigzag = self == .zigzagRing || (self == .tokenring && isCausal)
            let layout = ShardLayout(tokens: tokens, ranks: ranks, kind: zigzag ? .zigzag : .contiguous)
            return layout.chunks(ofRank: rank).map { layout.range(ofChunk: $0) }
        }
    }

    /// `attention.sharded`: one attention problem over a gang, inputs from the seed.
    public static let shardedAttention = TaskKind(
        name: "attention.sharded", summary: "attention of one sequence sharded over a gang (ring, zigzag_ring, ulysses, tokenring, usp)",
        parameters: ShardedAttentionParameters.self,
        metrics: ShardedMetric.all,
        isGang: true,
        gangTopology: { $0.algorithm.topology },
        gangSummary: { ranks in
            // The gang is done when its slowest rank is: an unbalanced schedule (the plain ring
            // under a causal mask) must not be credited with its fastest rank's time.
            let wall = ranks.compactMap { $0[ShardedMetric.wall]?.number }.max() ?? 0
            let flops = ranks.first?[ShardedMetric.usefulFlops]?.number ?? 0
            return [ShardedMetric.gangWall.name: .double(wall), ShardedMetric.gflops.name: .double(wall > 0 ? flops / wall / 1e9 : 0)]
        }
    ) { context, params in
        guard let gang = context.gang else { throw ClusterError.invalidTask("attention.sharded must run as a gang") }
        // The body starts once the gang has connected and passed its start barrier.
        let startUnix = Date().timeIntervalSince1970, clock = ContinuousClock(), bodyStart = clock.now
        let problem: ShardedProblem
        do throws(ParameterProblem) {
            problem = try ShardedProblem(params, ranks: gang.size)
            try problem.checkMemory(rank: gang.rank)
        } catch {
            throw ClusterError.invalidTask(error.description)
        }
        let chunks = problem.ranges(ofRank: gang.rank)
        let (query, key, value) = try problem.shard(chunks)
        // Ranks that share a core make their shards one after another; every rank's clock starts
        // at one barrier after that, and after its shared-memory slots are made and its peers'
        // segments mapped, so the ranks begin together and no timed step pays for the set-up.
        if !problem.forceFrames {
            try gang.reserveSharedMemory(bytesPerTensor: problem.largestTensorBytes(rank: gang.rank))
            try gang.mapPeersSharedMemory()
        }
        try gang.barrier(round: -2, context: context)
        // A worker runs many tasks: the next one must start from the worker's own setting.
        // Pinned (pin_cores): rank r on the (r mod C)-th allowed CPU for the run, then as before.
        return try CorePinning.run(slot: problem.pinCores ? gang.rank : nil) { (_: Int?) throws -> TaskOutcome in
            try BLAS.withThreadCount(problem.threads) {
                gang.throttle = problem.throttle
                let run: ShardedRun
                let expectedBytes: Int, work: Int
                var headShard: UlyssesHeadShard?, hybridShard: HybridHeadShard?
                switch problem.algorithm {
                case .ring, .zigzagRing:
                    let schedule = RingSchedule(layout: problem.layout, rank: gang.rank, isCausal: problem.isCausal)
                    run = try RingExecutor.run(schedule, query: query, key: key, value: value, gang: gang,
                                               threads: problem.threads, forceFrames: problem.forceFrames)
                    expectedBytes = schedule.bytesSent(keyHeads: problem.inputs.keyHeads, headDimension: problem.inputs.headDimension)
                    work = schedule.visiblePairs
                case .ulysses:
                    let schedule = UlyssesSchedule(layout: problem.layout, rank: gang.rank, heads: problem.inputs.heads,
                                                   keyHeads: problem.inputs.keyHeads, isCausal: problem.isCausal)
                    (run, headShard) = try UlyssesExecutor.run(schedule, query: query[0], key: key[0], value: value[0], gang: gang,
                                                               threads: problem.threads, forceFrames: problem.forceFrames)
                    expectedBytes = schedule.bytesSent(headDimension: problem.inputs.headDimension)
                    let n = problem.layout.tokens
                    work = (problem.isCausal ? n * (n + 1) / 2 : n * n) / gang.size   // all pairs, 1/P of the heads
                case .tokenring:
                    let schedule = TokenRingSchedule(tokens: problem.layout.tokens, ranks: gang.size, rank: gang.rank,
                                                     isCausal: problem.isCausal)
                    run = try TokenRingExecutor.run(schedule, query: query, key: key, value: value, gang: gang,
                                                    threads: problem.threads, forceFrames: problem.forceFrames)
                    expectedBytes = schedule.bytesSent(heads: problem.inputs.heads, headDimension: problem.inputs.headDimension)
                    work = schedule.visiblePairs
                case .usp:
                    let schedule = problem.hybridSchedule(rank: gang.rank)
                    (run, hybridShard) = try HybridExecutor.run(schedule, query: query, key: key, value: value, gang: gang,
                                                                threads: problem.threads, forceFrames: problem.forceFrames)
                    expectedBytes = schedule.bytesSent(headDimension: problem.inputs.headDimension)
                    work = schedule.visiblePairs
                }
                // The executors time from their first step; the rest of the body so far was setup.
                let setup = max(0, (clock.now - bodyStart).inSeconds - run.wallSeconds)
                let transferSteps: Int
                switch problem.algorithm {
                case .ulysses: transferSteps = 2
                case .usp: transferSteps = (problem.ulyssesDegree > 1 ? 2 : 0) + gang.size / problem.ulyssesDegree - 1
                case .ring, .zigzagRing, .tokenring: transferSteps = gang.size - 1
                }
                var metrics = ShardedMetrics.metrics(of: run, expectedBytes: expectedBytes, work: work, transferSteps: transferSteps,
                                                     gang: gang)
                // The whole gang's useful forward work: 4·d FLOPs per visible pair and query head.
                let n = problem.layout.tokens
                let pairs = Double(problem.isCausal ? n * (n + 1) / 2 : n * n) * Double(problem.inputs.heads)
                metrics[ShardedMetric.usefulFlops] = .double(4 * Double(problem.inputs.headDimension) * pairs)
                metrics[ShardedMetric.setup] = .double(setup)
                metrics[ShardedMetric.startUnix] = .double(startUnix)
                var gradients: ShardedGradients?
                if problem.backward {
                    let outputGradient = try problem.outputGradient(chunks)
                    let sentBefore = gang.tensorBytesSent.values.reduce(0, +)
                    let result: ShardedGradients, timings: [StepTiming], wall: Double, expected: Int
                    if let headShard {
                        let schedule = UlyssesSchedule(layout: problem.layout, rank: gang.rank, heads: problem.inputs.heads,
                                                       keyHeads: problem.inputs.keyHeads, isCausal: problem.isCausal)
                        (result, timings, wall) = try UlyssesExecutor.backward(
                            schedule, shard: headShard, outputGradient: outputGradient[0], gang: gang, threads: problem.threads,
                            forceFrames: problem.forceFrames)
                        expected = schedule.backwardBytesSent(headDimension: problem.inputs.headDimension)
                    } else if let hybridShard {
                        let schedule = problem.hybridSchedule(rank: gang.rank)
                        (result, timings, wall) = try HybridExecutor.backward(
                            schedule, shard: hybridShard, outputGradient: outputGradient, gang: gang, threads: problem.threads,
                            forceFrames: problem.forceFrames)
                        expected = schedule.backwardBytesSent(headDimension: problem.inputs.headDimension)
                    } else {
                        // Ring and zigzag: accumulators travel with K/V. TokenRing mirrors its forward
                        // pass: K/V travel on its layout, dq stays home, dK/dV partials go straight home.
                        let direct = problem.algorithm == .tokenring
                        let schedule = RingSchedule(layout: problem.layout, rank: gang.rank, isCausal: problem.isCausal)
                        (result, timings, wall) = try RingExecutor.backward(
                            schedule, query: query, key: key, value: value, forward: run.outputs, outputGradient: outputGradient,
                            gang: gang, threads: problem.threads, forceFrames: problem.forceFrames, partialsGoHome: direct)
                        expected = direct
                            ? schedule.directBackwardBytesSent(keyHeads: problem.inputs.keyHeads, headDimension: problem.inputs.headDimension)
                            : schedule.backwardBytesSent(keyHeads: problem.inputs.keyHeads, headDimension: problem.inputs.headDimension)
                    }
                    gradients = result
                    metrics[ShardedMetric.backwardWall] = .double(wall)
                    metrics[ShardedMetric.backwardCompute] = .double(timings.reduce(0) { $0 + $1.computeSeconds })
                    metrics[ShardedMetric.backwardWait] = .double(timings.reduce(0) { $0 + $1.waitSeconds })
                    metrics[ShardedMetric.backwardBytesSent] = .int(gang.tensorBytesSent.values.reduce(0, +) - sentBefore)
                    metrics[ShardedMetric.backwardExpectedBytesSent] = .int(expected)
                }
                if problem.verify {
                    for (name, value) in try ShardedVerification.errors(of: run, chunks: chunks, problem: problem) { metrics[name] = value }
                    if let gradients {
                        for (name, value) in try ShardedVerification.gradientErrors(gradients, chunks: chunks, problem: problem) {
                            metrics[name] = value
                        }
                    }
                }
                var artifacts: [String] = []
                if let directory = problem.outputDirectory {
                    for (index, output) in run.outputs.enumerated() {
                        var named = [("out", output.output), ("lse", output.logSumExp)]
                        if let gradients { named += [("dq", gradients.query[index]), ("dk", gradients.key[index]), ("dv", gradients.value[index])] }
                        for (name, tensor) in named {
                            let path = directory + "/\(name).r\(gang.rank).c\(index).npy"
                            try tensor.writeNPY(toFile: path)
                            artifacts.append(path)
                        }
                    }
                }
                return TaskOutcome(metrics: metrics, artifacts: artifacts)
            }
        }
    }
}

/// The checked parameters of one sharded attention problem.
struct ShardedProblem {
    let algorithm: SequenceParallelKinds.Algorithm
    /// The layout of the chunks; for usp the ring's, over the P/u groups.
    let layout: ShardLayout
    /// usp's group size u (1 for the other algorithms).
    let ulyssesDegree: Int
    let inputs: ShardedInputs
    /// The gang size P.
    let ranks: Int
    let isCausal: Bool
    let threads: Int
    let verify: Bool
    let backward: Bool
    let forceFrames: Bool
    let pinCores: Bool
    let throttle: LinkThrottle?
    let inputDirectory: String?
    let outputDirectory: String?

    /// Checks the parameters for a gang of `ranks`.
    /// - Throws: `ParameterProblem` saying which values do not fit together, and the fix.
    init(_ p: ShardedAttentionParameters, ranks: Int) throws(ParameterProblem) {
        let algorithm = p.algorithm
        let tokens = p.tokens, heads = p.heads, d = p.headDim
        let keyHeads = p.kvHeads == 0 ? heads : p.kvHeads
        // TokenRing and usp causal use the zigzag layout (non-causal, contiguous shards).
        let isCausal = p.causal
        let kind: ShardLayout.Kind = algorithm == .zigzagRing || ((algorithm == .tokenring || algorithm == .usp) && isCausal)
            ? .zigzag : .contiguous
        let chunkCount = kind == .zigzag ? 2 * ranks : ranks
        guard tokens >= chunkCount else {
            throw ParameterProblem("\(tokens) tokens cannot be cut into \(chunkCount) chunks for \(algorithm.rawValue) on \(ranks) ranks; give tokens ≥ \(chunkCount)")
        }
        guard heads >= 1, keyHeads >= 1, heads % keyHeads == 0, d >= 1 else {
            throw ParameterProblem("heads (\(heads)) must be a positive multiple of kv_heads (\(keyHeads)), and head_dim (\(d)) positive")
        }
        // The whole sequence's q (or out) is the largest tensor any rank may rebuild (verify,
        // input_dir); bounded here so that every size below is counted without overflow.
        guard let floats = MemoryBudget.product([tokens, heads, d]), floats <= Self.largestTensorFloats else {
            throw ParameterProblem("tokens × heads × head_dim = \(tokens) × \(heads) × \(d) is past the 2^36 floats (256 GiB) "
                                   + "of the largest sequence attention.sharded takes; give fewer tokens, heads or head_dim")
        }
        if algorithm == .ulysses && (heads % ranks != 0 || keyHeads % ranks != 0) {
            throw ParameterProblem("ulysses splits heads over the ranks: \(ranks) ranks must divide heads (\(heads)) and kv_heads (\(keyHeads)); use ring or zigzag_ring, or a gang size that divides both")
        }
        if algorithm == .usp, let problem = HybridSchedule.degreeProblem(p.ulyssesDegree, ranks: ranks, heads: heads, keyHeads: keyHeads) {
            throw ParameterProblem(problem)
        }
        self.algorithm = algorithm
        ulyssesDegree = algorithm == .usp ? p.ulyssesDegree : 1
        // usp: the ring runs over the groups; each chunk is cut among a group's u ranks.
        layout = ShardLayout(tokens: tokens, ranks: ranks / ulyssesDegree, kind: kind)
        self.ranks = ranks
        inputs = ShardedInputs(seed: UInt64(truncatingIfNeeded: p.seed), heads: heads, keyHeads: keyHeads, headDimension: d)
        self.isCausal = isCausal
        threads = max(1, p.threads)
        verify = p.verify
        forceFrames = p.frames
        pinCores = p.pinCores
        backward = p.backward
        let gbps = p.linkGbps, latency = p.linkLatencyMicroseconds
        guard gbps >= 0, latency >= 0, gbps.isFinite, latency.isFinite else {
            throw ParameterProblem("link_gbps and link_latency_us must be ≥ 0")
        }
        throttle = gbps > 0 ? LinkThrottle(bytesPerSecond: gbps * 1e9, latency: .nanoseconds(Int64(latency * 1000))) : nil
        inputDirectory = p.inputDirectory.isEmpty ? nil : p.inputDirectory
        outputDirectory = p.outputDirectory.isEmpty ? nil : p.outputDirectory
        if verify && inputDirectory != nil {
            throw ParameterProblem("verify rebuilds the inputs from the seed; it cannot check inputs read from input_dir")
        }
    }

    /// The floats of the largest whole-sequence tensor (`tokens × heads × head_dim`) accepted.
    static let largestTensorFloats = 1 << 36

    /// The bytes rank `rank` allocates, counted from above: its tokens' q, k, v and output four
    /// times over (the shard, peers' blocks in flight, shared-memory slots, the partial results
    /// being merged), twice that with the backward pass; with verify, the whole sequence rebuilt
    /// from the seed, its float64 copy and the float64 reference's results. nil past Int.
    func rankBytes(rank: Int) -> Int? {
        let h = inputs.heads, kv = inputs.keyHeads, d = inputs.headDimension
        let held = ranges(ofRank: rank).reduce(0) { $0 + $1.count }
        // Ulysses and usp hold every token of their chunks' groups on a share of the heads:
        // the same floats as their share of the tokens on every head.
        var terms = [[backward ? 8 : 4, held, 2 * h + 2 * kv, d]]
        if verify { terms.append([layout.tokens, 8 * h + 10 * kv, d]) }
        return MemoryBudget.floatBytes(terms)
    }

    /// Throws when rank `rank`'s tensors would not fit in this machine's memory budget: checked
    /// on the worker before anything is allocated, where the machine is the one that runs it.
    func checkMemory(rank: Int) throws(ParameterProblem) {
        let what = "attention.sharded rank \(rank) (tokens \(layout.tokens), heads \(inputs.heads), kv_heads \(inputs.keyHeads), "
            + "head_dim \(inputs.headDimension)\(backward ? ", backward" : "")\(verify ? ", verify" : ""))"
        if let excess = MemoryBudget.excess(rankBytes(rank: rank), what, taker: "a task") {
            throw ParameterProblem("\(excess); give fewer tokens, heads or head_dim, a larger gang\(verify ? ", or verify: false" : "")")
        }
    }

    /// The token ranges rank `rank` holds as input and output.
    /// The largest tensor a rank sends, as each executor sizes its shared-memory slots: a K/V
    /// chunk (rings), a query chunk on every head (TokenRing), a rank's tokens on H/P heads
    /// (Ulysses), or a group chunk on H/u heads with the log-sum-exp column (usp). Slots made
    /// this size before the clock are not made again by the executor.
    func largestTensorBytes(rank: Int) -> Int {
        let h = inputs.heads, kv = inputs.keyHeads, d = inputs.headDimension
        let largestChunk = (0..<layout.chunkCount).map { layout.range(ofChunk: $0).count }.max() ?? 0
        switch algorithm {
        case .ring, .zigzagRing: return largestChunk * kv * d * 4
        case .tokenring: return largestChunk * h * d * 4
        case .ulysses: return ((0..<layout.ranks).map { layout.tokenCount(ofRank: $0) }.max() ?? 0) * max(h, kv) / ranks * d * 4
        case .usp:
            let schedule = HybridSchedule(tokens: layout.tokens, ranks: ranks, ulyssesDegree: ulyssesDegree, rank: rank, heads: h,
                                          keyHeads: kv, isCausal: isCausal)
            return (schedule.groupChunks.map(\.count).max() ?? 0) * max(h, kv) / ulyssesDegree * (d + 1) * 4
        }
    }

    func ranges(ofRank rank: Int) -> [Range<Int>] {
        algorithm.tokenRanges(ofRank: rank, tokens: layout.tokens, ranks: ranks, isCausal: isCausal, heads: inputs.heads,
                              keyHeads: inputs.keyHeads, ulyssesDegree: ulyssesDegree)
    }

    /// usp's schedule for rank `rank`.
    /// - Precondition: the algorithm is usp.
    func hybridSchedule(rank: Int) -> HybridSchedule {
        precondition(algorithm == .usp, "a hybrid schedule for \(algorithm.rawValue)")
        return HybridSchedule(tokens: layout.tokens, ranks: ranks, ulyssesDegree: ulyssesDegree, rank: rank, heads: inputs.heads,
                              keyHeads: inputs.keyHeads, isCausal: isCausal)
    }

    /// This rank's ∂L/∂out chunks: from the seed, or sliced from `dout.npy` in `inputDirectory`.
    func outputGradient(_ chunks: [Range<Int>]) throws -> [Tensor] {
        guard let directory = inputDirectory else { return chunks.map { inputs.tensor(.outputGradient, tokens: $0) } }
        let tensor = try Tensor(contentsOfNPYFile: directory + "/dout.npy")
        guard tensor.shape == [layout.tokens, inputs.heads, inputs.headDimension] else {
            throw ClusterError.invalidTask("\(directory)/dout.npy has shape \(tensor.shape); expected [\(layout.tokens), \(inputs.heads), \(inputs.headDimension)]")
        }
        return chunks.map { tensor.rows($0) }
    }

    /// This rank's q, k and v chunks: from the seed, or sliced from the files in `inputDirectory`.
    func shard(_ chunks: [Range<Int>]) throws -> (query: [Tensor], key: [Tensor], value: [Tensor]) {
        guard let directory = inputDirectory else {
            return (chunks.map { inputs.tensor(.query, tokens: $0) }, chunks.map { inputs.tensor(.key, tokens: $0) },
                    chunks.map { inputs.tensor(.value, tokens: $0) })
        }
        var tensors: [Tensor] = []
        for (name, heads) in [("q", inputs.heads), ("k", inputs.keyHeads), ("v", inputs.keyHeads)] {
            let tensor = try Tensor(contentsOfNPYFile: directory + "/\(name).npy")
            guard tensor.shape == [layout.tokens, heads, inputs.headDimension] else {
                throw ClusterError.invalidTask("\(directory)/\(name).npy has shape \(tensor.shape); expected [\(layout.tokens), \(heads), \(inputs.headDimension)]")
            }
            tensors.append(tensor)
        }
        return (chunks.map { tensors[0].rows($0) }, chunks.map { tensors[1].rows($0) }, chunks.map { tensors[2].rows($0) })
    }
}
