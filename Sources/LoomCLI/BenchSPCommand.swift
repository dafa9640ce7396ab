import Foundation
import SequenceParallel
import TensorCore

/// `loom bench sp`: sequence-parallel schedules on local workers against one process.
enum BenchSPCommand: Command {
    static let words = ["bench", "sp"]
    static let summary = "time sharded attention schedules on local workers against single-process attention"
    static let usage = "loom bench sp [options]"
    static let options: [Option] = [
        .value("algorithms", "A,A,…", "ring, zigzag_ring, ulysses, tokenring, usp (default all but usp)"),
        .value("ulysses-degree", "U", "usp's workers per Ulysses group; U divides every P, H and Hkv (default 2)"),
        .value("workers", "P,P,…", "gang sizes (default 2,4)"),
        .value("sizes", "N,N,…", "sequence lengths (default 4096,16384)"),
        .value("causal", "both|yes|no", "mask (default both)"),
        .value("links", "G,G,…", "link speeds in GB/s; 0 is unthrottled (default 0,1)"),
        .value("heads", "H", "query heads (default 8)"),
        .value("kv-heads", "H", "key/value heads (default: as --heads)"),
        .value("head-dim", "D", "head dimension (default 64)"),
        .flag("json", "print one JSON object instead of the table (release builds only)"),
    ]
    static let discussion = """
        Each rank runs with one thread, so P ranks use P cores at most (on a 2-core machine, P = 4 \
        shares 2 cores between 4 processes). 'single' is the whole problem in this process on one \
        thread, measured once per (n, mask) in the same run; 'overhead' is the slowest rank's \
        wall time over single/P, 1.0 for a perfect split (causal ring cannot reach it: its last \
        rank does P − ½ blocks of work against P/2 on average). 'imbalance' is the ranks' max over \
        min compute time. Bytes are tensor payload per rank, against the schedule's closed form \
        ((P − 1)·2·c·Hkv·d·4 for the rings; the all-to-all volume for ulysses; queries out and \
        results back for tokenring; for usp the group all-to-alls plus (P/U − 1)·2·c·Hkv·d·4 of ring). Links are modelled at the receiver: each message \
        arrives latency + bytes/bandwidth after it was sent and after the previous one on that link; \
        'link s/step' is the busiest incoming link's transmission time per step, the communication \
        a step needs whether or not compute hides it.
        Each case is one sample: read ratios, and repeat runs for noise.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        let wantsJSON = arguments.flag("json")
        if wantsJSON && !Provenance.isRelease {
            throw .usage("--json needs a release build: build with 'swift build -c release' and use .build/release/loom")
        }
        // usp needs a group size that suits every gang size: run it when asked for.
        var algorithms = SequenceParallelKinds.Algorithm.allCases.filter { $0 != .usp }
        if let text = arguments.string("algorithms") {
            algorithms = []
            for name in text.split(separator: ",") {
                guard let algorithm = SequenceParallelKinds.Algorithm(rawValue: String(name)) else {
                    throw .usage("--algorithms: '\(name)' is not one of " + SequenceParallelKinds.Algorithm.allCases.map(\.rawValue).joined(separator: ", "))
                }
                algorithms.append(algorithm)
            }
        }
        let causality: [Bool]
        switch arguments.string("causal") ?? "both" {
        case "both": causality = [false, true]
        case "yes": causality = [true]
        case "no": causality = [false]
        case let other: throw .usage("--causal must be both, yes or no; got '\(other)'")
        }
        var links: [Double?] = [nil, 1]
        if let text = arguments.string("links") {
            links = []
            for part in text.split(separator: ",") {
                guard let value = Double(part), value >= 0 else { throw .usage("--links expects GB/s values ≥ 0 such as 0,1; got '\(part)'") }
                links.append(value == 0 ? nil : value)
            }
        }
        let heads = try arguments.int("heads", minimum: 1) ?? 8
        let configuration = ShardedBenchmark.Configuration(
            algorithms: algorithms, workerCounts: try arguments.intList("workers") ?? [2, 4],
            sizes: try arguments.intList("sizes") ?? [4096, 16384], causality: causality, links: links,
            heads: heads, keyHeads: try arguments.int("kv-heads", minimum: 1) ?? heads,
            headDimension: try arguments.int("head-dim", minimum: 1) ?? 64,
            ulyssesDegree: try arguments.int("ulysses-degree", minimum: 1) ?? 2)
        guard configuration.heads % configuration.keyHeads == 0 else { throw .usage("--heads must be a multiple of --kv-heads") }
        // The single-process reference and every rank's shards, buffers and received blocks live
        // on this machine: about 16 copies of q's n·H·d floats, checked before any is allocated.
        for tokens in configuration.sizes {
            try MemoryBound.check(MemoryBudget.floatBytes([[16, tokens, configuration.heads, configuration.headDimension]]),
                                  "n = \(tokens) (H = \(configuration.heads), d = \(configuration.headDimension))",
                                  fix: "lower --sizes, --heads or --head-dim")
        }
        let rows = try ShardedBenchmark.run(configuration) { Console.progress($0) }
        Console.output(wantsJSON ? json(rows, configuration).rendered() : table(rows, configuration))
    }

    private static func table(_ rows: [ShardedBenchmark.Row], _ configuration: ShardedBenchmark.Configuration) -> String {
        var lines = ["loom \(Provenance.loomVersion) (commit \(Provenance.commit), \(Provenance.build) build), \(Provenance.host)",
                     "H = \(configuration.heads), Hkv = \(configuration.keyHeads), d = \(configuration.headDimension), one thread per rank", ""]
        if !Provenance.isRelease { lines.append("warning: debug build — these timings are not meaningful") }
        let header = ["algorithm", "P", "n", "causal", "link", "wall s", "single s", "overhead", "imbalance", "max wait s", "link s/step", "bytes/rank (formula)"]
        var cells = [header]
        for row in rows {
            let bytes = row.bytesSent == row.expectedBytes ? "\(row.bytesSent.max() ?? 0) (=)" : "\(row.bytesSent) vs \(row.expectedBytes)"
            cells.append([row.setting.algorithm.rawValue, String(row.setting.workers), String(row.setting.tokens),
                          row.setting.isCausal ? "yes" : "no", row.setting.linkGbps.map { "\($0) GB/s" } ?? "—",
                          String(format: "%.3f", row.wallSeconds), String(format: "%.3f", row.singleSeconds),
                          String(format: "%.2f", row.overhead), String(format: "%.2f", row.computeImbalance),
                          String(format: "%.3f", row.maxWaitSeconds),
                          row.linkSecondsPerStep.map { String(format: "%.4f", $0) } ?? "—", bytes])
        }
        let widths = header.indices.map { column in cells.map { $0[column].count }.max() ?? 0 }
        for row in cells {
            lines.append(row.indices.map { $0 == 0 ? row[$0].padding(widths[$0]) : row[$0].leftPadding(widths[$0]) }.joined(separator: "  "))
        }
        return lines.joined(separator: "\n")
    }

    private static func json(_ rows: [ShardedBenchmark.Row], _ configuration: ShardedBenchmark.Configuration) -> JSONValue {
        .object([
            ("benchmark", .string("sp")), ("commit", .string(Provenance.commit)), ("host", .string(Provenance.host)),
            ("build", .string(Provenance.build)), ("heads", .integer(configuration.heads)),
            ("kv_heads", .integer(configuration.keyHeads)), ("head_dim", .integer(configuration.headDimension)),
            ("results", .array(rows.map { row in
                .object([
                    ("algorithm", .string(row.setting.algorithm.rawValue)), ("workers", .integer(row.setting.workers)),
                    ("n", .integer(row.setting.tokens)), ("causal", .bool(row.setting.isCausal)),
                    ("link_gbps", .number(row.setting.linkGbps)), ("wall_s", .number(row.wallSeconds)),
                    ("single_s", .number(row.singleSeconds)), ("overhead", .number(row.overhead)),
                    ("compute_imbalance", .number(row.computeImbalance)), ("max_wait_s", .number(row.maxWaitSeconds)),
                    ("link_s_per_step", .number(row.linkSecondsPerStep)),
                    ("bytes_sent", .array(row.bytesSent.map { .integer($0) })),
                    ("expected_bytes_sent", .array(row.expectedBytes.map { .integer($0) })),
                ])
            })),
        ])
    }
}
