import Experiments
import Foundation
import Models
import ProcessTestSupport
import Tasks
import Testing
@testable import Octopus

/// A tiny graph end to end through `loom run`: its nodes trained by `octopus.train`, then
/// `octopus.eval` under three conditions, in the task's process and again served by worker
/// processes. The oracle's accuracy is recomputed here from the checkpoints alone (this
/// process's decoding of the same test queries); the routing counts add up; the evaluated
/// drawing is stored; serving through the cluster gives the same accuracies, with latencies.
@Suite struct EvaluateGraphTests {
    static let graph = """
        graph: tiny
        nodes:
          - {name: master, role: master, model: {layers: 1, d_model: 32, heads: 4, context: 128}, checkpoint: models/master}
          - {name: fact, role: worker, domain: FACT, model: {layers: 1, d_model: 32, heads: 4, context: 24}, checkpoint: models/fact}
          - {name: enc, role: worker, domain: ENC, model: {layers: 1, d_model: 32, heads: 4, context: 24}, checkpoint: models/enc}
        edges:
          - {from: master, to: fact, token: "<nexa_0>"}
          - {from: master, to: enc, token: "<nexa_1>"}
        """

    @Test func aTinyGraphTrainsAndIsEvaluated() throws {
        let scratch = try TemporaryDirectory()
        try Self.graph.write(toFile: scratch.path("tiny.yaml"), atomically: true, encoding: .utf8)
        try """
            name: tiny-train
            task: octopus.train
            params: {graph: tiny.yaml, node: [master, fact, enc], steps: 300, batch: 16, examples: 2000, test_examples: 50,
                     evaluate_every: 50, threads: 1, lr: 0.01}
            """.write(toFile: scratch.path("train.yaml"), atomically: true, encoding: .utf8)
        let trained = try LoomProcess.run(["run", "train.yaml", "--workers", "2", "--quiet", "--no-report"], in: scratch.url,
                                          deadline: .seconds(300))
        try #require(trained.status == 0, "\(trained)")
        try """
            name: tiny-eval
            task: octopus.eval
            params: {graph: tiny.yaml, conditions: "graph,oracle,random,generalist", queries: 40, seed: 4, batch: 8,
                     generalist: models/master}
            """.write(toFile: scratch.path("eval.yaml"), atomically: true, encoding: .utf8)
        let evaluated = try LoomProcess.run(["run", "eval.yaml", "--workers", "1", "--quiet", "--no-report"], in: scratch.url,
                                            deadline: .seconds(300))
        try #require(evaluated.status == 0, "\(evaluated)")
        let store = try ResultsStore(readingAt: scratch.path(".loom/loom.db"))
        let run = try #require(try store.runs().first { $0.experiment == "tiny-eval" })
        let metrics = try store.finalMetrics(run: run.id)

        // The oracle, recomputed: each test query's canonical form to its domain's worker, decoded here.
        let graph = try ModelGraphFile.load(scratch.path("tiny.yaml"))
        let data = try NodeData(graph: graph)
        var generator = QueryGenerator(seed: 4)
        // The master's domains in Domain order, as octopus.eval draws them.
        let queries = try generator.examples(for: .test, count: 40, domains: [.encipher, .fact])
        var correct = 0
        for query in queries {
            let node = graph.node(query.domain == .fact ? "fact" : "enc")!
            let (model, _) = try Checkpoint.model(from: URL(fileURLWithPath: node.checkpoint!), maxBatch: 1, threads: 1)
            var output = try model.generate(prompt: try data.prompt(query.canonical), maxNewTokens: 24, stopTokens: [data.vocabulary.endOfAnswerToken])
            if output.last == data.vocabulary.endOfAnswerToken { output.removeLast() }
            if try data.vocabulary.decode(output) == query.answer { correct += 1 }
        }
        #expect(metrics["accuracy.oracle"]?.number == Double(correct) / 40, "\(metrics)")
        #expect(correct >= 4, "300 steps teach FACT and ENC some answers (\(correct) of 40 right)")

        // Routing: every query counted once, under its true worker.
        let confusion = metrics.filter { $0.key.hasPrefix("routing.confusion.") }
        #expect(confusion.values.compactMap(\.number).reduce(0, +) == 40)
        let trueFact = confusion.filter { $0.key.hasPrefix("routing.confusion.fact.") }.values.compactMap(\.number).reduce(0, +)
        #expect(trueFact == Double(queries.filter { $0.domain == .fact }.count))
        #expect((metrics["rewriting.exact"]?.number ?? 2) <= (metrics["routing.accuracy"]?.number ?? -1))
        for name in ["accuracy.graph", "accuracy.random", "routing.accuracy", "routing.unparsable", "rewriting.exact"] {
            #expect((0...1).contains(metrics[name]?.number ?? -1), "\(name)")
        }
        let master = graph.parameters(of: graph.master!), worker = graph.parameters(of: graph.node("fact")!)
        #expect(metrics["params.activated"]?.number == Double(master + worker) && metrics["params.total"]?.number == Double(master + 2 * worker))
        // Any checkpoint can stand in as the generalist; its size is recorded beside its accuracy.
        #expect(metrics["params.generalist"]?.number == Double(master) && (0...1).contains(metrics["accuracy.generalist"]?.number ?? -1))
        let artifacts = try store.artifacts(run: run.id).map { URL(fileURLWithPath: $0.path).lastPathComponent }
        #expect(artifacts.contains("tiny-evaluated.svg") && artifacts.contains("tiny-evaluated.pdf"), "\(artifacts)")
        #expect(metrics["latency.route_ms"] == nil, "latency is measured only through the cluster")

        // The same evaluation served by worker processes the task starts: the same tokens, so the
        // same accuracies, and the latencies through the cluster.
        try """
            name: tiny-eval-served
            task: octopus.eval
            params: {graph: tiny.yaml, conditions: "graph,oracle,random", queries: 40, seed: 4, batch: 8, serve: cluster, serve_workers: 2}
            """.write(toFile: scratch.path("served.yaml"), atomically: true, encoding: .utf8)
        let served = try LoomProcess.run(["run", "served.yaml", "--workers", "1", "--quiet", "--no-report"], in: scratch.url,
                                         deadline: .seconds(300))
        try #require(served.status == 0, "\(served)")
        let servedRun = try #require(try ResultsStore(readingAt: scratch.path(".loom/loom.db")).runs().first { $0.experiment == "tiny-eval-served" })
        let servedMetrics = try ResultsStore(readingAt: scratch.path(".loom/loom.db")).finalMetrics(run: servedRun.id)
        for name in ["accuracy.graph", "accuracy.oracle", "accuracy.random", "routing.accuracy"] {
            #expect(servedMetrics[name] == metrics[name], "\(name)")
        }
        #expect((servedMetrics["latency.route_ms"]?.number ?? 0) > 0 && (servedMetrics["latency.answer_ms"]?.number ?? 0) > 0)
    }
}
