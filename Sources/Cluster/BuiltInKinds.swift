import Foundation
import TensorCore
import Tasks

/// The runtime's own task kinds, for tests, benchmarks and checking a cluster works.
enum BuiltInKinds {
    /// Kinds any worker may run: they wait, echo, multiply, count, or pass tensors within their
    /// own gang, and touch nothing outside the worker.
    static var all: [TaskKind] { [sleep, echo, gemm, gangBarrier, gangRingSum, steps] }

    /// Kinds that exist to test the runtime by writing files (`append`, `artifact`), killing their
    /// worker (`crash`) or failing on purpose (`fail`). Anyone who can submit to a worker could use
    /// them against its owner, so they are registered only when asked for (`--test-kinds`).
    static var testOnly: [TaskKind] { [append, artifact, crash, fail] }

    static let artifact = TaskKind(
        name: "artifact", summary: "writes a file of seeded bytes and reports it as an artifact (tests carrying files)",
        parameters: ArtifactParameters.self, metrics: [MetricSpec("bytes", "bytes written")]
    ) { context, params in
        var random = SeededRandom(seed: UInt64(truncatingIfNeeded: params.seed))
        let contents = Data((0..<params.bytes).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        if !params.writes { return TaskOutcome(metrics: ["bytes": .int(0)], artifacts: [params.path]) }
        if params.inScratch && (params.path.isEmpty || params.path.contains("/") || params.path.hasPrefix(".")) {
            throw ClusterError.invalidTask("path: with in_scratch, give a plain file name, not \(params.path)")
        }
        func write(_ url: URL) throws -> URL {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try contents.write(to: url)
            return url
        }
        let url: URL
        do {
            // A scratch folder whose write failed is removed here: no result names it.
            url = params.inScratch ? try TaskScratch.filling("artifact") { try write($0.appendingPathComponent(params.path)) }
                                   : try write(URL(fileURLWithPath: params.path))
        } catch {
            throw ClusterError.refused("cannot write \(params.path): \(error.localizedDescription)")
        }
        return TaskOutcome(metrics: ["bytes": .int(params.bytes)], artifacts: [url.path])
    }

    static let append = TaskKind(
        name: "append", summary: "appends a line to a file, then waits (tests count executions with it)",
        parameters: AppendParameters.self, metrics: [MetricSpec("line", "line written")]
    ) { context, params in
        let path = params.path
        // O_APPEND writes of one short line are atomic, so concurrent workers never interleave.
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else { throw ClusterError.refused("cannot open \(path) for appending: \(String(cString: strerror(errno)))") }
        let bytes = Array((params.line + "\n").utf8)
        let written = bytes.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == bytes.count else { throw ClusterError.refused("could not append to \(path)") }
        try context.sleep(for: .milliseconds(Int64(params.seconds * 1000)))
        return TaskOutcome(metrics: ["line": .string(params.line)])
    }

    static let sleep = TaskKind(
        name: "sleep", summary: "waits, honouring cancellation",
        parameters: SleepParameters.self, metrics: [MetricSpec("slept_s", "time slept", unit: "s")]
    ) { context, params in
        let seconds = params.seconds
        try context.sleep(for: .milliseconds(Int64(seconds * 1000)))
        return TaskOutcome(metrics: ["slept_s": .double(seconds)])
    }

    static let steps = TaskKind(
        name: "steps", summary: "counts steps, reporting each as it goes (checks streamed curves)",
        parameters: StepsParameters.self,
        metrics: [MetricSpec("steps", "steps counted"), MetricSpec("value", "step number", stepped: true)]
    ) { context, params in
        let count = params.steps, seconds = params.seconds
        var series: [StepMetric] = []
        for step in 1...count {
            try context.sleep(for: .milliseconds(Int64(seconds * 1000)))
            let point = StepMetric(name: "value", step: step, value: Double(step))
            series.append(point)
            context.report([point], total: count)
        }
        return TaskOutcome(metrics: ["steps": .int(count)], series: series)
    }

    static let echo = TaskKind(
        name: "echo", summary: "returns its value as a metric",
        parameters: EchoParameters.self, metrics: [MetricSpec("value", "value given")]
    ) { _, params in
        TaskOutcome(metrics: ["value": .string(params.value)])
    }

    static let fail = TaskKind(
        name: "fail", summary: "fails with the given probability",
        parameters: FailParameters.self, metrics: [MetricSpec("draw", "uniform draw")]
    ) { context, params in
        let probability = params.probability
        var random = SeededRandom(seed: UInt64(truncatingIfNeeded: params.seed)
                                  &+ context.taskID &* 1_000_003 &+ UInt64(context.attempt))
        let draw = Double(random.nextUnitFloat())
        if draw < probability {
            throw ClusterError.refused("task failed on purpose (draw \(String(format: "%.3f", draw)) < probability \(probability))")
        }
        return TaskOutcome(metrics: ["draw": .double(draw)])
    }

    static let crash = TaskKind(
        name: "crash", summary: "kills its worker process mid-task (for fault tests)",
        parameters: CrashParameters.self
    ) { context, params in
        try context.sleep(for: .milliseconds(Int64(params.after * 1000)))
        // The point is an abrupt death: no result, no goodbye, exactly like a lost node.
        _exit(99)
    }

    static let gemm = TaskKind(
        name: "gemm", summary: "an OpenBLAS sgemm of n×n matrices; reports GFLOP/s",
        parameters: GEMMParameters.self,
        metrics: [MetricSpec("gflops", "throughput", unit: "GFLOP/s"), MetricSpec("seconds", "time per product", unit: "s"),
                  MetricSpec("checksum", "an element of the product")]
    ) { context, params in
        let n = params.n, threads = params.threads, repeats = params.repeats
        // A worker runs many tasks: the next one must start from the worker's own setting.
        return try BLAS.withThreadCount(threads) {
            var random = SeededRandom(seed: 1)
            let a = try Tensor(shape: [n, n], storage: (0..<n * n).map { _ in random.nextUnitFloat() - 0.5 })
            let b = try Tensor(shape: [n, n], storage: (0..<n * n).map { _ in random.nextUnitFloat() - 0.5 })
            var times: [Double] = []
            var checksum: Float = 0
            for _ in 0..<repeats {
                try context.checkCancellation()
                let start = ContinuousClock.now
                let c = try matmul(a, b)
                times.append((ContinuousClock.now - start).inSeconds)
                checksum = c.storage[n * n / 2]
            }
            let median = times.sorted()[times.count / 2]
            return TaskOutcome(metrics: ["gflops": .double(2 * Double(n) * Double(n) * Double(n) / median / 1e9),
                                         "seconds": .double(median), "checksum": .double(Double(checksum))])
        }
    }

    static let gangBarrier = TaskKind(
        name: "gang.barrier", summary: "a gang builds its peer mesh and passes barriers (for fault tests)",
        parameters: GangBarrierParameters.self,
        metrics: [MetricSpec("rank", "rank"), MetricSpec("size", "gang size"), MetricSpec("seconds", "time", unit: "s")],
        isGang: true, gangTopology: { $0.topology }
    ) { context, params in
        guard let gang = context.gang else { throw ClusterError.invalidTask("gang.barrier must run as a gang") }
        let rounds = params.rounds, pause = params.pause
        let start = ContinuousClock.now
        for round in 0..<rounds {
            try gang.barrier(round: round, context: context)
            if pause > 0 { try context.sleep(for: .milliseconds(Int64(pause * 1000))) }
        }
        return TaskOutcome(metrics: ["rank": .int(gang.rank), "size": .int(gang.size),
                                     "seconds": .double((ContinuousClock.now - start).inSeconds)])
    }
}

extension BuiltInKinds {
    /// Passes every rank's tensor once around the ring and sums them: each rank must end with the
    /// exact sum of all ranks' tensors, whichever path (shared memory or frames) carried them.
    static let gangRingSum = TaskKind(
        name: "gang.ringsum", summary: "a gang passes seeded tensors around a ring and sums them (checks tensor transport)",
        parameters: GangRingSumParameters.self,
        metrics: [MetricSpec("max_abs_error", "largest error of the sum"), MetricSpec("seconds", "time", unit: "s"),
                  MetricSpec("shared_memory_transfers", "transfers through shared memory"),
                  MetricSpec("frame_transfers", "transfers as frames"), MetricSpec("bytes_sent", "bytes sent", unit: "B")],
        isGang: true, gangTopology: { $0.topology }
    ) { context, params in
        guard let gang = context.gang else { throw ClusterError.invalidTask("gang.ringsum must run as a gang") }
        let count = params.elements
        let forceFrames = params.frames
        func tensor(of rank: Int) throws -> Tensor {
            var random = SeededRandom(seed: UInt64(rank) &+ 1000)
            return try Tensor(shape: [count], storage: (0..<count).map { _ in random.nextUnitFloat() })
        }
        var travelling = try tensor(of: gang.rank)
        var sum = travelling.storage.map(Double.init)
        let next = (gang.rank + 1) % gang.size, previous = (gang.rank + gang.size - 1) % gang.size
        let start = ContinuousClock.now
        for step in 0..<(gang.size - 1) {
            // Even ranks send first and odd ranks receive first, so a ring of any size never
            // has every rank blocked on a full slot pool at once.
            if gang.rank % 2 == 0 {
                try gang.send(travelling, to: next, tag: "step\(step)", forceFrames: forceFrames)
                travelling = try gang.receiveTensor("step\(step)", from: previous)
            } else {
                let incoming = try gang.receiveTensor("step\(step)", from: previous)
                try gang.send(travelling, to: next, tag: "step\(step)", forceFrames: forceFrames)
                travelling = incoming
            }
            for i in 0..<count { sum[i] += Double(travelling.storage[i]) }
        }
        let seconds = (ContinuousClock.now - start).inSeconds
        // Checked against the sum of the ranks' own seeded tensors, recomputed here.
        var expected = [Double](repeating: 0, count: count)
        for rank in 0..<gang.size { for (i, x) in try tensor(of: rank).storage.enumerated() { expected[i] += Double(x) } }
        let maxError = zip(sum, expected).map { abs($0 - $1) }.max() ?? 0
        return TaskOutcome(metrics: [
            "max_abs_error": .double(maxError), "seconds": .double(seconds),
            "shared_memory_transfers": .int(gang.sharedMemoryTransfers), "frame_transfers": .int(gang.frameTransfers),
            "bytes_sent": .int((gang.size - 1) * count * 4)])
    }
}
