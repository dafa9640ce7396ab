import Models

/// The interventions of the active-dormant study, each measured as the change in both risks on
/// the evaluation batch: zero each head; remove each layer's FFN; remove each layer; zero the
/// BOS value and the BOS residual of each layer; with the task's triggers, force clean attention
/// in each layer (every head: trigger queries on the previous token, the others on BOS).
public enum InterventionStudy {
    /// One intervention's effect.
    public struct Effect: Sendable, Equatable {
        public var name: String
        public var backcopyRisk: Double, bigramRisk: Double
        /// Risk with the intervention minus the risk without it.
        public var deltaBackcopy: Double, deltaBigram: Double
        /// Everything `evaluate` returned under the intervention (risks, and the probes when the
        /// trainer has them, e.g. a later layer's `attn_sink` with layer 0 removed).
        public var measurements: [String: Double] = [:]
    }

    /// Runs every intervention on `model`, measuring with `evaluate` (which returns at least
    /// `backcopy_risk` and `bigram_risk`, e.g. `Trainer.evaluate`). The model's interventions are
    /// restored afterwards.
    public static func run(_ model: Transformer, triggers: Set<Int32>? = nil,
                           evaluate: () throws -> [String: Double]) throws
        -> (base: [String: Double], effects: [Effect]) {
        let saved = model.interventions
        defer { model.interventions = saved }
        model.interventions = Interventions()
        let base = try evaluate()
        let config = model.config
        var cases: [(String, Interventions)] = []
        for layer in 0..<config.depth {
            if config.layers[layer].attention != .none {
                for head in 0..<config.heads {
                    var edit = Interventions()
                    edit.zeroedHeads = [.init(layer: layer, head: head)]
                    cases.append(("zero_L\(layer)H\(head)", edit))
                }
                var value = Interventions()
                value.zeroedFirstValues = [layer]
                cases.append(("zero_bos_value_L\(layer)", value))
                if let triggers {
                    var clean = Interventions()
                    for head in 0..<config.heads {
                        clean.forcedAttention[.init(layer: layer, head: head)] = .clean(triggers: triggers)
                    }
                    cases.append(("clean_attention_L\(layer)", clean))
                }
            }
            if config.layers[layer].ffn != .none {
                var ffn = Interventions()
                ffn.removedFFNs = [layer]
                cases.append(("remove_ffn_L\(layer)", ffn))
            }
            var removed = Interventions()
            removed.removedLayers = [layer]
            cases.append(("remove_layer_L\(layer)", removed))
            var residual = Interventions()
            residual.zeroedFirstResiduals = [layer]
            cases.append(("zero_bos_residual_L\(layer)", residual))
        }
        var effects: [Effect] = []
        for (name, edit) in cases {
            model.interventions = edit
            let risks = try evaluate()
            let backcopy = risks[TrainingMetric.backcopyRisk.name] ?? .nan, bigram = risks[TrainingMetric.bigramRisk.name] ?? .nan
            effects.append(Effect(name: name, backcopyRisk: backcopy, bigramRisk: bigram,
                                  deltaBackcopy: backcopy - (base[TrainingMetric.backcopyRisk.name] ?? .nan),
                                  deltaBigram: bigram - (base[TrainingMetric.bigramRisk.name] ?? .nan), measurements: risks))
        }
        return (base, effects)
    }

    /// For a `remove_layer_L<ℓ>` effect, the sink and residual probes of the layers after ℓ under
    /// the removal (`L<m>.H<h>.attn_sink`, `L<m>.bos_residual_norm`, `L<m>.residual_norm_others`,
    /// m > ℓ): whether a later layer's sink survives without layer ℓ. Empty for other effects.
    public static func laterLayerProbes(of effect: Effect) -> [String: Double] {
        let prefix = "remove_layer_L"
        guard effect.name.hasPrefix(prefix), let removed = Int(effect.name.dropFirst(prefix.count)) else { return [:] }
        return effect.measurements.filter { key, _ in
            guard key.hasPrefix("L"), let layer = Int(key.dropFirst().prefix { $0.isNumber }), layer > removed else { return false }
            let kept = [ActiveDormantProbe.attentionSink, ActiveDormantProbe.bosResidualNorm, ActiveDormantProbe.residualNormOthers]
            return kept.contains { key.hasSuffix("." + $0.leaf) }
        }
    }
}
