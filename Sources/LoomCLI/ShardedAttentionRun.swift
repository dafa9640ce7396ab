import Attention
import Cluster
import Foundation
import SequenceParallel
import TensorCore
import Tasks

/// `loom attention --algorithm A --workers P`: the same files, computed by a gang of P local
/// worker processes, assembled into the same outputs.
enum ShardedAttentionRun {
    /// Runs the sharded forward pass and writes `out` (and `lse`) like the single-process command.
    /// - Parameter ulyssesDegree: usp's ranks per Ulysses group (1 for the other algorithms).
    static func run(algorithm: SequenceParallelKinds.Algorithm, workers: Int, ulyssesDegree: Int = 1, query: Tensor, key: Tensor, value: Tensor,
                    isCausal: Bool, threads: Int, link: (gbps: Double, latencyMicroseconds: Double)?, outPath: String?,
                    lsePath: String?, backward: (dout: Tensor, dq: String, dk: String, dv: String)?, tracePath: String?,
                    json: Bool) throws(CommandError) {
        let shape: AttentionShape
        do { shape = try AttentionShape(query: query.shape, key: key.shape, value: value.shape) } catch {
            throw .usage("\(error)")
        }
        guard shape.queries == shape.keys else {
            throw .usage("--algorithm shards one sequence: q and k must have the same length (got n = \(shape.queries), m = \(shape.keys))")
        }
        let zigzag = algorithm == .zigzagRing || ((algorithm == .tokenring || algorithm == .usp) && isCausal)
        let chunks = zigzag ? 2 * workers : workers
        guard shape.queries >= chunks else {
            throw .usage("\(shape.queries) tokens cannot be cut into \(chunks) chunks for \(algorithm.rawValue) on \(workers) workers; use fewer --workers")
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("loom-sharded-\(getpid())-\(UUID().uuidString.prefix(8))")
        do { try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true) } catch {
            throw .failure("cannot create the scratch directory \(scratch.path): \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: scratch) }
        // The ranks read float32 copies of the checked inputs and each slices its own rows.
        var inputs = [("q", query), ("k", key), ("v", value)]
        if let backward { inputs.append(("dout", backward.dout)) }
        for (name, tensor) in inputs {
            try TensorFile.write(tensor, to: scratch.appendingPathComponent("\(name).npy").path, option: name)
        }
        if let tracePath { try TensorFile.checkWritable(tracePath, option: "trace") }
        var parameters: ShardedAttentionParameters
        do throws(ParameterProblem) { parameters = try ShardedAttentionParameters(algorithm: algorithm, tokens: shape.queries) } catch {
            throw .usage(error.description)
        }
        parameters.heads = shape.heads
        parameters.kvHeads = shape.keyHeads
        parameters.headDim = shape.headDimension
        parameters.causal = isCausal
        if algorithm == .usp { parameters.ulyssesDegree = ulyssesDegree }
        parameters.threads = threads
        parameters.inputDirectory = scratch.path
        parameters.outputDirectory = scratch.path
        parameters.backward = backward != nil
        if let link { parameters.linkGbps = link.gbps; parameters.linkLatencyMicroseconds = link.latencyMicroseconds }
        let cluster: LocalCluster
        do {
            cluster = try LocalCluster(configuration: CoordinatorConfiguration(bind: "", registry: LoomTasks.registry),
                                       workers: workers, executable: ClusterOptions.executable,
                                       logDirectory: scratch, bindsPrivately: true)
        } catch {
            throw .failure("cannot start \(workers) local workers: \(error)")
        }
        defer { cluster.stop() }
        guard cluster.waitForWorkers(workers, timeout: .seconds(60)) else {
            throw .failure("\(workers) local workers did not register within 60 s")
        }
        let ids: [UInt64]
        let submitted = Date().timeIntervalSince1970
        do { ids = try cluster.coordinator.submit(kind: SequenceParallelKinds.shardedAttention.name, params: parameters.values, gang: workers) } catch {
            throw .usage("\(error)")
        }
        guard let result = cluster.coordinator.waitForResults(ids, timeout: .seconds(24 * 3600))?.first else {
            throw .failure("the sharded run did not finish")
        }
        guard result.succeeded else { throw .failure("the sharded run failed: \(result.error)") }
        var assembled: [String: Tensor] = ["out": Tensor(uncheckedZeros: query.shape),
                                           "lse": Tensor(uncheckedZeros: [shape.queries, shape.heads])]
        var parts = [("out", shape.heads * shape.headDimension), ("lse", shape.heads)]
        if backward != nil {
            assembled["dq"] = Tensor(uncheckedZeros: query.shape)
            assembled["dk"] = Tensor(uncheckedZeros: key.shape)
            assembled["dv"] = Tensor(uncheckedZeros: value.shape)
            parts += [("dq", shape.heads * shape.headDimension), ("dk", shape.keyHeads * shape.headDimension),
                      ("dv", shape.keyHeads * shape.headDimension)]
        }
        for rank in 0..<workers {
            let ranges = algorithm.tokenRanges(ofRank: rank, tokens: shape.queries, ranks: workers, isCausal: isCausal, heads: shape.heads,
                                               keyHeads: shape.keyHeads, ulyssesDegree: ulyssesDegree)
            for (index, range) in ranges.enumerated() {
                for (name, width) in parts {
                    let path = scratch.appendingPathComponent("\(name).r\(rank).c\(index).npy").path
                    let part: Tensor
                    do { part = try Tensor(contentsOfNPYFile: path) } catch {
                        throw .failure("rank \(rank) left no readable \(name) chunk \(index): \(error)")
                    }
                    guard part.count == range.count * width else { throw .failure("rank \(rank) wrote a \(name) chunk of the wrong size") }
                    let offset = range.lowerBound * width
                    assembled[name]!.withUnsafeMutableBufferPointer { destination in
                        _ = UnsafeMutableBufferPointer(rebasing: destination[offset..<(offset + part.count)]).update(fromContentsOf: part.storage)
                    }
                }
            }
        }
        if let outPath { try TensorFile.write(assembled["out"]!, to: outPath, option: "out") }
        if let lsePath { try TensorFile.write(assembled["lse"]!, to: lsePath, option: "lse") }
        if let backward {
            try TensorFile.write(assembled["dq"]!, to: backward.dq, option: "dq")
            try TensorFile.write(assembled["dk"]!, to: backward.dk, option: "dk")
            try TensorFile.write(assembled["dv"]!, to: backward.dv, option: "dv")
        }
        let timeline = ShardedTimeline(result: result, ranks: workers)
        if let tracePath {
            let transfers = algorithm.forwardTransfers(tokens: shape.queries, ranks: workers, isCausal: isCausal, heads: shape.heads,
                                                       keyHeads: shape.keyHeads, headDimension: shape.headDimension,
                                                       ulyssesDegree: ulyssesDegree)
            let trace = ShardedTrace(timeline: timeline, algorithm: algorithm, transfers: transfers, submitted: submitted)
            do { try Data(trace.json().utf8).write(to: URL(fileURLWithPath: tracePath)) } catch {
                throw .failure("cannot write --trace \(tracePath): \(error.localizedDescription)")
            }
        }
        report(result, timeline: timeline, workers: workers, algorithm: algorithm, json: json)
    }

    /// Prints the run's measurements: a line per rank, or one JSON object.
    private static func report(_ result: TaskResult, timeline: ShardedTimeline, workers: Int,
                               algorithm: SequenceParallelKinds.Algorithm, json: Bool) {
        func metric(_ rank: Int, _ name: String) -> ParameterValue? { result.metrics[rank == 0 ? name : "rank\(rank).\(name)"] }
        func metric(_ rank: Int, _ spec: MetricSpec) -> ParameterValue? { metric(rank, spec.name) }
        if json {
            let ranks = (0..<workers).map { rank in
                let keys = [ShardedMetric.wall, ShardedMetric.compute, ShardedMetric.wait, ShardedMetric.send,
                            ShardedMetric.computeFraction, ShardedMetric.bytesSent, ShardedMetric.bytesReceived,
                            ShardedMetric.expectedBytesSent, ShardedMetric.visiblePairs].map(\.name)
                let fields = keys.compactMap { key in metric(rank, key).map { "\"\(key)\":\($0.json)" } }
                return "{\"rank\":\(rank)," + fields.joined(separator: ",") + ",\"steps\":" + timeline.stepsJSON(rank: rank) + "}"
            }
            Console.output("{\"algorithm\":\"\(algorithm.rawValue)\",\"workers\":\(workers),\"wall_s\":\(result.seconds),"
                           + "\"ranks\":[\(ranks.joined(separator: ","))]}")
            return
        }
        Console.progress("\(algorithm.rawValue) on \(workers) worker(s) in \(String(format: "%.3f", result.seconds)) s")
        for rank in 0..<workers {
            let number = { (spec: MetricSpec) in metric(rank, spec)?.number ?? .nan }
            Console.progress(String(format: "  rank %d: compute %.3f s, waiting %.3f s, sent %.0f bytes (formula %.0f)",
                                    rank, number(ShardedMetric.compute), number(ShardedMetric.wait), number(ShardedMetric.bytesSent),
                                    number(ShardedMetric.expectedBytesSent)))
        }
    }
}
