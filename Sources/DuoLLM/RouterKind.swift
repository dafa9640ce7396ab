import Cluster
import Foundation
import Models
import Reports
import Tasks

/// `duo.router`: trains Duo-LLM's per-layer linear router on a frozen `train.duo` checkpoint and
/// evaluates its hard routes on the oracle's evaluation batch.
public enum RouterKind {
    public static var kind: TaskKind {
        TaskKind(
            name: "duo.router", summary: "trains a per-layer linear router (CE + α·budget penalty, annealed softmax) on a frozen train.duo checkpoint; ppl.router with hard routes",
            parameters: RouterParameters.self, metrics: DuoMetric.routerMetrics
        ) { context, params in
            let (model, task) = try load(params)
            let evaluation = OracleRun.evaluationBatch(task, size: params.evaluationBatch, dataSeed: UInt64(params.dataSeed))
            let result = try RouterTraining.run(model, task: task, evaluation: evaluation, settings: params.settings,
                                                report: { context.report($0, total: params.settings.steps) },
                                                shouldStop: { context.isCancelled })
            try context.checkCancellation()
            var metrics = result.metrics
            let (compared, summary, k) = try comparison(model, batch: evaluation,
                                                        realised: result.metrics[DuoMetric.routerBigFraction.name]?.number ?? 0,
                                                        shouldStop: { context.isCancelled })
            metrics.merge(compared) { $1 }
            let graphs = try graph(result.routes, summary: summary, k: k)
            return TaskOutcome(metrics: metrics, artifacts: graphs, series: result.series)
        }
    }

    /// Claim 3 in one run: the big/small oracle and the best random fixed route at the budget k
    /// nearest the router's realised big fraction (k = round(fraction · L)), on the same batch,
    /// and all big.
    static func comparison(_ model: Transformer, batch: TrainingBatch, realised: Double,
                           shouldStop: () -> Bool) throws -> (metrics: [String: ParameterValue], summary: OracleSummary, k: Int) {
        let set = try RouteSet(layers: model.config.depth, skip: false)
        let summary = try OracleSummary(try RouteLosses.evaluate(model, batch: batch, routes: set, shouldStop: shouldStop))
        let k = min(set.layers, max(0, Int((realised * Double(set.layers)).rounded())))
        return ([DuoMetric.routerBudgetK.name: .int(k), DuoMetric.routerOracle.name: .double(summary.oracle[k]),
                 DuoMetric.routerBestRandom.name: .double(summary.bestRandom[k]), DuoMetric.allBig.name: .double(summary.allBig)],
                summary, k)
    }

    /// The route graph with the router's branch fractions per layer beside oracle@k's and the
    /// best random fixed route's at the router's budget k (`routes-router.svg` and `.pdf`).
    static func graph(_ routes: DuoRoutes, summary: OracleSummary, k: Int) throws -> [String] {
        let layers = routes.layers, n = Double(max(1, routes.tokens))
        var router = [[RouteGraphs.Branch: Double]](repeating: [:], count: layers)
        for l in 0..<layers {
            var counts = [0, 0, 0]
            for t in 0..<routes.tokens { counts[Int(routes.choices[t * layers + l].rawValue)] += 1 }
            router[l] = [.big: Double(counts[0]) / n, .small: Double(counts[1]) / n, .skip: Double(counts[2]) / n]
        }
        let oracle = (0..<layers).map { l -> [RouteGraphs.Branch: Double] in
            [.big: summary.layerUsage[k][l], .small: 1 - summary.layerUsage[k][l]]
        }
        let set = try RouteSet(layers: layers, skip: false)
        let fixed = set.route(summary.bestRandomRoute[k]).map { choice -> [RouteGraphs.Branch: Double] in
            choice == .big ? [.big: 1] : [.small: 1]
        }
        let dot = RouteGraphs.routes(layers: layers, usage: [
            .init(condition: "router", fractions: router), .init(condition: "oracle@\(k)", fractions: oracle),
            .init(condition: "best random route", fractions: fixed),
        ], title: "the trained router beside the oracle and the best random fixed route with \(k) big layer\(k == 1 ? "" : "s")")
        return try TaskScratch.filling("duo-router") { directory in
            try GraphRenderer.write(dot: dot, name: "routes-router", into: directory)
                .filter { !$0.hasSuffix(".dot") }.map { directory.appendingPathComponent($0).path }
        }
    }

    /// The checkpoint's model (built for the larger of the two batches) and its corpus task.
    /// - Throws: `ModelError` for a missing checkpoint, one whose layers are not all duo layers,
    ///   or a corpus of another vocabulary.
    static func load(_ params: RouterParameters) throws -> (Transformer, CharacterCorpusTask) {
        try params.settings.validate()
        let directory = URL(fileURLWithPath: params.checkpoint)
        let config = try Checkpoint.manifest(at: directory).model
        guard config.layers.allSatisfy(\.duo) else {
            throw ModelError.configuration("\(params.checkpoint) holds a model whose layers are not all duo layers; the router routes every layer, so give a train.duo checkpoint")
        }
        return try OracleRun.model(config, from: directory, corpus: params.corpus,
                                   maxBatch: max(params.settings.batch, params.evaluationBatch), threads: params.threads)
    }
}
