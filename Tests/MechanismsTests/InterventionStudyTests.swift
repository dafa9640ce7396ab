import Mechanisms
import Models
import Testing

/// What the study measures under `remove_layer_L<ℓ>` beyond the risks: the later layers' sinks and
/// residual norms, which must be those of the same model built without layer ℓ.
@Suite struct InterventionStudyTests {
    static let task = try! BigramBackcopyTask(statistics: BigramBackcopyStatistics.load())

    static func trainer(_ model: ModelConfig, seed: UInt64) throws -> Trainer {
        let config = TrainingConfig(model: model, optimizer: .adamw(beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0),
                                    schedule: .constant(1e-3), steps: 1, batch: 4, seed: seed, dataSeed: 3,
                                    evaluateEvery: 1, evaluationBatch: 6)
        let trainer = try Trainer(config: config, model: try Transformer(config: model, seed: seed, maxBatch: 6), task: task)
        trainer.probe = { model, batch in try ActiveDormantProbe.measure(model as! Transformer, batch: batch) }
        return trainer
    }

    @Test func removingLayerZeroMeasuresTheLaterLayersAsIfItWereAbsent() throws {
        let full = ModelConfig(vocabulary: Self.task.vocabulary, context: 24, layers: 3, dModel: 16, heads: 2)
        let study = try Self.trainer(full, seed: 5)
        let model = study.model as! Transformer
        let (base, effects) = try InterventionStudy.run(model, evaluate: study.evaluate)
        let removed = try #require(effects.first { $0.name == "remove_layer_L0" })
        let probes = InterventionStudy.laterLayerProbes(of: removed)

        // The same parameters in a model whose layer 0 has neither attention nor FFN.
        var without = full
        without.layers[0] = .init(attention: .none, ffn: .none)
        let reference = try Self.trainer(without, seed: 5)
        let referenceModel = reference.model as! Transformer
        for entry in referenceModel.parameters.entries {
            referenceModel.parameters.value(entry.name).update(from: model.parameters.value(entry.name), count: entry.count)
        }
        let expected = try reference.evaluate()

        let names = ["L1.H0.attn_sink", "L1.H1.attn_sink", "L2.H0.attn_sink", "L2.H1.attn_sink",
                     "L1.bos_residual_norm", "L1.residual_norm_others", "L2.bos_residual_norm"]
        for name in names {
            let value = try #require(probes[name], "\(name) missing from \(probes.keys.sorted())")
            let want = try #require(expected[name])
            // The same float32 computation: equal to rounding (order 1e-7).
            #expect(abs(value - want) <= 1e-5 * max(1, abs(want)), "\(name): \(value) against \(want)")
        }
        // Only the layers after the removed one, and only sinks and residual norms.
        #expect(probes.keys.allSatisfy { !$0.hasPrefix("L0.") && !$0.contains("attn_prev") })
        #expect(abs(probes["L1.H0.attn_sink"]! - base["L1.H0.attn_sink"]!) > 1e-6, "removing layer 0 changed nothing in layer 1")
        // Other interventions carry no later-layer probes.
        #expect(InterventionStudy.laterLayerProbes(of: effects.first { $0.name == "zero_L0H0" }!).isEmpty)
        #expect(InterventionStudy.laterLayerProbes(of: effects.first { $0.name == "remove_layer_L2" }!).isEmpty)
    }
}
