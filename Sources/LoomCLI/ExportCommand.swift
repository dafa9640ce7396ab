import Experiments
import Foundation
import Tasks

/// `loom export`: runs (or their curves) as CSV or JSON lines, for pandas and spreadsheets.
enum ExportCommand: Command {
    static let words = ["export"]
    static let summary = "export runs with their parameters and final metrics (or their curves) as CSV or JSON lines"
    static let usage = "loom export [--experiment NAME] [--curves] --format csv|jsonl"
    static let options: [Option] = [
        .value("experiment", "NAME", "only this experiment"), .value("format", "F", "csv or jsonl (required)"),
        .flag("curves", "the training curves in long format instead: run, step, metric, value"), StoreOptions.state,
    ]
    static let discussion = """
        One row per run: \(fixedColumns.joined(separator: ", ")), then param.NAME for every parameter \
        and metric.NAME for every final metric (pandas.read_csv reads it). Times are seconds since \
        1970 (UTC); booleans are true and false. 'succeeded' is true only for a run that computed its \
        result in the task: average metrics over those rows. A FAILED, LOST or CANCELLED run may \
        hold partial metrics, and a CACHED run holds none of its own (cached_from names the run \
        whose result it reuses, so counting both would count one result twice).

        With --curves: one row per stored curve point (run, step, metric, value), ordered by run, \
        metric and step; a CACHED run's curve is under its cached_from run. Text that a \
        spreadsheet would read as a formula (=, +, -, @ first) is written with a leading '.
        """

    static let fixedColumns = ["id", "experiment", "index", "repetition", "task", "status", "succeeded", "attempt", "lost_attempts",
                               "cached_from", "created_at", "started_at", "finished_at", "duration_s", "cache_key", "git_commit",
                               "git_dirty", "code_commit", "error"]

    /// The fixed fields of a run, in `fixedColumns` order (nil where the store has no value).
    static func fixedFields(_ record: ResultsStore.RunRecord) -> [ParameterValue?] {
        [.int(Int(record.id)), .string(record.experiment), .int(record.index), .int(record.repetition), .string(record.task),
         .string(record.status.rawValue), .bool(record.status == .succeeded), .int(record.attempt), .int(record.lostAttempts),
         record.cachedFrom.map { .int(Int($0)) }, record.createdAt.map { .double($0) }, record.startedAt.map { .double($0) },
         record.finishedAt.map { .double($0) }, record.duration.map { .double($0) }, .string(record.cacheKey),
         record.gitCommit.map { .string($0) }, record.gitDirty.map { .bool($0) }, record.codeCommit.map { .string($0) },
         record.error.map { .string($0) }]
    }

    /// A run as one JSON object: the fixed fields, `params` and `metrics` (used by `runs --json` too).
    static func jsonLine(_ record: ResultsStore.RunRecord, metrics: [String: ParameterValue]) -> String {
        let fixed = zip(fixedColumns, fixedFields(record)).map { "\(ParameterValue.string($0).json):\($1?.json ?? "null")" }
        let metricFields = metrics.keys.sorted().map { "\(ParameterValue.string($0).json):\(metrics[$0]!.json)" }
        return "{" + fixed.joined(separator: ",") + ",\"params\":\(record.paramsJSON),"
            + "\"metrics\":{\(metricFields.joined(separator: ","))}}"
    }

    static func run(_ arguments: Arguments) throws(CommandError) {
        let format = try arguments.required("format", "csv or jsonl")
        guard format == "csv" || format == "jsonl" else { throw .usage("--format must be csv or jsonl; got '\(format)'") }
        let store = try StoreOptions.open(arguments)
        if arguments.flag("curves") { return try curves(store, experiment: arguments.string("experiment"), csv: format == "csv") }
        var rows: [(record: ResultsStore.RunRecord, params: [String: ParameterValue], metrics: [String: ParameterValue])] = []
        do {
            for record in try store.runs(experiment: arguments.string("experiment")) {
                rows.append((record, try store.params(run: record.id), try store.finalMetrics(run: record.id)))
            }
        } catch { throw .failure("\(error)") }
        if format == "jsonl" {
            for row in rows { Console.output(jsonLine(row.record, metrics: row.metrics)) }
            return
        }
        let paramNames = Set(rows.flatMap { $0.params.keys }).sorted()
        let metricNames = Set(rows.flatMap { $0.metrics.keys }).sorted()
        Console.output(CSVRows.line(fixedColumns + paramNames.map { "param." + $0 } + metricNames.map { "metric." + $0 }))
        for row in rows {
            let fields = fixedFields(row.record) + paramNames.map { row.params[$0] } + metricNames.map { row.metrics[$0] }
            Console.output(CSVRows.line(fields.map { $0?.description ?? "" }))
        }
    }

    private static func curves(_ store: ResultsStore, experiment: String?, csv: Bool) throws(CommandError) {
        let points: [ResultsStore.CurvePoint]
        do { points = try store.curvePoints(experiment: experiment) } catch { throw .failure("\(error)") }
        if csv { Console.output("run,step,metric,value") }
        for point in points {
            if csv {
                Console.output(CSVRows.line([String(point.run), String(point.step), point.metric, String(point.value)]))
            } else {
                Console.output("{\"run\":\(point.run),\"step\":\(point.step),\"metric\":\(ParameterValue.string(point.metric).json),"
                               + "\"value\":\(ParameterValue.double(point.value).json)}")
            }
        }
    }
}
