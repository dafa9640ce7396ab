import Foundation
import Models
import ProcessTestSupport
import Testing

/// Checkpoints restore parameters and optimiser state bit for bit.
@Suite struct CheckpointTests {
    static func bits(_ store: ParameterStore) -> [UInt32] {
        store.entries.flatMap { entry in (entry.offset..<entry.offset + entry.count).map { store.values[$0].bitPattern } }
    }

    @Test func saveRestoreAndContinueIsBitIdentical() throws {
        let scratch = try TemporaryDirectory()
        let config = ModelConfig(vocabulary: 5, context: 3, layers: 1, dModel: 4, heads: 2)
        let first = OptimizerTests.store(), firstOptimizer = AdamW(count: first.count, weightDecay: 0.1)
        for step in 1...3 { OptimizerTests.setGradients(first, step: step); firstOptimizer.update(first, learningRate: 1e-2) }
        let directory = scratch.url.appendingPathComponent("ckpt")
        try Checkpoint.save(to: directory, step: 3, config: config, parameters: first, optimizer: firstOptimizer, extra: ["seed": "7"])
        // Saving again replaces it whole.
        try Checkpoint.save(to: directory, step: 3, config: config, parameters: first, optimizer: firstOptimizer, extra: ["seed": "7"])

        let second = ParameterStore([("w", [3, 7], true), ("gain", [5], false)]), secondOptimizer = AdamW(count: second.count, weightDecay: 0.1)
        let manifest = try Checkpoint.restore(from: directory, into: second, optimizer: secondOptimizer)
        #expect(manifest.step == 3 && manifest.model == config && manifest.extra["seed"] == "7" && secondOptimizer.steps == 3)
        #expect(CheckpointTests.bits(second) == CheckpointTests.bits(first))
        for step in 4...6 {
            OptimizerTests.setGradients(first, step: step); firstOptimizer.update(first, learningRate: 1e-2)
            OptimizerTests.setGradients(second, step: step); secondOptimizer.update(second, learningRate: 1e-2)
        }
        #expect(CheckpointTests.bits(second) == CheckpointTests.bits(first), "the moments came back too")
        // numpy can read what Loom wrote: a plain float32 .npy per parameter.
        let header = try Data(contentsOf: directory.appendingPathComponent("params/w.npy")).prefix(64)
        #expect(String(decoding: header, as: UTF8.self).contains("'descr': '<f4'"))
    }

    @Test func aMismatchedCheckpointIsRefusedWithTheReason() throws {
        let scratch = try TemporaryDirectory()
        let config = ModelConfig(vocabulary: 5, context: 3, layers: 1, dModel: 4, heads: 2)
        let store = OptimizerTests.store()
        let directory = scratch.url.appendingPathComponent("ckpt")
        try Checkpoint.save(to: directory, step: 1, config: config, parameters: store, optimizer: AdamW(count: store.count))
        let other = ParameterStore([("w", [7, 3], true), ("gain", [5], false)])
        #expect { try Checkpoint.restore(from: directory, into: other, optimizer: AdamW(count: other.count)) } throws: {
            "\($0)".contains("another configuration")
        }
        #expect { try Checkpoint.restore(from: directory, into: store, optimizer: SGD(count: store.count)) } throws: {
            "\($0)".contains("saved with adamw")
        }
        #expect { _ = try Checkpoint.manifest(at: scratch.url.appendingPathComponent("none")) } throws: { "\($0)".contains("no checkpoint") }
        try Data("{".utf8).write(to: directory.appendingPathComponent("checkpoint.json"))
        #expect { _ = try Checkpoint.manifest(at: directory) } throws: { "\($0)".contains("not a Loom checkpoint") }
    }
}
