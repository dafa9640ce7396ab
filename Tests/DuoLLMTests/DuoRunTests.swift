import Foundation
import DuoLLM
import Experiments
import ProcessTestSupport
import Tasks
import TensorCore
import Testing

/// `train.duo` then `duo.oracle` through `loom run` with real workers, as users run them.
@Suite struct DuoRunTests {
    @Test func trainThenOracleStoreDeclaredMetricsAndTheCEMatrix() throws {
        let scratch = try TemporaryDirectory()
        let text = String(repeating: "the quick brown fox jumps over the lazy dog; a duo model routes each token. ", count: 40)
        try text.write(toFile: scratch.path("corpus.txt"), atomically: true, encoding: .utf8)
        try """
            name: tiny-duo
            task: train.duo
            params: {layers: 2, d_model: 8, heads: 2, context: 16, batch: 4, steps: 20, evaluate_every: 10,
                     evaluation_batch: 2, lr: 3e-3, skip_routes: true, threads: 1, routes: "BS,KK",
                     corpus: "\(scratch.path("corpus.txt"))", checkpoint_dir: "\(scratch.path("model"))"}
            """.write(toFile: scratch.path("train.yaml"), atomically: true, encoding: .utf8)
        try """
            name: tiny-oracle
            task: duo.oracle
            params: {checkpoint: "\(scratch.path("model"))", corpus: "\(scratch.path("corpus.txt"))", evaluation_batch: 2,
                     skip_routes: true, threads: 1, route_count: [0, 4], first_route: 2}
            """.write(toFile: scratch.path("oracle.yaml"), atomically: true, encoding: .utf8)
        // The workers' temporary directory is the test's own, to see what they leave in it.
        let temporary = scratch.url.appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = temporary.path
        for file in ["train.yaml", "oracle.yaml"] {
            let ran = try LoomProcess.run(["run", scratch.path(file), "--workers", "2", "--quiet"], in: scratch.url, deadline: .seconds(300),
                                          environment: environment)
            try #require(ran.status == 0, "\(ran)")
        }
        // Every artifact was written to a task's scratch folder, and each went once stored.
        let left = try FileManager.default.contentsOfDirectory(atPath: temporary.path).filter { $0.hasPrefix("loom-") }
        #expect(left.isEmpty, "scratch folders left behind: \(left)")
        #expect(FileManager.default.fileExists(atPath: scratch.path("model/checkpoint.json")), "the checkpoint_dir given is the user's: kept")
        let store = try ResultsStore(readingAt: scratch.path(".loom/loom.db"))
        let catalog = MetricCatalog(DuoMetric.all)
        let runs = try store.runs()
        #expect(runs.count == 3)
        var oracles: [[String: ParameterValue]] = []
        for run in runs {
            let metrics = try store.finalMetrics(run: run.id)
            let names = Array(metrics.keys) + Array(try store.curves(run: run.id).keys)
            #expect(names.filter { catalog.spec(for: $0) == nil }.isEmpty, "undeclared: \(names.filter { catalog.spec(for: $0) == nil })")
            let artifacts = try store.artifacts(run: run.id).map(\.path)
            let matrix = try #require(artifacts.first { $0.hasSuffix(".npy") }, "\(artifacts)")
            let ce = try Tensor(contentsOfNPYFile: matrix)
            #expect(ce.shape[1] == 2 * 16)
            if run.experiment == "tiny-duo" {
                #expect(ce.shape[0] == 9, "\(ce.shape)")
                #expect( metrics["steps"]?.number == 20 && metrics["oracle.reading"] == .string("shared_route"))
                for name in ["ppl.all_big", "ppl.all_small", "ppl.oracle.k0", "ppl.oracle.k2", "ppl.oracle_skip.k1", "ppl.best_random.k1",
                             "oracle.layer_usage.k1.L0", "ppl.route.BS", "ppl.route.KK"] {
                    #expect(metrics[name]?.number.map { $0 > 0 } == true, "\(name): \(String(describing: metrics[name]))")
                }
                #expect(artifacts.contains { FileManager.default.fileExists(atPath: $0 + "/checkpoint.json") }, "\(artifacts)")
                // The controls (reading both by default): fc.* metrics, the null, token difficulty.
                for name in ["fc.ppl.oracle.k1", "fc.ppl.all_big", "ppl.null.k1", "ppl.null.k0", "difficulty.mean_reduction",
                             "fc.difficulty.mean_reduction"] {
                    #expect(metrics[name]?.number.map { $0 > 0 } == true, "\(name): \(String(describing: metrics[name]))")
                }
                #expect(metrics["fc.oracle.reading"] == .string("fixed_context") && metrics["fc.oracle.default_route"] == .string("BB"))
                let fixedContext = try #require(artifacts.first { $0.hasSuffix("ce-fixed-context-0-9.npy") }, "\(artifacts)")
                #expect(try Tensor(contentsOfNPYFile: fixedContext).shape == [9, 32])
                let table = try #require(artifacts.first { $0.hasSuffix("/token-difficulty.csv") }, "\(artifacts)")
                #expect(try String(contentsOfFile: table, encoding: .utf8).split(separator: "\n").count == 1 + 32)
                #expect(try store.curves(run: run.id)["difficulty.reduction"]?.count == 16)
                oracles.append(metrics)
            } else if metrics["oracle.routes"]?.number == 7 {
                // route_count 0 from route 2: not the whole set, so no summary.
                #expect(ce.shape[0] == 7 && metrics["ppl.oracle.k1"] == nil)
            } else {
                #expect(ce.shape[0] == 4 && metrics["oracle.first_route"]?.number == 2, "\(metrics)")
            }
        }
        #expect(oracles.count == 1)
    }
}
