import Foundation
import Models
import Tasks
import TensorCore

/// One oracle run over a trained model: `CE[r, t]` for a slice of routes on the validation
/// split's evaluation batch in each reading asked, their `.npy` artifacts, and (for the whole set)
/// the summary metrics, token difficulty, budget curves and route graphs; the null control in the
/// task that holds route 0.
enum OracleRun {
    /// The validation batch the oracle evaluates: the trainer's evaluation batch (step −1 of the
    /// data seed shifted as `Trainer` does), so the curves' final all-big loss is on the same tokens.
    static func evaluationBatch(_ task: CharacterCorpusTask, size: Int, dataSeed: UInt64) -> TrainingBatch {
        task.batch(size: size, length: task.context, seed: dataSeed &+ 0x9E37_79B9, step: -1)
    }

    /// Runs the slice in the readings `settings` asks for and returns its outcome (see `outcome`).
    /// The null control needs the model rather than the matrices, so it runs here, in the task
    /// whose slice starts at route 0 (the whole set, or a sharded search's first shard).
    static func run(_ model: Transformer, batch: TrainingBatch, settings: OracleSettings, first: Int = 0, count: Int? = nil,
                    shouldStop: () -> Bool) throws -> TaskOutcome {
        let set = try RouteSet(layers: model.config.depth, skip: settings.skipRoutes)
        try settings.check(layers: set.layers)
        let shared = settings.readsSharedRoute
            ? try RouteLosses.evaluate(model, batch: batch, routes: set, first: first, count: count, shouldStop: shouldStop) : nil
        let fixedContext = settings.readsFixedContext
            ? try FixedContextLosses.evaluate(model, batch: batch, routes: set, defaultRoute: try settings.defaultRouteChoices(layers: set.layers),
                                              first: first, count: count, shouldStop: shouldStop) : nil
        var result = try outcome(shared: shared, fixedContext: fixedContext, context: batch.length, settings: settings)
        if settings.nullControl && first == 0 {
            let null = try NullControl.run(model, batch: batch, randomRoutes: settings.randomRoutes, rate: settings.nullDropout,
                                           seed: UInt64(settings.routeSeed), shouldStop: shouldStop)
            for k in try settings.budgetList(layers: set.layers) ?? Array(0...set.layers) {
                result.metrics[DuoMetric.null.instance(k)] = .double(null.perplexity[k])
            }
            result.series += (0...set.layers).map { StepMetric(name: DuoMetric.budgetNull.name, step: $0, value: null.perplexity[$0]) }
        }
        return result
    }

    /// A slice's outcome from its matrices (nil for a reading not asked): the metrics, each
    /// reading's `.npy`, and for the whole set the summaries, token difficulty (CSV and curve), the
    /// budget curves and the route graphs (of `shared_route`). A pure function of the matrices, so a
    /// search joined from shards stores the same numbers as one done in a single task.
    /// - Parameter context: tokens per sequence (token difficulty's positions).
    static func outcome(shared: RouteLosses?, fixedContext: RouteLosses?, context: Int, settings: OracleSettings) throws -> TaskOutcome {
        guard let any = shared ?? fixedContext else { throw ModelError.configuration("the oracle evaluated no reading") }
        let set = any.routes
        let budgets = try settings.budgetList(layers: set.layers)
        let fixed = try settings.fixedRoutes(in: set)
        var result = TaskOutcome(metrics: [
            DuoMetric.routes.name: .int(any.count), DuoMetric.firstRoute.name: .int(any.first), DuoMetric.tokens.name: .int(any.tokens),
        ])
        return try TaskScratch.filling("duo-oracle") { directory in
            /// Stores one reading's matrix and, for the whole set, its summaries behind `prefix`.
            func record(_ losses: RouteLosses, file: String, prefix: String) throws -> OracleSummary? {
                let path = directory.appendingPathComponent("\(file)-\(losses.first)-\(losses.first + losses.count).npy").path
                try losses.writeNPY(toFile: path)
                result.artifacts.append(path)
                guard losses.isComplete else { return nil }
                let summary = try OracleSummary(losses, randomRoutes: settings.randomRoutes, seed: UInt64(settings.routeSeed))
                var perplexities: [String: Double] = [:]
                for (letters, index) in fixed {
                    perplexities[letters] = exp((0..<losses.tokens).reduce(0.0) { $0 + Double(losses.values[index * losses.tokens + $1]) }
                                                / Double(losses.tokens))
                }
                result.metrics.merge(DuoMetric.values(summary, set: set, budgets: budgets, fixed: perplexities, prefix: prefix)) { $1 }
                let difficulty = try TokenDifficulty(losses, context: context)
                let table = directory.appendingPathComponent(prefix.isEmpty ? "token-difficulty.csv" : "fc-token-difficulty.csv")
                try difficulty.csv.write(to: table, atomically: true, encoding: .utf8)
                result.artifacts.append(table.path)
                let (metrics, series) = DuoMetric.values(difficulty, prefix: prefix)
                result.metrics.merge(metrics) { $1 }
                result.series += series
                return summary
            }
            if let shared {
                result.metrics[DuoMetric.reading.name] = .string("shared_route")
                if let summary = try record(shared, file: "ce-routes", prefix: "") {
                    result.artifacts += try OracleFigures.graphs(summary, losses: shared, into: directory)
                    result.series += OracleFigures.budgetSeries(summary, set: set)
                }
            }
            if let fixedContext {
                result.metrics[DuoMetric.fixedContextReading.name] = .string("fixed_context")
                result.metrics[DuoMetric.defaultRoute.name] = .string(String(try settings.defaultRouteChoices(layers: set.layers).map(\.letter)))
                if let summary = try record(fixedContext, file: "ce-fixed-context", prefix: DuoMetric.fixedContextPrefix) {
                    result.series += OracleFigures.budgetSeries(summary, set: set).map {
                        StepMetric(name: DuoMetric.fixedContextPrefix + $0.name, step: $0.step, value: $0.value)
                    }
                }
            }
            return result
        }
    }

    /// The corpus named by a `corpus` parameter (empty: Loom's documentation), kept by the
    /// worker process between tasks (`ResidentCorpora`).
    static func corpus(_ path: String) throws(ModelError) -> CharacterCorpus {
        try ResidentCorpora.corpus(path)
    }

    /// The corpus task a model of `config` was trained on.
    /// - Throws: `ModelError` for a corpus that cannot be read or has another vocabulary.
    static func corpusTask(_ config: ModelConfig, corpus path: String) throws -> CharacterCorpusTask {
        let corpus = try corpus(path)
        guard corpus.vocabulary == config.vocabulary else {
            throw ModelError.configuration("\(corpus.source) has \(corpus.vocabulary) symbols but the checkpoint's model has \(config.vocabulary); give corpus= the file it was trained on")
        }
        return try CharacterCorpusTask(corpus: corpus, context: config.context)
    }

    /// A `train.duo` checkpoint's model (configuration `config`, already checked by the caller)
    /// with its parameters loaded, and the corpus task it was trained on.
    /// - Throws: `ModelError` for a corpus of another vocabulary or a parameter file that is
    ///   missing or of the wrong shape.
    static func model(_ config: ModelConfig, from directory: URL, corpus path: String, maxBatch: Int,
                      threads: Int) throws -> (Transformer, CharacterCorpusTask) {
        let task = try corpusTask(config, corpus: path)
        let (model, manifest) = try Checkpoint.model(from: directory, maxBatch: maxBatch, threads: threads)
        guard manifest.model == config else {
            throw ModelError.configuration("\(directory.path) changed while it was read; run the task again")
        }
        return (model, task)
    }
}
