import Foundation
import Models
import ProcessTestSupport
import Testing

/// Route letters, stage-1 random routing, route validation, and resumable training with routing.
@Suite struct DuoRoutingTests {
    @Test func routeLettersParseAndUnknownLettersAreNamed() throws {
        #expect(try DuoRoute.parse("BSK") == [.big, .small, .skip])
        #expect(try DuoRoute.parse("bsk") == [.big, .small, .skip])
        let routes = try DuoRoutes(text: ["BSK", "KKB"])
        #expect(routes.tokens == 2 && routes.layers == 3 && routes.text(token: 1) == "KKB")
        #expect { try DuoRoute.parse("BXS") } throws: { "\($0)".contains("letter 1 is 'X'") && "\($0)".contains("B (big FFN)") }
        #expect { try DuoRoutes(text: ["BS", "BSB"]) } throws: { "\($0)".contains("token 1 has 3 letters") }
        #expect { try DuoRoutes(text: []) } throws: { "\($0)".contains("at least one token") }
        #expect(try DuoRoutes(layers: 3, bytes: routes.bytes) == routes)
        #expect { try DuoRoutes(layers: 3, bytes: [0, 1, 2, 0, 3, 1]) } throws: { "\($0)".contains("byte 4 (token 1, layer 1) is 3") }
        #expect { try DuoRoutes(layers: 4, bytes: [0, 1, 2]) } throws: { "\($0)".contains("not a whole number of tokens") }
    }

    @Test func randomRoutingIsValidatedBeforeAnyWork() {
        #expect { try RandomRouting(pBig: 1.5, seed: 0) } throws: { "\($0)".contains("p_big must be in [0, 1] (got 1.5)") }
        #expect { try RandomRouting(pBig: -0.1, seed: 0) } throws: { "\($0)".contains("p_big") }
        #expect { try RandomRouting(pBig: .nan, seed: 0) } throws: { "\($0)".contains("p_big") }
        #expect { try RandomRouting(pBig: 0.5, pSkip: 2, seed: 0) } throws: { "\($0)".contains("p_skip must be in [0, 1]") }
        #expect { try RandomRouting(pBig: 0.7, pSkip: 0.4, seed: 0) } throws: { "\($0)".contains("p_big + p_skip must be at most 1") }
        #expect((try? RandomRouting(pBig: 0.75, pSkip: 0.25, seed: 0)) != nil)
    }

    /// Routes depend only on (seed, step); frequencies follow p_big and p_skip; the extremes are exact.
    @Test func randomRoutesAreSeededPerStepWithTheRightFrequencies() throws {
        let routing = try RandomRouting(pBig: 0.5, pSkip: 0.2, seed: 11)
        let a = routing.routes(tokens: 2000, layers: 5, step: 3)
        #expect(a == routing.routes(tokens: 2000, layers: 5, step: 3))
        #expect(a != routing.routes(tokens: 2000, layers: 5, step: 4))
        #expect(a != (try RandomRouting(pBig: 0.5, pSkip: 0.2, seed: 12)).routes(tokens: 2000, layers: 5, step: 3))
        let total = Double(a.choices.count)
        // 10,000 draws: a binomial frequency's standard deviation is ≤ 0.005, so 0.02 is 4σ.
        #expect(abs(Double(a.choices.filter { $0 == .big }.count) / total - 0.5) < 0.02)
        #expect(abs(Double(a.choices.filter { $0 == .skip }.count) / total - 0.2) < 0.02)
        #expect(try RandomRouting(pBig: 1, seed: 1).routes(tokens: 100, layers: 3, step: 0).choices.allSatisfy { $0 == .big })
        #expect(try RandomRouting(pBig: 0, seed: 1).routes(tokens: 100, layers: 3, step: 0).choices.allSatisfy { $0 == .small })
        #expect(try RandomRouting(seed: 1).routes(tokens: 100, layers: 3, step: 0).choices.allSatisfy { $0 != .skip })
    }

    @Test func badRoutesAndDuoConfigurationsAreClearErrors() throws {
        var config = DuoGradientTests.config(.relu)
        let model = try TransformerFixture.model(config)
        let (tokens, targets) = TransformerFixture.inputs(config)
        model.routes = DuoRoutes(uniform: [.big, .big], tokens: 21)
        #expect { try model.forward(tokens: tokens, targets: targets, batch: 3) } throws: { "\($0)".contains("the model has 3 layers") }
        model.routes = DuoRoutes(uniform: [.big, .big, .big], tokens: 20)
        #expect { try model.forward(tokens: tokens, targets: targets, batch: 3) } throws: { "\($0)".contains("batch has 21") }
        let plain = try TransformerFixture.model(TransformerFixture.config(layers: [.init()]))
        plain.routes = DuoRoutes(uniform: [.big], tokens: 21)
        #expect { try plain.forward(tokens: tokens, targets: targets, batch: 3) } throws: { "\($0)".contains("no layer of this model is a duo layer") }
        config.layers[1] = .init(attention: .softmax, ffn: .linear, duo: true)
        #expect { try config.validate() } throws: { "\($0)".contains("layer 1 is a duo layer but its ffn is linear") }
    }

    /// A configuration without duo layers encodes as before (no `duo` key), so existing checkpoints
    /// and training descriptions are unchanged; a duo layer round-trips.
    @Test func configurationsWithoutDuoLayersEncodeAsBefore() throws {
        let plain = ModelConfig(vocabulary: 5, context: 3, layers: 2, dModel: 4, heads: 2)
        let json = String(decoding: try JSONEncoder().encode(plain), as: UTF8.self)
        #expect(!json.contains("duo"))
        var duo = plain
        duo.layers[1].duo = true
        let decoded = try JSONDecoder().decode(ModelConfig.self, from: try JSONEncoder().encode(duo))
        #expect(decoded == duo && decoded.layers[1].duo && !decoded.layers[0].duo && decoded != plain)
    }

    /// Training with random routing, checkpointed after 2 steps and resumed for 2 more, ends with the
    /// same parameters bit for bit as 4 steps in one go.
    @Test func trainingWithRandomRoutingResumesBitIdentically() throws {
        let scratch = try TemporaryDirectory()
        let corpus = try CharacterCorpus(text: String(repeating: "the duo model routes each token. ", count: 40), source: "test text")
        var model = ModelConfig(vocabulary: corpus.vocabulary, context: 16, layers: 2, dModel: 16, heads: 2)
        for l in 0..<2 { model.layers[l].duo = true }
        let task = try CharacterCorpusTask(corpus: corpus, context: 16)
        let settings = TrainingConfig(model: model, schedule: .constant(3e-3), steps: 4, batch: 4, evaluateEvery: 2, evaluationBatch: 4)
        let routing = try RandomRouting(pBig: 0.5, pSkip: 0.25, seed: 9)
        func trainer() throws -> Trainer {
            let trainer = try Trainer(config: settings, model: try Transformer(config: model, seed: 1, maxBatch: 4, threads: 2), task: task)
            trainer.routing = routing
            return trainer
        }
        let whole = try trainer()
        try whole.run { _ in }
        let first = try trainer()
        try first.trainStep(); try first.trainStep()
        let counts = try #require(first.model as? Transformer).duoRowCounts
        #expect(counts.allSatisfy { $0.big > 0 && $0.small > 0 && $0.skip > 0 }, "the routing reached the model: \(counts)")
        try first.checkpoint(to: scratch.url.appendingPathComponent("ckpt"))
        let resumed = try trainer()
        try resumed.resume(from: scratch.url.appendingPathComponent("ckpt"))
        try resumed.run { _ in }
        #expect(resumed.step == 4)
        #expect(CheckpointTests.bits(resumed.model.parameters) == CheckpointTests.bits(whole.model.parameters))
        #expect(CheckpointTests.bits(first.model.parameters) != CheckpointTests.bits(whole.model.parameters))

        // A finished checkpoint resumed trains no more but is measured once, at its last step,
        // with the same evaluation loss as the run that wrote it.
        try resumed.checkpoint(to: scratch.url.appendingPathComponent("done"))
        let finished = try trainer()
        try finished.resume(from: scratch.url.appendingPathComponent("done"))
        var measured: [Trainer.Measurement] = []
        try finished.run { measured.append($0) }
        #expect(measured.map(\.step) == [4] && finished.step == 4)
        #expect(measured.first?.values[TrainingMetric.evalLoss.name] == (try resumed.evaluate())[TrainingMetric.evalLoss.name])
        #expect(CheckpointTests.bits(finished.model.parameters) == CheckpointTests.bits(whole.model.parameters))
    }

    /// Stage-1 training learns both FFNs: after 150 steps with p_big = 0.5 on a repeated sentence,
    /// the all-big and the all-small routes both predict far better than at the start; the
    /// trainer's evaluation runs all big.
    @Test func stageOneTrainingTeachesBothModules() throws {
        let corpus = try CharacterCorpus(text: String(repeating: "big or small, each token takes a route. ", count: 30), source: "test text")
        var model = ModelConfig(vocabulary: corpus.vocabulary, context: 24, layers: 2, dModel: 32, heads: 2)
        for l in 0..<2 { model.layers[l].duo = true }
        let task = try CharacterCorpusTask(corpus: corpus, context: 24)
        let settings = TrainingConfig(model: model, schedule: .constant(1e-2), steps: 150, batch: 8, evaluateEvery: 150, evaluationBatch: 8)
        let transformer = try Transformer(config: model, seed: 2, maxBatch: 8, threads: 2)
        let trainer = try Trainer(config: settings, model: transformer, task: task)
        trainer.routing = try RandomRouting(seed: 3)
        let batch = task.trainingBatch(size: 8, length: 24, seed: 99, step: 0)
        func loss(_ route: DuoRoute) throws -> Float {
            transformer.routes = DuoRoutes(uniform: [route, route], tokens: 8 * 24)
            return try transformer.forward(tokens: batch.inputs, targets: batch.targets, batch: 8)
        }
        let before = (big: try loss(.big), small: try loss(.small))
        var measured: [Double] = []
        try trainer.run { measured.append($0.values[TrainingMetric.evalLoss.name] ?? .nan) }
        #expect(transformer.routes == nil, "evaluation runs the all-big route")
        let after = (big: try loss(.big), small: try loss(.small))
        #expect(after.big < 0.3 * before.big && after.small < 0.3 * before.small, "big \(before.big) → \(after.big), small \(before.small) → \(after.small)")
        #expect(measured.count == 2 && measured[1] < measured[0])
    }
}
