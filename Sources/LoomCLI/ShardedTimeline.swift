import Cluster

/// The per-step timeline of a sharded run, read back from every rank's metrics.
struct ShardedTimeline {
    struct Step {
        var rank: Int, step: Int
        var start: Double, send: Double, compute: Double, wait: Double
    }

    let steps: [Step]

    init(result: TaskResult, ranks: Int) {
        var steps: [Step] = []
        for rank in 0..<ranks {
            func metric(_ name: String) -> Double? { result.metrics[rank == 0 ? name : "rank\(rank).\(name)"]?.number }
            var step = 0
            while let start = metric("step\(step).start_s") {
                steps.append(Step(rank: rank, step: step, start: start, send: metric("step\(step).send_s") ?? 0,
                                  compute: metric("step\(step).compute_s") ?? 0, wait: metric("step\(step).wait_s") ?? 0))
                step += 1
            }
        }
        self.steps = steps
    }

    /// One rank's steps as a JSON array.
    func stepsJSON(rank: Int) -> String {
        "[" + steps.filter { $0.rank == rank }.map {
            "{\"step\":\($0.step),\"start_s\":\($0.start),\"send_s\":\($0.send),\"compute_s\":\($0.compute),\"wait_s\":\($0.wait)}"
        }.joined(separator: ",") + "]"
    }

    /// The Chrome trace-event format (Perfetto, chrome://tracing): a track per rank with send,
    /// compute and wait spans. Each rank's clock starts when its gang passed the start barrier.
    func chromeTrace(algorithm: String) -> String {
        var events: [String] = []
        for rank in Set(steps.map(\.rank)).sorted() {
            events.append("{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":\(rank),\"args\":{\"name\":\"rank \(rank)\"}}")
        }
        for step in steps {
            var time = step.start * 1e6
            for (name, seconds) in [("send", step.send), ("compute", step.compute), ("wait", step.wait)] where seconds > 0 {
                events.append("{\"name\":\"\(name)\",\"cat\":\"\(algorithm)\",\"ph\":\"X\",\"pid\":1,\"tid\":\(step.rank),"
                              + "\"ts\":\(time),\"dur\":\(seconds * 1e6),\"args\":{\"step\":\(step.step)}}")
                time += seconds * 1e6
            }
        }
        return "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n" + events.joined(separator: ",\n") + "\n]}\n"
    }
}
