import Cluster
import ClusterTestSupport
import Foundation
import Models
import ProcessTestSupport
import Synchronization
import Tasks
import Testing
@testable import Octopus

/// Serving through the cluster: prompts go to real worker processes as `octopus.generate`
/// tasks, the models stay resident there, and a worker killed with SIGKILL mid-stream loses
/// nothing: every batch is answered once, with the same tokens as in this process.
@Suite(.serialized) struct ServingTests {
    /// Two random models of the study's vocabulary, saved as checkpoints.
    static func checkpoints(in directory: TemporaryDirectory) throws -> [String] {
        let vocabulary = try OctopusVocabulary(nodeCount: 2).size
        return try (0..<2).map { i in
            let config = ModelConfig(vocabulary: vocabulary, context: 24, layers: 2, dModel: 32, heads: 4)
            let model = try Transformer(config: config, seed: UInt64(10 + i), maxBatch: 1, threads: 1)
            let url = directory.url.appendingPathComponent("model-\(i)")
            try Checkpoint.save(to: url, step: 0, config: config, parameters: model.parameters,
                                optimizer: SGD(count: model.parameters.count, momentum: 0))
            return url.path
        }
    }

    static func batches(_ checkpoints: [String], count: Int) -> [GenerationBatch] {
        var random = SplitMix64Sequence(seed: 5)
        return (0..<count).map { b in
            let prompts = (0..<6).map { _ in (0..<(3 + random.next(below: 6))).map { _ in Int32(random.next(below: 74)) } }
            return GenerationBatch(checkpoint: checkpoints[b % 2], prompts: prompts, maxNewTokens: 12, stop: [76])
        }
    }

    static var registry: TaskRegistry {
        var registry = TaskRegistry.builtIn(includingTestKinds: true)
        registry.register(GenerateKind.kind)
        return registry
    }

    @Test func aWorkerKilledMidStreamLosesNoBatch() throws {
        let scratch = try TemporaryDirectory()
        let checkpoints = try Self.checkpoints(in: scratch)
        let vocabulary = try OctopusVocabulary(nodeCount: 2).size
        let batches = Self.batches(checkpoints, count: 40)
        let expected = try InProcessGenerator(models: ResidentModels(capacity: 4)).generate(batches, vocabulary: vocabulary).map(\.outputs)

        let cluster = try TestCluster(workers: 2, registry: Self.registry)
        defer { cluster.local.stop() }
        let outcome = Mutex<Result<[GenerationResult], any Error>?>(nil)
        let endpoint = cluster.coordinator.endpoint
        let thread = Thread {
            do {
                let own = try ClusterClient(connect: endpoint)
                let results = try ClusterGenerator(client: own).generate(batches, vocabulary: vocabulary)
                outcome.withLock { $0 = .success(results) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
        }
        thread.start()
        // Kill the first worker seen running a batch, then start a replacement.
        var killed: Int32?
        let end = ContinuousClock.now + .seconds(60)
        while killed == nil && ContinuousClock.now < end && outcome.withLock({ $0 == nil }) {
            if let busy = try cluster.status().workers.first(where: { $0.running > 0 }) {
                kill(Int32(busy.pid), SIGKILL)
                killed = Int32(busy.pid)
            }
            Thread.sleep(forTimeInterval: 0.005)
        }
        try #require(killed != nil, "no worker was seen running a batch")
        _ = cluster.local.replaceExitedWorkers(executable: try LoomProcess.executable(),
                                               arguments: ["--slots", "1", "--heartbeat-ms", "100", "--liveness", "10", "--test-kinds"], limit: 2)
        while outcome.withLock({ $0 == nil }) && ContinuousClock.now < end + .seconds(60) { Thread.sleep(forTimeInterval: 0.01) }
        let results = try #require(try outcome.withLock { $0 }?.get())
        // Every batch once, in order, with this process's tokens.
        #expect(results.count == batches.count)
        #expect(results.map(\.outputs) == expected)
        #expect(results.allSatisfy { $0.outputs.count == 6 })
        // The kill cost an attempt: some task was lost and requeued, none answered twice.
        let counters = try cluster.status().counters
        #expect((counters["workers_lost"] ?? 0) + (counters["workers_dropped"] ?? 0) >= 1, "\(counters)")
        #expect(cluster.logText.contains(" lost: "), "no attempt was lost to the kill")
        #expect(try cluster.status().succeeded == batches.count)
    }
}

/// A small seeded source of integers for test inputs.
struct SplitMix64Sequence {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(below bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }
}
