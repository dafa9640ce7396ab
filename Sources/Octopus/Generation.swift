import Cluster
import Foundation
import Models
import Tasks

/// A batch of prompts for one model: what one `octopus.generate` task decodes.
public struct GenerationBatch: Sendable, Equatable {
    public var checkpoint: String
    public var prompts: [[Int32]]
    public var maxNewTokens: Int
    public var stop: [Int32]

    public init(checkpoint: String, prompts: [[Int32]], maxNewTokens: Int, stop: [Int32]) {
        self.checkpoint = checkpoint; self.prompts = prompts; self.maxNewTokens = maxNewTokens; self.stop = stop
    }

    var parameters: [String: ParameterValue] {
        ["checkpoint": .string(checkpoint), "prompts": .string(TokenLines.encode(prompts)),
         "max_new_tokens": .int(maxNewTokens), "stop": .string(TokenLines.encode([stop]))]
    }
}

/// The completions of one batch, and when they arrived (seconds after the batches were sent).
public struct GenerationResult: Sendable, Equatable {
    public var outputs: [[Int32]]
    public var seconds: Double
}

/// Runs batches of prompts somewhere: on workers through the cluster, or in this process.
public protocol Generator {
    /// The completions of every batch, in order.
    /// - Throws: when a batch fails for good (its task failed every attempt) or the deadline passes.
    func generate(_ batches: [GenerationBatch], vocabulary: Int) throws -> [GenerationResult]
}

/// Generation on worker processes: one `octopus.generate` task per batch, all submitted at once
/// and collected as they finish. The coordinator requeues the attempts of a worker that dies, so
/// every batch is answered once: by its one successful attempt, whose result this collects by
/// task id.
public struct ClusterGenerator: Generator {
    public let client: ClusterClient
    /// Attempts per batch (a lost attempt, to a dead worker, does not count against a task).
    public var maxAttempts = 3
    /// How long to wait for all the batches.
    public var deadline: Duration = .seconds(600)

    public init(client: ClusterClient) { self.client = client }

    public func generate(_ batches: [GenerationBatch], vocabulary: Int) throws -> [GenerationResult] {
        let start = ContinuousClock.now
        var ids: [UInt64] = []
        for batch in batches {
            ids += try client.submit(kind: GenerateKind.name, params: batch.parameters, count: 1, gang: 0, maxAttempts: maxAttempts)
        }
        var results: [UInt64: GenerationResult] = [:]
        while results.count < ids.count {
            guard ContinuousClock.now - start < deadline else {
                throw OctopusError.configuration("\(ids.count - results.count) of \(ids.count) generation batches had no result after \(deadline)")
            }
            let pending = ids.filter { results[$0] == nil }
            for result in try client.results(pending) where results[result.taskID] == nil {
                guard result.succeeded else {
                    throw OctopusError.configuration("a generation batch failed on \(result.worker): \(result.error)")
                }
                guard case let .string(text)? = result.metrics[GenerateKind.outputs.name] else {
                    throw OctopusError.configuration("a generation batch's result has no outputs")
                }
                results[result.taskID] = GenerationResult(outputs: try TokenLines.decode(text, vocabulary: vocabulary, what: "outputs"),
                                                          seconds: (ContinuousClock.now - start).inMilliseconds / 1e3)
            }
            if results.count < ids.count { Thread.sleep(forTimeInterval: 0.002) }
        }
        return ids.map { results[$0]! }
    }
}

/// Generation in this process, on the same resident models and the same decoding as
/// `octopus.generate`: what a query costs without the cluster hop.
public struct InProcessGenerator: Generator {
    public let models: ResidentModels

    public init(models: ResidentModels = .shared) { self.models = models }

    public func generate(_ batches: [GenerationBatch], vocabulary: Int) throws -> [GenerationResult] {
        let start = ContinuousClock.now
        var results: [GenerationResult] = []
        for batch in batches {
            let (outputs, _) = try models.withModel(batch.checkpoint) { model in
                try batch.prompts.map { try model.generate(prompt: $0, maxNewTokens: batch.maxNewTokens, stopTokens: Set(batch.stop)) }
            }
            results.append(GenerationResult(outputs: outputs, seconds: (ContinuousClock.now - start).inMilliseconds / 1e3))
        }
        return results
    }
}
