import Cluster
import Tasks

/// The measurements one rank reports: time, where it went, and bytes per peer.
enum ShardedMetrics {
    /// - Parameter transferSteps: the steps that move data (P − 1 for the rings and TokenRing,
    ///   2 all-to-alls for Ulysses), for the per-step link time.
    static func metrics(of run: ShardedRun, expectedBytes: Int, work: Int, transferSteps: Int,
                        gang: GangMembership) -> [String: ParameterValue] {
        let compute = run.timings.reduce(0) { $0 + $1.computeSeconds }
        let wait = run.timings.reduce(0) { $0 + $1.waitSeconds }
        let send = run.timings.reduce(0) { $0 + $1.sendSeconds }
        var metrics: [String: ParameterValue] = [
            ShardedMetric.wall.name: .double(run.wallSeconds),
            ShardedMetric.compute.name: .double(compute),
            ShardedMetric.wait.name: .double(wait),
            ShardedMetric.send.name: .double(send),
            // The share of the run spent computing: 1 when every transfer hid behind compute.
            ShardedMetric.computeFraction.name: .double(run.wallSeconds > 0 ? compute / run.wallSeconds : 1),
            ShardedMetric.bytesSent.name: .int(gang.tensorBytesSent.values.reduce(0, +)),
            ShardedMetric.bytesReceived.name: .int(gang.tensorBytesReceived.values.reduce(0, +)),
            ShardedMetric.expectedBytesSent.name: .int(expectedBytes),
            // (query, key) pairs scored, counted over all heads: this rank's share of the work.
            ShardedMetric.visiblePairs.name: .int(work),
            ShardedMetric.sharedMemoryTransfers.name: .int(gang.sharedMemoryTransfers),
            ShardedMetric.frameTransfers.name: .int(gang.frameTransfers),
        ]
        if !gang.modelledLinkSeconds.isEmpty {
            // The busiest incoming modelled link: its transmission time, in all and per step.
            let busiest = gang.modelledLinkSeconds.values.max() ?? 0
            metrics[ShardedMetric.linkBusy] = .double(busiest)
            metrics[ShardedMetric.linkBusyPerStep] = .double(busiest / Double(max(1, transferSteps)))
        }
        for (peer, bytes) in gang.tensorBytesSent { metrics[ShardedMetric.bytesToPeer.instance(peer)] = .int(bytes) }
        for (peer, bytes) in gang.tensorBytesReceived { metrics[ShardedMetric.bytesFromPeer.instance(peer)] = .int(bytes) }
        for timing in run.timings {
            metrics[ShardedMetric.stepStart.instance(timing.step)] = .double(timing.start)
            metrics[ShardedMetric.stepSend.instance(timing.step)] = .double(timing.sendSeconds)
            metrics[ShardedMetric.stepCompute.instance(timing.step)] = .double(timing.computeSeconds)
            metrics[ShardedMetric.stepWait.instance(timing.step)] = .double(timing.waitSeconds)
            metrics[ShardedMetric.stepBytesSent.instance(timing.step)] = .int(timing.bytesSent)
            metrics[ShardedMetric.stepBytesReceived.instance(timing.step)] = .int(timing.bytesReceived)
        }
        return metrics
    }
}
