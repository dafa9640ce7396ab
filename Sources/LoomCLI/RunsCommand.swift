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
    static let summary = "list the runs in the results store"
    static let usage = "loom runs [--experiment NAME] [--status S] [--json]"
    static let options: [Option] = [
        .value("experiment", "NAME", "only this experiment"), .value("status", "S", "only runs in this status (e.g. FAILED)"),
        .flag("json", "one JSON object per run"), StoreOptions.state,
    ]
    static let discussion = "Each line: run id, experiment, position in the sweep, status, attempt, parameters and final metrics."

    static func run(_ arguments: Arguments) throws(CommandError) {
        let store = try StoreOptions.open(arguments)
        let status = try StoreOptions.status(arguments)
        let records: [ResultsStore.RunRecord]
        do { records = try store.runs(experiment: arguments.string("experiment"), status: status) } catch {
            throw .failure("\(error)")
        }
        for record in records {
            let metrics = (try? store.finalMetrics(run: record.id)) ?? [:]
            if arguments.flag("json") {
                Console.output(ExportCommand.jsonLine(record, metrics: metrics))
            } else {
                Console.output("\(record.id)".leftPadding(5) + "  \(record.experiment) #\(record.index + 1)"
                               + "  \(record.status.rawValue)"
                               + "  attempt \(record.attempt)" + (record.lostAttempts > 0 ? " (\(record.lostAttempts) lost)" : "")
                               + "  \(record.paramsJSON)"
                               + (metrics.isEmpty ? "" : "  " + Experiment.describe(metrics))
                               + (record.error.map { "  error: \($0)" } ?? ""))
            }
        }
        if records.isEmpty && !arguments.flag("json") { Console.progress("no runs match") }
    }
}

enum ShowCommand: Command {
    static let words = ["show"]
    static let summary = "show one run: parameters, metrics, attempts, artifacts, provenance"
    static let usage = "loom show RUN [--json]"
    static let acceptsPositionals = true
    static let options: [Option] = [.flag("json", "one JSON object"), StoreOptions.state]
    static let discussion = "RUN is the id 'loom runs' prints. Every attempt is listed with how it ended (LOST: its worker died)."

    static func run(_ arguments: Arguments) throws(CommandError) {
        guard arguments.positionals.count == 1, let id = Int64(arguments.positionals[0]) else {
            throw .usage("'loom show' takes one run id, e.g. 'loom show 12' (see 'loom runs')")
        }
        let store = try StoreOptions.open(arguments)
        let record: ResultsStore.RunRecord
        let metrics: [String: ParameterValue]
        let provenance: [(String, String)]
        let attempts: [ResultsStore.AttemptRecord]
        let artifacts: [(path: String, sha256: String, bytes: Int)]
        do {
            guard let found = try store.runs().first(where: { $0.id == id }) else { throw CommandError.usage("no run \(id) in \(store.path)") }
            record = found
            metrics = try store.finalMetrics(run: id)
            provenance = try store.provenance(invocation: found.invocation)
            attempts = try store.attempts(run: id)
            artifacts = try store.artifacts(run: id)
        } catch let error as CommandError { throw error } catch { throw .failure("\(error)") }
        if arguments.flag("json") {
            let fields = provenance.map { "\(ParameterValue.string($0.0).json):\(ParameterValue.string($0.1).json)" }
            var line = ExportCommand.jsonLine(record, metrics: metrics)
            line.removeLast()
            let tries = attempts.map { attempt in
                "{\"attempt\":\(attempt.attempt),\"workers\":\(ParameterValue.string(attempt.workers).json),"
                    + "\"status\":\"\(attempt.status)\",\"error\":\(attempt.error.map { ParameterValue.string($0).json } ?? "null")}"
            }
            let files = artifacts.map { "{\"path\":\(ParameterValue.string($0.path).json),\"sha256\":\"\($0.sha256)\",\"bytes\":\($0.bytes)}" }
            Console.output(line + ",\"attempts\":[\(tries.joined(separator: ","))],\"artifacts\":[\(files.joined(separator: ","))],\"provenance\":{\(fields.joined(separator: ","))}}")
            return
        }
        Console.output("run \(record.id): \(record.experiment) #\(record.index + 1), \(record.task), \(record.status.rawValue), attempt \(record.attempt)"
                       + (record.worker.map { " on \($0)" } ?? ""))
        Console.output("params".padding(13) + record.paramsJSON)
        Console.output("metrics".padding(13) + (metrics.isEmpty ? "—" : Experiment.describe(metrics)))
        if let error = record.error { Console.output("error".padding(13) + error) }
        for attempt in attempts {
            Console.output("attempt \(attempt.attempt)".padding(13) + "\(attempt.status) on \(attempt.workers)"
                           + (attempt.error.map { ": \($0)" } ?? ""))
        }
        for artifact in artifacts {
            Console.output("artifact".padding(13) + "\(artifact.path) (\(artifact.bytes) bytes, sha256 \(artifact.sha256))")
        }
        Console.output("cache key".padding(13) + record.cacheKey)
        for (name, value) in provenance { Console.output(name.padding(13) + value) }
    }
}

enum ExportCommand: Command {
    static let words = ["export"]
    static let summary = "export runs with their parameters and final metrics as CSV or JSON lines"
    static let usage = "loom export [--experiment NAME] --format csv|jsonl"
    static let options: [Option] = [
        .value("experiment", "NAME", "only this experiment"), .value("format", "F", "csv or jsonl (required)"), StoreOptions.state,
    ]
    static let discussion = "One row per run: id, experiment, index, repetition, status, attempt, lost_attempts, every parameter and every final metric (pandas.read_csv reads it)."

    static func jsonLine(_ record: ResultsStore.RunRecord, metrics: [String: ParameterValue]) -> String {
        let metricFields = metrics.keys.sorted().map { "\(ParameterValue.string($0).json):\(metrics[$0]!.json)" }
        return "{\"id\":\(record.id),\"experiment\":\(ParameterValue.string(record.experiment).json),\"index\":\(record.index),"
            + "\"repetition\":\(record.repetition),\"task\":\(ParameterValue.string(record.task).json),"
            + "\"status\":\"\(record.status.rawValue)\",\"attempt\":\(record.attempt),\"lost_attempts\":\(record.lostAttempts),"
            + "\"params\":\(record.paramsJSON),"
            + "\"metrics\":{\(metricFields.joined(separator: ","))}}"
    }

    static func run(_ arguments: Arguments) throws(CommandError) {
        let format = try arguments.required("format", "csv or jsonl")
        guard format == "csv" || format == "jsonl" else { throw .usage("--format must be csv or jsonl; got '\(format)'") }
        let store = try StoreOptions.open(arguments)
        var rows: [(ResultsStore.RunRecord, [String: Any], [String: ParameterValue])] = []
        do {
            for record in try store.runs(experiment: arguments.string("experiment")) {
                let params = (try? JSONSerialization.jsonObject(with: Data(record.paramsJSON.utf8))) as? [String: Any] ?? [:]
                rows.append((record, params, try store.finalMetrics(run: record.id)))
            }
        } catch { throw .failure("\(error)") }
        if format == "jsonl" {
            for (record, _, metrics) in rows { Console.output(jsonLine(record, metrics: metrics)) }
            return
        }
        let paramNames = Array(Set(rows.flatMap { $0.1.keys })).sorted()
        let metricNames = Array(Set(rows.flatMap { $0.2.keys })).sorted()
        func cell(_ text: String) -> String {
            text.contains(where: { ",\"\n".contains($0) }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        Console.output((["id", "experiment", "index", "repetition", "status", "attempt", "lost_attempts"] + paramNames + metricNames.map { "metric." + $0 })
            .map(cell).joined(separator: ","))
        for (record, params, metrics) in rows {
            let fixed = [String(record.id), record.experiment, String(record.index), String(record.repetition), record.status.rawValue,
                         String(record.attempt), String(record.lostAttempts)]
            let paramCells = paramNames.map { params[$0].map { "\($0)" } ?? "" }
            let metricCells = metricNames.map { metrics[$0]?.description ?? "" }
            Console.output((fixed + paramCells + metricCells).map(cell).joined(separator: ","))
        }
    }
}
