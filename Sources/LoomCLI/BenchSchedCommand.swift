import Cluster
import Experiments
import Runner
import Foundation

/// `loom bench sched`: the experiment loop's own overhead, a sweep of tiny tasks end to end.
enum BenchSchedCommand: Command {
    static let words = ["bench", "sched"]
    static let summary = "time a sweep of tiny echo runs end to end, store included, against bare dispatch"
    static let usage = "loom bench sched [--runs N] [--workers N] [--repeat R] [--json]"
    static let options: [Option] = [
        .value("runs", "N", "echo runs per sweep (default 1000)"),
        .value("workers", "N", "local worker processes (default 2)"),
        .value("repeat", "R", "sweeps timed (default 3; the median is reported)"),
        .flag("json", "print one JSON object instead of the table (release builds only)"),
    ]
    static let discussion = """
        Each sample expands an experiment of N echo runs, records the invocation and every run in a \
        fresh SQLite store, queues them through the coordinator to the workers and stores every \
        result and metric: what 'loom run' does, minus starting the workers, which is timed \
        apart. The baseline, in the same run on the same workers, submits N echo tasks straight to \
        the coordinator and waits for them, with no experiment file and no store.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        if arguments.flag("json") && !Provenance.isRelease {
            throw .usage("--json needs a release build: build with 'swift build -c release' and use .build/release/loom")
        }
        let count = try arguments.int("runs", minimum: 1) ?? 1000
        let workers = try arguments.int("workers", minimum: 1) ?? 2
        let repeats = try arguments.int("repeat", minimum: 1) ?? 3
        guard count <= SweepSize.defaultLimit else {
            throw .usage("--runs must be at most \(SweepSize.defaultLimit) (an experiment file's default bound on its runs), got \(count)")
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("loom-bench-sched-\(getpid())")
        try? FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let file = scratch.appendingPathComponent("sched.yaml").path
        let values = (0..<count).map(String.init).joined(separator: ", ")
        do { try "name: sched\ntask: echo\nparams:\n  value: [\(values)]\n".write(toFile: file, atomically: true, encoding: .utf8) } catch {
            throw .failure("cannot write \(file): \(error.localizedDescription)")
        }
        let startup = ContinuousClock.now
        let cluster: LocalCluster
        do {
            var configuration = CoordinatorConfiguration(bind: "", registry: LoomTasks.registry)
            configuration.recordsAttemptEvents = true    // as 'loom run' does: every attempt is stored
            cluster = try LocalCluster(configuration: configuration, workers: workers, executable: ClusterOptions.executable, logDirectory: scratch,
                                       bindsPrivately: true)    // as 'loom run' binds
        } catch { throw .failure("cannot start \(workers) local workers: \(error)") }
        defer { cluster.stop() }
        guard cluster.waitForWorkers(workers, timeout: .seconds(60)) else { throw .failure("workers did not register") }
        let startupSeconds = (ContinuousClock.now - startup).inSeconds
        var sweeps: [Double] = [], bare: [Double] = []
        for sample in 0..<repeats {
            Console.progress("bench sched: sample \(sample + 1) of \(repeats) …")
            let start = ContinuousClock.now
            do {
                let store = try ResultsStore(path: scratch.appendingPathComponent("state-\(sample)/loom.db").path)
                let experiment = try ExperimentLoader.load(file, registry: LoomTasks.registry)
                let runs = try experiment.expand(registry: LoomTasks.registry)
                let kindVersion = try LoomTasks.registry.kind(named: experiment.task).version
                let summary = try ExperimentRunner.run(experiment, runs: runs, kindVersion: kindVersion, store: store,
                                                       dispatcher: cluster.coordinator,
                                                       provenance: RunProvenance.collect(for: file), force: true,
                                                       shouldStop: { false }, progress: { _ in })
                guard summary.succeeded == count else { throw CommandError.failure("only \(summary.succeeded) of \(count) runs succeeded") }
            } catch let error as CommandError { throw error } catch { throw .failure("\(error)") }
            sweeps.append((ContinuousClock.now - start).inSeconds)
            let bareStart = ContinuousClock.now
            do {
                let ids = try cluster.coordinator.submit(kind: "echo", params: ["value": .string("x")], count: count)
                guard cluster.coordinator.waitForResults(ids, timeout: .seconds(300)) != nil else { throw CommandError.failure("bare dispatch timed out") }
            } catch let error as CommandError { throw error } catch { throw .failure("\(error)") }
            bare.append((ContinuousClock.now - bareStart).inSeconds)
        }
        let sweep = sweeps.sorted()[sweeps.count / 2], baseline = bare.sorted()[bare.count / 2]
        if arguments.flag("json") {
            Console.output(JSONValue.object([
                ("benchmark", .string("sched")), ("commit", .string(Provenance.commit)), ("host", .string(Provenance.host)),
                ("runs", .integer(count)), ("workers", .integer(workers)), ("repeat", .integer(repeats)),
                ("startup_s", .number(startupSeconds)), ("sweep_s", .number(sweep)), ("bare_dispatch_s", .number(baseline)),
                ("sweep_samples_s", .array(sweeps.map { .number($0) })), ("runs_per_s", .number(Double(count) / sweep)),
            ]).rendered())
            return
        }
        Console.output("loom \(Provenance.loomVersion) (commit \(Provenance.commit), \(Provenance.build) build), \(Provenance.host)")
        Console.output("\(count) echo runs on \(workers) local worker(s), median of \(repeats)")
        Console.output(String(format: "workers started and registered   %8.3f s", startupSeconds))
        Console.output(String(format: "sweep end to end, store included %8.3f s  (%.0f runs/s; samples %@)", sweep, Double(count) / sweep,
                              sweeps.map { String(format: "%.3f", $0) }.joined(separator: ", ")))
        Console.output(String(format: "bare dispatch, no file, no store %8.3f s  (the sweep costs %.2f× it)", baseline, sweep / baseline))
    }
}
