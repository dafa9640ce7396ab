import Tasks

/// The metrics `attention.sharded` reports, declared once: the kind, the CLI's tables and the
/// benchmarks read them by these names, and reports label axes from them. A gang's merged result
/// holds each rank's metrics as `rank<r>.<name>` (the catalog labels those too) and the summary
/// metrics (`gang_wall_s`, `gflops`) unprefixed.
public enum ShardedMetric {
    public static let wall = MetricSpec("wall_s", "wall time", unit: "s")
    public static let compute = MetricSpec("compute_s", "compute time", unit: "s")
    public static let wait = MetricSpec("wait_s", "time waiting for data", unit: "s")
    public static let send = MetricSpec("send_s", "time sending", unit: "s")
    /// The share of the run spent computing: 1 when every transfer hid behind compute.
    public static let computeFraction = MetricSpec("compute_fraction", "compute fraction")
    public static let bytesSent = MetricSpec("bytes_sent", "bytes sent", unit: "B")
    public static let bytesReceived = MetricSpec("bytes_received", "bytes received", unit: "B")
    public static let expectedBytesSent = MetricSpec("expected_bytes_sent", "bytes the schedule sends", unit: "B")
    /// (query, key) pairs scored, counted over all heads: this rank's share of the work.
    public static let visiblePairs = MetricSpec("visible_pairs", "(query, key) pairs scored")
    public static let usefulFlops = MetricSpec("useful_flops", "useful work", unit: "FLOP")
    public static let sharedMemoryTransfers = MetricSpec("shared_memory_transfers", "transfers through shared memory")
    public static let frameTransfers = MetricSpec("frame_transfers", "transfers in message frames")
    /// The busiest incoming modelled link's transmission time, in all and per transfer step.
    public static let linkBusy = MetricSpec("link_busy_s", "busiest link's time", unit: "s")
    public static let linkBusyPerStep = MetricSpec("link_busy_s_per_step", "busiest link's time per step", unit: "s")
    public static let bytesToPeer = MetricSpec("bytes_to_r*", "bytes sent to a rank", unit: "B")
    public static let bytesFromPeer = MetricSpec("bytes_from_r*", "bytes received from a rank", unit: "B")
    /// Before the first step: inputs sliced, shared-memory slots made (the gang connected and
    /// passed its start barrier before the rank's body began, at `start_unix_s`).
    public static let setup = MetricSpec("setup_s", "setup before the first step", unit: "s")
    /// The wall clock when the rank's body began, so a trace can place every rank, and the time
    /// from submission to that point (dispatch, gang connect, barrier), on one axis.
    public static let startUnix = MetricSpec("start_unix_s", "rank start (Unix time)", unit: "s")
    public static let stepStart = MetricSpec("step*.start_s", "step start", unit: "s")
    public static let stepSend = MetricSpec("step*.send_s", "step send time", unit: "s")
    public static let stepCompute = MetricSpec("step*.compute_s", "step compute time", unit: "s")
    public static let stepWait = MetricSpec("step*.wait_s", "step wait time", unit: "s")
    public static let stepBytesSent = MetricSpec("step*.bytes_sent", "bytes sent in a step", unit: "B")
    public static let stepBytesReceived = MetricSpec("step*.bytes_received", "bytes received in a step", unit: "B")

    public static let backwardWall = MetricSpec("bwd_wall_s", "backward wall time", unit: "s")
    public static let backwardCompute = MetricSpec("bwd_compute_s", "backward compute time", unit: "s")
    public static let backwardWait = MetricSpec("bwd_wait_s", "backward time waiting", unit: "s")
    public static let backwardBytesSent = MetricSpec("bwd_bytes_sent", "backward bytes sent", unit: "B")
    public static let backwardExpectedBytesSent = MetricSpec("bwd_expected_bytes_sent", "backward bytes the schedule sends",
                                                             unit: "B")

    /// ‖a−b‖/‖b‖ against the single-process float64 reference, with `verify`.
    public static let errorOut = MetricSpec("rel_error_out", "relative error of the output")
    public static let errorLSE = MetricSpec("rel_error_lse", "relative error of the log-sum-exp")
    public static let errorDQ = MetricSpec("rel_error_dq", "relative error of dQ")
    public static let errorDK = MetricSpec("rel_error_dk", "relative error of dK")
    public static let errorDV = MetricSpec("rel_error_dv", "relative error of dV")

    /// The gang's: its slowest rank's wall time, and the useful work over it.
    public static let gangWall = MetricSpec("gang_wall_s", "gang wall time", unit: "s")
    public static let gflops = MetricSpec("gflops", "throughput", unit: "GFLOP/s")

    public static let all: [MetricSpec] = [
        wall, compute, wait, send, computeFraction, bytesSent, bytesReceived, expectedBytesSent, visiblePairs, usefulFlops,
        sharedMemoryTransfers, frameTransfers, linkBusy, linkBusyPerStep, bytesToPeer, bytesFromPeer,
        setup, startUnix, stepStart, stepSend, stepCompute, stepWait, stepBytesSent, stepBytesReceived,
        backwardWall, backwardCompute, backwardWait, backwardBytesSent, backwardExpectedBytesSent,
        errorOut, errorLSE, errorDQ, errorDK, errorDV, gangWall, gflops,
    ]
}

extension Dictionary where Key == String, Value == ParameterValue {
    /// The value of a declared metric in a result's metrics.
    subscript(metric: MetricSpec) -> ParameterValue? {
        get { self[metric.name] }
        set { self[metric.name] = newValue }
    }
}
