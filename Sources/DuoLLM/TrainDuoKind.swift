import Cluster
import Foundation
import Models
import Tasks

/// `train.duo`: stage-1 random-routing training of a duo model on a character corpus, the final
/// checkpoint as an artifact, and (unless `oracle: false`) the oracle on the trained model.
public enum TrainDuoKind {
    public static var kind: TaskKind {
        TaskKind(
            name: "train.duo", summary: "trains a Duo-LLM model (big/small/skip FFN per layer) with random routing; runs the routing oracle",
            parameters: DuoTrainParameters.self, metrics: DuoMetric.all, version: 2
        ) { context, params in
            let corpus = try OracleRun.corpus(params.corpus)
            let task = try CharacterCorpusTask(corpus: corpus, context: params.context)
            let config = try params.configuration(vocabulary: corpus.vocabulary)
            let model = try Transformer(config: config.model, seed: config.seed, maxBatch: max(config.batch, config.evaluationBatch),
                                        threads: params.threads)
            let trainer = try Trainer(config: config, model: model, task: task)
            trainer.routing = try params.routing()
            // Without a checkpoint_dir the checkpoint goes to a scratch folder, released by whoever
            // stores it, or here when the attempt fails.
            let scratch = params.checkpointDir.isEmpty ? try TaskScratch.make("duo") : nil
            var finished = false
            defer { if !finished, let scratch { try? FileManager.default.removeItem(at: scratch) } }
            let checkpoints = scratch?.appendingPathComponent("checkpoint") ?? URL(fileURLWithPath: params.checkpointDir)
            if FileManager.default.fileExists(atPath: checkpoints.appendingPathComponent("checkpoint.json").path) {
                try trainer.resume(from: checkpoints)
            }
            let resumedFrom = trainer.step
            var (series, metrics) = try trainer.runCollecting(checkpoints: checkpoints, shouldStop: { context.isCancelled }) {
                context.report($0, total: config.steps)
            }
            try context.checkCancellation()
            // The checkpoint directory is the model artifact (params/*.npy, checkpoint.json).
            var artifacts = [checkpoints.path]
            if params.oracle {
                let batch = OracleRun.evaluationBatch(task, size: config.evaluationBatch, dataSeed: config.dataSeed)
                let oracle = try OracleRun.run(model, batch: batch, settings: params.settings, shouldStop: { context.isCancelled })
                metrics.merge(oracle.metrics) { $1 }
                artifacts += oracle.artifacts
                series += oracle.series
            }
            metrics[DuoMetric.steps.name] = .int(trainer.step)
            metrics[DuoMetric.parameters.name] = .int(config.model.parameterCount)
            metrics[DuoMetric.resumedFrom.name] = .int(resumedFrom)
            finished = true
            return TaskOutcome(metrics: metrics, artifacts: artifacts, series: series)
        }
    }
}
