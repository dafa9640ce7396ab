import Cluster
import Experiments
import Foundation
import Tasks

/// `loom runs`, `loom show` and `loom export`: what the results store holds.
enum StoreOptions {
    static let state = Option.value("state", "DIR", "where the store lives (default .loom)")

    /// Opens the store; `forWriting` only for commands that change it (`loom gc`): the others
    /// open it read-only, so a user who may only read a shared store can list and report.
    static func open(_ arguments: Arguments, forWriting: Bool = false) throws(CommandError) -> ResultsStore {
        let path = (arguments.string("state") ?? ".loom") + "/loom.db"
        guard FileManager.default.fileExists(atPath: path) else {
            throw .usage("no results store at \(path); run an experiment first ('loom run FILE'), or give --state DIR")
        }
        do { return forWriting ? try ResultsStore(path: path) : try ResultsStore(readingAt: path) } catch { throw .failure("\(error)") }
    }

    static func status(_ arguments: Arguments) throws(CommandError) -> ResultsStore.Status? {
        guard let text = arguments.string("status") else { return nil }
        guard let status = ResultsStore.Status(rawValue: text.uppercased()) else {
            throw .usage("--status must be one of \(ResultsStore.Status.allCases.map(\.rawValue).joined(separator: ", ")); got '\(text)'")
        }
        return status
    }
}

enum RunsCommand: Command {
    static let words = ["runs"]
    static let summary = "list the runs in the results store as a table"
    static let usage = "loom runs [--experiment NAME] [--status S] [--columns A,B,…] [--json]"
    static let options: [Option] = [
        .value("experiment", "NAME", "only this experiment"), .value("status", "S", "only runs in this status (e.g. FAILED)"),
        .value("columns", "A,B,…", "the columns to show, in order: \(builtInColumns.joined(separator: ", ")), a parameter or a metric "
               + "(param.NAME or metric.NAME when both exist)"),
        .flag("json", "one JSON object per run, every field (for scripts)"), StoreOptions.state,
    ]
    static let discussion = """
        By default: id, status, the parameters whose values differ among the runs of an experiment, \
        \(keyMetricCount) key metrics (those the report's figures plot, then those the task kind declares, \
        then the others that differ), and the duration (the experiment, attempts and error columns appear \
        when they say something). A CACHED run shows the metrics of the run it reuses. Long cells \
        end in …; 'loom show RUN' prints one run in full, 'loom export' all of them.
        """

    static let builtInColumns = ["id", "experiment", "run", "repetition", "task", "status", "attempt", "lost", "worker", "duration",
                                 "cached_from", "cache_key", "error"]
    static let keyMetricCount = 3
    static let maximumColumns = 64

    /// A column: its header and how it reads a run.
    enum Column: Equatable {
        case builtIn(String), param(String), metric(String)
    }

    struct Row {
        var record: ResultsStore.RunRecord
        var params: [String: ParameterValue]
        var metrics: [String: ParameterValue]
    }

    static func run(_ arguments: Arguments) throws(CommandError) {
        let store = try StoreOptions.open(arguments)
        let status = try StoreOptions.status(arguments)
        var rows: [Row] = []
        var metricOrder: [String] = []
        let registry = LoomTasks.registry(testKinds: true)
        var seenTasks: Set<String> = [], seenExperiments: Set<String> = []
        do {
            for record in try store.runs(experiment: arguments.string("experiment"), status: status) {
                let source = record.status == .cached ? record.cachedFrom ?? record.id : record.id
                if seenExperiments.insert(record.experiment).inserted {
                    for name in figureMetrics(store, experiment: record.experiment, registry: registry) where !metricOrder.contains(name) {
                        metricOrder.append(name)
                    }
                }
                if seenTasks.insert(record.task).inserted, let kind = try? registry.kind(named: record.task) {
                    for name in kind.metrics.map(\.name) where !metricOrder.contains(name) { metricOrder.append(name) }
                }
                rows.append(Row(record: record, params: try store.params(run: record.id), metrics: try store.finalMetrics(run: source)))
            }
        } catch { throw .failure("\(error)") }
        if arguments.flag("json") {
            for row in rows {
                let own = row.record.status == .cached ? [:] : row.metrics
                Console.output(ExportCommand.jsonLine(row.record, metrics: own))
            }
            return
        }
        guard !rows.isEmpty else { Console.progress("no runs match"); return }
        let columns = try arguments.string("columns").map { text throws(CommandError) in try chosen(text, rows: rows) }
            ?? defaultColumns(rows, metricOrder: metricOrder)
        let paramNames = Set(columns.compactMap { if case let .param(name) = $0 { name } else { nil } })
        let header = columns.map { column in
            switch column {
            case let .builtIn(name): name
            case let .param(name): name
            case let .metric(name): paramNames.contains(name) ? "metric." + name : name
            }
        }
        let whole = Set(columns.indices.filter { [.builtIn("id"), .builtIn("status"), .builtIn("duration")].contains(columns[$0]) })
        let table = RunTable(header: header, rows: rows.map { row in columns.map { cell($0, row) } }, keptWhole: whole)
        for line in table.lines(width: RunTable.terminalWidth) { Console.output(line) }
    }

    /// id, status, the varying parameters, the key metrics, the duration; the experiment,
    /// attempts and errors only when they differ from the obvious.
    static func defaultColumns(_ rows: [Row], metricOrder: [String]) -> [Column] {
        var columns: [Column] = [.builtIn("id")]
        if Set(rows.map(\.record.experiment)).count > 1 { columns.append(.builtIn("experiment")) }
        columns.append(.builtIn("status"))
        let names = Set(rows.flatMap { $0.params.keys }).sorted()
        // Varying within an experiment: runs of different experiments differ in everything.
        let byExperiment = Dictionary(grouping: rows, by: \.record.experiment).values
        columns += names.filter { name in byExperiment.contains { Set($0.map { $0.params[name]?.json ?? "" }).count > 1 } }
            .map(Column.param)
        columns += keyMetrics(rows, declared: metricOrder).map(Column.metric)
        columns.append(.builtIn("duration"))
        if rows.contains(where: { $0.record.attempt > 1 || $0.record.lostAttempts > 0 }) { columns += [.builtIn("attempt"), .builtIn("lost")] }
        if rows.contains(where: { $0.record.error != nil }) { columns.append(.builtIn("error")) }
        return columns
    }

    /// The metrics the experiment's report figures plot (`y:`, one name or a list), in figure
    /// order; none when its file is gone or no longer loads (the table then falls back).
    static func figureMetrics(_ store: ResultsStore, experiment: String, registry: TaskRegistry) -> [String] {
        guard let file = (try? store.experiment(named: experiment))??.file,
              let loaded = try? ExperimentLoader.load(file, registry: registry),
              case let .sequence(figures, _)? = loaded.report else { return [] }
        var names: [String] = []
        for case let .mapping(entries, _) in figures {
            switch entries.first(where: { $0.key == "y" })?.value {
            case let .scalar(name, _, _)?: names.append(name)
            case let .sequence(items, _)?: for case let .scalar(name, _, _) in items { names.append(name) }
            default: break
            }
        }
        return names
    }

    /// The first few final metrics the runs hold: those the report's figures plot, then those
    /// their kinds declare, in that order;
    /// for kinds that declare none, the metrics without a per-rank or per-step prefix (no dot)
    /// whose values differ among the runs, by name.
    static func keyMetrics(_ rows: [Row], declared: [String]) -> [String] {
        let held = Set(rows.flatMap { $0.metrics.keys })
        let plain = held.filter { name in !name.contains(".") && Set(rows.map { $0.metrics[name]?.json ?? "" }).count > 1 }.sorted()
        var names = declared.filter(held.contains)
        names += plain.filter { !names.contains($0) }
        return Array(names.prefix(keyMetricCount))
    }

    /// The columns `--columns` names; an unknown name is an error with the nearest known one.
    static func chosen(_ text: String, rows: [Row]) throws(CommandError) -> [Column] {
        let params = Set(rows.flatMap { $0.params.keys }), metrics = Set(rows.flatMap { $0.metrics.keys })
        let known = builtInColumns + params.sorted() + metrics.sorted() + params.sorted().map { "param." + $0 } + metrics.sorted().map { "metric." + $0 }
        var columns: [Column] = []
        let names = text.split(separator: ",", omittingEmptySubsequences: false)
        guard names.count <= maximumColumns else { throw .usage("--columns names \(names.count) columns; at most \(maximumColumns) fit a table") }
        for name in text.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if builtInColumns.contains(name) { columns.append(.builtIn(name)) }
            else if name.hasPrefix("param."), params.contains(String(name.dropFirst(6))) { columns.append(.param(String(name.dropFirst(6)))) }
            else if name.hasPrefix("metric."), metrics.contains(String(name.dropFirst(7))) { columns.append(.metric(String(name.dropFirst(7)))) }
            else if params.contains(name) { columns.append(.param(name)) }
            else if metrics.contains(name) { columns.append(.metric(name)) }
            else {
                var message = "--columns: unknown column '\(RunTable.cut(name, to: 64))'"
                if let near = nearestName(to: name, among: known) { message += "; did you mean '\(near)'?" }
                throw .usage(message + " Columns: \(RunTable.cut(known.prefix(40).joined(separator: ", "), to: 600))")
            }
        }
        return columns
    }

    static func cell(_ column: Column, _ row: Row) -> String {
        let record = row.record
        switch column {
        case let .param(name): return RunTable.cell(row.params[name])
        case let .metric(name): return RunTable.cell(row.metrics[name])
        case let .builtIn(name):
            switch name {
            case "id": return String(record.id)
            case "experiment": return record.experiment
            case "run": return String(record.index + 1)
            case "repetition": return String(record.repetition)
            case "task": return record.task
            case "status": return record.status.rawValue
            case "attempt": return String(record.attempt)
            case "lost": return String(record.lostAttempts)
            case "worker": return record.worker ?? ""
            case "duration": return RunTable.duration(record.duration)
            case "cached_from": return record.cachedFrom.map(String.init) ?? ""
            case "cache_key": return record.cacheKey
            default: return record.error ?? ""
            }
        }
    }
}
