import Cluster
import Experiments
import SequenceParallel
import Tasks

/// `sim.run`: one simulated configuration, so sweeps over algorithms, ranks, lengths and
/// topologies are experiment files with reports (`experiments/simulator/`).
public enum SimRunKind {
    public static var kind: TaskKind {
        TaskKind(name: "sim.run", summary: "predicts a sequence-parallel schedule's time on a modelled cluster (the simulator)",
                 parameters: SimRunParameters.self, metrics: SimMetric.all, version: 2) { context, params in
            let (topology, clean) = try params.cluster()
            let problem = params.problem(ranks: topology?.ranks ?? params.workers)
            let scale = params.perturbation.factors.compute
            let network = try params.perturbation.apply(to: clean)
            let rates = try params.rates(topology)
            let merge = topology?.compute?.mergeRate.map { $0 * scale }
            let slowdown = topology?.compute?.transferSlowdown ?? 0
            let host = try params.host(topology)
            let forward = try ScheduleReplay(algorithm: params.algorithm, problem: problem, computeRate: rates.forward * scale, network: network,
                                             cores: host.cores, mergeRate: merge, transferSlowdown: slowdown, hostCopyRate: host.copyRate,
                                             pinned: host.pinned, allToAllEfficiency: host.allToAll).run()
            try context.checkCancellation()
            let backward = params.backward
                ? try ScheduleReplay(algorithm: params.algorithm, problem: problem, pass: .backward, computeRate: rates.backward * scale,
                                     network: network, cores: host.cores, mergeRate: merge, transferSlowdown: slowdown, hostCopyRate: host.copyRate,
                                     pinned: host.pinned, allToAllEfficiency: host.allToAll).run()
                : nil
            let predicted = forward.total + (backward?.total ?? 0)
            let ideal = ScheduleReplay.idealSeconds(problem, pass: .forward, rate: rates.forward * scale)
                + (params.backward ? ScheduleReplay.idealSeconds(problem, pass: .backward, rate: rates.backward * scale) : 0)
            var metrics: [String: ParameterValue] = [
                SimMetric.predicted.name: .double(predicted),
                SimMetric.forward.name: .double(forward.total),
                SimMetric.computeFraction.name: .double(forward.computeFraction),
                SimMetric.bytes.name: .int(forward.bytes + (backward?.bytes ?? 0)),
                SimMetric.transfers.name: .int(forward.transfers + (backward?.transfers ?? 0)),
                SimMetric.ranks.name: .int(problem.ranks),
                SimMetric.computeGflops.name: .double(rates.forward * scale / 1e9),
                SimMetric.ideal.name: .double(ideal),
                SimMetric.ofIdeal.name: .double(ideal / predicted),
            ]
            if let backward { metrics[SimMetric.backward.name] = .double(backward.total) }
            if let topology { metrics[SimMetric.topology.name] = .string(topology.name) }
            // Rank 0's step ends, the predicted counterpart of a measured run's per-step timeline.
            let series = forward.stepEnds[0].enumerated().map { StepMetric(name: SimMetric.stepEnd.name, step: $0.offset, value: $0.element) }
            return TaskOutcome(metrics: metrics, series: series)
        }
    }
}

/// The metrics of `sim.run`.
public enum SimMetric {
    public static let predicted = MetricSpec("sim.predicted_s", "predicted time, forward (and backward)", unit: "s")
    public static let forward = MetricSpec("sim.forward_s", "predicted forward time", unit: "s")
    public static let backward = MetricSpec("sim.backward_s", "predicted backward time", unit: "s")
    public static let computeFraction = MetricSpec("sim.compute_fraction", "rank 0's share of the forward spent computing")
    public static let bytes = MetricSpec("sim.bytes", "bytes on the network", unit: "B")
    public static let transfers = MetricSpec("sim.transfers", "transfers replayed")
    public static let ranks = MetricSpec("sim.ranks", "ranks simulated")
    public static let computeGflops = MetricSpec("sim.compute_gflops", "each rank's forward attention rate", unit: "GFLOP/s")
    public static let topology = MetricSpec("sim.topology", "the topology's name")
    public static let stepEnd = MetricSpec("sim.step_end_s", "when rank 0 moved past each forward step", unit: "s", stepped: true)
    public static let ideal = MetricSpec("sim.ideal_s", "the work split evenly at the kernels' rate, no communication or merges", unit: "s")
    public static let ofIdeal = MetricSpec("sim.of_ideal", "the ideal time over the predicted (ring-flash-attention's % of theoretic)")
    public static let all = [predicted, forward, backward, computeFraction, bytes, transfers, ranks, computeGflops, topology, stepEnd, ideal, ofIdeal]
}

/// The parameters of `sim.run`, checked when the experiment file is read.
public struct SimRunParameters: TaskParameters {
    public static let declaration: [ParameterSpec] = [
        ParameterSpec("algorithm", .string, default: .string("ring"), "the schedule", choices: SequenceParallelKinds.Algorithm.allCases.map(\.rawValue)),
        ParameterSpec("topology", .string, default: .string(""), "a preset (topologies/*.yaml) or a topology file; empty: a ring of link_gbps links", input: true,
                      inputPath: { name in TopologyFile.file(named: name) }),
        ParameterSpec("workers", .int, default: .int(0), "ranks (0: the topology's; required without one)", minimum: 0, maximum: 4096),
        ParameterSpec("tokens", .int, default: .int(65_536), "sequence length", minimum: 1, maximum: 1_073_741_824),
        ParameterSpec("heads", .int, default: .int(8), "query heads", minimum: 1, maximum: 4096),
        ParameterSpec("kv_heads", .int, default: .int(0), "key/value heads (0: heads)", minimum: 0, maximum: 4096),
        ParameterSpec("head_dim", .int, default: .int(64), "head dimension", minimum: 1, maximum: 4096),
        ParameterSpec("causal", .bool, default: .bool(false), "the causal mask"),
        ParameterSpec("backward", .bool, default: .bool(false), "also replay the backward pass"),
        ParameterSpec("dtype", .string, default: .string("float32"), "elements on the wire", choices: ["float32", "bf16", "fp16"]),
        ParameterSpec("link_gbps", .double, default: .double(0), "without a topology: each ring link's GB/s per direction", minimum: 0, maximum: 1e6),
        ParameterSpec("latency_us", .double, default: .double(0), "without a topology: each link's latency in µs", minimum: 0, maximum: 1e6),
        ParameterSpec("cores", .int, default: .int(0), "cores the ranks share (local workers on one machine); 0: one per rank", minimum: 0, maximum: 65_536),
        ParameterSpec("pinned", .string, default: .string("auto"), "with cores: rank r pinned to core r mod cores (auto: the topology's)",
                      choices: ["auto", "true", "false"]),
        ParameterSpec("copy_gbps", .double, default: .double(0), "each transfer copied in and out on the ranks' cores at this GB/s (0: the topology's, else none)",
                      minimum: 0, maximum: 1e6),
        ParameterSpec("all_to_all_efficiency", .double, default: .double(0),
                      "the fraction of the links' bandwidth an all-to-all reaches, at most 1 (0: the topology's, else 1)", minimum: 0, maximum: 1),
        ParameterSpec("compute_gflops", .double, default: .double(0), "each rank's attention rate (0: the topology's peak × efficiency)",
                      minimum: 0, maximum: 1e9),
        ParameterSpec("ulysses_degree", .int, default: .int(0), "usp: ranks per Ulysses group (dividing the ranks, heads and kv_heads); the others ignore it",
                      minimum: 0, maximum: 4096),
        ParameterSpec("perturb", .string, default: .string("none"), "move one parameter by 20 %: every link's latency, bandwidth, or every compute rate",
                      choices: Perturbation.allCases.map(\.rawValue)),
    ]

    let algorithm: SequenceParallelKinds.Algorithm
    let topology: String
    let workers: Int, tokens: Int, heads: Int, keyHeads: Int, headDimension: Int
    let causal: Bool, backward: Bool, elementBytes: Int
    let linkGbps: Double, latencyMicroseconds: Double, computeGflops: Double
    let cores: Int?
    let pinned: Bool?, copyGbps: Double, allToAllEfficiency: Double
    let perturbation: Perturbation
    let ulyssesDegree: Int

    public init(_ values: ResolvedParameters) {
        algorithm = SequenceParallelKinds.Algorithm(rawValue: values.string("algorithm")) ?? .ring
        topology = values.string("topology")
        workers = values.int("workers")
        tokens = values.int("tokens")
        heads = values.int("heads")
        keyHeads = values.int("kv_heads") == 0 ? values.int("heads") : values.int("kv_heads")
        headDimension = values.int("head_dim")
        causal = values.bool("causal")
        backward = values.bool("backward")
        elementBytes = values.string("dtype") == "float32" ? 4 : 2
        linkGbps = values.double("link_gbps")
        latencyMicroseconds = values.double("latency_us")
        computeGflops = values.double("compute_gflops")
        cores = values.int("cores") > 0 ? values.int("cores") : nil
        pinned = ["true": true, "false": false][values.string("pinned")]
        copyGbps = values.double("copy_gbps")
        allToAllEfficiency = values.double("all_to_all_efficiency")
        perturbation = Perturbation(rawValue: values.string("perturb")) ?? .none
        ulyssesDegree = values.int("ulysses_degree")
    }

    public func check(gangSize: Int) throws(ParameterProblem) {
        if topology.isEmpty {
            guard workers >= 2 else { throw ParameterProblem("sim.run without a topology needs workers ≥ 2 (a ring of that many ranks)") }
            guard linkGbps > 0 else { throw ParameterProblem("sim.run without a topology needs link_gbps > 0 (or give topology)") }
            guard computeGflops > 0 else { throw ParameterProblem("sim.run without a topology needs compute_gflops > 0") }
        }
        if pinned == true && cores == nil && topology.isEmpty { throw ParameterProblem("pinned: true pins ranks to cores; set cores (or a topology with cores)") }
        if workers == 1 { throw ParameterProblem("workers is 1; a schedule needs 2 or more ranks (or 0 for the topology's)") }
        // With workers 0 the ranks are the topology's: it is loaded here, so `--dry-run` names a
        // missing topology or a shape its ranks cannot split, not the first run.
        var ranks = workers
        // A device or a pipe is never read here: `loom run`'s input check refuses it by name.
        if workers == 0 && !topology.isEmpty && (TopologyFile.file(named: topology).map { InputDigest.problem(with: $0) == nil } ?? true) {
            let loaded: Topology
            do { loaded = try TopologyFile.named(topology) } catch { throw ParameterProblem("topology: \(error.description)") }
            ranks = loaded.ranks
        }
        if ranks >= 2, let shape = ScheduleReplay.shapeProblem(algorithm, problem(ranks: ranks)) {
            throw ParameterProblem(shape)
        }
    }

    func problem(ranks: Int) -> ScheduleReplay.Problem {
        ScheduleReplay.Problem(tokens: tokens, ranks: ranks, causal: causal, heads: heads, keyHeads: keyHeads, headDimension: headDimension,
                               elementBytes: elementBytes, ulyssesDegree: ulyssesDegree)
    }

    /// The topology (nil for a plain ring) and the network to replay on.
    func cluster() throws -> (Topology?, Network) {
        if topology.isEmpty { return (nil, try Network.ring(workers, bandwidth: linkGbps * 1e9, latency: latencyMicroseconds * 1e-6)) }
        let loaded = try TopologyFile.named(topology, ranks: workers > 0 ? workers : nil)
        guard loaded.ranks >= 2 else { throw ParameterProblem("the topology \(loaded.name) has \(loaded.ranks) rank; set workers ≥ 2") }
        return (loaded, loaded.network)
    }

    /// The ranks' cores, pinning, host copies and all-to-all efficiency: each parameter, else the
    /// topology's.
    func host(_ topology: Topology?) throws -> (cores: Int?, pinned: Bool, copyRate: Double?, allToAll: Double) {
        let cores = self.cores ?? topology?.cores
        let pinned = self.pinned ?? (topology?.pinned ?? false)
        if pinned && cores == nil { throw ParameterProblem("pinned pins ranks to cores, and neither cores nor the topology \(topology?.name ?? "") gives them; set cores") }
        return (cores, pinned, copyGbps > 0 ? copyGbps * 1e9 : topology?.hostCopyRate,
                allToAllEfficiency > 0 ? allToAllEfficiency : topology?.allToAllEfficiency ?? 1)
    }

    /// Forward and backward FLOP/s per rank.
    func rates(_ topology: Topology?) throws -> (forward: Double, backward: Double) {
        if computeGflops > 0 { return (computeGflops * 1e9, computeGflops * 1e9) }
        guard let compute = topology?.compute else {
            throw ParameterProblem("compute_gflops is 0 and the topology \(topology?.name ?? "") gives no compute; set compute_gflops")
        }
        return (compute.forwardRate, compute.backwardRate)
    }
}
