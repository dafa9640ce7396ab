import Foundation
import Attention
import TensorCore

/// `loom bench attention`: GFLOP/s of blockwise attention against sgemm and the materialised kernel.
enum BenchAttentionCommand: Command {
    static let words = ["bench", "attention"]
    static let summary = "time blockwise attention against OpenBLAS sgemm and the materialised kernel"
    static let usage = "loom bench attention [options]"
    static let options: [Option] = [
        .value("sizes", "N,N,…", "sequence lengths n = m (default 1024,2048,4096,8192,16384)"),
        .value("head-dims", "D,D,…", "head dimensions d (default 64,128)"),
        .value("heads", "H", "heads H = Hkv (default 8)"),
        .value("causal", "both|yes|no", "mask: causal (end-aligned), none, or both (default both)"),
        .value("pass", "fwd|bwd|both", "forward, backward, or both (default both)"),
        .value("threads", "N", "kernel and OpenBLAS threads (default: active cores)"),
        .value("repeat", "R", "timed samples per case after one warm-up (default 5)"),
        .value("naive-max", "N", "largest n for the materialised baseline, O(n²) memory (default 4096)"),
        .value("query-block", "B", "query rows per tile, for tuning (default: each pass's tuned size)"),
        .value("key-block", "B", "key rows per tile, for tuning (default: each pass's tuned size)"),
        .value("compare-blocks", "QxK", "also time the kernel on Q query × K key rows per tile, turn by turn, and report the paired speed-up"),
        .flag("compare-torch", "also time PyTorch's CPU flash attention (scaled_dot_product_attention), alternated"),
        .value("python", "PATH", "the Python that has torch, for --compare-torch (default python3 on PATH)"),
        .flag("json", "print one JSON object instead of the table (release builds only)"),
    ]
    static let discussion = """
        Inputs are seeded standard normals, q, k, v [n, H, d] with n = m. Each case runs one \
        discarded warm-up, then R timed samples; the table shows the median and minimum time and the \
        GFLOP/s at the median.

        FLOPs count useful work: forward 4·H·d·P with P the visible (query, key) pairs (n·m, or \
        n(n+1)/2 causal), backward 2.5× forward. A causal case therefore does about half the work \
        of a full one and is credited only for that half.

        Baselines, measured in the same process on the same inputs:
          sgemm  OpenBLAS square sgemm whose 2s³ FLOPs match the case (s rounded to 128, kept in
                 256 … 4096), on the same threads, timed alternately with the kernel sample by
                 sample so that both see the same machine; 'vs sgemm' is the kernel's fraction.
          naive  the materialised kernel (n×m score matrix, two sgemms and a row softmax), forward
                 only and only for n ≤ --naive-max; the blockwise output must match it to 1e-4
                 relative before its time is trusted (a mismatch is flagged).

        With --compare-torch, PyTorch runs in a child process (bench/torch_peer.py) on the same \
        threads and shapes, a third sample in each turn, timed by PyTorch itself (the backward \
        alone, after an untimed forward); 'vs torch' is Loom's rate over PyTorch's. Without torch \
        importable it says so and prints the rest.

        A turn runs the kernel, sgemm, PyTorch and the compared tiles in that order, and the next \
        turn in the reverse order, so that no side always goes first. Each ratio is that of the \
        medians, followed by [lowest–highest] of the same ratio taken turn by turn: on a machine whose speed changes from minute to minute, the spread shows \
        how far one sitting's verdict can be trusted. The JSON gives both (ratio_turns, \
        ratio_torch_turns: median, min, max, turns).

        With --compare-blocks QxK, the kernel also runs on tiles of Q query rows × K key rows, a \
        fourth sample in each turn, on the same inputs: for tuning the tiles on a noisy machine, \
        where two runs one after the other compare the machine's drift rather than the tiles. \
        'QxK speed-up' is the median over turns of the configured tiles' time over the compared \
        ones' (above 1: the compared tiles are faster), with the turns they were faster in; their \
        outputs must match the configured tiles' to 1e-4 relative (they sum in another order, so \
        not bit for bit), or the row is flagged. The tiles fix the bits of the result, so a \
        faster choice is a default to change for every machine, not per run.

        A case whose tensors (or materialised score matrix) would need more than 80 % of the \
        machine's memory is refused before anything is allocated, with the flags to lower.

        The header names OpenBLAS's kernel core (OPENBLAS_CORETYPE may pin it) and the SIMD target \
        Loom was built for: read every ratio against them. Progress goes to stderr, so stdout is \
        only the table or the JSON. Quote speedups only against baselines of the same run.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        let wantsJSON = arguments.flag("json")
        if wantsJSON && !Provenance.isRelease {
            throw .usage("--json needs a release build: debug timings are not comparable with anything. Build with 'swift build -c release' (or run 'make bench') and use .build/release/loom")
        }
        let configuration = AttentionBenchmark.Configuration(
            sizes: try arguments.intList("sizes") ?? [1024, 2048, 4096, 8192, 16384],
            headDimensions: try arguments.intList("head-dims") ?? [64, 128],
            heads: try arguments.int("heads", minimum: 1) ?? 8,
            causality: try arguments.choice("causal", as: AttentionBenchmark.Causality.self) ?? .both,
            pass: try arguments.choice("pass", as: AttentionBenchmark.Pass.self) ?? .both,
            threads: try arguments.int("threads", minimum: 1) ?? Parallel.activeCores,
            repeatCount: try arguments.int("repeat", minimum: 1) ?? 5,
            naiveMax: try arguments.int("naive-max", minimum: 0) ?? 4096,
            queryBlock: try arguments.int("query-block", minimum: 1),
            keyBlock: try arguments.int("key-block", minimum: 1),
            compareBlocks: try compareBlocks(arguments))

        for item in configuration.cases {
            let naive = item.pass == .fwd && item.n <= configuration.naiveMax
            try MemoryBound.check(AttentionBenchmark.bytes(item, threads: configuration.threads, naive: naive,
                                                           compared: configuration.compareBlocks != nil),
                                  "the case \(item.label)" + (naive ? " with its materialised baseline" : ""),
                                  fix: "lower --sizes, --heads or --head-dims" + (naive ? ", or --naive-max" : ""))
        }
        // Every OpenBLAS call of the run (the sgemm baseline, the materialised kernel, any sgemm
        // inside the blockwise kernel) uses the requested threads; the header prints the setting.
        // A plain set, not `withThreadCount`: this process runs one command and then exits.
        BLAS.threadCount = configuration.threads
        let torch = compareTorch(arguments, threads: configuration.threads)
        var benchmark = AttentionBenchmark(configuration: configuration, torch: torch.peer)
        Console.progress("bench attention: \(configuration.cases.count) cases, \(configuration.repeatCount) samples each after a warm-up")
        Console.progress("sgemm \(AttentionBenchmark.referenceSgemmSize)³ reference …")
        let reference = benchmark.sgemm(size: AttentionBenchmark.referenceSgemmSize)
        let results = try benchmark.run { index, total, result in
            var line = "[\(index)/\(total)] \(result.item.label): " +
                String(format: "%.2f ms median, %.1f GFLOP/s", result.samples.medianMilliseconds, result.gigaflops)
            if let error = result.naiveRelativeError {
                line += String(format: ", rel. error vs naive %.1e", error)
                if !(error <= AttentionBenchmark.matchTolerance) { line += " — MISMATCH" }
            }
            if let compared = result.compared {
                line += "; \(compared.blocks.label) tiles " + String(format: "%.2f× (faster in %d of %d turns)",
                                                                          compared.speedup, compared.faster, compared.turns)
                if !(compared.relativeError <= AttentionBenchmark.matchTolerance) { line += " — MISMATCH" }
            }
            Console.progress(line)
        }
        let torchNote = torch.peer?.failure.map { "PyTorch stopped during the run: \($0)" } ?? torch.note
        if wantsJSON {
            Console.output(json(configuration, reference: reference, results: results, checksum: benchmark.checksum,
                                torch: torch.peer, torchNote: torchNote).rendered())
        } else {
            Console.output(table(configuration, reference: reference, results: results, checksum: benchmark.checksum,
                                 torch: torch.peer, torchNote: torchNote))
        }
    }

    /// `--compare-blocks QxK`, parsed and bounded, or nil when not given.
    static func compareBlocks(_ arguments: Arguments) throws(CommandError) -> AttentionBenchmark.Blocks? {
        guard let text = arguments.string("compare-blocks") else { return nil }
        guard let blocks = AttentionBenchmark.Blocks(text) else {
            throw .usage("--compare-blocks must be QxK, query rows × key rows per tile, each 1 … \(AttentionBenchmark.Blocks.largest) (got '\(text)'); for example --compare-blocks 192x384")
        }
        return blocks
    }

    /// The PyTorch peer when `--compare-torch` asks for one, or why there is none (said on stderr
    /// at once, and in the report): a missing torch never stops Loom's own benchmark.
    static func compareTorch(_ arguments: Arguments, threads: Int) -> (peer: TorchPeer?, note: String?) {
        guard arguments.flag("compare-torch") else { return (nil, nil) }
        do {
            let peer = try TorchPeer(python: arguments.string("python") ?? "python3", threads: threads)
            Console.progress("PyTorch \(peer.version) (\(peer.capability)) on \(peer.threads) threads, alternated with every case")
            return (peer, nil)
        } catch {
            let note = "no PyTorch comparison: \(error.description)"
            Console.progress(note)
            return (nil, note)
        }
    }

    /// The header lines: what ran, on what, built how.
    private static func header(_ configuration: AttentionBenchmark.Configuration,
                               reference: AttentionBenchmark.SgemmBaseline) -> [(String, String)] {
        let pinned: String = BLASCore.forced == nil ? "" : ", pinned by \(BLASCore.coreTypeVariable)"
        return [
            ("OpenBLAS core", "\(BLAS.coreName) (OpenBLAS \(BLAS.version)\(pinned))"),
            ("OpenBLAS threads", String(BLAS.threadCount)),
            ("Loom SIMD target", SIMDTarget.name),
            ("threads", String(configuration.threads)),
            ("build", Provenance.build),
            ("commit", Provenance.commit),
            ("host", "\(Provenance.host) (\(Provenance.cpuModel))"),
            ("samples", "1 warm-up discarded, then \(configuration.repeatCount) timed; rates at the median"),
            ("tiles", tiles(configuration)),
        ] + (configuration.compareBlocks.map { [("compared tiles", "\($0.label) (query × key rows), a fourth sample in each turn")] } ?? []) + [
            ("sgemm \(reference.size)³", String(format: "%.1f GFLOP/s", reference.gigaflops)),
        ]
    }

    /// The tile sizes in use: the tuned defaults unless overridden.
    private static func tiles(_ configuration: AttentionBenchmark.Configuration) -> String {
        let forward = BlockwiseAttention.defaultForwardBlocks, backward = BlockwiseAttention.defaultBackwardBlocks
        let q = configuration.queryBlock, k = configuration.keyBlock
        return "forward \(q ?? forward.query)×\(k ?? forward.key), backward \(q ?? backward.query)×\(k ?? backward.key) (query × key rows)"
    }

    /// The report as a text table.
    private static func table(_ configuration: AttentionBenchmark.Configuration,
                              reference: AttentionBenchmark.SgemmBaseline,
                              results: [AttentionBenchmark.Result], checksum: Double,
                              torch: TorchPeer?, torchNote: String?) -> String {
        var lines: [String] = []
        var rows = header(configuration, reference: reference)
        if let torch { rows.append(("PyTorch", "\(torch.version) (\(torch.capability)), \(torch.threads) threads, in a child process")) }
        if let torchNote { rows.append(("PyTorch", torchNote)) }
        let width = rows.map(\.0.count).max() ?? 0
        for (name, value) in rows { lines.append(name.padding(width) + "  " + value) }
        if !Provenance.isRelease {
            lines.append("warning: debug build — these timings are not meaningful; run 'make bench'")
        }
        if let warning = BLASCore.narrowBaselineWarningHere { lines.append("warning: " + warning) }
        lines.append("")
        let columns = ["n", "H", "d", "causal", "pass", "ms median", "ms min", "GFLOP/s", "vs sgemm",
                       "sgemm GFLOP/s", "naive GFLOP/s", "naive vs sgemm", "vs naive"] + (torch == nil ? [] : ["torch GFLOP/s", "vs torch"])
            + (configuration.compareBlocks.map { ["\($0.label) ms", "\($0.label) speed-up"] } ?? [])
        var cells: [[String]] = [columns]
        for result in results {
            let item = result.item
            let naive = result.naiveGigaflops
            var naiveCell = naive.map { String(format: "%.1f", $0) } ?? "—"
            if let error = result.naiveRelativeError, !(error <= AttentionBenchmark.matchTolerance) {
                naiveCell += " MISMATCH"
            }
            cells.append([
                String(item.n), String(item.heads), String(item.headDimension), item.isCausal ? "yes" : "no",
                item.pass.rawValue,
                String(format: "%.2f", result.samples.medianMilliseconds),
                String(format: "%.2f", result.samples.minimumMilliseconds),
                String(format: "%.1f", result.gigaflops),
                String(format: "%.2f× ", result.gigaflops / result.sgemm.gigaflops) + result.sgemmTurns.rangeText,
                String(format: "%.1f (%d³)", result.sgemm.gigaflops, result.sgemm.size),
                naiveCell,
                naive.map { String(format: "%.2f×", $0 / result.sgemm.gigaflops) } ?? "—",
                naive.map { String(format: "%.2f×", result.gigaflops / $0) } ?? "—",
            ] + torchCells(result, shown: torch != nil) + comparedCells(result, shown: configuration.compareBlocks != nil))
        }
        let widths = columns.indices.map { column in cells.map { $0[column].count }.max() ?? 0 }
        for row in cells {
            // Text columns (causal, pass) left-aligned, numbers right-aligned.
            let text = row.indices.map { column in
                column == 3 || column == 4 ? row[column].padding(widths[column]) : row[column].leftPadding(widths[column])
            }
            lines.append(text.joined(separator: "  "))
        }
        lines.append("")
        lines.append("FLOPs: forward 4·H·d·(visible pairs), backward 2.5× forward; naive is forward only, n ≤ \(configuration.naiveMax)")
        lines.append("vs sgemm\(torch == nil ? "" : ", vs torch"): the ratio of the medians, then [lowest–highest] of the same ratio turn by turn (each turn times the kernel and its baselines back to back)")
        lines.append(String(format: "checksum %.9e", checksum))
        return lines.joined(separator: "\n")
    }

    /// The torch columns of a row: its rate and Loom's over it ("—" once the peer stopped).
    private static func torchCells(_ result: AttentionBenchmark.Result, shown: Bool) -> [String] {
        guard shown else { return [] }
        guard let torch = result.torch else { return ["—", "—"] }
        return [String(format: "%.1f", torch.gigaflops),
                String(format: "%.2f× ", result.gigaflops / torch.gigaflops) + (result.torchTurns?.rangeText ?? "")]
    }

    /// The compared tiles' columns of a row: their median time and the paired speed-up.
    private static func comparedCells(_ result: AttentionBenchmark.Result, shown: Bool) -> [String] {
        guard shown else { return [] }
        guard let compared = result.compared else { return ["—", "—"] }
        var speedup = String(format: "%.2f× (%d/%d)", compared.speedup, compared.faster, compared.turns)
        if !(compared.relativeError <= AttentionBenchmark.matchTolerance) { speedup += " MISMATCH" }
        return [String(format: "%.2f", compared.samples.medianMilliseconds), speedup]
    }

    /// The report as one JSON object: configuration, the reference sgemm rate, one object per case.
    private static func json(_ configuration: AttentionBenchmark.Configuration,
                             reference: AttentionBenchmark.SgemmBaseline,
                             results: [AttentionBenchmark.Result], checksum: Double,
                             torch: TorchPeer?, torchNote: String?) -> JSONValue {
        let rows: [JSONValue] = results.map { result in
            let item = result.item
            let naive = result.naiveGigaflops
            return .object([
                ("n", .integer(item.n)),
                ("m", .integer(item.n)),
                ("heads", .integer(item.heads)),
                ("head_dim", .integer(item.headDimension)),
                ("causal", .bool(item.isCausal)),
                ("pass", .string(item.pass.rawValue)),
                ("flops", .number(item.flops)),
                ("ms_median", .number(result.samples.medianMilliseconds)),
                ("ms_min", .number(result.samples.minimumMilliseconds)),
                ("gflops", .number(result.gigaflops)),
                ("sgemm_gflops", .number(result.sgemm.gigaflops)),
                ("sgemm_size", .integer(result.sgemm.size)),
                ("ratio", .number(result.gigaflops / result.sgemm.gigaflops)),
                ("ratio_turns", result.sgemmTurns.json),
                ("naive_gflops", .number(naive)),
                ("naive_ms_median", .number(result.naive?.medianMilliseconds)),
                ("naive_ratio", .number(naive.map { $0 / result.sgemm.gigaflops })),
                ("speedup_vs_naive", .number(naive.map { result.gigaflops / $0 })),
                ("naive_rel_error", .number(result.naiveRelativeError)),
                ("matches_naive", result.naiveRelativeError.map { .bool($0 <= AttentionBenchmark.matchTolerance) } ?? .null),
                ("torch_gflops", .number(result.torch?.gigaflops)),
                ("torch_ms_median", .number(result.torch?.samples.medianMilliseconds)),
                ("ratio_torch", .number(result.torch.map { result.gigaflops / $0.gigaflops })),
                ("ratio_torch_turns", result.torchTurns?.json ?? .null),
                ("compared_ms_median", .number(result.compared?.samples.medianMilliseconds)),
                ("compared_speedup", .number(result.compared?.speedup)),
                ("compared_faster_turns", result.compared.map { .integer($0.faster) } ?? .null),
                ("compared_turns", result.compared.map { .integer($0.turns) } ?? .null),
                ("compared_rel_error", .number(result.compared?.relativeError)),
                ("compared_matches", result.compared.map { .bool($0.relativeError <= AttentionBenchmark.matchTolerance) } ?? .null),
            ])
        }
        return .object([
            ("benchmark", .string("attention")),
            ("loom_version", .string(Provenance.loomVersion)),
            ("threads", .integer(configuration.threads)),
            ("openblas_core", .string(BLAS.coreName)),
            ("openblas_coretype", BLASCore.forced.map(JSONValue.string) ?? .null),
            ("baseline_warning", BLASCore.narrowBaselineWarningHere.map(JSONValue.string) ?? .null),
            ("openblas_version", .string(BLAS.version)),
            ("openblas_threads", .integer(BLAS.threadCount)),
            ("simd", .string(SIMDTarget.name)),
            ("commit", .string(Provenance.commit)),
            ("host", .string(Provenance.host)),
            ("cpu", .string(Provenance.cpuModel)),
            ("build", .string(Provenance.build)),
            ("repeat", .integer(configuration.repeatCount)),
            ("warmup", .integer(1)),
            ("naive_max", .integer(configuration.naiveMax)),
            ("query_block", configuration.queryBlock.map { .integer($0) } ?? .null),
            ("key_block", configuration.keyBlock.map { .integer($0) } ?? .null),
            ("compare_blocks", configuration.compareBlocks.map { .object([("query", .integer($0.query)), ("key", .integer($0.key))]) } ?? .null),
            ("sgemm_gflops", .number(reference.gigaflops)),
            ("sgemm_size", .integer(reference.size)),
            ("checksum", .number(checksum)),
            ("torch", torch.map { .string($0.version) } ?? .null),
            ("torch_capability", torch.map { .string($0.capability) } ?? .null),
            ("torch_note", torchNote.map { .string($0) } ?? .null),
            ("results", .array(rows)),
        ])
    }
}
