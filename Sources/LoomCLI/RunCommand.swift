import Cluster
import Experiments
import Runner
import Foundation
import TensorCore
import Reports
import Tasks

/// `loom run FILE [key=value …]`: an experiment file, expanded, checked, planned against the
/// store's cache, and run.
enum RunCommand: Command {
    static let words = ["run"]
    static let summary = "run an experiment file on local workers (or a running coordinator), keeping results in .loom/loom.db"
    static let usage = "loom run FILE [key=value …] [--workers N | --connect ADDR] [--state DIR] [--force] [--rerun-failed] [--accept-code-change] [--dry-run [--json]] [--quiet] [--no-report] [--test-kinds]"
    static let acceptsPositionals = true
    static let options: [Option] = [
        .flag("dry-run", "check the file and list every run with the reason it will run or is cached, without running anything"),
        .flag("json", "with --dry-run: one JSON object per run"),
        .value("workers", "N", "local worker processes (default: resources.workers, else the core count, at least the gang size); "
               + "their coordinator listens on a private ipc:// socket that only you can reach"),
        .value("connect", "ADDR", "send the runs to a running coordinator ('loom up', 'loom coordinator') instead of local workers"),
        .value("state", "DIR", "where the store lives (default .loom in the current directory)"),
        .flag("force", "run again even runs whose cache key already succeeded"),
        .flag("rerun-failed", "run again runs whose cache key failed before (by default a failure is not repeated)"),
        .flag("accept-code-change", "reuse results that other code (another commit or uncommitted edits) computed, when you know the change does not matter to them"),
        .flag("quiet", "no progress display; only the summary and errors"),
        .flag("no-report", "do not draw the report (reports/NAME) at the end"),
        ClusterOptions.testKinds,
    ] + CurveOptions.options
    static let discussion = """
        FILE is a YAML experiment file (docs/experiments.md). Overrides follow it, Hydra style: \
        key=value sets a parameter (or a top-level key such as repeat or seed), key=[a,b] sweeps \
        it. Everything is checked before anything runs: errors name file:line:column and suggest \
        the nearest known key, and exit with status 2.

        The runs go to a coordinator in this process with local worker processes, or with \
        --connect to a running coordinator. Every state change, every attempt (a lost one \
        included), the metrics and the provenance (git commit of the file's repository, Loom's \
        version and build, host, library versions) go to the SQLite store (docs/store.md). A run \
        whose cache key (task and its version, resolved parameters and seed, repetition) already \
        succeeded under the same code (a hash of Loom's sources) is CACHED, not run again, so the \
        same command after Ctrl-C or a crash resumes; a result of other code runs again unless \
        --accept-code-change, and --dry-run names the commit it came from. One whose key failed in \
        the task itself is not repeated unless --rerun-failed. One invocation at a time runs an \
        experiment of a store: a second is refused with the first one's pid, host and start time. Progress is a bar on a \
        terminal and a line every 5 s otherwise; both count the running runs' reported steps, \
        so a study of a few long runs advances as they train.

        With --connect, attempts and curves come from the coordinator's events, as with local \
        workers; the worker table stays empty (the coordinator does not list its workers to a client).

        At the end the report is drawn into reports/NAME (the figures of the file's report: \
        section, the run table, the provenance); --no-report skips it.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        guard let path = arguments.positionals.first else {
            throw .usage("'loom run' needs an experiment file, e.g. 'loom run experiments/quickstart.yaml --dry-run'")
        }
        let overrides = Array(arguments.positionals.dropFirst())
        if let stray = overrides.first(where: { !$0.contains("=") }) {
            throw .usage("'\(stray)' is not an override; write key=value after the file (one file per run)")
        }
        if arguments.string("workers") != nil && arguments.string("connect") != nil {
            throw .usage("--workers starts local workers and --connect uses a running coordinator's; give one")
        }
        if arguments.flag("json") && !arguments.flag("dry-run") {
            throw .usage("--json goes with --dry-run; 'loom runs --json' lists stored runs")
        }
        let registry = LoomTasks.registry(testKinds: arguments.flag("test-kinds"))
        let experiment: Experiment
        let runs: [ExperimentRun]
        let report: ReportSpec
        do throws(ExperimentError) {
            experiment = try ExperimentLoader.load(path, overrides: overrides, registry: registry)
            runs = try experiment.expand(registry: registry)
            report = try ReportCommand.figures(of: experiment)      // checked before anything runs
        } catch {
            throw .usage(error.description)
        }
        let declaration = (try? registry.kind(named: experiment.task))?.declaration
        var checked = Set<String>()                  // each input path looked at once, however many runs name it
        for run in runs {
            for name in declaration?.inputs ?? [] {
                guard case let .string(value)? = run.params[name] else { continue }
                let path = declaration?.inputPath(name, value) ?? value
                guard checked.insert(path).inserted, let problem = InputDigest.problem(with: path) else { continue }
                throw .usage("run \(run.index + 1): parameter '\(name)': \(problem)")
            }
        }
        let state = arguments.string("state") ?? ".loom"
        if arguments.flag("dry-run") {
            try dryRun(experiment, runs: runs, storePath: state + "/loom.db", arguments: arguments)
        } else {
            try execute(experiment, runs: runs, report: report, state: state, arguments: arguments)
        }
    }

    /// Prints every run with its decision; reads the store only if it exists (never creates it).
    private static func dryRun(_ experiment: Experiment, runs: [ExperimentRun], storePath: String,
                               arguments: Arguments) throws(CommandError) {
        let plan: RunPlan
        let declaration = (try? LoomTasks.registry(testKinds: true).kind(named: experiment.task))?.declaration
        do {
            let store = FileManager.default.fileExists(atPath: storePath) ? try ResultsStore(readingAt: storePath) : nil
            plan = try RunPlan(experiment, runs: runs, kindVersion: try kindVersion(of: experiment), code: RunProvenance.code,
                               store: store, force: arguments.flag("force"), rerunFailed: arguments.flag("rerun-failed"),
                               acceptCodeChange: arguments.flag("accept-code-change"),
                               inputs: declaration?.inputs ?? [], inputPath: { declaration?.inputPath($0, $1) ?? $1 })
        } catch let error as CommandError { throw error } catch { throw .failure("cannot read the store \(storePath): \(error)") }
        if arguments.flag("json") {
            for entry in plan.entries {
                let run = entry.run
                let params = run.params.keys.sorted().map { "\(ParameterValue.string($0).json):\(run.params[$0]!.json)" }
                let action = switch entry.decision { case .run: "run"; case .cached: "cached"; case .failedBefore: "skip" }
                Console.output("{\"experiment\":\(ParameterValue.string(experiment.name).json),\"run\":\(run.index + 1),"
                               + "\"repeat\":\(run.repetition),\"task\":\(ParameterValue.string(experiment.task).json),"
                               + "\"gang\":\(experiment.gang),\"cache_key\":\"\(entry.cacheKey)\",\"action\":\"\(action)\","
                               + "\"reason\":\(ParameterValue.string(entry.decision.reason).json),"
                               + "\"params\":{\(params.joined(separator: ","))}}")
            }
            return
        }
        Console.output("\(experiment.name): \(runs.count) run(s) of \(experiment.task)"
                       + (experiment.gang > 0 ? " on gangs of \(experiment.gang)" : "")
                       + (experiment.description.isEmpty ? "" : " — \(experiment.description)"))
        let width = String(runs.count).count
        for entry in plan.entries {
            Console.output("  " + String(entry.run.index + 1).leftPadding(width) + "  " + Experiment.describe(entry.run.params)
                           + "  (" + entry.decision.reason + ")")
        }
        Console.output("\(plan.toRun) to run, \(plan.cached) cached, \(plan.failedBefore) failed before and not repeated")
    }

    /// Runs the experiment, prints the summary and draws the report (failed runs included).
    private static func execute(_ experiment: Experiment, runs: [ExperimentRun], report spec: ReportSpec, state: String,
                                arguments: Arguments) throws(CommandError) {
        let store: ResultsStore
        do { store = try ResultsStore(path: state + "/loom.db") } catch { throw .failure("\(error)") }
        let display = ProgressDisplay(name: experiment.name, quiet: arguments.flag("quiet"))
        let signals = Signals()
        var cluster: LocalCluster?
        defer { cluster?.stop() }
        let dispatcher: any RunDispatcher
        if let connect = arguments.string("connect") {
            try ClusterOptions.checkEndpoint(connect, option: "connect")
            do {
                let client = try ClusterClient(connect: connect, security: try CurveOptions.client(arguments, endpoint: connect))
                _ = try client.status(timeout: .seconds(10))
                dispatcher = client
            } catch let error as CommandError { throw error } catch { throw .failure("\(error)") }
        } else {
            let workers = max(try arguments.int("workers", minimum: 1) ?? experiment.workers ?? Parallel.activeCores,
                              experiment.gang)
            let logs = URL(fileURLWithPath: state).appendingPathComponent("logs")
            try? FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            do {
                let testKinds = arguments.flag("test-kinds")
                var configuration = CoordinatorConfiguration(bind: "", registry: LoomTasks.registry(testKinds: testKinds))
                configuration.recordsAttemptEvents = true
                cluster = try LocalCluster(configuration: configuration, workers: workers, executable: ClusterOptions.executable,
                                           workerArguments: testKinds ? ["--test-kinds"] : [], logDirectory: logs,
                                           bindsPrivately: true)
            } catch { throw .failure("cannot start \(workers) local workers: \(error)") }
            guard cluster!.waitForWorkers(workers, timeout: .seconds(60)) else {
                throw .failure("\(workers) local workers did not register within 60 s; see \(logs.path)")
            }
            dispatcher = cluster!.coordinator
        }
        let summary: ExperimentRunner.Summary
        let kindVersion = try kindVersion(of: experiment)
        // The page of a running experiment reloads itself; redraw it as results arrive.
        let live = arguments.flag("no-report") ? nil : LiveReport { drawReport(experiment, spec: spec, state: state, quietly: true) }
        defer { live?.finish() }
        do throws(RunnerError) {
            summary = try ExperimentRunner.run(experiment, runs: runs, kindVersion: kindVersion,
                                               kind: try? LoomTasks.registry(testKinds: true).kind(named: experiment.task),
                                               store: store, dispatcher: dispatcher,
                                               provenance: RunProvenance.collect(for: experiment.file), force: arguments.flag("force"),
                                               rerunFailed: arguments.flag("rerun-failed"),
                                               acceptCodeChange: arguments.flag("accept-code-change"),
                                               artifacts: URL(fileURLWithPath: state).appendingPathComponent("artifacts"),
                                               progressInterval: display.interval,
                                               shouldStop: { signals.received }, tick: {
                                                   live?.tick()
                                                   guard let cluster else { return }
                                                   for pid in cluster.replaceExitedWorkers(executable: ClusterOptions.executable,
                                                                                           limit: 4 * max(1, cluster.workerPIDs.count)) {
                                                       display.note("worker pid \(pid) exited; a new local worker takes its place")
                                                   }
                                               }, progress: display.show, note: display.note)
        } catch {
            if case .stopped = error { throw .failure("\(error) (store: \(store.path))") }
            throw .failure("\(error)")
        }
        Console.output("\(experiment.name): \(summary.succeeded) succeeded, \(summary.cached) cached, "
                       + "\(summary.failed + summary.failedBefore) failed of \(summary.total)"
                       + (summary.lostAttempts > 0 ? "; \(summary.lostAttempts) attempt(s) lost to workers and run again" : "")
                       + "; results in \(store.path)")
        if signals.received { throw .failure("interrupted; run the same command again to resume") }
        live?.finish()
        if !arguments.flag("no-report") { drawReport(experiment, spec: spec, state: state) }
        if summary.failedBefore > 0 {
            Console.progress("\(summary.failedBefore) run(s) failed before with the same cache key and were not repeated; add --rerun-failed to run them again")
        }
        if summary.failed + summary.failedBefore > 0 {
            throw .failure("\(summary.failed + summary.failedBefore) run(s) failed; 'loom runs --experiment \(experiment.name) --status FAILED' lists them")
        }
    }

    /// The version of the experiment's task kind (checked to exist when the file was loaded).
    private static func kindVersion(of experiment: Experiment) throws(CommandError) -> Int {
        // Every registry holds the same versions; the one with test kinds knows them all.
        do { return try LoomTasks.registry(testKinds: true).kind(named: experiment.task).version } catch { throw .usage("\(error)") }
    }

    /// Draws reports/NAME; a figure gnuplot cannot draw is a warning here (the runs stand and
    /// the index says why), not a failure of the run.
    /// - Parameter quietly: a redraw while the experiment runs: nothing printed.
    private static func drawReport(_ experiment: Experiment, spec: ReportSpec, state: String, quietly: Bool = false) {
        guard let store = try? ResultsStore(readingAt: state + "/loom.db") else { return }
        let directory = URL(fileURLWithPath: "reports").appendingPathComponent(experiment.name)
        do {
            let output = try Report.render(experiment: experiment.name, spec: spec, store: store, to: directory,
                                           metrics: LoomTasks.registry(testKinds: true).metrics)
            if quietly { return }
            for outcome in output.figures { for note in outcome.notes { Console.progress("warning: figure \(outcome.figure.name): " + note) } }
            Console.output("report: \(output.indexHTML.relativePath) (figures: \(output.figures.count); "
                           + "again with 'loom report --experiment \(experiment.name)')")
        } catch {
            if quietly { return }
            Console.progress("warning: the report in \(directory.relativePath) is incomplete: \(error)")
        }
    }
}
