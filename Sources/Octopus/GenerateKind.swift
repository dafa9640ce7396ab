import Cluster
import Foundation
import Models
import Tasks

/// `octopus.generate`: greedy completions of a batch of prompts by one checkpoint's model, which
/// stays resident in the worker process for the next task (`ResidentModels`). This is how a
/// graph is served: the master's prompts go to whichever worker takes the task, and each
/// worker's canonical queries likewise; a lost attempt (a worker killed mid-batch) is requeued
/// by the coordinator and answered once, by the attempt that completes.
public enum GenerateKind {
    public static let name = "octopus.generate"

    public struct Parameters: TaskParameters {
        public static let declaration: [ParameterSpec] = [
            ParameterSpec("checkpoint", .string, default: .string(""), "the model's checkpoint directory (holds checkpoint.json)"),
            ParameterSpec("prompts", .string, default: .string(""), "prompts, one per line, token ids separated by spaces"),
            ParameterSpec("max_new_tokens", .int, default: .int(32), "tokens generated per prompt at most", minimum: 1, maximum: 4_096),
            ParameterSpec("stop", .string, default: .string(""), "token ids that end a completion (space-separated; kept in the output)"),
        ]
        let checkpoint: String, prompts: String, maxNewTokens: Int, stop: String

        public init(_ values: ResolvedParameters) {
            checkpoint = values.string("checkpoint"); prompts = values.string("prompts")
            maxNewTokens = values.int("max_new_tokens"); stop = values.string("stop")
        }

        public func check(gangSize: Int) throws(ParameterProblem) {
            guard !checkpoint.isEmpty else { throw ParameterProblem("octopus.generate needs checkpoint: a trained model's directory") }
            guard !prompts.isEmpty else { throw ParameterProblem("octopus.generate needs prompts: one line of token ids per prompt") }
        }
    }

    public static let outputs = MetricSpec("outputs", "completions, one per line, token ids separated by spaces")
    public static let resident = MetricSpec("resident", "whether the model was already loaded in the worker process")
    public static let decodeMilliseconds = MetricSpec("decode.ms", "time decoding the batch", unit: "ms")
    public static let loadMilliseconds = MetricSpec("load.ms", "time loading the checkpoint (0 when resident)", unit: "ms")

    public static var kind: TaskKind {
        TaskKind(name: name, summary: "greedy completions of prompts by a checkpoint's model, kept resident in the worker",
                 parameters: Parameters.self, metrics: [outputs, resident, decodeMilliseconds, loadMilliseconds], version: 1) { context, params in
            let start = ContinuousClock.now
            var loaded = ContinuousClock.now
            let (outputs, resident) = try ResidentModels.shared.withModel(params.checkpoint) { model -> [[Int32]] in
                loaded = ContinuousClock.now
                let vocabulary = model.config.vocabulary
                let prompts = try TokenLines.decode(params.prompts, vocabulary: vocabulary, what: "prompts")
                let stop = params.stop.isEmpty ? [] : try TokenLines.decode(params.stop, vocabulary: vocabulary, what: "stop")[0]
                var outputs: [[Int32]] = []
                for prompt in prompts {
                    try context.checkCancellation()
                    outputs.append(try model.generate(prompt: prompt, maxNewTokens: params.maxNewTokens, stopTokens: Set(stop)))
                }
                return outputs
            }
            let end = ContinuousClock.now
            return TaskOutcome(metrics: [
                Self.outputs.name: .string(TokenLines.encode(outputs)),
                Self.resident.name: .bool(resident),
                Self.decodeMilliseconds.name: .double((end - loaded).inMilliseconds),
                Self.loadMilliseconds.name: .double(resident ? 0 : (loaded - start).inMilliseconds),
            ])
        }
    }
}

extension Duration {
    var inMilliseconds: Double { Double(components.seconds) * 1e3 + Double(components.attoseconds) * 1e-15 }
}
