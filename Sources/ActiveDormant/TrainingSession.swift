import Foundation
import Mechanisms
import Models

/// A model, its task and its trainer, built from `train.bb` parameters; resumed from the
/// checkpoint directory when one is there. `loom train` and the `train.bb` kind both run one.
public struct TrainingSession {
    public let config: TrainingConfig
    public let task: BigramBackcopyTask
    /// Whether the probes run at each evaluation and the analysis after training.
    public let probes: Bool
    public let trainer: Trainer
    /// The model the trainer trains (the same object), typed, for the probes and the analysis.
    public let model: Transformer
    public let checkpoints: URL?
    /// The step the run resumed from (0: a fresh start).
    public let resumedFrom: Int

    public init(_ params: TrainParameters) throws {
        let data = params.data
        let statistics: BigramBackcopyStatistics
        if data.isEmpty {
            statistics = try BigramBackcopyStatistics.load()
        } else if data.hasSuffix(".json") {
            statistics = try BigramBackcopyStatistics.load(from: data)
        } else {
            statistics = try BigramBackcopyStatistics(corpusAt: data)
        }
        task = BigramBackcopyTask(statistics: statistics)
        probes = params.probes
        config = try TrainKind.configuration(params, vocabulary: statistics.count)
        let threads = params.threads
        let model = try Transformer(config: config.model, seed: config.seed, maxBatch: max(config.batch, config.evaluationBatch),
                                    threads: threads)
        self.model = model
        trainer = try Trainer(config: config, model: model, task: task)
        if probes {
            // The trainer's model is this one; the probe reads it typed instead of casting back.
            trainer.probe = { _, batch in try ActiveDormantProbe.measure(model, batch: batch) }
        }
        let directory = params.checkpointDir
        checkpoints = directory.isEmpty ? nil : URL(fileURLWithPath: directory)
        if let checkpoints, FileManager.default.fileExists(atPath: checkpoints.appendingPathComponent("checkpoint.json").path) {
            try trainer.resume(from: checkpoints)
        }
        resumedFrom = trainer.step
    }
}

/// What a trained model shows after training: which tokens each head is active on, and each
/// intervention's change in both risks. `loom train` prints it; the `train.bb` kind stores it.
public struct TrainingAnalysis {
    /// The tokens each head is active on (by head name).
    public let active: [String: Set<Int>]
    /// Each intervention's effect on the evaluation batch.
    public let effects: [InterventionStudy.Effect]

    /// Classifies the heads and runs the interventions on `session`'s model.
    public init(_ session: TrainingSession) throws {
        (active, _) = try ActiveDormantClassifier.classify(session.model, task: session.task)
        (_, effects) = try InterventionStudy.run(session.model, triggers: Set(session.task.triggers.map { Int32($0) }),
                                                 evaluate: session.trainer.evaluate)
    }
}
