import Cluster
import Foundation
import Mechanisms
import Models
import Tasks

/// `train.bb`: trains a small transformer on the Bigram-Backcopy task and reports its curves.
/// `loom train` runs the same kind in process; experiment files sweep it on workers.
enum TrainKind {
    static let parameters: [ParameterSpec] = [
        ParameterSpec("layers", .int, default: .int(1), "transformer layers"),
        ParameterSpec("d_model", .int, default: .int(64), "model width d"),
        ParameterSpec("heads", .int, default: .int(1), "attention heads (must divide d_model)"),
        ParameterSpec("context", .int, default: .int(64), "tokens per sequence (the paper: 256)"),
        ParameterSpec("ffn_hidden", .int, default: .int(0), "FFN hidden width (0: 4·d_model)"),
        ParameterSpec("attention", .string, default: .string("softmax"), "softmax, relu or none (every layer)"),
        ParameterSpec("ffn", .string, default: .string("mlp"), "mlp, linear or none (every layer)"),
        ParameterSpec("layer_attention", .string, default: .string(""),
                      "per layer, comma-separated (e.g. none,softmax,softmax); empty: 'attention' in every layer"),
        ParameterSpec("layer_ffn", .string, default: .string(""),
                      "per layer, comma-separated (e.g. mlp,mlp,none); empty: 'ffn' in every layer"),
        ParameterSpec("activation", .string, default: .string("relu"), "the FFN's relu or gelu"),
        ParameterSpec("optimizer", .string, default: .string("adamw"), "adamw, adam or sgd"),
        ParameterSpec("lr", .double, default: .double(3e-4), "learning rate (the peak with a cosine schedule)"),
        ParameterSpec("schedule", .string, default: .string("constant"), "constant or cosine"),
        ParameterSpec("warmup", .int, default: .int(0), "cosine: warm-up steps"),
        ParameterSpec("min_lr", .double, default: .double(0), "cosine: the final rate"),
        ParameterSpec("beta1", .double, default: .double(0.9), "AdamW β1"),
        ParameterSpec("beta2", .double, default: .double(0.99), "AdamW β2 (the paper: 0.99)"),
        ParameterSpec("weight_decay", .double, default: .double(1e-4), "weight decay (the paper: 1e-4)"),
        ParameterSpec("momentum", .double, default: .double(0.9), "SGD momentum"),
        ParameterSpec("clip", .double, default: .double(1), "clip the global gradient norm (0: off)"),
        ParameterSpec("steps", .int, default: .int(1000), "training steps"),
        ParameterSpec("batch", .int, default: .int(64), "sequences per step"),
        ParameterSpec("seed", .int, default: .int(0), "seed of the initial weights"),
        ParameterSpec("data_seed", .int, default: .int(1), "seed of the batches (batch k depends on it and k only)"),
        ParameterSpec("evaluate_every", .int, default: .int(100), "measure on a fixed evaluation batch every N steps"),
        ParameterSpec("evaluation_batch", .int, default: .int(64), "sequences in the evaluation batch"),
        ParameterSpec("checkpoint_dir", .string, default: .string(""), "checkpoint here and resume from it if present"),
        ParameterSpec("checkpoint_every", .int, default: .int(0), "checkpoint every N steps (a multiple of evaluate_every; 0: at the end)"),
        ParameterSpec("data", .string, default: .string(""), "task statistics: a bigram-backcopy JSON or a text corpus (default: the shipped Tiny Shakespeare statistics)"),
        ParameterSpec("threads", .int, default: .int(0), "threads (0: all cores)"),
        ParameterSpec("probes", .bool, default: .bool(true), "measure attn_sink, attn_prev, sink_logit_margin, value_drain and residual norms per layer and head at each evaluation"),
    ]

    /// The training configuration the parameters describe.
    /// - Throws: `ModelError.configuration` naming the bad value.
    static func configuration(_ params: [String: ParameterValue], vocabulary: Int) throws(ModelError) -> TrainingConfig {
        func int(_ name: String) -> Int { if case let .int(value)? = params[name] { value } else { 0 } }
        func double(_ name: String) -> Double { params[name]?.number ?? 0 }
        func string(_ name: String) -> String { params[name]?.description ?? "" }
        func choice<T: RawRepresentable & CaseIterable>(_ name: String, _ type: T.Type) throws(ModelError) -> T where T.RawValue == String {
            guard let value = T(rawValue: string(name)) else {
                throw .configuration("\(name) must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(string(name))')")
            }
            return value
        }
        var model = ModelConfig(vocabulary: vocabulary, context: int("context"), layers: int("layers"), dModel: int("d_model"),
                                heads: int("heads"), ffnHidden: int("ffn_hidden") > 0 ? int("ffn_hidden") : nil,
                                activation: try choice("activation", ModelConfig.Activation.self),
                                attention: try choice("attention", ModelConfig.AttentionKind.self),
                                ffn: try choice("ffn", ModelConfig.FFNKind.self))
        if int("ffn_hidden") < 0 { model.ffnHidden = int("ffn_hidden") }
        func perLayer<T: RawRepresentable & CaseIterable>(_ name: String, _ type: T.Type) throws(ModelError) -> [T]? where T.RawValue == String {
            let text = string(name)
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
        if let kinds = try perLayer("layer_attention", ModelConfig.AttentionKind.self) {
            for (l, kind) in kinds.enumerated() { model.layers[l].attention = kind }
        }
        if let kinds = try perLayer("layer_ffn", ModelConfig.FFNKind.self) {
            for (l, kind) in kinds.enumerated() { model.layers[l].ffn = kind }
        }
        let optimizer = try OptimizerSettings.named(string("optimizer"), beta1: Float(double("beta1")), beta2: Float(double("beta2")),
                                                    momentum: Float(double("momentum")), weightDecay: Float(double("weight_decay")))
        let schedule: LearningRateSchedule
        switch string("schedule") {
        case "constant": schedule = .constant(Float(double("lr")))
        case "cosine": schedule = .cosine(peak: Float(double("lr")), warmup: int("warmup"), total: int("steps"), floor: Float(double("min_lr")))
        default: throw .configuration("schedule must be constant or cosine (got '\(string("schedule"))')")
        }
        guard int("seed") >= 0, int("data_seed") >= 0 else { throw .configuration("seeds must be ≥ 0") }
        let config = TrainingConfig(model: model, optimizer: optimizer, schedule: schedule, steps: int("steps"), batch: int("batch"),
                                    seed: UInt64(int("seed")), dataSeed: UInt64(int("data_seed")), clipNorm: Float(double("clip")),
                                    evaluateEvery: int("evaluate_every"), evaluationBatch: int("evaluation_batch"),
                                    checkpointEvery: int("checkpoint_every"))
        try config.validate()
        return config
    }
}

extension TrainKind {
    /// The task kind workers run.
    static var kind: TaskKind {
        TaskKind(
            name: "train.bb", summary: "trains a small transformer on the Bigram-Backcopy task; reports loss and risk curves",
            parameters: parameters,
            check: { params, _ throws(ClusterError) in
                do { _ = try configuration(params, vocabulary: 67) } catch { throw .invalidTask("\(error)") }
            }
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
            if session.probes, let model = session.trainer.model as? Transformer {
                // Which tokens each head is active on, at the end of training.
                let (active, _) = try ActiveDormantClassifier.classify(model, task: session.task)
                let triggers = Set(session.task.triggers)
                for (head, tokens) in active {
                    metrics["\(head).active_tokens"] = .int(tokens.count)
                    metrics["\(head).active_are_triggers"] = .int(tokens == triggers ? 1 : 0)
                    metrics["\(head).active"] = .string(tokens.sorted().map { session.task.statistics.vocabulary[$0] }.joined())
                }
                // Each intervention's change in both risks on the evaluation batch.
                let (_, effects) = try InterventionStudy.run(model, triggers: Set(session.task.triggers.map { Int32($0) }),
                                                           evaluate: session.trainer.evaluate)
                for effect in effects {
                    metrics["intervention.\(effect.name).delta_backcopy"] = .double(effect.deltaBackcopy)
                    metrics["intervention.\(effect.name).delta_bigram"] = .double(effect.deltaBigram)
                    for (name, value) in InterventionStudy.laterLayerProbes(of: effect) {
                        metrics["intervention.\(effect.name).\(name)"] = .double(value)
                    }
                }
                artifacts = try TrainGraphs.write(model, session: session, measurements: last, active: active, effects: effects)
            }
            metrics["steps"] = .int(session.trainer.step)
            metrics["parameters"] = .int(session.config.model.parameterCount)
            metrics["resumed_from"] = .int(session.resumedFrom)
            return TaskOutcome(metrics: metrics, artifacts: artifacts, series: series)
        }
    }
}

/// A model, its task and its trainer, built from `train.bb` parameters; resumed from the
/// checkpoint directory when one is there.
struct TrainingSession {
    let config: TrainingConfig
    let task: BigramBackcopyTask
    let probes: Bool
    let trainer: Trainer
    let checkpoints: URL?
    /// The step the run resumed from (0: a fresh start).
    let resumedFrom: Int

    init(_ params: [String: ParameterValue]) throws {
        let data = params["data"]?.description ?? ""
        let statistics: BigramBackcopyStatistics
        if data.isEmpty {
            statistics = try BigramBackcopyStatistics.load()
        } else if data.hasSuffix(".json") {
            statistics = try BigramBackcopyStatistics.load(from: data)
        } else {
            statistics = try BigramBackcopyStatistics(corpusAt: data)
        }
        task = BigramBackcopyTask(statistics: statistics)
        probes = params["probes"] != .bool(false)
        config = try TrainKind.configuration(params, vocabulary: statistics.count)
        let threads = if case let .int(count)? = params["threads"] { count } else { 0 }
        let model = try ModelFactory.make(config.model, seed: config.seed, maxBatch: max(config.batch, config.evaluationBatch),
                                          threads: threads)
        trainer = try Trainer(config: config, model: model, task: task)
        if probes {
            trainer.probe = { model, batch in try ActiveDormantProbe.measure(model as! Transformer, batch: batch) }
        }
        let directory = params["checkpoint_dir"]?.description ?? ""
        checkpoints = directory.isEmpty ? nil : URL(fileURLWithPath: directory)
        if let checkpoints, FileManager.default.fileExists(atPath: checkpoints.appendingPathComponent("checkpoint.json").path) {
            try trainer.resume(from: checkpoints)
        }
        resumedFrom = trainer.step
    }
}
