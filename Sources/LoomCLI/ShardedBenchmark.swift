import Attention
import Cluster
import Foundation
import SequenceParallel
import TensorCore
import Tasks

/// Sequence-parallel attention on local worker processes, against single-process attention of
/// the same problem measured in the same run.
enum ShardedBenchmark {
    struct Case {
        var algorithm: SequenceParallelKinds.Algorithm
        var workers: Int
        var tokens: Int
        var isCausal: Bool
        var linkGbps: Double?
    }

    struct Row {
        var setting: Case
        /// The slowest rank's wall time.
        var wallSeconds: Double
        /// Single-process, single-thread time of the whole problem, same run.
        var singleSeconds: Double
        var bytesSent: [Int]
        var expectedBytes: [Int]
        /// Max over min of the ranks' compute seconds.
        var computeImbalance: Double
        var maxWaitSeconds: Double
        /// The busiest modelled link's transmission time per step (throttled cases).
        var linkSecondsPerStep: Double?
        /// Rank 0's time in each step (send, compute and wait), from its timeline.
        var rankZeroSteps: [Double] = []
        /// Every rank's steps with their send, compute and wait, from the timeline.
        var steps: [ShardedTimeline.Step] = []

        /// Wall time against a perfect split of the single-process time over the ranks.
        var overhead: Double { wallSeconds / (singleSeconds / Double(setting.workers)) }
    }

    struct Configuration {
        var algorithms: [SequenceParallelKinds.Algorithm]
        var workerCounts: [Int]
        var sizes: [Int]
        var causality: [Bool]
        var links: [Double?]
        var heads: Int
        var keyHeads: Int
        var headDimension: Int
        /// usp's ranks per Ulysses group; nil leaves usp's cases out (a caller that has no group size).
        var ulyssesDegree: Int? = nil
        /// Runs per case; the row kept is the run of median wall time (its steps with it).
        var repeats = 1
        /// Runs with `pin_cores`: rank r on core r mod C.
        var pinCores = false
        /// Cases to leave out (a shape the algorithm cannot take).
        var excluded: (Case) -> Bool = { _ in false }
    }

    static func run(_ configuration: Configuration, progress: (String) -> Void) throws(CommandError) -> [Row] {
        let most = configuration.workerCounts.max() ?? 2
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("loom-bench-sp-\(getpid())")
        try? FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: logs) }
        let cluster: LocalCluster
        do {
            cluster = try LocalCluster(configuration: CoordinatorConfiguration(bind: "", registry: LoomTasks.registry),
                                       workers: most, executable: ClusterOptions.executable, logDirectory: logs, bindsPrivately: true)
        } catch { throw .failure("bench sp: cannot start \(most) local workers: \(error)") }
        defer { cluster.stop() }
        guard cluster.waitForWorkers(most, timeout: .seconds(60)) else { throw .failure("bench sp: workers did not register") }
        var single: [String: Double] = [:]
        var rows: [Row] = []
        for tokens in configuration.sizes {
            for causal in configuration.causality {
                let key = "\(tokens)-\(causal)"
                progress("single process, 1 thread: n = \(tokens)\(causal ? ", causal" : "") …")
                single[key] = try singleProcessSeconds(tokens: tokens, causal: causal, configuration: configuration)
                for algorithm in configuration.algorithms {
                    for workers in configuration.workerCounts {
                        for link in configuration.links {
                            let setting = Case(algorithm: algorithm, workers: workers, tokens: tokens, isCausal: causal, linkGbps: link)
                            if configuration.excluded(setting) || (algorithm == .usp && configuration.ulyssesDegree == nil) { continue }
                            progress("\(algorithm.rawValue) P = \(workers) n = \(tokens)\(causal ? " causal" : "")\(link.map { " link \($0) GB/s" } ?? "") …")
                            var samples: [Row] = []
                            for _ in 0..<max(1, configuration.repeats) {
                                samples.append(try sharded(setting, cluster: cluster, singleSeconds: single[key]!, configuration: configuration))
                            }
                            rows.append(samples.sorted { $0.wallSeconds < $1.wallSeconds }[samples.count / 2])
                        }
                    }
                }
            }
        }
        return rows
    }

    private static func singleProcessSeconds(tokens: Int, causal: Bool, configuration: Configuration) throws(CommandError) -> Double {
        let inputs = ShardedInputs(seed: 1, heads: configuration.heads, keyHeads: configuration.keyHeads,
                                   headDimension: configuration.headDimension)
        let q = inputs.tensor(.query, tokens: 0..<tokens), k = inputs.tensor(.key, tokens: 0..<tokens)
        let v = inputs.tensor(.value, tokens: 0..<tokens)
        let attention = BlockwiseAttention(mask: causal ? .causal() : .none, threads: 1)
        return try BLAS.withThreadCount(1) { () throws(CommandError) -> Double in
            let start = ContinuousClock.now
            do { _ = try attention.forward(query: q, key: k, value: v) } catch { throw .failure("bench sp: \(error)") }
            return (ContinuousClock.now - start).inSeconds
        }
    }

    private static func sharded(_ setting: Case, cluster: LocalCluster, singleSeconds: Double,
                                configuration: Configuration) throws(CommandError) -> Row {
        var parameters: ShardedAttentionParameters
        do throws(ParameterProblem) { parameters = try ShardedAttentionParameters(algorithm: setting.algorithm, tokens: setting.tokens) } catch {
            throw .usage("bench sp: \(error)")
        }
        parameters.heads = configuration.heads
        parameters.kvHeads = configuration.keyHeads
        parameters.headDim = configuration.headDimension
        parameters.causal = setting.isCausal
        if setting.algorithm == .usp, let degree = configuration.ulyssesDegree { parameters.ulyssesDegree = degree }
        if let link = setting.linkGbps { parameters.linkGbps = link }
        parameters.pinCores = configuration.pinCores
        let ids: [UInt64]
        do { ids = try cluster.coordinator.submit(kind: SequenceParallelKinds.shardedAttention.name, params: parameters.values, gang: setting.workers) } catch {
            throw .usage("bench sp: \(error)")
        }
        guard let result = cluster.coordinator.waitForResults(ids, timeout: .seconds(4 * 3600))?.first else {
            throw .failure("bench sp: \(setting.algorithm.rawValue) P = \(setting.workers) n = \(setting.tokens) did not finish in 4 hours")
        }
        guard result.succeeded else {
            throw .failure("bench sp: \(setting.algorithm.rawValue) P = \(setting.workers) n = \(setting.tokens) failed: \(result.error)")
        }
        func metric(_ rank: Int, _ spec: MetricSpec) -> Double { result.metrics[rank == 0 ? spec.name : "rank\(rank).\(spec.name)"]?.number ?? 0 }
        let ranks = 0..<setting.workers
        let compute = ranks.map { metric($0, ShardedMetric.compute) }
        let timeline = ShardedTimeline(result: result, ranks: setting.workers)
        return Row(setting: setting, wallSeconds: ranks.map { metric($0, ShardedMetric.wall) }.max() ?? 0, singleSeconds: singleSeconds,
                   bytesSent: ranks.map { Int(metric($0, ShardedMetric.bytesSent)) },
                   expectedBytes: ranks.map { Int(metric($0, ShardedMetric.expectedBytesSent)) },
                   computeImbalance: (compute.max() ?? 0) / max(compute.min() ?? 1, 1e-9),
                   maxWaitSeconds: ranks.map { metric($0, ShardedMetric.wait) }.max() ?? 0,
                   linkSecondsPerStep: setting.linkGbps == nil ? nil : ranks.map { metric($0, ShardedMetric.linkBusyPerStep) }.max(),
                   rankZeroSteps: timeline.steps.filter { $0.rank == 0 }.map { $0.send + $0.compute + $0.wait }, steps: timeline.steps)
    }
}
