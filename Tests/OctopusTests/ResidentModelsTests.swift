import Foundation
import Models
import ProcessTestSupport
import Testing
@testable import Octopus

/// A worker's resident models: loaded once, reloaded when the checkpoint changes, bounded.
@Suite struct ResidentModelsTests {
    static func save(_ seed: UInt64, to directory: URL) throws -> Transformer {
        let config = ModelConfig(vocabulary: 9, context: 8, layers: 1, dModel: 8, heads: 2)
        let model = try Transformer(config: config, seed: seed, maxBatch: 1, threads: 1)
        try Checkpoint.save(to: directory, step: 0, config: config, parameters: model.parameters,
                            optimizer: SGD(count: model.parameters.count, momentum: 0))
        return model
    }

    @Test func aCheckpointIsLoadedOnceAndReloadedWhenItChanges() throws {
        let directory = try TemporaryDirectory()
        let a = directory.url.appendingPathComponent("a"), b = directory.url.appendingPathComponent("b")
        let original = try Self.save(1, to: a)
        _ = try Self.save(2, to: b)
        let models = ResidentModels(capacity: 1)
        let first = try models.withModel(a.path) { Array(UnsafeBufferPointer(start: $0.parameters.values, count: $0.parameters.count)) }
        #expect(!first.resident && models.loads == 1)
        #expect(first.0 == Array(UnsafeBufferPointer(start: original.parameters.values, count: original.parameters.count)))
        #expect(try models.withModel(a.path) { _ in 0 }.resident && models.loads == 1)
        // Another batch size or thread count is another model.
        let wide = ResidentModels(capacity: 4)
        #expect(!(try wide.withModel(a.path, maxBatch: 4) { _ in 0 }.resident))
        #expect(!(try wide.withModel(a.path, maxBatch: 4, threads: 2) { _ in 0 }.resident))
        #expect(try wide.withModel(a.path, maxBatch: 4) { $0.maxBatch }.resident && wide.loads == 2)
        // Capacity 1: b evicts a, so a is loaded again.
        #expect(!(try models.withModel(b.path) { _ in 0 }.resident))
        #expect(!(try models.withModel(a.path) { _ in 0 }.resident) && models.loads == 3)
        // A retrained checkpoint (a newer manifest) is loaded again.
        let later = Date().addingTimeInterval(5)
        try FileManager.default.setAttributes([.modificationDate: later], ofItemAtPath: a.appendingPathComponent("checkpoint.json").path)
        #expect(!(try models.withModel(a.path) { _ in 0 }.resident) && models.loads == 4)
        // A missing checkpoint is an error, not a crash.
        #expect(throws: ModelError.self) { try models.withModel(directory.path("none")) { _ in 0 } }
    }

    @Test func tokenLinesRoundTripAndRefuseAnythingElse() throws {
        let sequences: [[Int32]] = [[3, 17, 5], [0], [8, 8]]
        #expect(TokenLines.encode(sequences) == "3 17 5\n0\n8 8")
        #expect(try TokenLines.decode("3 17 5\n0\n8 8", vocabulary: 18, what: "p") == sequences)
        for bad in ["3 18", "3  4", "", "-1", "a", "3\n", "3;rm -rf /", String(repeating: "1\n", count: 5_000) + "1"] {
            #expect(throws: OctopusError.self, "\(bad.prefix(12))") { try TokenLines.decode(bad, vocabulary: 18, what: "p") }
        }
    }
}
