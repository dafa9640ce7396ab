import Cluster
import ClusterTestSupport
import Foundation
import ProcessTestSupport
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

    @Test func aWorkerOnTheCoordinatorsMachineSendsOnlyThePath() throws {
        let scratch = try TemporaryDirectory()
        let cluster = try TestCluster(workers: 1)
        let path = scratch.path("b.bin")
        let ids = try cluster.coordinator.submit(kind: "artifact", params: ["path": .string(path), "bytes": .int(1000)])
        let results = try #require(cluster.coordinator.waitForResults(ids, timeout: .seconds(30)), "\(cluster.logText)")
        #expect(results[0].succeeded && results[0].artifacts == [path] && results[0].files.isEmpty)
    }
}
