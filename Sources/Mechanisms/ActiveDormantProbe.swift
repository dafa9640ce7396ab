import Models
import Tasks
import TensorCore

/// The active-dormant probes of a model on a batch, named so reports and exports agree:
/// `L<ℓ>.H<h>.attn_sink`, `…attn_prev`, `…sink_logit_margin`, `…value_drain` (‖W_O v_BOS‖) with
/// `…value_others` (the mean over other positions), and `L<ℓ>.bos_residual_norm` with
/// `L<ℓ>.residual_norm_others`.
public enum ActiveDormantProbe {
    /// Per head, mean attention on BOS over non-trigger queries.
    public static let attentionSink = MetricSpec("L*.H*.attn_sink", "attention on BOS", stepped: true)
    /// Per head, mean attention on the previous token.
    public static let attentionPrevious = MetricSpec("L*.H*.attn_prev", "attention on the previous token", stepped: true)
    /// Per head, BOS's score above the best other key's.
    public static let sinkLogitMargin = MetricSpec("L*.H*.sink_logit_margin", "sink logit margin", unit: "nats", stepped: true)
    public static let valueDrain = MetricSpec("L*.H*.value_drain", "‖W_O v_BOS‖", stepped: true)
    public static let valueOthers = MetricSpec("L*.H*.value_others", "mean ‖W_O v‖ of other positions", stepped: true)
    public static let bosResidualNorm = MetricSpec("L*.bos_residual_norm", "BOS residual norm", stepped: true)
    public static let residualNormOthers = MetricSpec("L*.residual_norm_others", "residual norm of other positions", stepped: true)

    public static let metrics = [attentionSink, attentionPrevious, sinkLogitMargin, valueDrain, valueOthers, bosResidualNorm,
                                 residualNormOthers]

    /// Measures `model` on `batch` (classes: 1 where the target is a back-copy, i.e. the input is
    /// a trigger). The model's hooks are restored afterwards; its parameters are not touched.
    public static func measure(_ model: Transformer, batch: TrainingBatch) throws(ModelError) -> [String: Double] {
        let saved = model.hooks
        defer { model.hooks = saved }
        var hooks = ModelHooks()
        hooks.captureScores = true
        hooks.captureWeights = true
        hooks.captureValueOutputs = true
        hooks.captureResiduals = true
        model.hooks = hooks
        _ = try model.forward(tokens: batch.inputs, targets: batch.targets, batch: batch.size, positionLosses: nil)
        let isTrigger = batch.classes.map { $0 == 1 }
        let config = model.config
        let shape = HeadMetrics.Shape(batch: batch.size, heads: config.heads, length: batch.length)
        var values: [String: Double] = [:]
        for layer in 0..<config.depth {
            guard let capture = model.hooks.captured[layer] else { continue }
            if let weights = capture.weights {
                weights.storage.withUnsafeBufferPointer { w in
                    let sink = HeadMetrics.attentionSink(weights: w.baseAddress!, shape: shape, isTrigger: isTrigger)
                    let previous = HeadMetrics.attentionPrevious(weights: w.baseAddress!, shape: shape, isTrigger: isTrigger)
                    for h in 0..<config.heads {
                        values[attentionSink.instance(layer, h)] = sink[h]
                        values[attentionPrevious.instance(layer, h)] = previous[h]
                    }
                }
            }
            if let scores = capture.scores {
                scores.storage.withUnsafeBufferPointer { s in
                    let margin = HeadMetrics.sinkLogitMargin(scores: s.baseAddress!, shape: shape, isTrigger: isTrigger)
                    for h in 0..<config.heads { values[sinkLogitMargin.instance(layer, h)] = margin[h] }
                }
            }
            if let outputs = capture.valueOutputs {
                outputs.storage.withUnsafeBufferPointer { o in
                    let drain = HeadMetrics.valueDrain(valueOutputs: o.baseAddress!, shape: shape, width: config.dModel)
                    for h in 0..<config.heads {
                        values[valueDrain.instance(layer, h)] = drain[h].bos
                        values[valueOthers.instance(layer, h)] = drain[h].others
                    }
                }
            }
            if let residual = capture.residualAfterFFN {
                residual.storage.withUnsafeBufferPointer { r in
                    let norms = HeadMetrics.residualNorm(residual: r.baseAddress!, batch: batch.size, length: batch.length, width: config.dModel)
                    values[bosResidualNorm.instance(layer)] = norms.bos
                    values[residualNormOthers.instance(layer)] = norms.others
                }
            }
        }
        return values
    }
}
