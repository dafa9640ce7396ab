import Foundation
import Models
import Tasks
import TensorCore

/// One oracle run over a trained model: `CE[r, t]` for a slice of routes on the validation
/// split's evaluation batch, the `.npy` artifact, and (for the whole set) the summary metrics.
enum OracleRun {
    /// The validation batch the oracle evaluates: the trainer's evaluation batch (step −1 of the
    /// data seed shifted as `Trainer` does), so the curves' final all-big loss is on the same tokens.
    static func evaluationBatch(_ task: CharacterCorpusTask, size: Int, dataSeed: UInt64) -> TrainingBatch {
        task.batch(size: size, length: task.context, seed: dataSeed &+ 0x9E37_79B9, step: -1)
    }

    /// Runs the slice and returns its outcome (see `outcome`).
    static func run(_ model: Transformer, batch: TrainingBatch, settings: OracleSettings, first: Int = 0, count: Int? = nil,
                    shouldStop: () -> Bool) throws -> TaskOutcome {
        let set = try RouteSet(layers: model.config.depth, skip: settings.skipRoutes)
        try settings.check(layers: set.layers)
        let losses = try RouteLosses.evaluate(model, batch: batch, routes: set, first: first, count: count, shouldStop: shouldStop)
        return try outcome(losses, settings: settings)
    }

    /// A slice's outcome: its metrics, the `.npy` of its rows, and for the whole set the budget
    /// curves and the route graphs. A pure function of the matrix, so a search joined from shards
    /// stores the same numbers as one done in a single task.
    static func outcome(_ losses: RouteLosses, settings: OracleSettings) throws -> TaskOutcome {
        let set = losses.routes
        let budgets = try settings.budgetList(layers: set.layers)
        let fixed = try settings.fixedRoutes(in: set)
        var metrics: [String: ParameterValue] = [
            DuoMetric.reading.name: .string("shared_route"), DuoMetric.routes.name: .int(losses.count),
            DuoMetric.firstRoute.name: .int(losses.first), DuoMetric.tokens.name: .int(losses.tokens),
        ]
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("loom-duo-oracle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("ce-routes-\(losses.first)-\(losses.first + losses.count).npy").path
        try losses.writeNPY(toFile: file)
        guard losses.isComplete else { return TaskOutcome(metrics: metrics, artifacts: [file]) }
        let summary = try OracleSummary(losses, randomRoutes: settings.randomRoutes, seed: UInt64(settings.routeSeed))
        var sums: [String: Double] = [:]
        for (letters, index) in fixed {
            sums[letters] = exp((0..<losses.tokens).reduce(0.0) { $0 + Double(losses.values[index * losses.tokens + $1]) }
                                / Double(losses.tokens))
        }
        metrics.merge(DuoMetric.values(summary, set: set, budgets: budgets, fixed: sums)) { $1 }
        return TaskOutcome(metrics: metrics, artifacts: [file] + (try OracleFigures.graphs(summary, losses: losses, into: directory)),
                           series: OracleFigures.budgetSeries(summary, set: set))
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
