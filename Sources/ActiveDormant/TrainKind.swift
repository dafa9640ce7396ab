import Cluster
import Foundation
import Mechanisms
import Models
import Tasks

/// `train.bb`: trains a small transformer on the Bigram-Backcopy task and reports its curves.
/// `loom train` runs the same kind in process; experiment files sweep it on workers.
public enum TrainKind {

    /// The training configuration the parameters describe.
    /// - Throws: `ModelError.configuration` naming the bad value.
    static func configuration(_ p: TrainParameters, vocabulary: Int) throws(ModelError) -> TrainingConfig {
        func choice<T: RawRepresentable & CaseIterable>(_ name: String, _ text: String, _ type: T.Type) throws(ModelError) -> T
            where T.RawValue == String {
            guard let value = T(rawValue: text) else {
                throw .configuration("\(name) must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(text)')")
            }
            return value
        }
        var model = ModelConfig(vocabulary: vocabulary, context: p.context, layers: p.layers, dModel: p.dModel,
                                heads: p.heads, ffnHidden: p.ffnHidden > 0 ? p.ffnHidden : nil,
                                activation: try choice("activation", p.activation, ModelConfig.Activation.self),
                                attention: try choice("attention", p.attention, ModelConfig.AttentionKind.self),
                                ffn: try choice("ffn", p.ffn, ModelConfig.FFNKind.self))
        if p.ffnHidden < 0 { model.ffnHidden = p.ffnHidden }
        func perLayer<T: RawRepresentable & CaseIterable>(_ name: String, _ text: String, _ type: T.Type) throws(ModelError) -> [T]?
            where T.RawValue == String {
            guard !text.isEmpty else { return nil }
            let words = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard words.count == model.depth else {
                throw .configuration("\(name) '\(text)' names \(words.count) layer(s) but layers is \(model.depth); give one value per layer")
            }
            var kinds: [T] = []
            for (index, word) in words.enumerated() {
                guard let kind = T(rawValue: word) else {
                    throw .configuration("\(name): layer \(index) is '\(word)'; each must be one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                kinds.append(kind)
            }
            return kinds
        }
        if let kinds = try perLayer("layer_attention", p.layerAttention, ModelConfig.AttentionKind.self) {
            for (l, kind) in kinds.enumerated() { model.layers[l].attention = kind }
        }
        if let kinds = try perLayer("layer_ffn", p.layerFFN, ModelConfig.FFNKind.self) {
            for (l, kind) in kinds.enumerated() { model.layers[l].ffn = kind }
        }
        let optimizer = try OptimizerSettings.named(p.optimizer, beta1: Float(p.beta1), beta2: Float(p.beta2),
                                                    momentum: Float(p.momentum), weightDecay: Float(p.weightDecay))
        let schedule: LearningRateSchedule
        switch p.schedule {
        case "constant": schedule = .constant(Float(p.lr))
        case "cosine": schedule = .cosine(peak: Float(p.lr), warmup: p.warmup, total: p.steps, floor: Float(p.minLR))
        default: throw .configuration("schedule must be constant or cosine (got '\(p.schedule)')")
        }
        guard p.seed >= 0, p.dataSeed >= 0 else { throw .configuration("seeds must be ≥ 0") }
        let config = TrainingConfig(model: model, optimizer: optimizer, schedule: schedule, steps: p.steps, batch: p.batch,
                                    seed: UInt64(p.seed), dataSeed: UInt64(p.dataSeed), clipNorm: Float(p.clip),
                                    evaluateEvery: p.evaluateEvery, evaluationBatch: p.evaluationBatch,
                                    checkpointEvery: p.checkpointEvery)
        try config.validate()
        return config
    }
}

extension TrainKind {
    /// The task kind workers run (registered by `loom`; `loom train` runs the same session).
    public static var kind: TaskKind {
        TaskKind(
            name: "train.bb", summary: "trains a small transformer on the Bigram-Backcopy task; reports loss and risk curves",
            parameters: TrainParameters.self, metrics: TrainMetric.all
        ) { context, params in
            let session = try TrainingSession(params)
            var series: [StepMetric] = []
            var last: [String: Double] = [:]
            try session.trainer.run(checkpoints: session.checkpoints, shouldStop: { context.isCancelled }) { measurement in
                let points = measurement.values.map { StepMetric(name: $0.key, step: measurement.step, value: $0.value) }
                series += points
                last = measurement.values
                context.report(points, total: session.config.steps)   // the store follows the run
            }
            try context.checkCancellation()
            var metrics = last.mapValues { ParameterValue.double($0) }
            var artifacts: [String] = []
            if session.probes {
                let analysis = try TrainingAnalysis(session)
                let triggers = Set(session.task.triggers)
                // Which tokens each head is active on, at the end of training.
                for (head, tokens) in analysis.active {
                    metrics[head + "." + TrainMetric.activeTokens.leaf] = .int(tokens.count)
                    metrics[head + "." + TrainMetric.activeAreTriggers.leaf] = .int(tokens == triggers ? 1 : 0)
                    metrics[head + "." + TrainMetric.active.leaf] = .string(tokens.sorted().map { session.task.statistics.vocabulary[$0] }.joined())
                }
                // Each intervention's change in both risks on the evaluation batch.
                for effect in analysis.effects {
                    metrics[TrainMetric.deltaBackcopy.instance(effect.name)] = .double(effect.deltaBackcopy)
                    metrics[TrainMetric.deltaBigram.instance(effect.name)] = .double(effect.deltaBigram)
                    for (name, value) in InterventionStudy.laterLayerProbes(of: effect) {
                        metrics["intervention.\(effect.name).\(name)"] = .double(value)
                    }
                }
                artifacts = try TrainGraphs.write(session.model, session: session, measurements: last, active: analysis.active,
                                                  effects: analysis.effects)
            }
            metrics[TrainMetric.steps.name] = .int(session.trainer.step)
            metrics[TrainMetric.parameters.name] = .int(session.config.model.parameterCount)
            metrics[TrainMetric.resumedFrom.name] = .int(session.resumedFrom)
            return TaskOutcome(metrics: metrics, artifacts: artifacts, series: series)
        }
    }
}
