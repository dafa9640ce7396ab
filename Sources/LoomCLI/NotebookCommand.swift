import Foundation
import Experiments
import Notebooks
import Reports

/// `loom notebook render`: a Markdown notebook's cells run against the store, into a folder.
enum NotebookRenderCommand: Command {
    static let words = ["notebook", "render"]
    static let summary = "render a Markdown notebook (tables, figures, queries and graphs from the store) to HTML and Markdown"
    static let usage = "loom notebook render FILE.md [--out DIR] [--state DIR] [--check] [--force] [--no-pdf]"
    static let options: [Option] = [
        .value("out", "DIR", "where index.html, index.md and the figures go (default reports/notebooks/NAME)"),
        .value("state", "DIR", "the store folder (default: the notebook's 'state:', else .loom)"),
        .flag("check", "render nothing; exit 1 naming every cell whose output is stale (a CI guard for papers)"),
        .flag("force", "execute every cell, ignoring the cache"),
        .flag("no-pdf", "do not print index.pdf (by default headless Chromium prints it when the page changed)"),
    ]
    static let acceptsPositionals = true
    static let discussion = """
        A notebook is Markdown with YAML front matter (title, authors, state) and fenced cells \
        whose kind is in braces: ```{loom-table}, ```{loom-plot}, ```{sql}, ```{dot}, with options \
        in '#| key: value' lines (label, caption, width, echo). Prose may hold inline values, \
        `{loom} metric(experiment=E, name=N, stat=median)`, and cross-references (@fig-label, \
        @tbl-label). A cell is executed again only when its text, its options or what it reads \
        from the store changed: editing prose executes nothing. A failing cell shows its error \
        in place and the command exits 1 after writing the rest. index.pdf, the whole notebook, is \
        printed by headless Chromium when the page changed. docs/notebooks.md has the format.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        guard arguments.positionals.count == 1, let file = arguments.positionals.first else {
            throw .usage("give one notebook file, e.g. loom notebook render notebooks-md/sequence-parallel.md")
        }
        let notebook: Notebook
        do { notebook = try NotebookParser.load(file) } catch { throw .usage(error.description) }
        let name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        let out = URL(fileURLWithPath: arguments.string("out") ?? "reports/notebooks/\(name)")
        let state = arguments.string("state") ?? notebook.front.state ?? ".loom"
        let renderer = NotebookRenderer(notebook: notebook, directory: out, storePath: state + "/loom.db")
        let options = NotebookRenderer.Options(force: arguments.flag("force"), check: arguments.flag("check"),
                                               provenance: [("loom", Provenance.loomVersion), ("commit", Provenance.commit)],
                                               pdf: !arguments.flag("no-pdf"), loom: ClusterOptions.executable)
        let start = ContinuousClock.now
        let outcome: NotebookRenderer.Outcome
        do { outcome = try renderer.render(options) } catch { throw .failure(error.description) }
        if arguments.flag("check") {
            guard outcome.stale.isEmpty else {
                throw .failure("\(outcome.stale.count) of \(outcome.cells) cell(s) are stale:\n" + outcome.stale.map { "  " + $0 }.joined(separator: "\n")
                               + "\nrender again with 'loom notebook render \(file)'")
            }
            Console.output("\(file): all \(outcome.cells) cell(s) are up to date")
            return
        }
        let seconds = Double((ContinuousClock.now - start).components.attoseconds) / 1e18 + Double((ContinuousClock.now - start).components.seconds)
        Console.progress(String(format: "notebook: %d cell(s), %d executed, %d reused, %.2f s", outcome.cells, outcome.executed.count, outcome.reused, seconds))
        Console.output(outcome.indexHTML.path)
        if let pdf = outcome.pdf { Console.progress("pdf: \(pdf.path)") } else if let note = outcome.pdfNote { Console.progress(note) }
        guard outcome.failures.isEmpty else {
            throw .failure("\(outcome.failures.count) problem(s), shown in place in the page:\n" + outcome.failures.map { "  " + $0 }.joined(separator: "\n"))
        }
    }
}

/// `loom notebook new`: a starting notebook for an experiment in the store.
enum NotebookNewCommand: Command {
    static let words = ["notebook", "new"]
    static let summary = "write a starting notebook for an experiment: a table of its runs and its figures"
    static let usage = "loom notebook new NAME --experiment E [--state DIR] [--dir DIR] [--force]"
    static let options: [Option] = [
        .value("experiment", "E", "the experiment in the store (required)"),
        .value("state", "DIR", "the store folder (default .loom)"),
        .value("dir", "DIR", "where the notebook goes (default notebooks-md)"),
        .flag("force", "replace an existing notebook of that name"),
    ]
    static let acceptsPositionals = true
    static let discussion = """
        Writes DIR/NAME.md with the experiment's description as its title, a loom-table of its \
        runs (the parameters that vary, then up to four metrics) and a loom-plot cell for each \
        figure of its experiment file's 'report:'. Render it with 'loom notebook render'.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        guard arguments.positionals.count == 1, let name = arguments.positionals.first,
              !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw .usage("give one notebook name of letters, digits, '-' or '_', e.g. loom notebook new speed --experiment quickstart")
        }
        let experiment = try arguments.required("experiment", "the experiment to write about, e.g. --experiment quickstart")
        let store = try StoreOptions.open(arguments)
        let record: ResultsStore.ExperimentRecord
        let data: ReportData
        do {
            guard let found = try store.experiment(named: experiment), let loaded = try ReportData.load(experiment: experiment, from: store) else {
                throw CommandError.usage(ReportError.unknownExperiment(experiment, known: try store.experimentNames()).description)
            }
            record = found
            data = loaded
        } catch let error as CommandError { throw error } catch { throw .failure("\(error)") }
        var figures: [FigureSpec] = []
        if FileManager.default.fileExists(atPath: record.file) {
            do throws(ExperimentError) {
                figures = try ReportCommand.figures(of: try ExperimentLoader.load(record.file, overrides: [], registry: LoomTasks.registry)).figures
            } catch {
                Console.progress("note: the experiment file \(record.file) cannot be read (\(error.description)); the notebook has the table only")
            }
        } else {
            Console.progress("note: the experiment file \(record.file) is gone; the notebook has the table only")
        }
        let finished = data.runs.filter { $0.status == .succeeded || $0.status == .cached }
        let parameters = Set(finished.flatMap { $0.params.keys }).sorted()
        // A repeat's seed varies too, but the table pools over repeats.
        let swept = parameters.filter { key in key != "seed" && Set(finished.map { $0.params[key].map { "\($0)" } ?? "" }).count > 1 }
        let numeric = Set(finished.flatMap { run in run.metrics.filter { $0.value.number != nil }.map(\.key) })
        // The figures' metrics first, then the rest by name.
        var metrics: [String] = []
        for name in figures.flatMap(\.ys) + numeric.sorted() where numeric.contains(name) && !metrics.contains(name) { metrics.append(name) }
        metrics = Array(metrics.prefix(4))
        let directory = arguments.string("dir") ?? "notebooks-md"
        let path = "\(directory)/\(name).md"
        guard arguments.flag("force") || !FileManager.default.fileExists(atPath: path) else {
            throw .usage("\(path) exists; give another name, or --force to replace it")
        }
        let text = NotebookTemplate.make(experiment: experiment, description: record.description,
                                         state: arguments.string("state") ?? ".loom", figures: figures, swept: swept, metrics: metrics)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .failure("cannot write \(path): \(error.localizedDescription)")
        }
        Console.progress("wrote a notebook with \(figures.count) figure(s); render it with 'loom notebook render \(path)'")
        Console.output(path)
    }
}
