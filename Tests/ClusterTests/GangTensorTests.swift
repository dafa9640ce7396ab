import Cluster
import ClusterTestSupport
import Foundation
import Testing

/// Tensors between gang ranks: shared memory on one host, plain frames when asked, exact both ways.
@Suite(.serialized) struct GangTensorTests {
    @Test(arguments: [false, true])
    func ringSumIsExactOverEitherPath(frames: Bool) throws {
        let cluster = try TestCluster(workers: 3)
        let ids = try cluster.coordinator.submit(kind: "gang.ringsum",
                                                 params: ["elements": .int(300_001), "frames": .bool(frames)], gang: 3)
        let result = try #require(cluster.coordinator.waitForResults(ids, timeout: .seconds(60))?.first, "\(cluster.logText)")
        #expect(result.succeeded, "\(result)\n\(cluster.logText)")
        for prefix in ["", "rank1.", "rank2."] {
            let error = result.metrics[prefix + "max_abs_error"]?.number ?? .infinity
            #expect(error < 1e-9, "rank \(prefix) sum differs from the float64 sum of all ranks' tensors by \(error)")
            // Same host: 2 steps through shared memory unless frames were asked for.
            #expect(result.metrics[prefix + (frames ? "frame_transfers" : "shared_memory_transfers")] == .int(2), "\(result.metrics)")
            #expect(result.metrics[prefix + (frames ? "shared_memory_transfers" : "frame_transfers")] == .int(0), "\(result.metrics)")
        }
    }
}
