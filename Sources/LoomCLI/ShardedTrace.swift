import SequenceParallel

/// The Chrome trace-event file of a sharded run (Perfetto, chrome://tracing): a track per rank
/// with its connect and setup spans, then send, compute and receive (or wait) spans per step;
/// byte counts in the args, and a flow arrow from each send to the receive it feeds.
///
/// All ranks share one axis: 0 is when the CLI submitted the gang, and each rank's steps sit
/// after its reported start (`start_unix_s`) and setup, which holds on one machine's clock.
struct ShardedTrace {
    let timeline: ShardedTimeline
    let algorithm: SequenceParallelKinds.Algorithm
    /// The schedule's transfers (`Algorithm.forwardTransfers`).
    let transfers: [ScheduledTransfer]
    /// Unix seconds when the gang was submitted.
    let submitted: Double

    /// Where a span of one rank's step lies, in microseconds on the common axis.
    private struct Span { var start: Double, duration: Double }

    func json() -> String {
        var events: [String] = []
        let ranks = timeline.setups.indices
        // Each rank's first step starts after its connect and setup; µs on the common axis.
        let origins = ranks.map { rank -> Double in
            let setup = timeline.setups[rank]
            let began = setup.startUnix.map { max(0, $0 - submitted) } ?? 0
            return (began + setup.seconds) * 1e6
        }
        for rank in ranks {
            events.append("{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":\(rank),\"args\":{\"name\":\"rank \(rank)\"}}")
            let setup = timeline.setups[rank]
            if let startUnix = setup.startUnix {
                let began = max(0, startUnix - submitted) * 1e6
                events.append(span("connect", rank: rank, Span(start: 0, duration: began),
                                   args: "\"what\":\"dispatch, gang connect, start barrier\""))
            }
            events.append(span("setup", rank: rank, Span(start: origins[rank] - setup.seconds * 1e6, duration: setup.seconds * 1e6),
                               args: "\"what\":\"inputs sliced, shared memory reserved\""))
        }
        var sends: [String: Span] = [:], computes: [String: Span] = [:], receives: [String: Span] = [:]
        func key(_ rank: Int, _ step: Int) -> String { "\(rank).\(step)" }
        for step in timeline.steps {
            let outgoing = transfers.filter { $0.from == step.rank && $0.step == step.step && !$0.sentAfterCompute }
            let incoming = transfers.filter { $0.to == step.rank && $0.receiveStep == step.step }
            let results = transfers.filter { $0.from == step.rank && $0.step == step.step && $0.sentAfterCompute }
            var time = origins[step.rank] + step.start * 1e6
            let send = Span(start: time, duration: step.send * 1e6)
            time += send.duration
            let compute = Span(start: time, duration: step.compute * 1e6)
            time += compute.duration
            let receive = Span(start: time, duration: step.wait * 1e6)
            let stepArg = "\"step\":\(step.step)"
            // What the gang counted in the whole step, beside the schedule's bytes per span.
            let measuredSent = step.bytesSent.map { ",\"measured_step_bytes_sent\":\($0)" } ?? ""
            let measuredReceived = step.bytesReceived.map { ",\"measured_step_bytes_received\":\($0)" } ?? ""
            if !outgoing.isEmpty || step.send > 0 {
                sends[key(step.rank, step.step)] = send
                events.append(span("send", rank: step.rank, send, args: stepArg + bytesArgs(outgoing, peer: \.to, prefix: "to") + measuredSent))
            }
            if !results.isEmpty || step.compute > 0 {
                computes[key(step.rank, step.step)] = compute
                events.append(span("compute", rank: step.rank, compute, args: stepArg + bytesArgs(results, peer: \.to, prefix: "to")))
            }
            if !incoming.isEmpty || step.wait > 0 {
                receives[key(step.rank, step.step)] = receive
                events.append(span(incoming.isEmpty ? "wait" : "receive", rank: step.rank, receive,
                                   args: stepArg + bytesArgs(incoming, peer: \.from, prefix: "from") + measuredReceived))
            }
        }
        // Flows bind to the enclosing slice: just inside the send's start (or the compute's end,
        // where results leave) and just inside the receive's end, when the data had arrived.
        for (id, transfer) in transfers.enumerated() {
            let senderKey = key(transfer.from, transfer.step), receiverKey = key(transfer.to, transfer.receiveStep)
            guard let out = transfer.sentAfterCompute ? computes[senderKey] : sends[senderKey], let into = receives[receiverKey] else {
                continue
            }
            let start = transfer.sentAfterCompute ? out.start + out.duration - inset(out) : out.start + inset(out)
            let finish = into.start + into.duration - inset(into)
            let common = "\"name\":\"\(transfer.what)\",\"cat\":\"transfer\",\"id\":\(id + 1),\"pid\":1"
            events.append("{\(common),\"ph\":\"s\",\"tid\":\(transfer.from),\"ts\":\(number(start)),"
                          + "\"args\":{\"bytes\":\(transfer.bytes),\"step\":\(transfer.step)}}")
            events.append("{\(common),\"ph\":\"f\",\"bp\":\"e\",\"tid\":\(transfer.to),\"ts\":\(number(finish))}")
        }
        // The measured bytes per peer, next to the schedule's total, once per rank at its end.
        for rank in ranks {
            let end = timeline.steps.filter { $0.rank == rank }.map { origins[rank] + ($0.start + $0.send + $0.compute + $0.wait) * 1e6 }.max()
                ?? origins[rank]
            let setup = timeline.setups[rank]
            var fields = ["\"expected_bytes_sent\":\(transfers.filter { $0.from == rank }.reduce(0) { $0 + $1.bytes })"]
            for peer in setup.bytesTo.keys.sorted() { fields.append("\"measured_bytes_to_r\(peer)\":\(number(setup.bytesTo[peer]!))") }
            for peer in setup.bytesFrom.keys.sorted() { fields.append("\"measured_bytes_from_r\(peer)\":\(number(setup.bytesFrom[peer]!))") }
            events.append("{\"name\":\"bytes (forward pass)\",\"cat\":\"\(algorithm.rawValue)\",\"ph\":\"i\",\"s\":\"t\",\"pid\":1,"
                          + "\"tid\":\(rank),\"ts\":\(number(end)),\"args\":{\(fields.joined(separator: ","))}}")
        }
        return "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n" + events.joined(separator: ",\n") + "\n]}\n"
    }

    /// A complete ("X") event on a rank's track.
    private func span(_ name: String, rank: Int, _ span: Span, args: String) -> String {
        "{\"name\":\"\(name)\",\"cat\":\"\(algorithm.rawValue)\",\"ph\":\"X\",\"pid\":1,\"tid\":\(rank),"
            + "\"ts\":\(number(span.start)),\"dur\":\(number(span.duration)),\"args\":{\(args)}}"
    }

    /// `bytes` (the schedule's, this step) and the bytes per peer, e.g. `"to_r1":4096`.
    private func bytesArgs(_ transfers: [ScheduledTransfer], peer: KeyPath<ScheduledTransfer, Int>, prefix: String) -> String {
        guard !transfers.isEmpty else { return "" }
        var perPeer: [Int: Int] = [:]
        for transfer in transfers { perPeer[transfer[keyPath: peer], default: 0] += transfer.bytes }
        let peers = perPeer.keys.sorted().map { ",\"\(prefix)_r\($0)\":\(perPeer[$0]!)" }.joined()
        return ",\"bytes\":\(transfers.reduce(0) { $0 + $1.bytes })" + peers
    }

    /// A flow's offset into its slice: inside it, even for a zero-length slice.
    private func inset(_ span: Span) -> Double { min(span.duration / 2, 0.01) }

    /// A JSON number: trace viewers reject NaN and infinities.
    private func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        return value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)"
    }
}
