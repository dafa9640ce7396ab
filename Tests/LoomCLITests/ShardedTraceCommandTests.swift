import Foundation
import ProcessTestSupport
import TensorCore
import Testing

/// `loom attention --algorithm … --trace` writes a Chrome trace that Perfetto can draw the
/// exchange from: bytes on the spans, send → receive flows, and setup before step 0.
@Suite(.serialized) struct ShardedTraceCommandTests {
    @Test(arguments: ["ring", "ulysses"])
    func traceHasBytesFlowsAndSetup(algorithm: String) throws {
        let scratch = try TemporaryDirectory()
        // n = 64 tokens, H = 4, Hkv = 2, d = 8 on 2 workers: c = 32 tokens per rank.
        for (name, heads) in [("q", 4), ("k", 2), ("v", 2)] {
            try Tensor(uncheckedZeros: [64, heads, 8]).writeNPY(toFile: scratch.path("\(name).npy"))
        }
        let outcome = try LoomProcess.run(["attention", "--q", scratch.path("q.npy"), "--k", scratch.path("k.npy"),
                                           "--v", scratch.path("v.npy"), "--algorithm", algorithm, "--workers", "2",
                                           "--out", scratch.path("out.npy"), "--trace", scratch.path("trace.json")],
                                          deadline: .seconds(120))
        try #require(outcome.status == 0, "\(outcome)")
        let data = try Data(contentsOf: URL(fileURLWithPath: scratch.path("trace.json")))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let events = try #require(root["traceEvents"] as? [[String: Any]])
        func spans(_ name: String) -> [[String: Any]] { events.filter { $0["ph"] as? String == "X" && $0["name"] as? String == name } }
        func args(_ event: [String: Any]) -> [String: Any] { event["args"] as? [String: Any] ?? [:] }
        func int(_ value: Any?) -> Int? { (value as? NSNumber)?.intValue }
        func double(_ value: Any?) -> Double { (value as? NSNumber)?.doubleValue ?? .nan }

        // The schedule's formula for one transfer from a rank to its peer.
        let c = 32, heads = 4, keyHeads = 2, d = 8
        let perTransfer = algorithm == "ring" ? [2 * c * keyHeads * d * 4]
            : [c * (heads + 2 * keyHeads) / 2 * d * 4, c * heads / 2 * (d + 1) * 4]
        for rank in 0..<2 {
            let sends = spans("send").filter { int($0["tid"]) == rank && args($0)["bytes"] != nil }
            #expect(sends.map { int(args($0)["bytes"]) } == perTransfer, "rank \(rank) sends: \(sends)")
            #expect(sends.allSatisfy { int(args($0)["to_r\(1 - rank)"]) == int(args($0)["bytes"]) })
            let receives = spans("receive").filter { int($0["tid"]) == rank }
            #expect(receives.map { int(args($0)["bytes"]) } == perTransfer, "rank \(rank) receives: \(receives)")
            // The gang's own count of each step agrees with the formula.
            #expect(sends.allSatisfy { int(args($0)["measured_step_bytes_sent"]) == int(args($0)["bytes"]) }, "\(sends)")
            #expect(receives.allSatisfy { int(args($0)["measured_step_bytes_received"]) == int(args($0)["bytes"]) }, "\(receives)")
            // Connection setup is its own span, and ends before step 0 starts.
            let setup = try #require(spans("setup").first { int($0["tid"]) == rank })
            let connect = try #require(spans("connect").first { int($0["tid"]) == rank })
            let first = try #require(events.filter { int($0["tid"]) == rank && int(args($0)["step"]) == 0 && $0["ph"] as? String == "X" }
                .map { double($0["ts"]) }.min())
            #expect(double(connect["ts"]) + double(connect["dur"]) <= double(setup["ts"]) + 1e-6)
            #expect(double(setup["ts"]) + double(setup["dur"]) <= first + 1e-6)
            let totals = try #require(events.first { $0["name"] as? String == "bytes (forward pass)" && int($0["tid"]) == rank })
            #expect(int(args(totals)["measured_bytes_to_r\(1 - rank)"]) == perTransfer.reduce(0, +), "\(totals)")
        }

        // Every flow start has one finish with its id, from a send on rank r to a later receive on its peer.
        let starts = events.filter { $0["ph"] as? String == "s" }, finishes = events.filter { $0["ph"] as? String == "f" }
        #expect(starts.count == 2 * perTransfer.count && finishes.count == starts.count)
        for start in starts {
            let matches = finishes.filter { int($0["id"]) == int(start["id"]) }
            try #require(matches.count == 1, "flow \(start)")
            let finish = matches[0], from = try #require(int(start["tid"])), ts = double(start["ts"]), end = double(finish["ts"])
            #expect(int(finish["tid"]) == 1 - from && finish["bp"] as? String == "e")
            #expect(end > ts, "flow \(start) → \(finish) goes back in time")
            #expect(spans("send").contains { int($0["tid"]) == from && double($0["ts"]) <= ts && ts <= double($0["ts"]) + double($0["dur"]) })
            #expect(spans("receive").contains { int($0["tid"]) == 1 - from && double($0["ts"]) <= end && end <= double($0["ts"]) + double($0["dur"]) })
        }
    }
}
