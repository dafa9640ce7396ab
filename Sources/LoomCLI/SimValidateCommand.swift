import Foundation
import SequenceParallel
import Simulator

/// `loom sim validate`: the simulator's predictions against measured runs of the same schedules on
/// local workers, none of which the calibration saw.
enum SimValidateCommand: Command {
    static let words = ["sim", "validate"]
    static let summary = "predict sharded attention runs from a calibration of this machine, run them on local workers, and print the errors"
    static let usage = "loom sim validate [--workers P,P,…] [--sizes N,N,…] [--links G,G,…] [--kv-heads G,G,…] [--repeat R] [--quick] [--report DIR] [--json]"
    static let options: [Option] = [
        .value("workers", "P,P,…", "gang sizes (default 2,3,4)"),
        .value("sizes", "N,N,…", "sequence lengths (default 4096,8192)"),
        .value("links", "G,G,…", "link speeds in GB/s, 0 unthrottled (default 0,1)"),
        .value("kv-heads", "G,G,…", "key/value heads with H = 8 (default 8,2: MHA and GQA)"),
        .flag("quick", "P = 2 and 4, N = 8192, unthrottled, MHA: 16 runs"),
        .value("repeat", "R", "runs per case, the median kept (default 3; 1 with --quick)"),
        .value("report", "DIR", "also write a report there: predicted against measured, and the error by P (svg, pdf, index.html)"),
        .flag("json", "one JSON object (release builds only)"),
    ]
    static let discussion = """
        Calibration first, from microbenchmarks only: each rank's attention rate, one thread, for \
        every block shape the cases use (a rank's chunk against itself with H heads; Ulysses's whole \
        sequence on H/P heads), full and causal (the diagonal blocks' rate), and the local \
        transport's α and β ('loom bench wire'). Then every \
        case runs for real (attention.sharded on local worker processes, forward, d = 64, causal \
        and not; ulysses only where P divides the heads), and the simulator predicts it on a mesh of \
        those links with the ranks sharing this machine's cores; throttled cases use the throttle's \
        bandwidth. The table gives the slowest rank's measured wall time, the prediction and the \
        error, and rank 0's steps compared one by one ('step error': the mean absolute difference \
        over the mean measured step); then the mean and largest absolute error. Each case runs R \
        times and the run of median wall time is kept: one sample on a shared machine varies by \
        ±20 % from run to run.
        """

    struct Row {
        var setting: ShardedBenchmark.Case, keyHeads: Int, measured: Double, predicted: Double
        /// Rank 0's step times, measured and predicted.
        var measuredSteps: [Double], predictedSteps: [Double]
        var error: Double { (predicted - measured) / measured }
        /// Mean |predicted − measured| over rank 0's steps, over the mean measured step (nil when
        /// the step counts differ).
        var stepError: Double? {
            guard measuredSteps.count == predictedSteps.count, !measuredSteps.isEmpty else { return nil }
            let mean = measuredSteps.reduce(0, +) / Double(measuredSteps.count)
            return zip(predictedSteps, measuredSteps).reduce(0) { $0 + abs($1.0 - $1.1) } / Double(measuredSteps.count) / mean
        }
    }

    static func run(_ arguments: Arguments) throws(CommandError) {
        let json = arguments.flag("json")
        if json && !Provenance.isRelease {
            throw .usage("--json needs a release build: build with 'swift build -c release' and use .build/release/loom")
        }
        let quick = arguments.flag("quick")
        let repeats = try arguments.int("repeat", minimum: 1) ?? (quick ? 1 : 3)
        guard repeats <= 101 else { throw .usage("--repeat \(repeats): at most 101 runs per case") }
        let report = arguments.string("report").map { URL(fileURLWithPath: $0) }
        if let report {
            // Before the long measurement, so a bad place fails at once.
            do { try FileManager.default.createDirectory(at: report, withIntermediateDirectories: true) } catch {
                throw .usage("--report \(report.path): cannot create the directory: \(error.localizedDescription)")
            }
        }
        let workers = try arguments.intList("workers") ?? (quick ? [2, 4] : [2, 3, 4])
        let sizes = try arguments.intList("sizes") ?? (quick ? [8192] : [4096, 8192])
        let keyHeadsList = try arguments.intList("kv-heads") ?? (quick ? [8] : [8, 2])
        var links: [Double?] = quick ? [nil] : [nil, 1]
        if let text = arguments.string("links") {
            links = []
            for part in text.split(separator: ",") {
                guard let value = Double(part), value >= 0, value.isFinite else { throw .usage("--links expects GB/s values ≥ 0 such as 0,1; got '\(part)'") }
                links.append(value == 0 ? nil : value)
            }
        }
        if let bad = workers.first(where: { $0 < 2 || $0 > 8 }) { throw .usage("--workers \(bad): validate runs 2…8 local workers") }
        if let bad = sizes.first(where: { $0 < 64 || $0 > 65_536 }) { throw .usage("--sizes \(bad): use 64…65536 tokens") }
        if let bad = keyHeadsList.first(where: { $0 < 1 || 8 % $0 != 0 }) { throw .usage("--kv-heads \(bad) must divide the 8 heads") }
        let heads = 8, dimension = 64
        let algorithms = SequenceParallelKinds.Algorithm.allCases

        // Calibration: one rate per block shape (tokens, heads), then the transport.
        var rates: [String: Double] = [:]
        func shape(_ algorithm: SequenceParallelKinds.Algorithm, _ p: Int, _ n: Int) -> (tokens: Int, heads: Int) {
            algorithm == .ulysses ? (n, heads / p) : (n / p, heads)
        }
        func key(_ tokens: Int, _ h: Int, _ kv: Int) -> String { "\(tokens)x\(h)/\(kv)" }
        for n in sizes {
            for p in workers {
                for kv in keyHeadsList {
                    for algorithm in algorithms where algorithm != .ulysses || (heads % p == 0 && kv % p == 0) {
                        let (tokens, h) = shape(algorithm, p, n), g = algorithm == .ulysses ? kv / p : kv, name = key(tokens, h, g)
                        guard rates[name] == nil else { continue }
                        if !json { Console.progress("sim validate: calibrating attention \(tokens) × \(tokens), H = \(h), Hkv = \(g), full and causal …") }
                        rates[name] = try SimCalibrateCommand.attentionRates(chunk: tokens, heads: h, keyHeads: g, dimension: dimension, samples: 3).0
                        rates[name + "c"] = try SimCalibrateCommand.attentionRates(chunk: tokens, heads: h, keyHeads: g, dimension: dimension,
                                                                                   samples: 3, causal: true).0
                    }
                }
            }
        }
        if !json { Console.progress("sim validate: calibrating the transport …") }
        let (microseconds, bandwidth, _) = try SimCalibrateCommand.transport(quick: quick) { _ in }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        // More ranks than cores: how much of the cores' fair share P blocks of each shape get
        // when they run at once (time-slicing costs caches and switches).
        var sharing: [String: Double] = [:]
        for n in sizes {
            for p in workers where p > cores {
                for kv in keyHeadsList {
                    for algorithm in algorithms where algorithm != .ulysses || (heads % p == 0 && kv % p == 0) {
                        let (tokens, h) = shape(algorithm, p, n), g = algorithm == .ulysses ? kv / p : kv, name = key(tokens, h, g) + "@\(p)"
                        guard sharing[name] == nil else { continue }
                        if !json { Console.progress("sim validate: \(p) ranks of \(tokens) × \(tokens), H = \(h) sharing \(cores) cores …") }
                        sharing[name] = try SimCalibrateCommand.sharingEfficiency(ranks: p, cores: cores, chunk: tokens, heads: h, keyHeads: g,
                                                                                  dimension: dimension)
                    }
                }
            }
        }
        let latency = microseconds * 1e-6
        var rows: [Row] = []
        for keyHeads in keyHeadsList {
            var configuration = ShardedBenchmark.Configuration(algorithms: algorithms, workerCounts: workers, sizes: sizes, causality: [false, true],
                                                               links: links, heads: heads, keyHeads: keyHeads, headDimension: dimension)
            configuration.excluded = { $0.algorithm == .ulysses && (heads % $0.workers != 0 || keyHeads % $0.workers != 0) }
            configuration.repeats = repeats
            let measured = try ShardedBenchmark.run(configuration) { if !json { Console.progress("sim validate: \($0)") } }
            for row in measured {
                let s = row.setting, (tokens, h) = shape(s.algorithm, s.workers, s.tokens)
                let name = key(tokens, h, s.algorithm == .ulysses ? keyHeads / s.workers : keyHeads)
                let problem = ScheduleReplay.Problem(tokens: s.tokens, ranks: s.workers, causal: s.isCausal, heads: heads, keyHeads: keyHeads,
                                                     headDimension: dimension)
                do {
                    let network = try Topology.network(.mesh, ranks: s.workers,
                                                       link: .init(bandwidth: (s.linkGbps ?? bandwidth) * 1e9, latency: latency))
                    // Zigzag chunks are half a rank's tokens: their diagonal blocks, calibrated at the rank's size, are close.
                    let predicted = try ScheduleReplay(algorithm: s.algorithm, problem: problem, computeRate: rates[name]!,
                                                       network: network, cores: cores, diagonalRate: rates[name + "c"],
                                                       coreEfficiency: sharing[name + "@\(s.workers)"] ?? 1).run()
                    let steps = zip(predicted.stepStarts[0], predicted.stepEnds[0]).map { $1 - $0 }
                    rows.append(Row(setting: s, keyHeads: keyHeads, measured: row.wallSeconds, predicted: predicted.total,
                                    measuredSteps: row.rankZeroSteps, predictedSteps: steps))
                } catch { throw .failure("sim validate: \(error)") }
            }
        }
        let errors = rows.map { abs($0.error) }
        let mean = errors.reduce(0, +) / Double(max(1, errors.count)), worst = errors.max() ?? 0
        let stepErrors = rows.compactMap(\.stepError)
        let stepMean = stepErrors.reduce(0, +) / Double(max(1, stepErrors.count))
        if let report {
            try writeReport(rows, calibration: [
                ("host", Provenance.host), ("commit", Provenance.commit), ("cores", String(cores)),
                ("α (µs)", String(format: "%.1f", latency * 1e6)), ("β (GB/s)", String(format: "%.2f", bandwidth)),
                ("runs", String(rows.count)), ("mean |error|", String(format: "%.1f %%", 100 * mean)),
                ("largest |error|", String(format: "%.1f %%", 100 * worst)),
            ], to: report)
        }
        if json {
            Console.output(JSONValue.object([
                ("benchmark", .string("sim-validate")), ("commit", .string(Provenance.commit)), ("host", .string(Provenance.host)),
                ("cores", .integer(cores)), ("latency_us", .number(latency * 1e6)), ("bandwidth_gbps", .number(bandwidth)),
                ("core_sharing", .object(sharing.sorted { $0.key < $1.key }.map { ($0.key, .number($0.value)) })),
                ("mean_abs_error", .number(mean)), ("max_abs_error", .number(worst)), ("mean_step_error", .number(stepMean)),
                ("results", .array(rows.map { row in
                    .object([("algorithm", .string(row.setting.algorithm.rawValue)), ("workers", .integer(row.setting.workers)),
                             ("n", .integer(row.setting.tokens)), ("causal", .bool(row.setting.isCausal)), ("kv_heads", .integer(row.keyHeads)),
                             ("link_gbps", .number(row.setting.linkGbps)), ("measured_s", .number(row.measured)),
                             ("predicted_s", .number(row.predicted)), ("error", .number(row.error)),
                             ("measured_steps_s", .array(row.measuredSteps.map { .number($0) })),
                             ("predicted_steps_s", .array(row.predictedSteps.map { .number($0) })),
                             ("step_error", row.stepError.map { .number($0) } ?? .null)])
                })),
            ]).rendered())
            return
        }
        Console.output("loom \(Provenance.loomVersion) (commit \(Provenance.commit), \(Provenance.build) build), \(Provenance.host), \(cores) cores")
        if !Provenance.isRelease { Console.output("warning: debug build — these timings are not meaningful") }
        Console.output(String(format: "calibration: α %.1f µs, β %.2f GB/s; ", latency * 1e6, bandwidth)
                       + "sharing \(cores) cores, of a fair share: "
                       + sharing.keys.sorted().map { "\($0) \(String(format: "%.2f", sharing[$0]!))" }.joined(separator: ", ") + "; "
                       + "attention, one thread, GFLOP/s: "
                       + rates.keys.sorted().map { "\($0.hasSuffix("c") ? String($0.dropLast()) + " causal" : $0) \(String(format: "%.1f", rates[$0]! / 1e9))" }
                        .joined(separator: ", "))
        let header = ["algorithm", "P", "n", "causal", "Hkv", "link", "measured s", "predicted s", "error", "step error"]
        Console.output(header.map { $0.leftPadding(12) }.joined())
        for row in rows {
            let s = row.setting
            Console.output([s.algorithm.rawValue, String(s.workers), String(s.tokens), s.isCausal ? "yes" : "no", String(row.keyHeads),
                            s.linkGbps.map { "\($0) GB/s" } ?? "—", String(format: "%.4f", row.measured), String(format: "%.4f", row.predicted),
                            String(format: "%+.1f %%", 100 * row.error), row.stepError.map { String(format: "%.1f %%", 100 * $0) } ?? "—"]
                .map { $0.leftPadding(12) }.joined())
        }
        for p in workers {
            let mine = rows.filter { $0.setting.workers == p }.map { abs($0.error) }
            guard !mine.isEmpty else { continue }
            Console.output(String(format: "P = %d (%@): %d runs, mean |error| %.1f %%, largest %.1f %%", p,
                                  p <= cores ? "a core per rank" : "\(p) ranks on \(cores) cores", mine.count,
                                  100 * mine.reduce(0, +) / Double(mine.count), 100 * (mine.max() ?? 0)))
        }
        Console.output(String(format: "%d runs: mean |error| %.1f %%, largest %.1f %% (goal: mean ≤ 10 %%, largest ≤ 20 %%); ", rows.count, 100 * mean, 100 * worst)
                       + String(format: "rank 0's steps: mean |error| %.1f %% of a step", 100 * stepMean))
    }
}
