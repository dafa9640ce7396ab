import Cluster
import ClusterTestSupport
import Foundation
import ProcessTestSupport
import Tasks
import Wire
import Testing

/// A worker whose coordinator is on another machine sends its artifact files inside the result;
/// on the coordinator's machine it sends only the paths. Real worker processes.
@Suite(.serialized) struct CarriedArtifactTests {
    @Test func aWorkerToldToCarrySendsTheFileItWrote() throws {
        let scratch = try TemporaryDirectory()
        let cluster = try TestCluster(workers: 1, extraWorkerArguments: ["--carry-artifacts", "always"])
        let path = scratch.path("out/a.bin")
        let ids = try cluster.coordinator.submit(kind: "artifact", params: ["path": .string(path), "bytes": .int(200_000), "seed": .int(3)])
        let results = try #require(cluster.coordinator.waitForResults(ids, timeout: .seconds(30)), "\(cluster.logText)")
        #expect(results[0].succeeded, "\(results[0].error)")
        let written = try #require(FileManager.default.contents(atPath: path))
        #expect(written.count == 200_000)
        #expect(results[0].files == [CarriedFile(path: path, contents: written)])
    }

    @Test func aWorkerRemovesTheScratchFolderOfCarriedFilesOnly() throws {
        let carrying = try TestCluster(workers: 1, extraWorkerArguments: ["--carry-artifacts", "always"])
        let ids = try carrying.coordinator.submit(kind: "artifact", params: ["path": .string("c.bin"), "bytes": .int(5000), "in_scratch": .bool(true)])
        let carried = try #require(carrying.coordinator.waitForResults(ids, timeout: .seconds(30)), "\(carrying.logText)")[0]
        #expect(carried.succeeded, "\(carried.error)")
        let written = try #require(carried.artifacts.first)
        #expect(carried.files.map(\.path) == [written] && carried.files.first?.contents.count == 5000)
        #expect(written.hasSuffix("/c.bin") && URL(fileURLWithPath: written).deletingLastPathComponent().lastPathComponent.hasPrefix("loom-artifact-"))
        #expect(!FileManager.default.fileExists(atPath: URL(fileURLWithPath: written).deletingLastPathComponent().path),
                "carried: the worker's scratch folder is gone")

        // Not carried (the coordinator's machine): the files are read from their folder, so it stays
        // until whoever stores them releases it.
        let local = try TestCluster(workers: 1)
        let second = try local.coordinator.submit(kind: "artifact", params: ["path": .string("d.bin"), "bytes": .int(100), "in_scratch": .bool(true)])
        let result = try #require(local.coordinator.waitForResults(second, timeout: .seconds(30)), "\(local.logText)")[0]
        let path = try #require(result.artifacts.first)
        #expect(result.succeeded && result.files.isEmpty && FileManager.default.contents(atPath: path)?.count == 100)
        let folder = try #require(TaskScratch.folder(holding: path))
        #expect(TaskScratch.release(result.artifacts) == [folder] && !FileManager.default.fileExists(atPath: folder.path))

        let refused = try local.coordinator.submit(kind: "artifact", params: ["path": .string("../e.bin"), "in_scratch": .bool(true)])
        let failure = try #require(local.coordinator.waitForResults(refused, timeout: .seconds(30)))[0]
        #expect(!failure.succeeded && failure.error.contains("plain file name"), "\(failure.error)")
    }

    @Test func aWriteThatFailsLeavesNoScratchFolder() throws {
        // The worker inherits this process's TMPDIR; only this serialized suite writes in_scratch.
        let temporary = FileManager.default.temporaryDirectory.path
        func folders() throws -> Set<String> {
            Set(try FileManager.default.contentsOfDirectory(atPath: temporary).filter { $0.hasPrefix("loom-artifact-") })
        }
        let before = try folders()
        let cluster = try TestCluster(workers: 1)
        // A name past the file system's 255 bytes: the folder is made, the write fails.
        let ids = try cluster.coordinator.submit(kind: "artifact", params: ["path": .string(String(repeating: "n", count: 300)),
                                                                             "bytes": .int(10), "in_scratch": .bool(true)])
        let failure = try #require(cluster.coordinator.waitForResults(ids, timeout: .seconds(30)), "\(cluster.logText)")[0]
        #expect(!failure.succeeded && failure.error.contains("cannot write"), "\(failure.error)")
        #expect(try folders().subtracting(before).isEmpty, "the failed attempt's scratch folder is gone")
    }

    @Test func aClientOnAnotherMachineGetsTheFilesFromAWorkerBesideTheCoordinator() throws {
        let cluster = try TestCluster(workers: 1)
        let client = try ClusterClient(connect: cluster.coordinator.endpoint)
        // As if this client ran on a laptop: the worker shares the coordinator's host, not the client's.
        client.host = HostIdentity("boot=another;host=laptop")
        let ids = try client.submit(kind: "artifact", params: ["path": .string("e.bin"), "bytes": .int(3000), "in_scratch": .bool(true)],
                                    count: 1, gang: 0, maxAttempts: 1)
        var results: [TaskResult] = []
        let end = ContinuousClock.now + .seconds(30)
        while results.isEmpty && ContinuousClock.now < end {
            results = try client.results(ids)
            if results.isEmpty { Thread.sleep(forTimeInterval: 0.02) }
        }
        let result = try #require(results.first, "\(cluster.logText)")
        #expect(result.succeeded && result.files.count == 1 && result.files.first?.contents.count == 3000, "\(result.error)")
        let written = try #require(result.artifacts.first)
        #expect(!FileManager.default.fileExists(atPath: URL(fileURLWithPath: written).deletingLastPathComponent().path),
                "carried: the worker's scratch folder is gone")
        // A client on this machine: paths only, as before.
        client.host = HostIdentity.current
        let local = try client.submit(kind: "artifact", params: ["path": .string("f.bin"), "bytes": .int(10), "in_scratch": .bool(true)],
                                      count: 1, gang: 0, maxAttempts: 1)
        var plain: [TaskResult] = []
        while plain.isEmpty && ContinuousClock.now < end + .seconds(30) {
            plain = try client.results(local)
            if plain.isEmpty { Thread.sleep(forTimeInterval: 0.02) }
        }
        let here = try #require(plain.first)
        #expect(here.succeeded && here.files.isEmpty)
        TaskScratch.release(here.artifacts)
    }

    @Test func aWorkerOnTheCoordinatorsMachineSendsOnlyThePath() throws {
        let scratch = try TemporaryDirectory()
        let cluster = try TestCluster(workers: 1)
        let path = scratch.path("b.bin")
        let ids = try cluster.coordinator.submit(kind: "artifact", params: ["path": .string(path), "bytes": .int(1000)])
        let results = try #require(cluster.coordinator.waitForResults(ids, timeout: .seconds(30)), "\(cluster.logText)")
        #expect(results[0].succeeded && results[0].artifacts == [path] && results[0].files.isEmpty)
    }
}
