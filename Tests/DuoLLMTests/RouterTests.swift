import Foundation
import Models
import ProcessTestSupport
import Tasks
import Testing
@testable import DuoLLM

/// The trained router: its gradients, its training on a tiny trained duo model, and bad settings.
@Suite struct RouterTests {
    static let text = String(repeating: "big or small, each token takes a route; the router learns which. ", count: 30)

    /// A duo model trained for `steps` stage-1 steps on `text` (every layer duo), and its task.
    static func trainedModel(layers: Int = 3, steps: Int = 60, maxBatch: Int = 8) throws -> (Transformer, CharacterCorpusTask) {
        let corpus = try CharacterCorpus(text: text, source: "test text")
        var config = ModelConfig(vocabulary: corpus.vocabulary, context: 16, layers: layers, dModel: 16, heads: 2)
        for l in 0..<layers { config.layers[l].duo = true }
        let task = try CharacterCorpusTask(corpus: corpus, context: 16)
        let model = try Transformer(config: config, seed: 2, maxBatch: maxBatch, threads: 2)
        let trainer = try Trainer(config: TrainingConfig(model: config, schedule: .constant(1e-2), steps: steps, batch: 8,
                                                         evaluateEvery: steps, evaluationBatch: 4),
                                  model: model, task: task)
        trainer.routing = try RandomRouting(seed: 3)
        try trainer.run { _ in }
        return (model, task)
    }

    /// The router's gradient of CE + α·(mean P_big − b)² against float32 central differences of
    /// the same loss through the whole model. One layer, so the detached stream path (a router's
    /// effect on later routers' inputs) does not exist and the analytic gradient is exact.
    /// Tolerance 2e-2 per tensor: float32 losses (about 1e-7 relative) differenced at h = 1e-2.
    @Test(arguments: [false, true])
    func routerGradientsMatchFiniteDifferences(skip: Bool) throws {
        let (model, task) = try Self.trainedModel(layers: 1, steps: 10)
        let router = Router(layers: 1, dModel: 16, skip: skip, seed: 5)
        for i in 0..<router.parameters.count { router.parameters.values[i] *= 20 }   // routes that differ by token
        router.temperature = 0.7
        let (alpha, budget) = (3.0, 0.2)
        let batch = task.batch(size: 4, length: 16, seed: 8, step: 0)
        model.mixture = router.mixture
        func loss() throws -> Double {
            let ce = Double(try model.forward(tokens: batch.inputs, targets: batch.targets, batch: 4))
            let excess = router.meanBigProbability - budget
            return ce + alpha * excess * excess
        }
        _ = try loss()
        model.backward()
        let excess = router.meanBigProbability - budget
        router.backward(mixtureGradients: model.mixtureGradients, bigGradient: Float(2 * alpha * excess / 64))
        for entry in router.parameters.entries {
            let analytic = (0..<entry.count).map { Double(router.parameters.gradients[entry.offset + $0]) }
            var numeric: [Double] = []
            for i in 0..<entry.count {
                let value = router.parameters.values + entry.offset + i, saved = value.pointee, h: Float = 1e-2
                value.pointee = saved + h
                let up = try loss()
                value.pointee = saved - h
                let down = try loss()
                value.pointee = saved
                numeric.append((up - down) / Double(2 * h))
            }
            let difference = zip(analytic, numeric).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
            let norm = numeric.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
            #expect(norm > 1e-4 && difference / norm <= 2e-2, "\(entry.name): ‖a − n‖ \(difference), ‖n‖ \(norm)")
        }
    }

    /// Training lowers the router loss and moves the realised big fraction toward the budget; the
    /// hard evaluation's routes give the reported perplexity when run again as fixed routes.
    @Test func trainingLowersTheLossAndMeetsTheBudget() throws {
        let (model, task) = try Self.trainedModel()
        let evaluation = OracleRun.evaluationBatch(task, size: 4, dataSeed: 1)
        let before = model.parameters.values[0]
        var settings = RouterSettings()
        (settings.budget, settings.alpha, settings.steps, settings.batch, settings.learningRate) = (0.1, 5, 80, 4, 3e-2)
        settings.skip = true
        var reported: [StepMetric] = []
        let result = try RouterTraining.run(model, task: task, evaluation: evaluation, settings: settings, report: { reported += $0 })
        #expect(reported == result.series && model.mixture == nil && model.routes == nil)
        #expect(model.parameters.values[0] == before, "the base model is frozen")
        func curve(_ name: String) -> [Double] { result.series.filter { $0.name == name }.map(\.value) }
        let loss = curve("router.loss"), big = curve("router.train_big_fraction")
        #expect(loss.count == 80 && big.count == 80)
        let first = loss.prefix(10).reduce(0, +) / 10, last = loss.suffix(10).reduce(0, +) / 10
        #expect(last < first, "router loss \(first) → \(last)")
        let realised = try #require(result.metrics["router.big_fraction"]?.number)
        #expect(abs(realised - 0.1) < abs(big[0] - 0.1) && abs(realised - 0.1) < 0.15, "big fraction \(big[0]) → \(realised)")
        #expect(result.metrics["router.skip_fraction"]?.number != nil && result.metrics["router.layer_usage.L2"]?.number != nil)

        model.routes = result.routes
        let again = try model.forward(tokens: evaluation.inputs, targets: evaluation.targets, batch: 4)
        model.routes = nil
        let ppl = try #require(result.metrics["ppl.router"]?.number)
        #expect(abs(exp(Double(again)) - ppl) <= 1e-9 * ppl, "\(exp(Double(again))) against \(ppl)")
        let catalog = MetricCatalog(DuoMetric.routerMetrics)
        let names = Array(result.metrics.keys) + result.series.map(\.name)
        #expect(names.filter { catalog.spec(for: $0) == nil }.isEmpty, "undeclared: \(names.filter { catalog.spec(for: $0) == nil })")
    }

    @Test func badSettingsAreClearErrors() throws {
        let budget = RouterParameters.declaration.first { $0.name == "budget" }!
        #expect(budget.problem(with: .double(1.5)) != nil && budget.problem(with: .double(-0.1)) != nil)
        #expect(budget.problem(with: .double(0.25)) == nil)
        for (change, words) in [({ (s: inout RouterSettings) in s.budget = 1.5 }, "budget must be in [0, 1]"),
                                ({ $0.finalTemperature = 2 }, "final_temperature ≤ temperature"),
                                ({ $0.temperature = 0 }, "must be > 0")] as [((inout RouterSettings) -> Void, String)] {
            var settings = RouterSettings()
            change(&settings)
            do { try settings.validate(); Issue.record("\(words): passed") } catch {
                #expect("\(error)".contains(words), "\(error)")
            }
        }
        let values = try RouterParameters.declaration.resolve([:], kind: "duo.router")
        #expect(throws: ParameterProblem.self) { try RouterParameters(ResolvedParameters(values)).check(gangSize: 1) }

        let scratch = try TemporaryDirectory()
        var config = ModelConfig(vocabulary: 5, context: 4, layers: 2, dModel: 8, heads: 2)
        config.layers[0].duo = true
        let model = try Transformer(config: config, seed: 0, maxBatch: 1)
        let directory = scratch.url.appendingPathComponent("half")
        try Checkpoint.save(to: directory, step: 0, config: config, parameters: model.parameters,
                            optimizer: OptimizerSettings.adamw().make(for: model.parameters))
        let given = try RouterParameters.declaration.resolve(["checkpoint": .string(directory.path)], kind: "duo.router")
        do { _ = try RouterKind.load(RouterParameters(ResolvedParameters(given))); Issue.record("a half-duo model passed") } catch {
            #expect("\(error)".contains("not all duo layers"), "\(error)")
        }
    }
}
