import Experiments
import Foundation
import Reports
import Tasks

/// Executes one cell against the store, writing its files into the output folder.
struct CellRunner {
    let notebook: Notebook
    /// Opened again after a `loom-run` cell (which may have created the store).
    var store: ResultsStore?
    /// Each output file stem and the first cell that writes it (`stemOwners`), set by the renderer.
    var stemOwners: [String: Int] = [:]
    /// Why the store file that exists could not be opened (damaged, newer), for the cells' errors.
    var storeProblem: String?
    let storePath: String
    let directory: URL
    let metrics: MetricCatalog
    /// The loom executable, for `loom-run` cells (nil: they say they cannot run).
    var loom: URL?

    /// The most rows a table or a query shows.
    static let maximumRows = 500

    /// What the cell reads, as a digest for its cache key: the experiment's rows for table and
    /// plot cells, the query's result for sql cells, nothing for dot.
    func inputDigest(_ cell: Notebook.Cell) -> String {
        switch cell.kind {
        case .table, .plot, .graph:
            guard let experiment = (try? settings(cell))?["experiment"]?.scalarText else { return "unreadable" }
            return experimentDigest(experiment)
        case .sql:
            guard let store, let result = try? store.readOnlyQuery(cell.body, maximumRows: Self.maximumRows) else { return "unreadable" }
            var hash = SHA256()
            hash.update(Array(result.columns.joined(separator: "\u{1f}").utf8))
            for row in result.rows { hash.update(Array(("\n" + row.map { $0 ?? "\u{0}" }.joined(separator: "\u{1f}")).utf8)) }
            return hash.hexDigest()
        case .run:
            return (try? RunCell(cell: cell, runner: self).plan()) ?? "unplannable"
        case .gnuplot:
            return GnuplotCell(cell: cell, directory: directory).inputDigest()
        case .dot:
            return ""
        }
    }

    func experimentDigest(_ experiment: String) -> String {
        guard let store else { return "no store" }
        return ((try? store.digest(ofExperiment: experiment)) ?? nil) ?? "no experiment"
    }

    /// The cell's body as YAML, with marks on the notebook's own lines.
    func settings(_ cell: Notebook.Cell) throws(NotebookInputError) -> YAMLNode {
        let padded = String(repeating: "\n", count: cell.bodyLine - 1) + cell.body
        do { return try YAMLReader.parse(Array(padded.utf8), file: notebook.file) } catch {
            throw NotebookInputError(error.diagnostics.map { "line \($0.line): \($0.message)" }.joined(separator: "; "))
        }
    }

    /// A stable file stem for the cell's files: its label without the prefix, else its line.
    static func stem(_ cell: Notebook.Cell) -> String {
        if let label = cell.label { return String(label.dropFirst(4)).replacingOccurrences(of: "_", with: "-") }
        return "cell-\(cell.line)"
    }

    /// The stem of the files a cell writes beside the page (`NAME.svg`, `.pdf`, …), or nil for a
    /// cell that writes none: a plot's own `name:`, else `stem`.
    func outputStem(_ cell: Notebook.Cell) -> String? {
        switch cell.kind {
        case .table, .sql, .run: return nil
        case .plot: return (try? settings(cell))?["name"]?.scalarText ?? Self.stem(cell)
        case .dot, .graph, .gnuplot: return Self.stem(cell)
        }
    }

    /// Each file stem and the line of the first cell that writes it.
    func stemOwners(_ cells: [Notebook.Cell]) -> [String: Int] {
        var owners: [String: Int] = [:]
        for cell in cells { if let stem = outputStem(cell), owners[stem] == nil { owners[stem] = cell.line } }
        return owners
    }

    func run(_ cell: Notebook.Cell) -> CellOutput {
        do throws(NotebookInputError) {
            // Two cells writing one file would show the same figure twice; `index` is the page's.
            if let stem = outputStem(cell) {
                if stem == "index" { throw NotebookInputError("the files index.* are the page's own; give this cell another label or name") }
                if let owner = stemOwners[stem], owner != cell.line {
                    throw NotebookInputError("the cell at line \(owner) already writes \(stem).svg; give this cell another label or name")
                }
            }
            switch cell.kind {
            case .table: return try table(cell)
            case .plot: return try plot(cell)
            case .sql: return try sql(cell)
            case .dot: return try dot(cell)
            case .run: return try RunCell(cell: cell, runner: self).run()
            case .graph: return try graph(cell)
            case .gnuplot: return try GnuplotCell(cell: cell, directory: directory).run()
            }
        } catch {
            return CellOutput(markdown: "", html: "", files: [], error: error.description)
        }
    }

    /// Why there is no store to read: the file is absent, or it exists and cannot be opened.
    var missingStore: String {
        storeProblem.map { "the store at \(storePath) cannot be read: \($0)" }
            ?? "no store at \(storePath); run the experiments first (loom run), or set 'state:' in the front matter"
    }

    private func requireStore() throws(NotebookInputError) -> ResultsStore {
        guard let store else { throw NotebookInputError(missingStore) }
        return store
    }

    private func data(_ experiment: String) throws(NotebookInputError) -> ReportData {
        let store = try requireStore()
        let loaded: ReportData?
        do { loaded = try ReportData.load(experiment: experiment, from: store) } catch { throw NotebookInputError("\(error)") }
        guard let loaded else {
            let known = (try? store.experimentNames()) ?? []
            throw NotebookInputError("no experiment '\(experiment)' in \(storePath) (known: \(known.joined(separator: ", ")))")
        }
        return loaded
    }

    // MARK: loom-table

    /// `experiment: E`, `columns: [a, b, metric]`, `where: {key: value}`, `group_by: [a]` (then
    /// each metric shows its median and min–max over the group).
    private func table(_ cell: Notebook.Cell) throws(NotebookInputError) -> CellOutput {
        let node = try settings(cell)
        guard case let .mapping(entries, _) = node else { throw NotebookInputError("a loom-table cell is a mapping: experiment, columns, where, group_by") }
        for entry in entries where !["experiment", "columns", "where", "group_by"].contains(entry.key) {
            throw NotebookInputError("line \(entry.keyMark.line): unknown key '\(entry.key)' (known: experiment, columns, where, group_by)")
        }
        guard let experiment = node["experiment"]?.scalarText else { throw NotebookInputError("a loom-table cell needs 'experiment:'") }
        let data = try data(experiment)
        func list(_ key: String) -> [String] {
            if case let .sequence(items, _)? = node[key] { return items.compactMap(\.scalarText) }
            return node[key]?.scalarText.map { [$0] } ?? []
        }
        var filters: [(String, String)] = []
        if case let .mapping(pairs, _)? = node["where"] { filters = pairs.map { ($0.key, $0.value.scalarText ?? "") } }
        // A misspelt parameter would match no run and leave the table silently empty.
        let parameters = Set(data.runs.flatMap { Array($0.params.keys) })
        for (key, _) in filters where !parameters.contains(key) {
            let near = NotebookParser.nearest(key, among: parameters.sorted()).map { "; did you mean '\($0)'?" } ?? ""
            throw NotebookInputError("where: no run of '\(experiment)' has a parameter '\(key)'\(near)")
        }
        let runs = data.runs.filter { run in
            (run.status == .succeeded || run.status == .cached) && filters.allSatisfy { key, value in run.params[key].map { InlineValue.matches($0, value) } ?? false }
        }
        let groupBy = list("group_by")
        let columns = list("columns").isEmpty ? groupBy : list("columns")
        guard !columns.isEmpty else { throw NotebookInputError("give 'columns:' (parameters and metrics to show)") }
        let known = Set(data.runs.flatMap { Array($0.params.keys) + Array($0.metrics.keys) })
        for column in columns + groupBy where !known.contains(column) {
            let near = NotebookParser.nearest(column, among: known.sorted()).map { "; did you mean '\($0)'?" } ?? ""
            throw NotebookInputError("no run of '\(experiment)' has '\(column)'\(near)")
        }
        var rows: [[String]] = []
        let shown = Numbers.shown
        if groupBy.isEmpty {
            rows = runs.prefix(Self.maximumRows).map { run in
                columns.map { column in
                    guard let value = run.value(column) else { return "" }
                    if case .double = value, let number = value.number { return shown(number) }
                    return "\(value)"
                }
            }
        } else {
            var groups: [[String]: [ReportData.Run]] = [:], order: [[String]] = []
            for run in runs {
                let key = groupBy.map { run.value($0).map { "\($0)" } ?? "" }
                if groups[key] == nil { order.append(key) }
                groups[key, default: []].append(run)
            }
            for key in order.prefix(Self.maximumRows) {
                let members = groups[key]!
                rows.append(columns.map { column in
                    if let position = groupBy.firstIndex(of: column) { return key[position] }
                    let numbers = members.compactMap { $0.value(column)?.number }.sorted()
                    guard let low = numbers.first, let high = numbers.last else { return "" }
                    let middle = Numbers.median(numbers)
                    return numbers.count == 1 || low == high ? shown(middle) : "\(shown(middle)) (\(shown(low))–\(shown(high)))"
                })
            }
        }
        let note = groupBy.isEmpty ? "\(runs.count) finished run(s)" : "median (min–max) over \(runs.count) finished run(s)"
        let table = CellTable(columns: columns, rows: rows, note: runs.count > Self.maximumRows ? note + ", first \(Self.maximumRows) shown" : note)
        return CellOutput(markdown: table.markdown, html: table.html, files: [], error: nil)
    }

    // MARK: loom-plot

    private func plot(_ cell: Notebook.Cell) throws(NotebookInputError) -> CellOutput {
        let node = try settings(cell)
        guard case let .mapping(entries, mark) = node, let experiment = node["experiment"]?.scalarText else {
            throw NotebookInputError("a loom-plot cell is a mapping with 'experiment:' and a figure's keys (x, y, series, …)")
        }
        let data = try data(experiment)
        let name = Self.stem(cell)
        var figureEntries = entries.filter { $0.key != "experiment" }
        if !figureEntries.contains(where: { $0.key == "name" }) {
            figureEntries.insert((key: "name", keyMark: mark, value: .scalar(name, isQuoted: true, mark)), at: 0)
        }
        let parameters = Set(data.runs.flatMap { Array($0.params.keys) })
        let spec: ReportSpec
        do { spec = try ReportSpec.parse(.sequence([.mapping(figureEntries, mark)], mark), file: notebook.file, parameters: parameters) } catch {
            throw NotebookInputError(error.diagnostics.map { "line \($0.line): \($0.message)" }.joined(separator: "; "))
        }
        let outcome: FigureOutcome
        do { outcome = try Report.renderFigure(spec.figures[0], data: data, to: directory, metrics: metrics) } catch {
            throw NotebookInputError("\(error)")
        }
        switch outcome.state {
        case .drawn: break
        case .noData: throw NotebookInputError("no finished run of '\(experiment)' has a number for \(spec.figures[0].objective?.metric ?? spec.figures[0].y)")
        case let .unknownName(message), let .mixedRuns(message), let .failed(message): throw NotebookInputError(message)
        }
        let svg = spec.figures[0].name + ".svg"
        return figure(cell, svg: svg, files: outcome.files, notes: outcome.notes)
    }

    // MARK: loom-graph

    /// `experiment: E`, `graph: NAME` (an artifact `NAME.svg` of a run, e.g. a mechanism graph),
    /// `run: I` (the run's index in the sweep, from 1; default the first run that has it).
    private func graph(_ cell: Notebook.Cell) throws(NotebookInputError) -> CellOutput {
        let node = try settings(cell)
        guard case let .mapping(entries, _) = node else { throw NotebookInputError("a loom-graph cell is a mapping: experiment, graph, run") }
        for entry in entries where !["experiment", "graph", "run"].contains(entry.key) {
            throw NotebookInputError("line \(entry.keyMark.line): unknown key '\(entry.key)' (known: experiment, graph, run)")
        }
        guard let experiment = node["experiment"]?.scalarText, let name = node["graph"]?.scalarText, !name.isEmpty else {
            throw NotebookInputError("a loom-graph cell needs 'experiment:' and 'graph:' (an artifact's name without .svg)")
        }
        let data = try data(experiment)
        let index = try node["run"]?.scalarText.map { text throws(NotebookInputError) -> Int in
            guard let number = Int(text), number >= 1 else { throw NotebookInputError("run: \(text) is not a run index from 1") }
            return number
        }
        let candidates = data.runs.filter { index == nil || $0.index + 1 == index }
        let found = candidates.lazy.compactMap { run in run.artifacts.first { URL(fileURLWithPath: $0).lastPathComponent == name + ".svg" } }.first
        guard let source = found else {
            let names = Set(data.runs.flatMap { $0.artifacts }.filter { $0.hasSuffix(".svg") }.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }).sorted()
            throw NotebookInputError("no run\(index.map { " \($0)" } ?? "") of '\(experiment)' stored a graph '\(name)' (stored: \(names.prefix(12).joined(separator: ", ")))")
        }
        let stem = Self.stem(cell)
        var files: [String] = []
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            for format in ["svg", "pdf"] {
                let from = URL(fileURLWithPath: source).deletingPathExtension().appendingPathExtension(format)
                guard FileManager.default.fileExists(atPath: from.path) else { continue }
                let to = directory.appendingPathComponent("\(stem).\(format)")
                try? FileManager.default.removeItem(at: to)
                try FileManager.default.copyItem(at: from, to: to)
                files.append("\(stem).\(format)")
            }
        } catch {
            throw NotebookInputError("cannot copy \(source): \(error.localizedDescription)")
        }
        return figure(cell, svg: "\(stem).svg", files: files, notes: [])
    }

    // MARK: sql

    private func sql(_ cell: Notebook.Cell) throws(NotebookInputError) -> CellOutput {
        let store = try requireStore()
        let result: (columns: [String], rows: [[String?]], truncated: Bool)
        do { result = try store.readOnlyQuery(cell.body, maximumRows: Self.maximumRows) } catch {
            throw NotebookInputError(error.message)
        }
        let table = CellTable(columns: result.columns, rows: result.rows.map { $0.map { $0 ?? "NULL" } },
                              note: result.truncated ? "first \(Self.maximumRows) rows shown" : "\(result.rows.count) row(s)")
        return CellOutput(markdown: table.markdown, html: table.html, files: [], error: nil)
    }

    // MARK: dot

    private func dot(_ cell: Notebook.Cell) throws(NotebookInputError) -> CellOutput {
        guard cell.body.utf8.count <= 1 << 20 else { throw NotebookInputError("the graph is larger than 1 MiB of DOT") }
        let name = Self.stem(cell)
        let files: [String]
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            files = try GraphRenderer.write(dot: cell.body, name: name, into: directory)
        } catch let failure as GraphRenderer.Failure {
            throw NotebookInputError("Graphviz: \(failure.message)")
        } catch {
            throw NotebookInputError("\(error)")
        }
        return figure(cell, svg: name + ".svg", files: files, notes: [])
    }

    /// A figure's Markdown and HTML: the SVG beside the index, its caption numbered later.
    private func figure(_ cell: Notebook.Cell, svg: String, files: [String], notes: [String]) -> CellOutput {
        let caption = cell.option("caption") ?? ""
        let width = cell.option("width").map { $0.hasSuffix("%") ? $0 : "\($0)px" } ?? "100%"   // a limit: the SVG keeps its own size below it
        var markdown = "![\(caption.replacingOccurrences(of: "]", with: "\\]"))](\(svg))"
        var html = "<img src=\"\(HTML.escape(svg))\" alt=\"\(HTML.escape(caption))\" style=\"max-width: \(HTML.escape(width))\">"
        for note in notes {
            markdown += "\n\n*\(note)*"
            html += "\n<p class=\"note\">\(HTML.escape(note))</p>"
        }
        return CellOutput(markdown: markdown, html: html, files: files, error: nil)
    }
}
