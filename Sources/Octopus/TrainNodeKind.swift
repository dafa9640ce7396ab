import Cluster
import Foundation
import Models
import Tasks

/// `octopus.train`: trains one node of a graph on its generated data (`NodeData`) and writes its
/// checkpoint where the graph file says (or `checkpoint_dir`), resuming from one already there.
/// The evaluation loss is on the test templates, which training never sees.
public enum TrainNodeKind {
    public static let parameters = MetricSpec("node.parameters", "trainable parameters of the node's model")
    public static let steps = MetricSpec("node.steps", "training steps done")
    public static let statistics = MetricSpec("split.*", "statistics of the generated training and test splits")
    public static let chains = MetricSpec("chains.train", "two-hop chain examples among the training examples")

    public static var kind: TaskKind {
        TaskKind(name: "octopus.train", summary: "trains one node of an Octopus graph (master, worker or general) on generated data",
                 parameters: TrainNodeParameters.self, metrics: TrainingMetric.all + [parameters, steps, statistics, chains], version: 2) { context, params in
            let (graph, node) = try params.resolve()
            let data = try NodeData(graph: graph)
            let seed = UInt64(params.dataSeed)
            let generalist = params.data == "generalist"
            let train = try data.examples(for: node, split: .train, count: params.examples, seed: seed, generalist: generalist)
            let test = try data.examples(for: node, split: .test, count: params.testExamples, seed: seed, generalist: generalist)
            // Two-hop chains the node takes part in (none for the generalist or the general worker).
            let trainChains = generalist ? [] : try data.chainExamples(for: node, split: .train, count: Int(Double(params.examples) * params.chainShare), seed: seed)
            let testChains = generalist ? [] : try data.chainExamples(for: node, split: .test, count: Int(Double(params.testExamples) * params.chainShare), seed: seed)
            let task = try PromptCompletionTask(training: train.map(\.example) + trainChains.map(\.example),
                                                validation: test.map(\.example) + testChains.map(\.example),
                                                vocabulary: data.vocabulary.size, padding: data.vocabulary.endOfAnswerToken,
                                                context: node.shape.context)
            let config = try params.configuration(try params.shape(of: node).config(vocabulary: data.vocabulary.size))
            let model = try Transformer(config: config.model, seed: config.seed, maxBatch: max(config.batch, config.evaluationBatch),
                                        threads: params.threads)
            let trainer = try Trainer(config: config, model: model, task: task)
            // The examples come from Loom's generator, which TrainingConfig does not describe: a
            // checkpoint of another generator version or other data settings is not resumed.
            trainer.dataDescription = "octopus data v\(NodeData.generatorVersion): \(params.data) of \(node.name), \(params.examples) examples, "
                + "\(params.testExamples) test, chain share \(params.chainShare)"
            let checkpoints = try directory(params, node: node)
            // A scratch checkpoint (no checkpoint_dir) is removed here when the attempt fails.
            var finished = false
            defer { if !finished, let scratch = TaskScratch.folder(holding: checkpoints.path) { try? FileManager.default.removeItem(at: scratch) } }
            if FileManager.default.fileExists(atPath: checkpoints.appendingPathComponent("checkpoint.json").path) {
                try trainer.resume(from: checkpoints)
            }
            var (series, metrics) = try trainer.runCollecting(checkpoints: checkpoints, shouldStop: { context.isCancelled }) {
                context.report($0, total: config.steps)
            }
            try context.checkCancellation()
            for (name, value) in SplitStatistics(train.map(\.query), split: .train).metrics
                .merging(SplitStatistics(test.map(\.query), split: .test).metrics, uniquingKeysWith: { $1 }) {
                metrics[name] = .double(value)
            }
            metrics[Self.chains.name] = .int(trainChains.count)
            metrics[Self.parameters.name] = .int(config.model.parameterCount)
            metrics[Self.steps.name] = .int(trainer.step)
            finished = true
            return TaskOutcome(metrics: metrics, artifacts: [checkpoints.path], series: series)
        }
    }

    /// Where the node's checkpoint goes: `checkpoint_dir`, else the graph's `checkpoint:`, else a scratch folder (`TaskScratch`).
    static func directory(_ params: TrainNodeParameters, node: ModelGraph.Node) throws -> URL {
        if !params.checkpointDir.isEmpty { return URL(fileURLWithPath: params.checkpointDir) }
        if let path = node.checkpoint { return URL(fileURLWithPath: path) }
        return try TaskScratch.make("octopus").appendingPathComponent(node.name)
    }
}
