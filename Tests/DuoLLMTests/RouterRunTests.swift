import Foundation
import DuoLLM
import Experiments
import ProcessTestSupport
import Tasks
import Testing

/// `train.duo` then `duo.router` through `loom run` with real workers, as users run them.
@Suite struct RouterRunTests {
    @Test func trainThenRouterStoresDeclaredMetricsAndCurves() throws {
        let scratch = try TemporaryDirectory()
        let text = String(repeating: "the quick brown fox jumps over the lazy dog; a router picks each token's route. ", count: 40)
        try text.write(toFile: scratch.path("corpus.txt"), atomically: true, encoding: .utf8)
        try """
            name: tiny-duo
            task: train.duo
            params: {layers: 2, d_model: 8, heads: 2, context: 16, batch: 4, steps: 20, evaluate_every: 10, evaluation_batch: 2,
                     lr: 3e-3, threads: 1, oracle: false, corpus: "\(scratch.path("corpus.txt"))", checkpoint_dir: "\(scratch.path("model"))"}
            """.write(toFile: scratch.path("train.yaml"), atomically: true, encoding: .utf8)
        try """
            name: tiny-router
            task: duo.router
            params: {checkpoint: "\(scratch.path("model"))", corpus: "\(scratch.path("corpus.txt"))", evaluation_batch: 2, batch: 2,
                     router_steps: 40, budget: 0.25, alpha: 4, skip_routes: true, threads: 1}
            """.write(toFile: scratch.path("router.yaml"), atomically: true, encoding: .utf8)
        for file in ["train.yaml", "router.yaml"] {
            let ran = try LoomProcess.run(["run", scratch.path(file), "--workers", "2", "--quiet"], in: scratch.url, deadline: .seconds(300))
            try #require(ran.status == 0, "\(ran)")
        }
        try """
            name: bad-router
            task: duo.router
            params: {checkpoint: "\(scratch.path("model"))", budget: 1.5}
            """.write(toFile: scratch.path("bad.yaml"), atomically: true, encoding: .utf8)
        let bad = try LoomProcess.run(["run", scratch.path("bad.yaml"), "--quiet"], in: scratch.url, deadline: .seconds(60))
        #expect(bad.status == 2 && "\(bad)".contains("budget"), "\(bad)")

        let store = try ResultsStore(readingAt: scratch.path(".loom/loom.db"))
        let catalog = MetricCatalog(DuoMetric.routerMetrics)
        let run = try #require(try store.runs().first { $0.experiment == "tiny-router" })
        let metrics = try store.finalMetrics(run: run.id), curves = try store.curves(run: run.id)
        let names = Array(metrics.keys) + Array(curves.keys)
        #expect(names.filter { catalog.spec(for: $0) == nil }.isEmpty, "undeclared: \(names.filter { catalog.spec(for: $0) == nil })")
        for name in ["ppl.router", "router.big_fraction", "router.skip_fraction", "router.layer_usage.L0", "router.layer_usage.L1"] {
            #expect(metrics[name]?.number.map { $0 >= 0 } == true, "\(name): \(String(describing: metrics[name]))")
        }
        #expect(metrics["ppl.router"]?.number.map { $0 > 1 } == true && metrics["steps"]?.number == 40)
        // Claim 3's comparison in the same run: the oracle at the router's budget is a per-token
        // minimum that includes every fixed route there, so it is at most the best random one.
        let k = try #require(metrics["router.k"]?.number), fraction = try #require(metrics["router.big_fraction"]?.number)
        #expect(k == (fraction * 2).rounded(), "k \(k) from the realised fraction \(fraction) of 2 layers")
        let oracle = try #require(metrics["router.ppl.oracle"]?.number), random = try #require(metrics["router.ppl.best_random"]?.number)
        #expect(oracle <= random && metrics["ppl.all_big"]?.number.map { $0 > 1 } == true, "\(oracle) \(random)")
        let graphs = try store.artifacts(run: run.id).map { URL(fileURLWithPath: $0.path).lastPathComponent }
        #expect(graphs.contains("routes-router.svg") && graphs.contains("routes-router.pdf"), "\(graphs)")
        #expect(curves["router.loss"]?.count == 40 && curves["router.train_big_fraction"]?.count == 40, "\(curves.keys)")
    }
}
