import Foundation
import SequenceParallel
import Simulator

/// `loom sim`: a sequence-parallel schedule replayed on a modelled cluster.
enum SimCommand: Command {
    static let words = ["sim"]
    static let summary = "predict a sequence-parallel schedule's forward time on a modelled cluster (the simulator)"
    static let usage = "loom sim --algorithm ring|zigzag_ring|tokenring|ulysses|usp [--ulysses-degree U] --tokens N [--workers P] [--heads H] [--kv-heads G] [--head-dim D] [--causal] [--backward] [--dtype float32|bf16|fp16] "
        + "(--topology NAME|FILE.yaml | --link-gbps B [--latency-us A]) [--compute-gflops C] [--cores C [--pinned]] [--copy-gbps G] [--all-to-all-efficiency E] [--trace FILE] [--json]"
    static let options: [Option] = [
        .value("algorithm", "A", "ring, zigzag_ring, tokenring, ulysses or usp (default ring)"),
        .value("ulysses-degree", "U", "usp: ranks per Ulysses group, dividing the ranks, heads and K/V heads (the ring runs across the P/U groups)"),
        .value("workers", "P", "ranks, 2…4096 (default: the topology's; required with --link-gbps)"),
        .value("tokens", "N", "sequence length, at least one token per chunk (required)"),
        .value("heads", "H", "query heads, at most 4096 (default 8)"),
        .value("kv-heads", "G", "key/value heads, at most 4096 (default: H)"),
        .value("head-dim", "D", "head dimension, at most 4096 (default 64)"),
        .flag("causal", "the causal mask"),
        .flag("backward", "also replay the backward pass after the forward (each rank's backward blocks at the topology's backward efficiency)"),
        .value("dtype", "T", "the elements on the wire: float32 (default, the executor's), bf16 or fp16"),
        .value("topology", "T", "a preset (8xA100-nvlink, 8xH800-nvlink, 4xA10-pcie, 8xL20-pcie, ib-fat-tree) or a topology .yaml file"),
        .value("link-gbps", "B", "without --topology: a ring of links of B GB/s per direction"),
        .value("latency-us", "A", "with --link-gbps: each link's latency in µs (default 0)"),
        .value("cores", "C", "the ranks share C cores (local workers on one machine), each computing at most at its own rate; default a core per rank"),
        .flag("pinned", "with cores: rank r pinned to core r mod C, sharing only that core (attention.sharded's pin_cores)"),
        .value("copy-gbps", "G", "each transfer costs its sender's and its receiver's cores bytes / G GB/s (local workers' copies; default none)"),
        .value("all-to-all-efficiency", "E", "the fraction of the links' bandwidth an all-to-all reaches (Ulysses, usp's group exchanges), 0 < E ≤ 1 (default: the topology's, else 1)"),
        .value("trace", "FILE", "write the forward pass's timeline as Chrome trace JSON (Perfetto), as 'loom attention --algorithm A --trace' does for a measured run"),
        .value("compute-gflops", "C", "each rank's attention rate in useful GFLOP/s (default: the topology's peak × forward efficiency)"),
        .flag("json", "one JSON object"),
    ]
    static let discussion = """
        Replays the forward pass from the executor's own schedule values (RingSchedule, \
        TokenRingSchedule, UlyssesSchedule) and its own list of transfers: each rank's blocks at \
        the compute rate, every transfer a flow on the topology's α–β links with max-min fair \
        sharing. Prints the predicted time, rank 0's compute fraction and the bytes sent. Topology \
        files and presets (topologies/*.yaml) are described in docs/simulator.md, with what the \
        simulator models and what it does not yet.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        let name = arguments.string("algorithm") ?? "ring"
        guard let algorithm = SequenceParallelKinds.Algorithm(rawValue: name) else {
            throw .usage("--algorithm \(name): use ring, zigzag_ring, tokenring, ulysses or usp")
        }
        var topology: Topology?
        let workers = try arguments.int("workers", minimum: 2)
        if let workers, workers > 4096 { throw .usage("--workers \(workers) is more than 4096") }
        if let named = arguments.string("topology") {
            guard arguments.string("link-gbps") == nil, arguments.string("latency-us") == nil else {
                throw .usage("give either --topology or --link-gbps/--latency-us, not both: the topology has its own links")
            }
            do { topology = try TopologyFile.named(named, ranks: workers) } catch { throw .usage(error.description) }
        }
        guard let tokens = try arguments.int("tokens", minimum: 1) else { throw .usage("give --tokens N") }
        guard tokens <= 1 << 30 else { throw .usage("--tokens \(tokens) is more than 2^30") }
        // sim.run's bounds, so the byte counts stay far from overflowing.
        let heads = try arguments.int("heads", minimum: 1, maximum: 4096) ?? 8
        let keyHeads = try arguments.int("kv-heads", minimum: 1, maximum: 4096) ?? heads
        let dimension = try arguments.int("head-dim", minimum: 1, maximum: 4096) ?? 64
        let network: Network, ranks: Int
        if let topology {
            network = topology.network
            ranks = topology.ranks
            guard ranks >= 2, ranks <= 4096 else { throw .usage("the topology has \(ranks) ranks; the simulator takes 2…4096 (set --workers)") }
        } else {
            guard let gbps = try arguments.positiveFloat("link-gbps") else { throw .usage("give --topology T, or --link-gbps B (GB/s per direction) for a ring") }
            guard let workers else { throw .usage("give --workers P (2 or more) for a ring of --link-gbps links") }
            var latency = 0.0
            if let text = arguments.string("latency-us") {
                // The sim.run kind's bound on latency_us, said here as the option.
                guard let microseconds = Double(text), microseconds.isFinite, microseconds >= 0, microseconds <= 1e6 else {
                    throw .usage("--latency-us expects microseconds in 0…1000000, got '\(text)'")
                }
                latency = microseconds * 1e-6
            }
            do { network = try Network.ring(workers, bandwidth: Double(gbps) * 1e9, latency: latency) } catch { throw .failure(error.description) }
            ranks = workers
        }
        let rate: Double, backwardRate: Double
        if let gflops = try arguments.positiveFloat("compute-gflops") {
            rate = Double(gflops) * 1e9
            backwardRate = rate
        } else if let compute = topology?.compute {
            rate = compute.forwardRate
            backwardRate = compute.backwardRate
        } else {
            throw .usage("give --compute-gflops C (each rank's attention rate; 'loom bench sp' measures this machine's), or a topology with compute")
        }
        let elementBytes: Int
        switch arguments.string("dtype") ?? "float32" {
        case "float32": elementBytes = 4
        case "bf16", "fp16": elementBytes = 2
        case let other: throw .usage("--dtype \(other): use float32, bf16 or fp16")
        }
        let problem = ScheduleReplay.Problem(tokens: tokens, ranks: ranks, causal: arguments.flag("causal"), heads: heads, keyHeads: keyHeads,
                                             headDimension: dimension, elementBytes: elementBytes,
                                             ulyssesDegree: try arguments.int("ulysses-degree", minimum: 1) ?? (algorithm == .usp ? 0 : 1))
        if let shape = ScheduleReplay.shapeProblem(algorithm, problem) { throw .usage(shape) }
        if let path = arguments.string("trace") {
            guard ranks <= ScheduleReplay.timelineRanks else {
                throw .usage("--trace draws every rank's steps, kept up to \(ScheduleReplay.timelineRanks) ranks; this has \(ranks) (a trace of more would not open in Perfetto either)")
            }
            try TensorFile.checkWritable(path, option: "trace")
        }
        let cores = try arguments.int("cores", minimum: 1) ?? topology?.cores
        let pinned = arguments.flag("pinned") || (arguments.string("cores") == nil && topology?.pinned == true)
        if pinned && cores == nil { throw .usage("--pinned pins ranks to cores: give --cores C (or a topology with cores:)") }
        var copyRate = topology?.hostCopyRate
        var allToAll = topology?.allToAllEfficiency ?? 1
        if let text = arguments.string("all-to-all-efficiency") {
            guard let value = Double(text), value > 0, value <= 1 else {
                throw .usage("--all-to-all-efficiency expects a fraction above 0 and at most 1, such as 0.25; got '\(text)'")
            }
            allToAll = value
        }
        if let text = arguments.string("copy-gbps") {
            guard let value = Double(text), value > 0, value.isFinite, value <= 1e6 else { throw .usage("--copy-gbps expects GB/s above 0, such as 2; got '\(text)'") }
            copyRate = value * 1e9
        }
        let start = ContinuousClock.now
        let result: ScheduleReplay.Result, backward: ScheduleReplay.Result?
        do {
            let merge = topology?.compute?.mergeRate, slowdown = topology?.compute?.transferSlowdown ?? 0
            result = try ScheduleReplay(algorithm: algorithm, problem: problem, computeRate: rate, network: network, cores: cores,
                                        mergeRate: merge, transferSlowdown: slowdown, hostCopyRate: copyRate, pinned: pinned,
                                        allToAllEfficiency: allToAll).run()
            backward = arguments.flag("backward")
                ? try ScheduleReplay(algorithm: algorithm, problem: problem, pass: .backward, computeRate: backwardRate, network: network,
                                     cores: cores, mergeRate: merge, transferSlowdown: slowdown, hostCopyRate: copyRate, pinned: pinned,
                                     allToAllEfficiency: allToAll).run() : nil
        } catch {
            throw .failure(error.description)
        }
        if let path = arguments.string("trace") {
            let trace = ShardedTrace(timeline: ShardedTimeline(replay: result), algorithm: algorithm, transfers: result.transferList, submitted: 0)
            do { try trace.json().write(toFile: path, atomically: true, encoding: .utf8) } catch {
                throw .failure("cannot write the trace \(path): \(error.localizedDescription)")
            }
        }
        // The backward pass starts once every rank's forward has ended (no overlap between them).
        let total = result.total + (backward?.total ?? 0)
        let ideal = ScheduleReplay.idealSeconds(problem, pass: .forward, rate: rate)
            + (backward == nil ? 0 : ScheduleReplay.idealSeconds(problem, pass: .backward, rate: backwardRate))
        let wall = (ContinuousClock.now - start).inSeconds
        let where_ = topology.map { "\($0.name) (\($0.kind.rawValue))" } ?? "a ring of links"
        if arguments.flag("json") {
            Console.output(JSONValue.object([
                ("algorithm", .string(algorithm.rawValue)), ("workers", .integer(ranks)), ("tokens", .integer(tokens)),
                ("heads", .integer(heads)), ("kv_heads", .integer(keyHeads)), ("head_dim", .integer(dimension)),
                ("causal", .bool(problem.causal)), ("element_bytes", .integer(elementBytes)), ("topology", .string(topology?.name ?? "ring")),
                ("topology_source", topology.map { .string($0.source) } ?? .null),
                ("compute_gflops", .number(rate / 1e9)), ("predicted_s", .number(total)), ("forward_s", .number(result.total)),
                ("backward_s", backward.map { .number($0.total) } ?? .null), ("backward_bytes_sent", backward.map { .integer($0.bytes) } ?? .null),
                ("step_ends_rank0_s", .array(result.stepEnds[0].map { .number($0) })),
                ("compute_fraction", .number(result.computeFraction)), ("bytes_sent", .integer(result.bytes)),
                ("transfers", .integer(result.transfers)), ("ideal_s", .number(ideal)), ("of_ideal", .number(ideal / total)),
                ("simulated_in_s", .number(wall)),
            ]).rendered())
            return
        }
        Console.output("\(algorithm.rawValue) on \(ranks) ranks of \(where_), N = \(tokens), H = \(heads) (\(keyHeads) K/V), d = \(dimension)"
                       + (problem.causal ? ", causal" : "") + String(format: ", %.0f GFLOP/s per rank: predicted %.6f s, rank 0 computing %.1f %% of it, ", rate / 1e9, result.total, 100 * result.computeFraction)
                       + "\(result.bytes) bytes in \(result.transfers) transfers")
        if let backward {
            Console.output(String(format: "backward at %.0f GFLOP/s per rank: predicted %.6f s, ", backwardRate / 1e9, backward.total)
                           + "\(backward.bytes) bytes in \(backward.transfers) transfers; " + String(format: "forward and backward %.6f s", total))
        }
        Console.output(String(format: "ideal (the work split evenly, no communication or merges) %.6f s: %.1f %% of it", ideal, 100 * ideal / total))
        if let topology { Console.output("parameters: \(topology.source)") }
        Console.progress(String(format: "simulated in %.3f s", wall))
    }
}
