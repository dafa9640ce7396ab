import Mechanisms
import Models
import Testing

/// The paper's claims that emerge in short runs, asserted on real training (1 layer, d = 64,
/// context 64, batch 32, AdamW lr 3e-3, β2 0.99, weight decay 1e-4). The longer reproductions are
/// the experiment files in experiments/active-dormant/.
@Suite(.serialized) struct ClaimsTests {
    static let task = try! BigramBackcopyTask(statistics: BigramBackcopyStatistics.load())

    static func train(steps: Int, attention: ModelConfig.AttentionKind = .softmax, ffn: ModelConfig.FFNKind = .mlp,
                      probes: Bool) throws -> (trainer: Trainer, curve: [Trainer.Measurement]) {
        let model = ModelConfig(vocabulary: task.vocabulary, context: 64, layers: 1, dModel: 64, heads: 1,
                                attention: attention, ffn: ffn)
        let config = TrainingConfig(model: model, optimizer: .adamw(beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 1e-4),
                                    schedule: .constant(3e-3), steps: steps, batch: 32, seed: 0, dataSeed: 1, clipNorm: 1,
                                    evaluateEvery: 100, evaluationBatch: 64)
        let trainer = try Trainer(config: config, model: try Transformer(config: model, seed: 0, maxBatch: 64), task: task)
        if probes { trainer.probe = { model, batch in try ActiveDormantProbe.measure(model as! Transformer, batch: batch) } }
        var curve: [Trainer.Measurement] = []
        try trainer.run { curve.append($0) }
        return (trainer, curve)
    }

    /// Claims 1 and 2: the sink forms on BOS for non-triggers while triggers attend to the
    /// previous token; exactly the triggers are active; the backcopy risk collapses while the
    /// sink is rising.
    @Test func oneLayerAdamFormsTheSinkAndActivatesExactlyTheTriggers() throws {
        let (trainer, curve) = try Self.train(steps: 1200, probes: true)
        let sink = curve.map { $0.values["L0.H0.attn_sink"]! }, previous = curve.map { $0.values["L0.H0.attn_prev"]! }
        let backcopy = curve.map { $0.values["backcopy_risk"]! }
        #expect(sink[0] < 0.1, "no sink at initialisation: \(sink[0])")
        #expect(sink.last! > 0.7 && previous.last! > 0.8, "sink \(sink.last!), previous \(previous.last!)")
        let (active, _) = try ActiveDormantClassifier.classify(trainer.model as! Transformer, task: Self.task)
        #expect(active["L0.H0"] == Set(Self.task.triggers), "active on \(active["L0.H0"] ?? [])")
        // The collapse: the first measurement with the backcopy risk below 0.1 finds the sink
        // already rising (at least three times its start) but not yet formed.
        let collapse = try #require(backcopy.firstIndex { $0 < 0.1 }, "the backcopy risk never fell below 0.1: \(backcopy)")
        #expect(sink[collapse] >= 3 * sink[0] && sink[collapse] < sink.last!, "sink \(sink) at collapse step \(curve[collapse].step)")

        // Claim 6, on the trained model: zeroing the head destroys only the backcopy risk (the
        // head is dormant on everything else); removing the FFN destroys the bigram risk.
        let (base, effects) = try InterventionStudy.run(trainer.model as! Transformer, evaluate: trainer.evaluate)
        let effect = Dictionary(uniqueKeysWithValues: effects.map { ($0.name, $0) })
        let head = try #require(effect["zero_L0H0"]), ffn = try #require(effect["remove_ffn_L0"])
        print("claims: base \(base["backcopy_risk"]!) \(base["bigram_risk"]!); zero head \(head); remove FFN \(ffn)")
        #expect(head.deltaBackcopy > 1 && abs(head.deltaBigram) < 0.1, "\(head)")
        #expect(ffn.deltaBigram > 0.5, "\(ffn)")
    }
}
