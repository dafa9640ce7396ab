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
            "wall_s": .double(run.wallSeconds),
            "compute_s": .double(compute),
            "wait_s": .double(wait),
            "send_s": .double(send),
            // The share of the run spent computing: 1 when every transfer hid behind compute.
            "compute_fraction": .double(run.wallSeconds > 0 ? compute / run.wallSeconds : 1),
            "bytes_sent": .int(gang.tensorBytesSent.values.reduce(0, +)),
            "bytes_received": .int(gang.tensorBytesReceived.values.reduce(0, +)),
            "expected_bytes_sent": .int(expectedBytes),
            // (query, key) pairs scored, counted over all heads: this rank's share of the work.
            "visible_pairs": .int(work),
            "shared_memory_transfers": .int(gang.sharedMemoryTransfers),
            "frame_transfers": .int(gang.frameTransfers),
        ]
        if !gang.modelledLinkSeconds.isEmpty {
            // The busiest incoming modelled link: its transmission time, in all and per step.
            let busiest = gang.modelledLinkSeconds.values.max() ?? 0
            metrics["link_busy_s"] = .double(busiest)
            metrics["link_busy_s_per_step"] = .double(busiest / Double(max(1, transferSteps)))
        }
        for (peer, bytes) in gang.tensorBytesSent { metrics["bytes_to_r\(peer)"] = .int(bytes) }
        for (peer, bytes) in gang.tensorBytesReceived { metrics["bytes_from_r\(peer)"] = .int(bytes) }
        for timing in run.timings {
            metrics["step\(timing.step).start_s"] = .double(timing.start)
            metrics["step\(timing.step).send_s"] = .double(timing.sendSeconds)
            metrics["step\(timing.step).compute_s"] = .double(timing.computeSeconds)
            metrics["step\(timing.step).wait_s"] = .double(timing.waitSeconds)
        }
        return metrics
    }
}
