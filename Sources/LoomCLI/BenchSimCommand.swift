import Foundation
import SequenceParallel
import Simulator

/// `loom bench sim`: how fast the simulator replays schedules, against its event queue alone.
enum BenchSimCommand: Command {
    static let words = ["bench", "sim"]
    static let summary = "time the simulator: events per second and wall time per simulated run, P = 8 … 4096, against its event queue alone"
    static let usage = "loom bench sim [--workers P,P,…] [--algorithms A,A,…] [--backward] [--repeat R] [--json]"
    static let options: [Option] = [
        .value("workers", "P,P,…", "ranks (default 8,64,256,1024; at most 4096)"),
        .value("algorithms", "A,A,…", "schedules (default zigzag_ring,ulysses,tokenring; tokenring above 256 ranks only when listed)"),
        .flag("backward", "replay the backward pass after the forward"),
        .value("repeat", "R", "timed replays per case (default 3; the median is reported)"),
        .flag("json", "one JSON object instead of the table (release builds only)"),
    ]
    static let discussion = """
        Each case replays a causal problem of 1,024 tokens per rank (H = 8, or P heads for ulysses; \
        d = 128, bf16) on the 8xA100-nvlink preset resized to P ranks (one switch), and counts its \
        events: two per transfer (start, end) and one per step's compute. The baseline, measured \
        in the same run, moves as many events through the simulator's event queue alone, P of \
        them pending at a time: what the engine would cost with nothing to compute. By default TokenRing stops at 256 ranks (at 1,024 it takes minutes: \
        all its flows share the switch, so every change recomputes their rates); list it in \
        --algorithms to run it further.
        """

    struct Row { var algorithm: String, ranks: Int, seconds: Double, events: Int, predicted: Double, queueRate: Double }

    static func run(_ arguments: Arguments) throws(CommandError) {
        let json = arguments.flag("json")
        if json && !Provenance.isRelease {
            throw .usage("--json needs a release build: build with 'swift build -c release' and use .build/release/loom")
        }
        let workers = try arguments.intList("workers") ?? [8, 64, 256, 1024]
        if let bad = workers.first(where: { $0 < 2 || $0 > 4096 }) { throw .usage("--workers \(bad) is outside 2…4096") }
        try measure(arguments, workers: workers, json: json)
    }

    private static func measure(_ arguments: Arguments, workers: [Int], json: Bool) throws(CommandError) {
        let listed = arguments.string("algorithms")
        var algorithms: [SequenceParallelKinds.Algorithm] = []
        for name in (listed ?? "zigzag_ring,ulysses,tokenring").split(separator: ",") {
            guard let algorithm = SequenceParallelKinds.Algorithm(rawValue: String(name)) else {
                throw .usage("--algorithms: '\(name)' is not one of " + SequenceParallelKinds.Algorithm.allCases.map(\.rawValue).joined(separator: ", "))
            }
            algorithms.append(algorithm)
        }
        let repeats = try arguments.int("repeat", minimum: 1) ?? 3
        guard repeats <= 100 else { throw .usage("--repeat \(repeats) is more than 100") }
        let backward = arguments.flag("backward")
        var rows: [Row] = []
        for algorithm in algorithms {
            for ranks in workers {
                if algorithm == .tokenring && ranks > 256 && listed == nil { continue }
                let topology: Topology
                do { topology = try TopologyFile.named("8xA100-nvlink", ranks: ranks) } catch { throw .failure("\(error)") }
                let heads = algorithm == .ulysses ? ranks : 8
                let problem = ScheduleReplay.Problem(tokens: 1024 * ranks, ranks: ranks, causal: true, heads: heads, keyHeads: heads,
                                                     headDimension: 128, elementBytes: 2)
                if !json { Console.progress("bench sim: \(algorithm.rawValue) on \(ranks) ranks …") }
                var samples: [Double] = [], events = 0, predicted = 0.0
                for _ in 0..<repeats {
                    let start = ContinuousClock.now
                    do {
                        let passes: [ScheduleReplay.Pass] = backward ? [.forward, .backward] : [.forward]
                        events = 0; predicted = 0
                        for pass in passes {
                            let result = try ScheduleReplay(algorithm: algorithm, problem: problem, pass: pass,
                                                            computeRate: topology.compute?.forwardRate ?? 1e14, network: topology.network).run()
                            events += 2 * result.transfers + result.stepsReplayed
                            predicted += result.total
                        }
                    } catch { throw .failure("\(error)") }
                    samples.append((ContinuousClock.now - start).inSeconds)
                }
                rows.append(Row(algorithm: algorithm.rawValue, ranks: ranks, seconds: BenchOracleCommand.median(samples), events: events,
                                predicted: predicted, queueRate: queueRate(events: events, depth: ranks)))
            }
        }
        if json {
            Console.output(JSONValue.object([
                ("benchmark", .string("sim")), ("commit", .string(Provenance.commit)), ("backward", .bool(backward)), ("repeat", .integer(repeats)),
                ("results", .array(rows.map { row in
                    .object([("algorithm", .string(row.algorithm)), ("ranks", .integer(row.ranks)), ("seconds", .number(row.seconds)),
                             ("events", .integer(row.events)), ("events_per_s", .number(Double(row.events) / row.seconds)),
                             ("queue_events_per_s", .number(row.queueRate)), ("predicted_s", .number(row.predicted))])
                })),
            ]).rendered())
            return
        }
        Console.output("loom \(Provenance.loomVersion) (commit \(Provenance.commit), \(Provenance.build) build), \(Provenance.host)")
        if !Provenance.isRelease { Console.output("warning: debug build — these timings are not meaningful") }
        Console.output("causal, 1,024 tokens per rank, d = 128, bf16, 8xA100-nvlink resized; \(backward ? "forward and backward" : "forward"); median of \(repeats)")
        let header = ["algorithm", "P", "wall s", "events", "events/s", "queue events/s", "vs queue", "predicted s"]
        Console.output(header.map { $0.leftPadding(15) }.joined())
        for row in rows {
            let rate = Double(row.events) / row.seconds
            Console.output([row.algorithm, String(row.ranks), String(format: "%.4f", row.seconds), String(row.events), String(format: "%.3g", rate),
                            String(format: "%.3g", row.queueRate), String(format: "%.3f", rate / row.queueRate), String(format: "%.6f", row.predicted)]
                .map { $0.leftPadding(15) }.joined())
        }
    }

    /// Events per second through `EventQueue` alone, holding `depth` events (about what a replay
    /// of P ranks keeps pending): each pop followed by a push at a later pseudo-random time, twice,
    /// the faster kept.
    static func queueRate(events: Int, depth: Int) -> Double {
        var best = Double.infinity, random = UInt64(0x9E37_79B9_7F4A_7C15), checksum = 0.0
        func next() -> Double {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(random >> 11) / Double(1 << 53)
        }
        for _ in 0..<2 {
            let start = ContinuousClock.now
            var queue = EventQueue<Int>()
            for index in 0..<depth { queue.schedule(index, at: next()) }
            for index in 0..<events {
                guard let event = queue.next() else { break }
                checksum += Double(event.payload & 1)
                queue.schedule(index, at: event.time + next())
            }
            best = min(best, (ContinuousClock.now - start).inSeconds)
        }
        return checksum < 0 ? 0 : Double(events) / best
    }
}
