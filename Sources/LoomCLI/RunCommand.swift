import Cluster
import Experiments
import Foundation

/// `loom run FILE [key=value …]`: an experiment file, expanded, checked, and (with the results
/// store) run.
enum RunCommand: Command {
    static let words = ["run"]
    static let summary = "run an experiment file on local workers, keeping results in .loom/loom.db"
    static let usage = "loom run FILE [key=value …] [--workers N] [--state DIR] [--force] [--dry-run [--json]]"
    static let acceptsPositionals = true
    static let options: [Option] = [
        .flag("dry-run", "check the file and list every run it expands to, without running anything"),
        .flag("json", "with --dry-run: one JSON object per run"),
        .value("workers", "N", "local worker processes (default: resources.workers, else the core count, at least the gang size)"),
        .value("state", "DIR", "where the store lives (default .loom in the current directory)"),
        .flag("force", "run again even runs whose cache key already succeeded"),
    ]
    static let discussion = """
        FILE is a YAML experiment file (docs/experiments.md). Overrides follow it, Hydra style: \
        key=value sets a parameter (or a top-level key such as repeat or seed), key=[a,b] sweeps \
        it. Everything is checked before anything runs: errors name file:line:column and suggest \
        the nearest known key, and exit with status 2.

        Without --dry-run the runs go to a coordinator in this process and local worker \
        processes; every state change, metric and the provenance (git commit of the file's \
        repository, Loom's version and build, host, library versions) go to the SQLite store \
        (docs/store.md). A run whose cache key (task, Loom version, resolved parameters and seed) \
        already succeeded is CACHED, not run again, so running the same command after Ctrl-C \
        resumes. Not built yet: --connect to a running coordinator, loom runs/show/export, reports.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        guard let path = arguments.positionals.first else {
            throw .usage("'loom run' needs an experiment file, e.g. 'loom run experiments/quickstart.yaml --dry-run'")
        }
        let overrides = Array(arguments.positionals.dropFirst())
        if let stray = overrides.first(where: { !$0.contains("=") }) {
            throw .usage("'\(stray)' is not an override; write key=value after the file (one file per run)")
        }
        let registry = LoomTasks.registry
        let experiment: Experiment
        let runs: [ExperimentRun]
        do throws(ExperimentError) {
            experiment = try ExperimentLoader.load(path, overrides: overrides, registry: registry)
            runs = try experiment.expand(registry: registry)
        } catch {
            throw .usage(error.description)
        }
        guard arguments.flag("dry-run") else {
            try execute(experiment, runs: runs, arguments: arguments)
            return
        }
        if arguments.flag("json") {
            for run in runs {
                let params = run.params.keys.sorted().map { "\(ParameterValue.string($0).json):\(run.params[$0]!.json)" }
                Console.output("{\"experiment\":\(ParameterValue.string(experiment.name).json),\"run\":\(run.index + 1),"
                               + "\"repeat\":\(run.repetition),\"task\":\(ParameterValue.string(experiment.task).json),"
                               + "\"gang\":\(experiment.gang),\"params\":{\(params.joined(separator: ","))}}")
            }
            return
        }
        Console.output("\(experiment.name): \(runs.count) run(s) of \(experiment.task)"
                       + (experiment.gang > 0 ? " on gangs of \(experiment.gang)" : "")
                       + (experiment.description.isEmpty ? "" : " — \(experiment.description)"))
        let width = String(runs.count).count
        for run in runs {
            Console.output("  " + String(run.index + 1).leftPadding(width) + "  " + Experiment.describe(run.params)
                           + "  (would run)")
        }
    }

    /// Runs the experiment on local workers and prints the summary.
    private static func execute(_ experiment: Experiment, runs: [ExperimentRun], arguments: Arguments) throws(CommandError) {
        let state = arguments.string("state") ?? ".loom"
        let store: ResultsStore
        do { store = try ResultsStore(path: state + "/loom.db") } catch { throw .failure("\(error)") }
        let workers = max(try arguments.int("workers", minimum: 1) ?? experiment.workers ?? ProcessInfo.processInfo.activeProcessorCount,
                          experiment.gang)
        let signals = Signals()
        let logs = URL(fileURLWithPath: state).appendingPathComponent("logs")
        try? FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let cluster: LocalCluster
        do {
            cluster = try LocalCluster(configuration: CoordinatorConfiguration(bind: "tcp://127.0.0.1:*", registry: LoomTasks.registry),
                                       workers: workers, executable: ClusterOptions.executable, logDirectory: logs)
        } catch { throw .failure("cannot start \(workers) local workers: \(error)") }
        defer { cluster.stop() }
        guard cluster.waitForWorkers(workers, timeout: .seconds(60)) else {
            throw .failure("\(workers) local workers did not register within 60 s; see \(logs.path)")
        }
        let summary: ExperimentRunner.Summary
        do {
            summary = try ExperimentRunner.run(experiment, runs: runs, store: store, coordinator: cluster.coordinator,
                                               provenance: RunProvenance.collect(for: experiment.file), force: arguments.flag("force"),
                                               shouldStop: { signals.received }, progress: { Console.progress($0) })
        } catch { throw .failure("\(error)") }
        Console.output("\(experiment.name): \(summary.succeeded) succeeded, \(summary.cached) cached, \(summary.failed) failed "
                       + "of \(summary.total); results in \(store.path)")
        if signals.received { throw .failure("interrupted; run the same command again to resume") }
        if summary.failed > 0 { throw .failure("\(summary.failed) run(s) failed; their errors are in \(store.path)") }
    }
}
