import Cluster
import SequenceParallel
import Simulator

/// The per-step timeline of a sharded run, read back from every rank's metrics.
struct ShardedTimeline {
    struct Step {
        var rank: Int, step: Int
        var start: Double, send: Double, compute: Double, wait: Double
        /// Measured tensor bytes of the step; nil from a rank that did not report them.
        var bytesSent: Int?, bytesReceived: Int?
    }

    /// What a rank did before its first step.
    struct Setup {
        /// Wall clock (Unix seconds) when the rank's body began; nil from a rank that did not say.
        var startUnix: Double?
        /// Seconds from the body's start to the first step.
        var seconds: Double
        /// Measured tensor bytes to and from each peer over the whole forward pass.
        var bytesTo: [Int: Double], bytesFrom: [Int: Double]
    }

    let steps: [Step]
    let setups: [Setup]

    init(steps: [Step], setups: [Setup]) {
        self.steps = steps
        self.setups = setups
    }

    /// A simulated pass's timeline (`loom sim --trace`): each step's start, its compute, and the
    /// rest until the rank moved on as waiting; sends are posted in no time, and there is no setup.
    init(replay: ScheduleReplay.Result) {
        var steps: [Step] = []
        for (rank, starts) in replay.stepStarts.enumerated() {
            for (step, start) in starts.enumerated() {
                let compute = replay.stepCompute[rank][step]
                steps.append(Step(rank: rank, step: step, start: start, send: 0, compute: compute,
                                  wait: max(0, replay.stepEnds[rank][step] - start - compute), bytesSent: nil, bytesReceived: nil))
            }
        }
        self.init(steps: steps, setups: replay.stepStarts.map { _ in Setup(startUnix: nil, seconds: 0, bytesTo: [:], bytesFrom: [:]) })
    }

    init(result: TaskResult, ranks: Int) {
        var steps: [Step] = []
        var setups: [Setup] = []
        for rank in 0..<ranks {
            func metric(_ name: String) -> Double? { result.metrics[rank == 0 ? name : "rank\(rank).\(name)"]?.number }
            var step = 0
            while let start = metric(ShardedMetric.stepStart.instance(step)) {
                steps.append(Step(rank: rank, step: step, start: start, send: metric(ShardedMetric.stepSend.instance(step)) ?? 0,
                                  compute: metric(ShardedMetric.stepCompute.instance(step)) ?? 0,
                                  wait: metric(ShardedMetric.stepWait.instance(step)) ?? 0,
                                  bytesSent: metric(ShardedMetric.stepBytesSent.instance(step)).map { Int($0) },
                                  bytesReceived: metric(ShardedMetric.stepBytesReceived.instance(step)).map { Int($0) }))
                step += 1
            }
            var to: [Int: Double] = [:], from: [Int: Double] = [:]
            for peer in 0..<ranks where peer != rank {
                to[peer] = metric(ShardedMetric.bytesToPeer.instance(peer))
                from[peer] = metric(ShardedMetric.bytesFromPeer.instance(peer))
            }
            setups.append(Setup(startUnix: metric(ShardedMetric.startUnix.name), seconds: metric(ShardedMetric.setup.name) ?? 0,
                                bytesTo: to, bytesFrom: from))
        }
        self.steps = steps
        self.setups = setups
    }

    /// One rank's steps as a JSON array.
    func stepsJSON(rank: Int) -> String {
        "[" + steps.filter { $0.rank == rank }.map {
            "{\"step\":\($0.step),\"start_s\":\($0.start),\"send_s\":\($0.send),\"compute_s\":\($0.compute),\"wait_s\":\($0.wait)}"
        }.joined(separator: ",") + "]"
    }
}
