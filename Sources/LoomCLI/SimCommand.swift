import Foundation
import SequenceParallel
import Simulator

/// `loom sim`: a sequence-parallel schedule replayed on a modelled ring of links.
enum SimCommand: Command {
    static let words = ["sim"]
    static let summary = "predict a ring schedule's forward time on modelled links (the simulator; ring and zigzag_ring so far)"
    static let usage = "loom sim --algorithm ring|zigzag_ring --workers P --tokens N [--heads H] [--kv-heads G] [--head-dim D] [--causal] "
        + "--link-gbps B [--latency-us A] --compute-gflops C [--json]"
    static let options: [Option] = [
        .value("algorithm", "A", "ring or zigzag_ring (TokenRing and Ulysses are not replayed yet)"),
        .value("workers", "P", "ranks, 2…4096 (required)"),
        .value("tokens", "N", "sequence length, at least one token per chunk (required)"),
        .value("heads", "H", "query heads (default 8)"),
        .value("kv-heads", "G", "key/value heads (default: H)"),
        .value("head-dim", "D", "head dimension (default 64)"),
        .flag("causal", "the causal mask"),
        .value("link-gbps", "B", "each link's bandwidth in GB/s per direction (required)"),
        .value("latency-us", "A", "each link's latency in µs (default 0)"),
        .value("compute-gflops", "C", "each rank's attention rate in useful GFLOP/s (required; 'loom bench sp' measures this machine's)"),
        .flag("json", "one JSON object"),
    ]
    static let discussion = """
        Replays the forward pass from the executor's own RingSchedule values: each rank's blocks \
        at the given compute rate, each K/V hand-off on a ring of full-duplex α–β links. Prints \
        the predicted time, rank 0's compute fraction and the bytes sent. docs/simulator.md says \
        what the simulator models and what it does not yet.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        let name = arguments.string("algorithm") ?? "ring"
        guard let algorithm = SequenceParallelKinds.Algorithm(rawValue: name), algorithm == .ring || algorithm == .zigzagRing else {
            throw .usage("--algorithm \(name): the simulator replays ring and zigzag_ring so far")
        }
        guard let ranks = try arguments.int("workers", minimum: 2) else { throw .usage("give --workers P (2 or more)") }
        guard ranks <= 4096 else { throw .usage("--workers \(ranks) is more than 4096") }
        guard let tokens = try arguments.int("tokens", minimum: 1) else { throw .usage("give --tokens N") }
        let chunks = algorithm == .zigzagRing ? 2 * ranks : ranks
        guard tokens >= chunks, tokens <= 1 << 30 else { throw .usage("--tokens \(tokens) must give every one of the \(chunks) chunks a token (and be at most 2^30)") }
        let heads = try arguments.int("heads", minimum: 1) ?? 8
        let keyHeads = try arguments.int("kv-heads", minimum: 1) ?? heads
        guard heads % keyHeads == 0 else { throw .usage("--heads \(heads) must be a multiple of --kv-heads \(keyHeads)") }
        let dimension = try arguments.int("head-dim", minimum: 1) ?? 64
        guard let gbps = try arguments.positiveFloat("link-gbps") else { throw .usage("give --link-gbps B (GB/s per direction)") }
        guard let gflops = try arguments.positiveFloat("compute-gflops") else { throw .usage("give --compute-gflops C") }
        let latency = Double(arguments.string("latency-us").flatMap(Double.init) ?? 0) * 1e-6
        guard latency >= 0 else { throw .usage("--latency-us must be zero or more") }
        let problem = RingReplay.Problem(tokens: tokens, ranks: ranks, causal: arguments.flag("causal"), heads: heads, keyHeads: keyHeads,
                                         headDimension: dimension)
        let start = ContinuousClock.now
        let result: RingReplay.Result
        do {
            let network = try Network.ring(ranks, bandwidth: Double(gbps) * 1e9, latency: latency)
            result = try RingReplay(algorithm: algorithm, problem: problem, computeRate: Double(gflops) * 1e9, network: network).run()
        } catch {
            throw .failure(error.description)
        }
        let elapsed = ContinuousClock.now - start
        let wall = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        if arguments.flag("json") {
            Console.output(JSONValue.object([
                ("algorithm", .string(algorithm.rawValue)), ("workers", .integer(ranks)), ("tokens", .integer(tokens)),
                ("heads", .integer(heads)), ("kv_heads", .integer(keyHeads)), ("head_dim", .integer(dimension)),
                ("causal", .bool(problem.causal)), ("link_gbps", .number(Double(gbps))), ("latency_us", .number(latency * 1e6)),
                ("compute_gflops", .number(Double(gflops))), ("predicted_s", .number(result.total)),
                ("compute_fraction", .number(result.computeFraction)), ("bytes_sent", .integer(result.bytes)),
                ("simulated_in_s", .number(wall)),
            ]).rendered())
            return
        }
        Console.output("\(algorithm.rawValue) on \(ranks) ranks, N = \(tokens), H = \(heads) (\(keyHeads) K/V), d = \(dimension)"
                       + (problem.causal ? ", causal" : "") + String(format: ": predicted %.6f s, rank 0 computing %.1f %% of it, ", result.total, 100 * result.computeFraction)
                       + "\(result.bytes) bytes sent in all")
        Console.progress(String(format: "simulated in %.3f s", wall))
    }
}
