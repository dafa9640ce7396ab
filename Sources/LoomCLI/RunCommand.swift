import Cluster
import Experiments
import Foundation

/// `loom run FILE [key=value …]`: an experiment file, expanded, checked, and (with the results
/// store) run.
enum RunCommand: Command {
    static let words = ["run"]
    static let summary = "check and expand an experiment file (--dry-run); running it needs the results store"
    static let usage = "loom run FILE [key=value …] --dry-run [--json]"
    static let acceptsPositionals = true
    static let options: [Option] = [
        .flag("dry-run", "check the file and list every run it expands to, without running anything"),
        .flag("json", "with --dry-run: one JSON object per run"),
    ]
    static let discussion = """
        FILE is a YAML experiment file (docs/experiments.md). Overrides follow it, Hydra style: \
        key=value sets a parameter (or a top-level key such as repeat or seed), key=[a,b] sweeps \
        it. Everything is checked before anything runs: errors name file:line:column and suggest \
        the nearest known key, and exit with status 2.

        Running the runs (scheduling onto workers, the SQLite results store, cache and resume) is \
        not built yet: without --dry-run the command says so and exits 1.
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
            throw .failure("\(path) is valid and expands to \(runs.count) run(s), but running experiments needs the results store, which is not built yet; use --dry-run to list them, or 'loom submit' to run tasks on a cluster")
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
                           + "  (would run: no results store yet)")
        }
    }
}
