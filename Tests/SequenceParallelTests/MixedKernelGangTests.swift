import Cluster
import ClusterTestSupport
import Foundation
import ProcessTestSupport
import SequenceParallel
import TensorCore
import Testing
import Tasks

/// A cluster of mixed nodes sharing one build (`TileKernel`): each worker registers the tile it
/// chose, and a gang with a rank on the AVX2 tile gives the bits of a gang on one kernel.
@Suite(.serialized) struct MixedKernelGangTests {
    @Test func aGangOfMixedTilesGivesTheBitsOfAGangOnOne() throws {
        let cluster = try TestCluster(workers: 1, registry: ShardedAttentionTests.registry)
        defer { cluster.local.stop() }
        let executable = try LoomProcess.executable()
        let arguments = ["--slots", "1", "--heartbeat-ms", "100", "--liveness", "10", "--drain-timeout", "2", "--verbose"]
        try cluster.local.spawnWorker(index: 1, executable: executable, arguments: arguments,
                                      environment: [TileKernel.environmentVariable: TileKernel.avx2.rawValue])
        try cluster.wait(for: "the AVX2 worker to register", timeout: .seconds(30)) { $0.workers.count == 2 }
        let machines = try cluster.status().workers.map { worker in
            Dictionary(ClusterStatus.pairs(worker.machine).map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        }
        // This process's kernel is the one an unforced worker chooses (or the one `make test` forces).
        #expect(machines.compactMap { $0["tile"] }.sorted() == [TileKernel.active.rawValue, "avx2"].sorted(), "\(machines)")
        #expect(machines.allSatisfy { $0["cpu"]?.isEmpty == false && $0["simd"] == SIMDTarget.buildTarget }, "\(machines)")

        let scratch = try TemporaryDirectory()
        func outputs(_ name: String) throws -> [String: Data] {
            let directory = scratch.path(name)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            _ = try ShardedAttentionTests.run(cluster, ranks: 2, [
                "algorithm": .string("zigzag_ring"), "tokens": .int(96), "heads": .int(2), "head_dim": .int(64),
                "causal": .bool(true), "backward": .bool(true), "output_dir": .string(directory)])
            let files = try FileManager.default.contentsOfDirectory(atPath: directory)
            return try Dictionary(uniqueKeysWithValues: files.map { ($0, try Data(contentsOf: URL(fileURLWithPath: directory + "/" + $0))) })
        }
        let mixed = try outputs("mixed")

        // The same gang on one kernel: the AVX2 worker leaves, one that chooses as this process does joins.
        let avx2 = try #require(cluster.local.workerPIDs.last)
        kill(avx2, SIGTERM)
        try cluster.wait(for: "the AVX2 worker to leave", timeout: .seconds(10)) { $0.workers.count == 1 }
        try cluster.local.spawnWorker(index: 2, executable: executable, arguments: arguments)
        try cluster.wait(for: "its replacement to register", timeout: .seconds(30)) { $0.workers.count == 2 }
        let uniform = try outputs("uniform")

        // Two ranks, two chunks each (zigzag), five tensors per chunk: out, lse, dq, dk, dv.
        #expect(mixed.count == 20 && mixed.values.allSatisfy { $0.count > 128 }, "\(mixed.keys.sorted())")
        for name in uniform.keys.sorted() {
            #expect(mixed[name] == uniform[name], "\(name) differs between the mixed gang and the gang on one tile")
        }
    }
}
