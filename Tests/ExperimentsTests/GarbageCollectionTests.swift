import Foundation
import ProcessTestSupport
import Testing
@testable import Experiments

/// `loom gc` on real files: it removes only what no row names, wherever the store now lies.
@Suite struct GarbageCollectionTests {
    /// A store with one run holding a file artifact and a directory artifact (a checkpoint).
    static func storeWithArtifacts(in directory: TemporaryDirectory) throws -> (state: URL, files: [String]) {
        let state = directory.url.appendingPathComponent("state")
        let store = try ResultsStore(path: state.appendingPathComponent("loom.db").path)
        let experiment = try store.experiment(named: "x", description: "d", file: "x.yaml")
        let invocation = try store.startInvocation(experiment: experiment, provenance: ResultsStoreTests.provenance)
        let run = try store.addRuns(ResultsStoreTests.runs(1), task: "gemm", cacheKeys: ["k"], experiment: experiment, invocation: invocation)[0]
        let sources = directory.url.appendingPathComponent("written")
        try FileManager.default.createDirectory(at: sources.appendingPathComponent("checkpoint/inner"), withIntermediateDirectories: true)
        try Data(repeating: 1, count: 100).write(to: sources.appendingPathComponent("curve.npy"))
        try Data(repeating: 2, count: 200).write(to: sources.appendingPathComponent("checkpoint/model.bin"))
        try Data(repeating: 3, count: 300).write(to: sources.appendingPathComponent("checkpoint/inner/state.json"))
        try store.collectArtifacts(run, paths: [sources.appendingPathComponent("curve.npy").path, sources.appendingPathComponent("checkpoint").path],
                                   into: state.appendingPathComponent("artifacts"))
        let files = ["artifacts/\(run)/curve.npy", "artifacts/\(run)/checkpoint/model.bin", "artifacts/\(run)/checkpoint/inner/state.json"]
        return (state, files)
    }

    @Test func aDirectoryArtifactKeepsEveryFileInIt() throws {
        let directory = try TemporaryDirectory()
        let (state, files) = try Self.storeWithArtifacts(in: directory)
        let stray = state.appendingPathComponent("artifacts/7/stray.bin")
        try FileManager.default.createDirectory(at: stray.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data([9]).write(to: stray)
        let store = try ResultsStore(path: state.appendingPathComponent("loom.db").path)
        let result = try store.collectGarbage(artifacts: state.appendingPathComponent("artifacts"), experiment: nil, dryRun: false)
        #expect(result.orphanFiles == [stray.path] && result.missingFiles.isEmpty, "\(result.orphanFiles) \(result.missingFiles)")
        for file in files { #expect(FileManager.default.fileExists(atPath: state.appendingPathComponent(file).path), "\(file) kept") }
        #expect(!FileManager.default.fileExists(atPath: stray.path))
    }

    /// The rows hold absolute paths of where the store was; a copy, a move or a link names the
    /// same files. gc once removed every artifact of a copied store.
    @Test func aCopiedMovedOrLinkedStoreKeepsItsArtifacts() throws {
        let directory = try TemporaryDirectory()
        let (state, files) = try Self.storeWithArtifacts(in: directory)
        let copy = directory.url.appendingPathComponent("copy"), moved = directory.url.appendingPathComponent("moved")
        let link = directory.url.appendingPathComponent("link")
        try FileManager.default.copyItem(at: state, to: copy)
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: copy)
        for place in [copy, link] {
            let store = try ResultsStore(path: place.appendingPathComponent("loom.db").path)
            let dry = try store.collectGarbage(artifacts: place.appendingPathComponent("artifacts"), experiment: nil, dryRun: true)
            #expect(dry.orphanFiles.isEmpty && dry.missingFiles.isEmpty, "\(place.lastPathComponent): \(dry.orphanFiles) \(dry.missingFiles)")
        }
        try FileManager.default.moveItem(at: state, to: moved)
        let store = try ResultsStore(path: moved.appendingPathComponent("loom.db").path)
        let result = try store.collectGarbage(artifacts: moved.appendingPathComponent("artifacts"), experiment: nil, dryRun: false)
        #expect(result.orphanFiles.isEmpty && result.missingFiles.isEmpty, "\(result.orphanFiles) \(result.missingFiles)")
        for file in files { #expect(FileManager.default.fileExists(atPath: moved.appendingPathComponent(file).path), "\(file) kept") }
        // A file that is gone is named as missing, with the path its row holds.
        try FileManager.default.removeItem(at: moved.appendingPathComponent(files[0]))
        let again = try store.collectGarbage(artifacts: moved.appendingPathComponent("artifacts"), experiment: nil, dryRun: true)
        #expect(again.missingFiles == [state.appendingPathComponent(files[0]).path], "\(again.missingFiles)")
    }
}
