import Foundation
import Models
import Tasks

/// Trains a router on a frozen duo model and evaluates its hard routes.
enum RouterTraining {
    /// What training and evaluation gave: the final metrics, every curve point, and the router.
    struct Result {
        var metrics: [String: ParameterValue]
        var series: [StepMetric]
        let router: Router
        /// The hard routes of the evaluation batch, (tokens, layers).
        let routes: DuoRoutes
    }

    /// Trains a router with AdamW on `task`'s training batches (seeded by `settings.seed`), then
    /// evaluates `evaluation` with hard routes. `report` receives curve points as they come.
    /// The model's parameters are never changed; its mixture and routes are nil afterwards.
    /// - Throws: `ModelError` for bad settings, a model that is not all duo layers, or a stop.
    static func run(_ model: Transformer, task: CharacterCorpusTask, evaluation: TrainingBatch, settings: RouterSettings,
                    report: ([StepMetric]) -> Void = { _ in }, shouldStop: () -> Bool = { false }) throws(ModelError) -> Result {
        try settings.validate()
        let config = model.config
        guard config.layers.allSatisfy(\.duo) else {
            throw .configuration("the router needs every layer to be a duo layer (train.duo checkpoints are)")
        }
        guard settings.batch <= model.maxBatch, evaluation.size <= model.maxBatch else {
            throw .configuration("batch \(settings.batch) or evaluation_batch \(evaluation.size) exceeds the model's maxBatch \(model.maxBatch)")
        }
        let router = Router(layers: config.depth, dModel: config.dModel, skip: settings.skip, seed: settings.seed)
        let optimizer = AdamW(count: router.parameters.count)
        defer { model.mixture = nil; model.routes = nil }
        var series: [StepMetric] = [], pending: [StepMetric] = []
        var loss = 0.0
        let tokensPerStep = Double(settings.batch * config.context * config.depth)
        for step in 0..<settings.steps {
            if shouldStop() { throw .input("the router was stopped after \(step) of \(settings.steps) steps") }
            router.temperature = settings.temperature(at: step)
            let batch = task.batch(size: settings.batch, length: config.context, seed: settings.seed ^ 0x2007_E5, step: step)
            model.mixture = router.mixture
            let ce = Double(try model.forward(tokens: batch.inputs, targets: batch.targets, batch: batch.size))
            model.backward()        // the base model's parameter gradients are computed and ignored
            let excess = router.meanBigProbability - settings.budget
            loss = ce + settings.alpha * excess * excess
            router.backward(mixtureGradients: model.mixtureGradients, bigGradient: Float(2 * settings.alpha * excess / tokensPerStep))
            optimizer.update(router.parameters, learningRate: Float(settings.learningRate))
            let big = Double(router.picks.reduce(0) { $0 + $1.filter { $0 == .big }.count }) / tokensPerStep
            pending += [StepMetric(name: DuoMetric.routerLoss.name, step: step, value: loss),
                        StepMetric(name: DuoMetric.routerCE.name, step: step, value: ce),
                        StepMetric(name: DuoMetric.routerTrainBigFraction.name, step: step, value: big)]
            if pending.count >= 30 || step == settings.steps - 1 { report(pending); series += pending; pending = [] }
        }
        let (metrics, routes) = try evaluate(model, router: router, batch: evaluation)
        var all = metrics
        all[DuoMetric.routerLoss.name] = .double(loss)
        all[DuoMetric.steps.name] = .int(settings.steps)
        return Result(metrics: all, series: series, router: router, routes: routes)
    }

    /// Hard routes for `batch`: a pass with one-hot weights picks argmax z layer by layer (each
    /// layer's router reads the stream the earlier choices made), then the routes run through
    /// `Transformer.routes`, which computes only the chosen branch, for the loss.
    static func evaluate(_ model: Transformer, router: Router, batch: TrainingBatch) throws(ModelError)
        -> (metrics: [String: ParameterValue], routes: DuoRoutes) {
        defer { model.mixture = nil; model.routes = nil }
        router.isHard = true
        defer { router.isHard = false }
        model.mixture = router.mixture
        _ = try model.forward(tokens: batch.inputs, targets: batch.targets, batch: batch.size)
        let routes = router.routes
        model.mixture = nil
        model.routes = routes
        let loss = try model.forward(tokens: batch.inputs, targets: batch.targets, batch: batch.size)
        let n = Double(routes.tokens), layers = routes.layers
        func fraction(_ route: DuoRoute) -> Double { Double(routes.choices.filter { $0 == route }.count) / (n * Double(layers)) }
        var metrics: [String: ParameterValue] = [
            DuoMetric.router.name: .double(exp(Double(loss))),
            DuoMetric.routerBigFraction.name: .double(fraction(.big)),
        ]
        if router.choices == 3 { metrics[DuoMetric.routerSkipFraction.name] = .double(fraction(.skip)) }
        for l in 0..<layers {
            let big = stride(from: l, to: routes.choices.count, by: layers).filter { routes.choices[$0] == .big }.count
            metrics[DuoMetric.routerLayerUsage.instance(l)] = .double(Double(big) / n)
        }
        return (metrics, routes)
    }
}
