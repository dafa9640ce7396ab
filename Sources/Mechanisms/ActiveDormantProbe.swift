import Models
import TensorCore

/// The active-dormant probes of a model on a batch, named so reports and exports agree:
/// `L<ℓ>.H<h>.attn_sink`, `…attn_prev`, `…sink_logit_margin`, `…value_drain` (‖W_O v_BOS‖) with
/// `…value_others` (the mean over other positions), and `L<ℓ>.bos_residual_norm` with
/// `L<ℓ>.residual_norm_others`.
public enum ActiveDormantProbe {
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
                        values["L\(layer).H\(h).attn_sink"] = sink[h]
                        values["L\(layer).H\(h).attn_prev"] = previous[h]
                    }
                }
            }
            if let scores = capture.scores {
                scores.storage.withUnsafeBufferPointer { s in
                    let margin = HeadMetrics.sinkLogitMargin(scores: s.baseAddress!, shape: shape, isTrigger: isTrigger)
                    for h in 0..<config.heads { values["L\(layer).H\(h).sink_logit_margin"] = margin[h] }
                }
            }
            if let outputs = capture.valueOutputs {
                outputs.storage.withUnsafeBufferPointer { o in
                    let drain = HeadMetrics.valueDrain(valueOutputs: o.baseAddress!, shape: shape, width: config.dModel)
                    for h in 0..<config.heads {
                        values["L\(layer).H\(h).value_drain"] = drain[h].bos
                        values["L\(layer).H\(h).value_others"] = drain[h].others
                    }
                }
            }
            if let residual = capture.residualAfterFFN {
                residual.storage.withUnsafeBufferPointer { r in
                    let norms = HeadMetrics.residualNorm(residual: r.baseAddress!, batch: batch.size, length: batch.length, width: config.dModel)
                    values["L\(layer).bos_residual_norm"] = norms.bos
                    values["L\(layer).residual_norm_others"] = norms.others
                }
            }
        }
        return values
    }
}
