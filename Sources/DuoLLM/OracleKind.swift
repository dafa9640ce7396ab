import Cluster
import Foundation
import Models
import Tasks

/// `duo.oracle`: the routing oracle over a `train.duo` checkpoint, for all routes or a slice.
public enum OracleKind {
    public static var kind: TaskKind {
        var kind = TaskKind(
            name: "duo.oracle", summary: "evaluates every route (or a slice) of a train.duo checkpoint: CE[r, t] as .npy, the oracle's perplexities",
            parameters: OracleParameters.self, metrics: DuoMetric.oracleMetrics, version: 2
        ) { context, params in
            let (config, task) = try check(params)
            // The model stays resident in the worker: the next slice of the same search (or another
            // search of the same checkpoint) pays no load. Every pass leaves routes and
            // interventions as it found them.
            let (outcome, _) = try ResidentModels.shared.withModel(params.checkpoint, maxBatch: params.settings.evaluationBatch,
                                                                   threads: params.threads) { model -> TaskOutcome in
                guard model.config == config else {
                    throw ModelError.configuration("\(params.checkpoint) changed while the search read it; run the search again")
                }
                let batch = OracleRun.evaluationBatch(task, size: params.settings.evaluationBatch, dataSeed: UInt64(params.dataSeed))
                return try OracleRun.run(model, batch: batch, settings: params.settings, first: params.firstRoute,
                                         count: params.routeCount > 0 ? params.routeCount : nil, shouldStop: { context.isCancelled })
            }
            try context.checkCancellation()
            return outcome
        }
        kind.sharding = OracleSharding.sharding
        return kind
    }

    /// Checks every setting against the checkpoint's manifest before any route runs.
    /// - Returns: the checkpoint's configuration and the corpus task it was trained on.
    /// - Throws: `ModelError` for a missing checkpoint, one without duo layers, a corpus of
    ///   another vocabulary, or oracle settings that do not fit the model's depth.
    static func check(_ params: OracleParameters) throws -> (ModelConfig, CharacterCorpusTask) {
        let directory = URL(fileURLWithPath: params.checkpoint)
        let config = try Checkpoint.manifest(at: directory).model
        guard config.hasDuoLayers else {
            throw ModelError.configuration("\(params.checkpoint) holds a model without duo layers, which has no routes; give a train.duo checkpoint")
        }
        try params.settings.check(layers: config.depth)
        let set = try RouteSet(layers: config.depth, skip: params.settings.skipRoutes)
        guard params.firstRoute < set.count, params.firstRoute + params.routeCount <= set.count else {
            throw ModelError.configuration("routes \(params.firstRoute) ..< \(params.firstRoute + max(1, params.routeCount)) are outside the model's \(set.count) routes; use first_route < \(set.count)")
        }
        return (config, try OracleRun.corpusTask(config, corpus: params.corpus))
    }
}
