import Foundation
import ProcessTestSupport
import Testing
@testable import Experiments
import Tasks

/// A parameter declared as an input (a corpus, a checkpoint) keys a run by its contents: the
/// same path with other contents is a new run, the same contents elsewhere need not be.
@Suite struct InputDigestTests {
    @Test func changedContentsUnderTheSamePathChangeTheKey() throws {
        let scratch = try TemporaryDirectory()
        let file = scratch.path("corpus.txt"), model = scratch.path("model")
        try "first text".write(toFile: file, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: model + "/params", withIntermediateDirectories: true)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: model + "/params/w.npy"))
        let experiment = try CacheIdentityTests.experiment
        func key(inputs: [String] = ["corpus", "checkpoint"]) throws -> String {
            let run = ExperimentRun(index: 0, repetition: 0, params: ["corpus": .string(file), "checkpoint": .string(model), "seconds": .double(1)])
            return try RunPlan(experiment, runs: [run], kindVersion: 1, code: CacheIdentityTests.codeA, store: nil, force: false,
                               rerunFailed: false, inputs: inputs).entries[0].cacheKey
        }
        let plain = try key(inputs: []), first = try key(), again = try key()
        #expect(first != plain && again == first, "inputs join the key, the same contents give the same key")
        try "other text".write(toFile: file, atomically: true, encoding: .utf8)
        let second = try key()
        #expect(second != first, "a changed corpus is a new run")
        try Data([1, 2, 4]).write(to: URL(fileURLWithPath: model + "/params/w.npy"))
        #expect(try key() != second, "a changed file inside a checkpoint directory is a new run")
        try FileManager.default.removeItem(atPath: model)
        #expect(InputDigest.of(model) == "missing" && InputDigest.of(file).hasPrefix("sha256:"))
        #expect(try key(inputs: []) == plain, "without inputs the key is the parameters' alone")
    }
}
