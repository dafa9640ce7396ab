import Experiments
import Foundation
import Tasks

/// Turns an experiment's runs in the results store into a report directory: per figure a
/// `.dat`, a standalone `.gp`, an `.svg` and a `.pdf`, plus `index.md` and `index.html`.
public enum Report {
    /// Lists the files the last render wrote, so a re-render removes those it no longer writes
    /// (a dropped figure) and never touches the user's own files.
    static let manifestName = ".loom-report-files"

    /// Renders the latest invocation of `experiment` into `directory` (created if needed).
    ///
    /// Re-rendering replaces the report files of the previous render. A figure gnuplot cannot draw
    /// keeps its `.dat` and `.gp`, the index says why, and the error is thrown after everything else is written.
    /// - Parameters:
    ///   - experiment: the experiment's name in the store.
    ///   - spec: the figures (`ReportSpec.parse` of the experiment's `report:`); no figures gives the table and provenance only.
    ///   - store: the results store to read.
    ///   - directory: where to write, e.g. `reports/NAME`.
    ///   - notes: remarks shown at the top of the index (e.g. that the experiment file is gone).
    ///   - metrics: the declared metrics, whose labels and units title the axes a figure leaves unset.
    /// - Returns: the files written and the index paths.
    /// - Throws: `ReportError.unknownExperiment` (with the known names), `.store`, `.write`,
    ///   `.unknownNames` for a figure naming a metric or parameter no run has (with the nearest
    ///   name) or a winner figure whose cells mix settings, or `.figuresFailed` naming each script and what gnuplot said; the last two after the rest is written.
    public static func render(experiment: String, spec: ReportSpec, store: ResultsStore, to directory: URL,
                              notes: [String] = [], metrics: MetricCatalog = MetricCatalog()) throws(ReportError) -> ReportOutput {
        var data: ReportData
        do {
            guard let loaded = try ReportData.load(experiment: experiment, from: store) else {
                throw ReportError.unknownExperiment(experiment, known: try store.experimentNames())
            }
            data = loaded
            // Only a name this invocation lacks costs a look at the earlier ones.
            if spec.figures.enumerated().contains(where: { data.unknownName(in: $0.element, number: $0.offset + 1) != nil }) {
                try data.learnEarlierNames(from: store)
            }
        } catch let error as ReportError { throw error } catch let error as StoreError { throw .store(error) } catch {
            throw .write(path: store.path, message: "\(error)")             // not reached: only the two above are thrown
        }
        return try render(data, spec: spec, to: directory, notes: notes, metrics: metrics)
    }

    /// Renders already loaded report data into `directory`; see `render(experiment:spec:store:to:notes:)`.
    /// Figure names are checked against `data`'s runs and `earlierNames` only.
    public static func render(_ data: ReportData, spec: ReportSpec, to directory: URL,
                              notes: [String] = [], metrics: MetricCatalog = MetricCatalog()) throws(ReportError) -> ReportOutput {
        let manager = FileManager.default
        do { try manager.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw .write(path: directory.path, message: error.localizedDescription)
        }
        let manifest = directory.appendingPathComponent(manifestName)
        let previous = ((try? String(contentsOf: manifest, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        for name in previous where !name.contains("/") {
            try? manager.removeItem(at: directory.appendingPathComponent(name))
        }
        var outcomes: [FigureOutcome] = []
        for (offset, figure) in spec.figures.enumerated() {
            outcomes.append(try FigureRenderer(figure: figure, number: offset + 1, data: data, directory: directory, metrics: metrics).render())
        }
        let graphs = copyGraphs(of: data.runs, into: directory)
        var notes = notes
        if spec.figures.isEmpty && notes.isEmpty && graphs.isEmpty { notes.append("The experiment file asks for no figures (its 'report:' is empty or missing).") }
        var index = ReportIndex(data: data, figures: outcomes, notes: notes, graphs: graphs)
        index.metrics = metrics
        let svgs = outcomes.filter { $0.state == .drawn }.map { $0.figure.name + ".svg" } + graphs.map(\.svg)
        for svg in svgs { index.sizes[svg] = SVGSize(contentsOf: directory.appendingPathComponent(svg)) }
        let indexMarkdown = directory.appendingPathComponent("index.md"), indexHTML = directory.appendingPathComponent("index.html")
        for (url, text) in [(indexMarkdown, index.markdown), (indexHTML, index.html)] {
            do { try Data(text.utf8).write(to: url, options: .atomic) } catch {
                throw .write(path: url.path, message: error.localizedDescription)
            }
        }
        let names = outcomes.flatMap(\.files) + graphs.flatMap { [$0.svg] + ($0.pdf.map { [$0] } ?? []) } + ["index.md", "index.html"]
        try? Data((names.joined(separator: "\n") + "\n").utf8).write(to: manifest, options: .atomic)
        let unknownNames = outcomes.compactMap { outcome -> String? in
            switch outcome.state {
            case let .unknownName(message), let .mixedRuns(message): message
            default: nil
            }
        }
        if !unknownNames.isEmpty { throw .unknownNames(index: indexHTML.path, problems: unknownNames) }
        let failures = outcomes.compactMap { outcome -> String? in
            if case let .failed(message) = outcome.state { message } else { nil }
        }
        if !failures.isEmpty { throw .figuresFailed(index: indexHTML.path, failures: failures) }
        return ReportOutput(directory: directory, files: names.map { directory.appendingPathComponent($0) },
                            indexHTML: indexHTML, indexMarkdown: indexMarkdown, figures: outcomes)
    }

    /// Writes one figure of `data` into `directory` (its `.dat`, `.gp`, and gnuplot's `.svg` and
    /// `.pdf`), as a report does for each of its figures; a notebook's `loom-plot` cell uses it.
    public static func renderFigure(_ figure: FigureSpec, data: ReportData, to directory: URL,
                                    metrics: MetricCatalog = MetricCatalog()) throws(ReportError) -> FigureOutcome {
        do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw .write(path: directory.path, message: error.localizedDescription)
        }
        return try FigureRenderer(figure: figure, number: 1, data: data, directory: directory, metrics: metrics).render()
    }

    /// At most this many runs show their graphs (a sweep of hundreds would bury the page).
    static let graphRuns = 8

    /// Copies the SVG artifacts (mechanism graphs) of the first runs that have them, with their
    /// PDF siblings, as `graph-run<id>-<name>`; files that cannot be copied are skipped.
    static func copyGraphs(of runs: [ReportData.Run], into directory: URL) -> [ReportIndex.Graph] {
        var graphs: [ReportIndex.Graph] = [], shown = 0
        for run in runs where shown < graphRuns {
            let svgs = run.artifacts.filter { $0.hasSuffix(".svg") }
            guard !svgs.isEmpty else { continue }
            shown += 1
            for path in svgs {
                let source = URL(fileURLWithPath: path)
                let stem = source.deletingPathExtension().lastPathComponent
                let svg = "graph-run\(run.id)-\(stem).svg"
                guard copy(source, to: directory.appendingPathComponent(svg)) else { continue }
                let pdfSource = source.deletingPathExtension().appendingPathExtension("pdf")
                let pdf = "graph-run\(run.id)-\(stem).pdf"
                let hasPDF = run.artifacts.contains(pdfSource.path) && copy(pdfSource, to: directory.appendingPathComponent(pdf))
                graphs.append(ReportIndex.Graph(run: run.id, title: stem, svg: svg, pdf: hasPDF ? pdf : nil))
            }
        }
        return graphs
    }

    private static func copy(_ source: URL, to target: URL) -> Bool {
        try? FileManager.default.removeItem(at: target)
        return (try? FileManager.default.copyItem(at: source, to: target)) != nil
    }

    /// The known experiment name nearest to `name`, for "did you mean".
    public static func nearestExperiment(to name: String, among known: [String]) -> String? {
        nearestName(to: name, among: known)
    }
}
