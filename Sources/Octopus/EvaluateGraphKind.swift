import Cluster
import Foundation
import Models
import Tasks

/// `octopus.eval`: a trained graph under each `Condition` on the same test queries (the disjoint
/// test templates), scored by exact match; the routing confusion; and the graph drawn with what
/// was measured.
public enum EvaluateGraphKind {
    public struct Parameters: TaskParameters {
        public static let declaration: [ParameterSpec] = [
            ParameterSpec("graph", .string, default: .string(""), "the graph file, its nodes trained (octopus.train)", input: true),
            ParameterSpec("conditions", .string, default: .string("graph,oracle,no_rewrite,random,general_worker"),
                          "comma-separated: \(Condition.allCases.map(\.rawValue).joined(separator: ", "))"),
            ParameterSpec("queries", .int, default: .int(300), "test queries (test templates), domains drawn uniformly", minimum: 1,
                          maximum: 100_000),
            ParameterSpec("seed", .int, default: .int(2), "seed of the test queries and of random routing", minimum: 0),
            ParameterSpec("generalist", .string, default: .string(""), "the generalist baseline's checkpoint (condition generalist)", input: true),
            ParameterSpec("checkpoints", .string, default: .string(""),
                          "the folder holding the graph's checkpoints: its contents join the cache key, so retrained nodes are evaluated again",
                          input: true),
            ParameterSpec("batch", .int, default: .int(32), "prompts per generation batch", minimum: 1, maximum: 4_096),
            ParameterSpec("serve", .string, default: .string("process"),
                          "process: decode in the task's process; cluster: on local worker processes started for the task (latency.* metrics)",
                          choices: ["process", "cluster"]),
            ParameterSpec("serve_workers", .int, default: .int(2), "worker processes with serve: cluster", minimum: 1, maximum: 16),
            ParameterSpec("chains", .int, default: .int(0),
                          "two-hop test queries the graph carries, through master, worker and hand-off (accuracy.hops2)", minimum: 0,
                          maximum: 100_000),
        ]
        let graph: String, conditions: String, queries: Int, seed: Int, generalist: String, batch: Int, chains: Int
        let serve: String, serveWorkers: Int

        public init(_ values: ResolvedParameters) {
            graph = values.string("graph"); conditions = values.string("conditions"); queries = values.int("queries")
            seed = values.int("seed"); generalist = values.string("generalist"); batch = values.int("batch"); chains = values.int("chains")
            serve = values.string("serve"); serveWorkers = values.int("serve_workers")
        }

        /// The conditions asked for, in order. - Throws: naming an unknown one.
        func conditionList() throws(ParameterProblem) -> [Condition] {
            var list: [Condition] = []
            for name in conditions.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                guard let condition = Condition(rawValue: name) else {
                    let names = Condition.allCases.map(\.rawValue)
                    let hint = nearestName(to: name, among: names).map { "; did you mean '\($0)'?" } ?? ""
                    throw ParameterProblem("unknown condition '\(name)'\(hint); the conditions are \(names.joined(separator: ", "))")
                }
                list.append(condition)
            }
            guard !list.isEmpty else { throw ParameterProblem("conditions is empty; name at least one") }
            return list
        }

        public func check(gangSize: Int) throws(ParameterProblem) {
            guard !graph.isEmpty else { throw ParameterProblem("octopus.eval needs graph: a graph file whose nodes are trained") }
            let list = try conditionList()
            if list.contains(.generalist) && generalist.isEmpty {
                throw ParameterProblem("condition generalist needs generalist: the checkpoint of an octopus.train run with data: generalist")
            }
            do throws(OctopusError) { _ = try ModelGraphFile.load(graph) } catch { throw ParameterProblem(error.description) }
        }
    }

    public static let metrics: [MetricSpec] = Condition.allCases.map { MetricSpec($0.metric, "exact-match accuracy, condition \($0.rawValue)") } + [
        MetricSpec("routing.accuracy", "the master's share of test queries routed to their domain's worker"),
        MetricSpec("rewriting.exact", "the share of test queries the master routed right and rewrote to exactly the canonical query"),
        MetricSpec("routing.unparsable", "the share of master outputs that did not parse"),
        MetricSpec("routing.confusion.*", "test queries of the true node's domain routed to the chosen node"),
        MetricSpec("accuracy.node.*", "exact-match accuracy of a node on the queries the master routed to it"),
        MetricSpec("accuracy.hops*", "exact-match accuracy of the graph on queries of 1 hop (the graph condition) and of 2 (chains)"),
        MetricSpec("hops2.handed_off", "the share of two-hop queries that a worker handed on to another"),
        MetricSpec("latency.route_ms", "with serve: cluster, the median time from the master's stage start to a query's routing", unit: "ms"),
        MetricSpec("latency.answer_ms", "with serve: cluster, the median time from the workers' stage start to a query's answer", unit: "ms"),
        MetricSpec("params.activated", "parameters one query activates: the master and its largest worker"),
        MetricSpec("params.total", "parameters of every node of the graph"),
        MetricSpec("params.generalist", "with condition generalist, the generalist's parameters"),
    ]

    public static var kind: TaskKind {
        TaskKind(name: "octopus.eval", summary: "evaluates a trained Octopus graph under each condition; the routing confusion; the drawn graph",
                 parameters: Parameters.self, metrics: metrics, version: 2) { context, params in
            let graph = try ModelGraphFile.load(params.graph)
            let serving = params.serve == "cluster" ? try servingCluster(workers: params.serveWorkers) : nil
            let cluster = serving?.cluster
            // The workers' logs are kept when the task fails (its error may point at them).
            var finished = false
            defer {
                cluster?.stop()
                if finished, let logs = serving?.logs { try? FileManager.default.removeItem(at: logs) }
            }
            let decoding: any Generator = try cluster.map { ClusterGenerator(client: try ClusterClient(connect: $0.coordinator.endpoint)) }
                ?? InProcessGenerator(models: ResidentModels(capacity: 32))
            var server = try GraphServer(graph: graph, generator: decoding)
            server.batchSize = params.batch
            let domains = graph.master.map { server.data.domains(of: $0) } ?? []
            var generator = QueryGenerator(seed: UInt64(params.seed))
            let queries = try generator.examples(for: .test, count: params.queries, domains: domains)
            var evaluation = GraphEvaluation(server: server, queries: queries, generalist: params.generalist.isEmpty ? nil : params.generalist)
            evaluation.seed = UInt64(params.seed)
            var metrics: [String: ParameterValue] = [
                "params.activated": .int(graph.activatedParameters), "params.total": .int(graph.totalParameters),
            ]
            var drawn: GraphEvaluation.Outcome?
            for condition in try params.conditionList() {
                try context.checkCancellation()
                let outcome = try evaluation.run(condition)
                metrics[condition.metric] = .double(outcome.accuracy)
                if condition == .generalist {
                    let manifest = try Checkpoint.manifest(at: URL(fileURLWithPath: params.generalist))
                    metrics["params.generalist"] = .int(manifest.model.parameterCount)
                }
                if condition == .graph {
                    drawn = outcome
                    if cluster != nil {
                        metrics["latency.route_ms"] = .double(median(outcome.routeSeconds) * 1e3)
                        metrics["latency.answer_ms"] = .double(median(outcome.answerSeconds) * 1e3)
                    }
                    metrics["routing.accuracy"] = .double(outcome.routingAccuracy ?? 0)
                    metrics["rewriting.exact"] = .double(outcome.rewritingAccuracy ?? 0)
                    metrics["routing.unparsable"] = .double(Double(outcome.unparsable) / Double(max(1, outcome.routed)))
                    for (truth, row) in outcome.confusion { for (chosen, count) in row { metrics["routing.confusion.\(truth).\(chosen)"] = .int(count) } }
                    for (node, score) in outcome.perNode { metrics["accuracy.node.\(node)"] = .double(Double(score.correct) / Double(max(1, score.total))) }
                }
            }
            if let drawn { metrics["accuracy.hops1"] = .double(drawn.accuracy) }
            if params.chains > 0 {
                var chainGenerator = QueryGenerator(seed: UInt64(params.seed) ^ 0xC4A1)
                var chains: [ChainExample] = []
                for _ in 0..<20 where chains.count < params.chains {
                    chains += try chainGenerator.chains(for: .test, count: 4 * params.chains, hops: 2).filter(server.data.carries)
                }
                chains = Array(chains.prefix(params.chains))
                guard !chains.isEmpty else {
                    throw OctopusError.configuration("chains: the graph \(graph.name) carries no two-hop chain (add worker → worker edges)")
                }
                let (accuracy, handedOff) = try evaluation.runChains(chains)
                metrics["accuracy.hops2"] = .double(accuracy)
                metrics["hops2.handed_off"] = .double(Double(handedOff) / Double(chains.count))
            }
            var artifacts: [String] = []
            if let drawn {
                artifacts = try TaskScratch.filling("octopus-eval") { directory in
                    try ModelGraphDrawing.write(graph, measurements: measurements(drawn, graph: graph), name: "\(graph.name)-evaluated",
                                                into: directory).map { directory.appendingPathComponent($0).path }
                }
            }
            finished = true
            return TaskOutcome(metrics: metrics, artifacts: artifacts)
        }
    }

    /// Worker processes of this `loom` (the task's own executable) behind a private coordinator
    /// that knows `octopus.generate`, for serving the graph through the cluster.
    static func servingCluster(workers: Int) throws -> (cluster: LocalCluster, logs: URL) {
        var registry = TaskRegistry.builtIn(includingTestKinds: false)
        registry.register(GenerateKind.kind)
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("loom-octopus-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let executable = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        let cluster = try LocalCluster(configuration: CoordinatorConfiguration(bind: "", registry: registry), workers: workers,
                                       executable: executable, logDirectory: logs, bindsPrivately: true)
        guard cluster.waitForWorkers(workers, timeout: .seconds(60)) else {
            cluster.stop()
            throw OctopusError.configuration("\(workers) serving worker processes did not register within 60 s (their logs: \(logs.path))")
        }
        return (cluster, logs)
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// The drawing's measurements from the `graph` condition's outcome.
    static func measurements(_ outcome: GraphEvaluation.Outcome, graph: ModelGraph) -> GraphMeasurements {
        var measurements = GraphMeasurements(routingAccuracy: outcome.routingAccuracy, overallAccuracy: outcome.accuracy)
        for (node, score) in outcome.perNode { measurements.nodeAccuracy[node] = Double(score.correct) / Double(max(1, score.total)) }
        let total = max(1, outcome.routed)
        guard let master = graph.master else { return measurements }
        var chosen: [String: Int] = [:]
        for (truth, row) in outcome.confusion {
            for (node, count) in row {
                chosen[node, default: 0] += count
                if node != truth && node != "unparsable" && truth != "none" {
                    measurements.misroutes[GraphMeasurements.key(truth, node), default: 0] += count
                }
            }
        }
        for edge in graph.edges(from: master.name) {
            measurements.edgeShare[GraphMeasurements.key(master.name, edge.to)] = Double(chosen[edge.to] ?? 0) / Double(total)
        }
        return measurements
    }
}
