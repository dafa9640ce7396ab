import Mechanisms
import Models
import Testing

/// The classifier and the probes on a real transformer, with attention forced by intervention.
@Suite struct ActiveDormantTests {
    static func model() throws -> (Transformer, BigramBackcopyTask) {
        let task = BigramBackcopyTask(statistics: try BigramBackcopyStatistics.load())
        let config = ModelConfig(vocabulary: task.vocabulary, context: 24, layers: 2, dModel: 16, heads: 2)
        return (try Transformer(config: config, seed: 3, maxBatch: 64, threads: 1), task)
    }

    @Test func aHeadForcedOntoBOSIsDormantEverywhereAndOneForcedBackIsActive() throws {
        let (model, task) = try Self.model()
        model.interventions.forcedAttention[.init(layer: 0, head: 0)] = .firstToken
        model.interventions.forcedAttention[.init(layer: 0, head: 1)] = .previousToken
        let result = try ActiveDormantClassifier.classify(model, task: task, contexts: 3, contextLength: 8)
        #expect(result.active["L0.H0"] == [], "a head that always sinks is dormant on every token")
        #expect(result.active["L0.H1"]?.count == task.vocabulary - 2, "a head that never looks at BOS is active on every token")
        #expect(result.bosAttention["L0.H0"]?[5] == 1 && result.bosAttention["L0.H1"]?[5] == 0)
        #expect(result.active.keys.sorted() == ["L0.H0", "L0.H1", "L1.H0", "L1.H1"])
    }

    @Test func probesReadTheForcedPatterns() throws {
        let (model, task) = try Self.model()
        model.interventions.forcedAttention[.init(layer: 1, head: 0)] = .firstToken
        model.interventions.forcedAttention[.init(layer: 1, head: 1)] = .previousToken
        let batch = task.trainingBatch(size: 4, length: 24, seed: 1, step: 0)
        let values = try ActiveDormantProbe.measure(model, batch: batch)
        #expect(values["L1.H0.attn_sink"] == 1 && values["L1.H0.attn_prev"] == 0)
        // Query 1's previous token is BOS itself: only it counts towards the sink.
        #expect((values["L1.H1.attn_sink"] ?? 1) < 0.1 && values["L1.H1.attn_prev"] == 1)
        let unforced = try #require(values["L0.H0.attn_sink"])
        #expect(unforced > 0 && unforced < 1, "an untrained head spreads its attention")
        #expect(values["L0.bos_residual_norm"] != nil && values["L1.H0.value_drain"] != nil && values["L0.H1.sink_logit_margin"] != nil)
        #expect(!model.hooks.isEnabled, "the probe leaves the hooks as it found them")
    }
}
