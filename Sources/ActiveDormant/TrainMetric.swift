import Mechanisms
import Models
import Tasks

/// The metrics `train.bb` reports, declared once: the training curves, the active-dormant probes
/// per layer and head, which tokens each head is active on, and each intervention's effect.
public enum TrainMetric {
    public static let activeTokens = MetricSpec("L*.H*.active_tokens", "tokens the head is active on")
    /// 1 when the head is active on exactly the trigger tokens.
    public static let activeAreTriggers = MetricSpec("L*.H*.active_are_triggers", "active on exactly the triggers")
    public static let active = MetricSpec("L*.H*.active", "the tokens the head is active on")
    public static let deltaBackcopy = MetricSpec("intervention.*.delta_backcopy", "change in back-copy risk", unit: "nats")
    public static let deltaBigram = MetricSpec("intervention.*.delta_bigram", "change in bigram risk", unit: "nats")
    public static let steps = MetricSpec("steps", "steps trained")
    public static let parameters = MetricSpec("parameters", "model parameters")
    public static let resumedFrom = MetricSpec("resumed_from", "step resumed from")

    /// Probes of the layers after a removed one, under the removal (`intervention.remove_layer_L0.L1.H0.attn_sink`).
    static let laterLayerProbes = [ActiveDormantProbe.attentionSink, ActiveDormantProbe.bosResidualNorm,
                                   ActiveDormantProbe.residualNormOthers].map { probe in
        MetricSpec("intervention.*." + probe.name, probe.label + " after the intervention", unit: probe.unit)
    }

    public static let all: [MetricSpec] = TrainingMetric.all + ActiveDormantProbe.metrics
        + [activeTokens, activeAreTriggers, active, deltaBackcopy, deltaBigram, steps, parameters, resumedFrom]
        + laterLayerProbes
}
