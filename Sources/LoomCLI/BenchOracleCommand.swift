import Cluster
import DuoLLM
import Foundation
import Models
import Tasks
import TensorCore

/// `loom bench oracle`: Duo-LLM's route search, forward only, against the machine's peak.
enum BenchOracleCommand: Command {
    static let words = ["bench", "oracle"]
    static let summary = "time the Duo-LLM oracle (every route of a duo model) with and without prefix sharing, in process and on 1 and 2 workers"
    static let usage = "loom bench oracle [--layers 6] [--width 64] [--heads 4] [--context 64] [--batch 16] [--skip] [--repeat R] [--json]"
    static let options: [Option] = [
        .value("layers", "L", "duo layers (default 6: 2^6 routes, 3^6 with --skip)"),
        .value("width", "D", "d_model (default 64)"),
        .value("heads", "H", "attention heads, dividing D (default 4)"),
        .value("context", "T", "tokens per sequence (default 64)"),
        .value("batch", "B", "evaluation sequences (default 16)"),
        .flag("skip", "search big/small/skip routes (3^L) instead of big/small (2^L)"),
        .value("repeat", "R", "timed samples per case (default 3; medians are reported)"),
        .flag("json", "one JSON object instead of the table (release builds only)"),
    ]
    static let discussion = """
        A randomly initialised model whose every layer is a duo layer evaluates every route on a \
        batch of B sequences of a generated corpus: CE[r, t], forward only. In process, on all \
        cores, with prefix sharing (each distinct prefix of l choices computes layer l's attention \
        once, each prefix of l + 1 its FFN once) and without (one full forward per route), \
        alternated, the routes cut into one part per core run at once on single-threaded \
        replicas of the model (the work counted includes the steps repeated at the parts' \
        joins); and on one thread. Then on local worker processes started for the run, one thread each: the \
        set as two duo.oracle tasks (its halves, the search alone: no fixed_context rows, no null \
        passes) one after the other on 1 worker, and the same two at once on 2 workers, from \
        submission to the last result (loading the checkpoint and corpus included); the halves \
        must equal the whole set searched in one task bit for bit. FLOPs count the matrix products of the work actually \
        done: per attention half 2·n·4d² + 2·d·T·(T+1) per sequence, per FFN half 2·n·2·d·hidden \
        of the chosen module (skip: 0), per route's head 2·n·d·V (n = B·T). "Of peak" divides by \
        the register tile's rate alone on data in L1 (measured in this run before and after the \
        timed runs, the faster kept) times the cores used.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        let json = arguments.flag("json")
        if json && !Provenance.isRelease {
            throw .usage("--json needs a release build: build with 'swift build -c release' and use .build/release/loom")
        }
        let layers = try bounded(arguments, "layers", 6, 1...15)
        let width = try bounded(arguments, "width", 64, 4...1024)
        let heads = try bounded(arguments, "heads", 4, 1...64)
        let context = try bounded(arguments, "context", 64, 2...4096)
        let batch = try bounded(arguments, "batch", 16, 1...1024)
        let repeats = try bounded(arguments, "repeat", 3, 1...100)
        guard width % heads == 0 else { throw .usage("--heads \(heads) does not divide --width \(width); use e.g. --heads 1") }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("loom-bench-oracle-\(getpid())-\(UUID().uuidString.prefix(8))")
        do { try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true) } catch {
            throw .failure("cannot create the scratch directory \(scratch.path): \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: scratch) }
        let setup = try OracleBenchmark.prepare(layers: layers, width: width, heads: heads, context: context, batch: batch,
                                                skip: arguments.flag("skip"), in: scratch)
        let cores = Parallel.activeCores
        let loadBefore = loadAverage()
        var checksum = 0.0
        let firstCeiling = BenchGEMMCommand.tileCeiling(checksum: &checksum)
        let sgemm = BenchTrainCommand.sgemmRate(rows: batch * context, width: width)
        if !json { Console.progress("bench oracle: \(setup.routes.count) routes in process …") }
        let local = try OracleBenchmark.timeInProcess(setup, threads: cores, repeats: repeats, direct: true)
        let single = cores > 1 ? try OracleBenchmark.timeInProcess(setup, threads: 1, repeats: repeats, direct: false).shared : local.shared

        if !json { Console.progress("bench oracle: starting 2 workers …") }
        let cluster = try Self.localWorkers(2, logDirectory: scratch)
        defer { cluster.stop() }
        let client: ClusterClient
        do { client = try ClusterClient(connect: cluster.coordinator.endpoint) } catch { throw .failure("cannot connect to the coordinator: \(error)") }
        var one: [Double] = [], two: [Double] = [], oneTask: [Double] = [], twoTask: [Double] = [], fixedCost: [Double] = [], identical = true
        for round in 0...repeats {    // round 0 warms both workers up and is not kept
            // The same two halves, one after the other on one worker, then at once on two.
            let whole = try OracleBenchmark.timeOnWorkers(setup, parts: 2, inTurn: true, client: client, coordinator: cluster.coordinator)
            let halves = try OracleBenchmark.timeOnWorkers(setup, parts: 2, client: client, coordinator: cluster.coordinator)
            let fixed = try OracleBenchmark.timeOnWorkers(setup, parts: 1, limit: 1, client: client, coordinator: cluster.coordinator)
            _ = try OracleBenchmark.collect(fixed.files)
            if round == 0 {
                // Exactness: the halves, wherever they ran, equal the whole set searched in one task.
                let one = try OracleBenchmark.timeOnWorkers(setup, parts: 1, client: client, coordinator: cluster.coordinator)
                let reference = try OracleBenchmark.collect(one.files), parallel = try OracleBenchmark.collect(halves.files)
                let serial = try OracleBenchmark.collect(whole.files)
                identical = reference == parallel && serial == parallel
            }
            TaskScratch.release(whole.files + halves.files + fixed.files)   // read above, or not needed
            if round > 0 {
                one.append(whole.seconds); two.append(halves.seconds); oneTask.append(whole.task); twoTask.append(halves.task)
                fixedCost.append(fixed.seconds)
            }
            if !json { Console.progress("bench oracle: workers, round \(round) of \(repeats) done") }
        }
        guard identical else { throw .failure("the two halves on 2 workers differ from the whole set on 1 worker; the search is not exact") }

        let perCore = BenchGEMMCommand.laterCeiling(firstCeiling, checksum: &checksum)
        let set = setup.routes, tokens = Double(batch * context)
        let shared = RouteLosses.work(routes: set), direct = RouteLosses.work(routes: set, sharing: false)
        let sharedOnCores = RouteLosses.work(routes: set, threads: cores)   // its parts repeat the steps at their joins
        let halves = [RouteLosses.work(routes: set, first: 0, count: set.count / 2),
                      RouteLosses.work(routes: set, first: set.count / 2, count: set.count - set.count / 2)]
        let halvesFLOPs = halves.reduce(0) { $0 + $1.flops(config: setup.config, batch: batch) }
        let cases: [(String, [Double], Double, Int, RouteWork)] = [
            ("in process, sharing", local.shared, sharedOnCores.flops(config: setup.config, batch: batch), cores, sharedOnCores),
            ("in process, no sharing", local.direct, direct.flops(config: setup.config, batch: batch), cores, direct),
            ("in process, 1 thread", single, shared.flops(config: setup.config, batch: batch), 1, shared),
            ("1 worker, halves in turn", one, halvesFLOPs, 1, shared),
            ("2 workers, halves at once", two, halvesFLOPs, 2, shared),
        ]
        let rows = cases.map { name, samples, flops, used, work in
            let seconds = median(samples)
            return Row(name: name, seconds: seconds, routeTokensPerSecond: Double(set.count) * tokens / seconds,
                       gflops: flops / seconds / 1e9, cores: used, fractionOfPeak: flops / seconds / 1e9 / (perCore * Double(used)),
                       layerEvaluations: work.layerEvaluations, attention: work.attention)
        }
        let report = Report(config: setup.config, batch: batch, routes: set, repeats: repeats, peakPerCore: perCore, sgemm: sgemm,
                            rows: rows, shared: shared, direct: direct, identical: identical,
                            taskSeconds: (median(oneTask), median(twoTask)), oneRouteSeconds: median(fixedCost),
                            load: (loadBefore, loadAverage()))
        if json { Console.output(report.json.rendered()) } else { report.printTable() }
    }

    /// `count` local worker processes for a benchmark, registered, behind a private coordinator.
    /// - Throws: when they cannot start or do not register within 60 s (stopped then).
    static func localWorkers(_ count: Int, logDirectory: URL) throws(CommandError) -> LocalCluster {
        let cluster: LocalCluster
        do {
            cluster = try LocalCluster(configuration: CoordinatorConfiguration(bind: "", registry: LoomTasks.registry), workers: count,
                                       executable: ClusterOptions.executable, logDirectory: logDirectory, bindsPrivately: true)
        } catch { throw .failure("cannot start \(count) local workers: \(error)") }
        guard cluster.waitForWorkers(count, timeout: .seconds(60)) else {
            cluster.stop()
            throw .failure("\(count) local workers did not register within 60 s")
        }
        return cluster
    }

    /// `--name` as an integer within `range`, or `fallback` when not given.
    static func bounded(_ arguments: Arguments, _ name: String, _ fallback: Int, _ range: ClosedRange<Int>) throws(CommandError) -> Int {
        let value = try arguments.int(name, minimum: range.lowerBound) ?? fallback
        guard value <= range.upperBound else { throw .usage("--\(name) must be at most \(range.upperBound), got \(value)") }
        return value
    }

    /// The 1-minute load average (other work on the machine skews the 2-worker case most), or NaN.
    static func loadAverage() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return .nan }
        return text.split(separator: " ").first.flatMap { Double($0) } ?? .nan
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted(), middle = sorted.count / 2
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
