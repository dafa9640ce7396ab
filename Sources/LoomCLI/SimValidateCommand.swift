import Foundation
import SequenceParallel
import Simulator

/// `loom sim validate`: the simulator's predictions against measured runs of the same schedules on
/// local workers, none of which the calibration saw.
enum SimValidateCommand: Command {
    static let words = ["sim", "validate"]
    static let summary = "predict sharded attention runs from a calibration of this machine, run them on local workers, and print the errors"
    static let usage = "loom sim validate [--workers P,P,…] [--sizes N,N,…] [--links G,G,…] [--kv-heads G,G,…] [--ulysses-degree U] [--repeat R] [--quick] "
        + "[--save FILE | --from FILE] [--report DIR] [--json]"
    static let options: [Option] = [
        .value("workers", "P,P,…", "gang sizes (default 2,3,4)"),
        .value("sizes", "N,N,…", "sequence lengths (default 4096,8192)"),
        .value("links", "G,G,…", "link speeds in GB/s, 0 unthrottled (default 0,1)"),
        .value("kv-heads", "G,G,…", "key/value heads with H = 8 (default 8,2: MHA and GQA)"),
        .value("ulysses-degree", "U", "usp's ranks per Ulysses group; usp runs where U divides P, the heads and the K/V heads (default 2; 0 leaves usp out)"),
        .value("repeat", "R", "runs per case, spread over R rounds of all cases; the median kept (default 3; 1 with --quick)"),
        .flag("quick", "P = 2 and 4, N = 8192, unthrottled, MHA: 20 runs (16 with --ulysses-degree 0)"),
        .value("save", "FILE", "also write the calibration and every measurement there (JSON), for --from; with --from and --recalibrate, the runs with the new calibration"),
        .value("from", "FILE", "measure nothing: predict the cases a --save wrote, with the current model, and print the same errors"),
        .flag("unpinned", "let the scheduler place the ranks (default: rank r pinned to core r mod C, a placement the model follows)"),
        .flag("recalibrate", "with --from: calibrate this machine again and predict the saved runs with the new calibration"),
        .value("report", "DIR", "also write a report there: predicted against measured, and the error by P (svg, pdf, index.html)"),
        .flag("json", "one JSON object (release builds only; with --from, measurements from a release build only)"),
    ]
    static let discussion = """
        Calibration first, from microbenchmarks only: each rank's attention rate, one thread, for \
        every block shape the cases use (a rank's chunk against itself with H heads; Ulysses's whole \
        sequence on H/P heads; usp's group ring chunk, N/r tokens on H/U heads with r = P/U), full \
        and causal (the diagonal blocks' rate); where the ranks outnumber the cores, the fraction of \
        a fair share P such blocks get when they run at once, one process each, as the workers do; \
        and the local \
        transport's α and β ('loom bench wire'). Then every \
        case runs for real (attention.sharded on local worker processes, forward, d = 64, causal \
        and not; ulysses only where P divides the heads), and the simulator predicts it on a mesh of \
        those links with the ranks sharing this machine's cores; throttled cases use the throttle's \
        bandwidth. The table gives the slowest rank's measured wall time, the prediction and the \
        error, and rank 0's steps compared one by one ('step error': the mean absolute difference \
        over the mean measured step); then the mean and largest absolute error. Each case runs R \
        times and the run of median wall time is kept: one sample on a shared machine varies by \
        ±20 % from run to run. --save keeps the calibration and the measurements \
        (every rank's steps too); --from predicts them again, so a change to the model is judged \
        on the very same runs, and --from with --recalibrate measures the calibration again here \
        and now, so a change to the calibration is judged on them too.
        """

    struct Row {
        var setting: ShardedBenchmark.Case, keyHeads: Int, ulyssesDegree: Int?, measured: Double, predicted: Double
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
        /// The algorithm as the table names it (usp with its degree).
        var name: String { ulyssesDegree.map { "\(setting.algorithm.rawValue) u=\($0)" } ?? setting.algorithm.rawValue }
    }

    static func run(_ arguments: Arguments) throws(CommandError) {
        let json = arguments.flag("json")
        let report = arguments.string("report").map { URL(fileURLWithPath: $0) }
        if let report {
            // Before the long measurement, so a bad place fails at once.
            do { try FileManager.default.createDirectory(at: report, withIntermediateDirectories: true) } catch {
                throw .usage("--report \(report.path): cannot create the directory: \(error.localizedDescription)")
            }
        }
        if let file = arguments.string("from") {
            for name in ["workers", "sizes", "links", "kv-heads", "ulysses-degree", "repeat"] where arguments.string(name) != nil {
                throw .usage("--from predicts the cases in \(file) as they were measured: --\(name) does not apply")
            }
            for name in ["quick", "unpinned"] where arguments.flag(name) {
                throw .usage("--from predicts the cases in \(file) as they were measured: --\(name) does not apply")
            }
            var record = try SimValidateRecord.read(file)
            if json && record.calibration.build != "release" {
                throw .usage("--json needs measurements from a release build; \(file) was measured by a \(record.calibration.build) build")
            }
            if arguments.flag("recalibrate") {
                if json && !Provenance.isRelease {
                    throw .usage("--json needs a release build: build with 'swift build -c release' and use .build/release/loom")
                }
                if let save = arguments.string("save") { try TensorFile.checkWritable(save, option: "save") }
                // The runs stay as measured; only the microbenchmarks are taken again, here and now.
                record.calibration = try calibrate(needs(of: record), heads: record.calibration.heads,
                                                   dimension: record.calibration.headDimension, quick: false, json: json)
                for index in record.cases.indices { record.cases[index].rate = nil }   // the new rates, not those saved
                if let save = arguments.string("save") {
                    try record.write(to: save)
                    if !json { Console.progress("sim validate: the saved runs with the new calibration written to \(save)") }
                }
            } else if arguments.string("save") != nil {
                throw .usage("--from predicts the cases in \(file) as they were measured: --save does not apply (except with --recalibrate)")
            }
            try present(record, from: file, json: json, report: report)
            return
        }
        if arguments.flag("recalibrate") {
            throw .usage("--recalibrate calibrates again for runs saved before: give it with --from FILE")
        }
        if json && !Provenance.isRelease {
            throw .usage("--json needs a release build: build with 'swift build -c release' and use .build/release/loom")
        }
        let save = arguments.string("save")
        if let save { try TensorFile.checkWritable(save, option: "save") }
        let record = try measure(arguments, json: json)
        if let save {
            try record.write(to: save)
            if !json { Console.progress("sim validate: measurements saved in \(save)") }
        }
        try present(record, from: nil, json: json, report: report)
    }

    /// The block shape whose calibrated rate predicts a case: a rank's chunk against itself with
    /// all heads (the rings and TokenRing), the whole sequence on H/P heads (ulysses), or the group
    /// ring's chunk, N/r tokens on H/u heads with r = P/u (usp). Zigzag halves use the causal rate
    /// of the whole chunk: their diagonal blocks, calibrated at the rank's size, are close.
    static func blockShape(_ algorithm: SequenceParallelKinds.Algorithm, workers p: Int, tokens n: Int, heads: Int, keyHeads: Int,
                           ulyssesDegree: Int?) -> (tokens: Int, heads: Int, keyHeads: Int) {
        switch algorithm {
        case .ulysses: (n, heads / p, keyHeads / p)
        case .usp: (n / (p / (ulyssesDegree ?? 1)), heads / (ulyssesDegree ?? 1), keyHeads / (ulyssesDegree ?? 1))
        default: (n / p, heads, keyHeads)
        }
    }
}
