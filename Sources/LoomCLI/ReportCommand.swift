import Cluster
import Experiments
import Foundation
import Reports

/// `loom report --experiment NAME`: the figures, run table and provenance of an experiment's
/// latest invocation, as a directory for a paper.
enum ReportCommand: Command {
    static let words = ["report"]
    static let summary = "draw an experiment's figures and run table into reports/NAME"
    static let usage = "loom report --experiment NAME [--file FILE] [--out DIR] [--state DIR]"
    static let options: [Option] = [
        .value("experiment", "NAME", "the experiment to report (required; 'loom runs' lists them)"),
        .value("file", "FILE", "take the figures from this experiment file (default: the file the last 'loom run' used)"),
        .value("out", "DIR", "where to write (default reports/NAME in the current directory)"),
        StoreOptions.state,
    ]
    static let discussion = """
        Reads the runs of the experiment's latest invocation from the store. The figures come from \
        the 'report:' list of the experiment file (docs/experiments.md): for each, NAME.dat (the \
        median, min and max over repeats of each group), NAME.gp (a standalone gnuplot script; \
        edit it, then 'cd reports/NAME && gnuplot NAME.gp'), NAME.svg and NAME.pdf. index.md and \
        index.html show the figures, every run with its parameters and metrics, and the \
        provenance. Prints the path of index.html. Rendering again replaces the files it wrote.

        If the experiment file is gone, the report holds the run table and provenance only. A \
        figure gnuplot cannot draw keeps its .gp and .dat, and the command exits with status 1 \
        quoting gnuplot. A figure whose x, y, series or facet names no metric or parameter of the \
        runs is left out with the nearest known name, and the command exits with status 2.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        let name = try arguments.required("experiment", "the experiment to report, e.g. --experiment quickstart")
        let store = try StoreOptions.open(arguments)
        let record: ResultsStore.ExperimentRecord
        do {
            guard let found = try store.experiment(named: name) else {
                throw CommandError.usage(ReportError.unknownExperiment(name, known: try store.experimentNames()).description)
            }
            record = found
        } catch let error as CommandError { throw error } catch { throw .failure("\(error)") }

        var notes: [String] = []
        let spec: ReportSpec
        if let file = arguments.string("file") {
            spec = try figures(from: file)
        } else if FileManager.default.fileExists(atPath: record.file) {
            spec = try figures(from: record.file)
        } else {
            let note = "the experiment file \(record.file) recorded by 'loom run' is gone, so the report holds the run table and "
                + "provenance only; give --file FILE for the figures"
            Console.progress("note: " + note)
            notes.append("No figures: " + note + ".")
            spec = ReportSpec()
        }
        let directory = URL(fileURLWithPath: arguments.string("out") ?? "reports/\(name)")
        do {
            let output = try Report.render(experiment: name, spec: spec, store: store, to: directory, notes: notes,
                                           metrics: LoomTasks.registry(testKinds: true).metrics)
            for outcome in output.figures where outcome.state == .noData {
                Console.progress("note: figure \(outcome.figure.name): no SUCCEEDED or CACHED run (or, for a curve, RUNNING run) has a numeric '\(outcome.figure.y)'")
            }
            for outcome in output.figures { for note in outcome.notes { Console.progress("warning: figure \(outcome.figure.name): " + note) } }
            Console.output(output.indexHTML.path)
        } catch {
            switch error {
            case .unknownExperiment, .unknownNames: throw .usage(error.description)   // bad input: exit 2
            default: break
            }
            throw .failure(error.description)
        }
    }

    /// The figures of the experiment file at `path`, checked against its parameters.
    private static func figures(from path: String) throws(CommandError) -> ReportSpec {
        do throws(ExperimentError) {
            return try figures(of: try ExperimentLoader.load(path, overrides: [], registry: LoomTasks.registry))
        } catch {
            throw .usage(error.description)
        }
    }

    /// The figures of a loaded experiment: `series` and `facet` must name its parameters.
    static func figures(of experiment: Experiment) throws(ExperimentError) -> ReportSpec {
        var parameters = Set(experiment.params.map(\.name))
        if let kind = try? LoomTasks.registry.kind(named: experiment.task) { parameters.formUnion(kind.parameters.map(\.name)) }
        return try ReportSpec.parse(experiment.report, file: experiment.file, parameters: parameters)
    }
}
