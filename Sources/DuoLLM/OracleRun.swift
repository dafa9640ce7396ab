import Foundation
import Models
import Tasks
import TensorCore

/// One oracle run over a trained model: `CE[r, t]` for a slice of routes on the validation
/// split's evaluation batch in each reading asked, their `.npy` artifacts, and (for the whole set)
/// the summary metrics, token difficulty and the null control.
enum OracleRun {
    /// What a run gives: metrics, artifact files, and curves (token difficulty by position).
    struct Result {
        var metrics: [String: ParameterValue] = [:]
        var files: [String] = []
        var series: [StepMetric] = []
    }

    /// The validation batch the oracle evaluates: the trainer's evaluation batch (step −1 of the
    /// data seed shifted as `Trainer` does), so the curves' final all-big loss is on the same tokens.
    static func evaluationBatch(_ task: CharacterCorpusTask, size: Int, dataSeed: UInt64) -> TrainingBatch {
        task.batch(size: size, length: task.context, seed: dataSeed &+ 0x9E37_79B9, step: -1)
    }

    /// Runs the slice in the readings `settings` asks for (files in a fresh temporary directory).
    static func run(_ model: Transformer, batch: TrainingBatch, settings: OracleSettings, first: Int = 0, count: Int? = nil,
                    shouldStop: () -> Bool) throws -> Result {
        let set = try RouteSet(layers: model.config.depth, skip: settings.skipRoutes)
        let budgets = try settings.budgetList(layers: set.layers)
        let fixed = try settings.fixedRoutes(in: set)
        let defaultRoute = try settings.defaultRouteChoices(layers: set.layers)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("loom-duo-oracle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var result = Result()
        /// Stores one reading's matrix and, for the whole set, its summaries behind `prefix`.
        func record(_ losses: RouteLosses, file: String, prefix: String) throws {
            let path = directory.appendingPathComponent("\(file)-\(losses.first)-\(losses.first + losses.count).npy").path
            try losses.writeNPY(toFile: path)
            result.files.append(path)
            result.metrics[DuoMetric.routes.name] = .int(losses.count)
            result.metrics[DuoMetric.firstRoute.name] = .int(losses.first)
            result.metrics[DuoMetric.tokens.name] = .int(losses.tokens)
            guard losses.isComplete else { return }
            let summary = try OracleSummary(losses, randomRoutes: settings.randomRoutes, seed: UInt64(settings.routeSeed))
            var perplexities: [String: Double] = [:]
            for (letters, index) in fixed {
                perplexities[letters] = exp((0..<losses.tokens).reduce(0.0) { $0 + Double(losses.values[index * losses.tokens + $1]) }
                                            / Double(losses.tokens))
            }
            result.metrics.merge(DuoMetric.values(summary, set: set, budgets: budgets, fixed: perplexities, prefix: prefix)) { $1 }
            let difficulty = try TokenDifficulty(losses, context: batch.length)
            let table = directory.appendingPathComponent(prefix.isEmpty ? "token-difficulty.csv" : "fc-token-difficulty.csv")
            try difficulty.csv.write(to: table, atomically: true, encoding: .utf8)
            result.files.append(table.path)
            let (metrics, series) = DuoMetric.values(difficulty, prefix: prefix)
            result.metrics.merge(metrics) { $1 }
            result.series += series
        }
        if settings.readsSharedRoute {
            let losses = try RouteLosses.evaluate(model, batch: batch, routes: set, first: first, count: count, shouldStop: shouldStop)
            try record(losses, file: "ce-routes", prefix: "")
            result.metrics[DuoMetric.reading.name] = .string("shared_route")
        }
        if settings.readsFixedContext {
            let losses = try FixedContextLosses.evaluate(model, batch: batch, routes: set, defaultRoute: defaultRoute, first: first,
                                                         count: count, shouldStop: shouldStop)
            try record(losses, file: "ce-fixed-context", prefix: DuoMetric.fixedContextPrefix)
            result.metrics[DuoMetric.fixedContextReading.name] = .string("fixed_context")
            result.metrics[DuoMetric.defaultRoute.name] = .string(String(defaultRoute.map(\.letter)))
        }
        // The null control needs the model, not the matrix: it runs where the whole set runs.
        if settings.nullControl && first == 0 && (count ?? set.count) == set.count {
            let null = try NullControl.run(model, batch: batch, randomRoutes: settings.randomRoutes, rate: settings.nullDropout,
                                           seed: UInt64(settings.routeSeed), shouldStop: shouldStop)
            for k in budgets ?? Array(0...set.layers) { result.metrics[DuoMetric.null.instance(k)] = .double(null.perplexity[k]) }
        }
        return result
    }

    /// The corpus named by a `corpus` parameter (empty: Loom's documentation).
    static func corpus(_ path: String) throws(ModelError) -> CharacterCorpus {
        path.isEmpty ? try CharacterCorpus.loomDocumentation() : try CharacterCorpus.load(path: path)
    }

    /// Loads a checkpoint's parameters into a model built from its configuration (the optimiser
    /// state is not needed to evaluate).
    /// - Throws: `ModelError.checkpoint` for a missing file or a shape that does not match.
    static func loadParameters(from directory: URL, into parameters: ParameterStore) throws(ModelError) {
        for entry in parameters.entries {
            let url = directory.appendingPathComponent("params/\(entry.name).npy")
            let tensor: Tensor
            do { tensor = try Tensor(contentsOfNPYFile: url.path) } catch { throw .checkpoint("cannot read \(url.path): \(error)") }
            guard tensor.shape == entry.shape else {
                throw .checkpoint("\(url.path) has shape \(tensor.shape) but the model's \(entry.name) is \(entry.shape)")
            }
            tensor.storage.withUnsafeBufferPointer { (parameters.values + entry.offset).update(from: $0.baseAddress!, count: entry.count) }
        }
    }
}
