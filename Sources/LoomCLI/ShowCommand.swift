import Experiments
import Foundation
import Tasks

/// `loom show RUN`: one run in full.
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
        let curves: [String: [StepPoint]]
        let machines: [String: [String: String]]
        do {
            guard let found = try store.runs().first(where: { $0.id == id }) else { throw CommandError.usage("no run \(id) in \(store.path)") }
            record = found
            metrics = try store.finalMetrics(run: id)
            provenance = try store.provenance(invocation: found.invocation)
            attempts = try store.attempts(run: id)
            artifacts = try store.artifacts(run: id)
            curves = try store.curves(run: found.status == .cached ? found.cachedFrom ?? id : id)
            machines = try attemptMachines(attempts, store.workerMachines(invocation: found.invocation))
        } catch let error as CommandError { throw error } catch { throw .failure("\(error)") }
        if arguments.flag("json") {
            let fields = provenance.map { "\(ParameterValue.string($0.0).json):\(ParameterValue.string($0.1).json)" }
            var line = ExportCommand.jsonLine(record, metrics: metrics)
            line.removeLast()
            let tries = attempts.map { attempt in
                "{\"attempt\":\(attempt.attempt),\"workers\":\(ParameterValue.string(attempt.workers).json),"
                    + "\"status\":\"\(attempt.status)\",\"shard\":\(attempt.shard.map(String.init) ?? "null"),\"error\":\(attempt.error.map { ParameterValue.string($0).json } ?? "null")}"
            }
            let files = artifacts.map { "{\"path\":\(ParameterValue.string($0.path).json),\"sha256\":\"\($0.sha256)\",\"bytes\":\($0.bytes)}" }
            let summaries = curves.keys.sorted().map { name in
                let s = CurveSummary(curves[name]!)
                return "\(ParameterValue.string(name).json):{\"points\":\(s.points),\"first_step\":\(s.firstStep),\"last_step\":\(s.lastStep),"
                    + "\"first\":\(ParameterValue.double(s.first).json),\"last\":\(ParameterValue.double(s.last).json),"
                    + "\"min\":\(ParameterValue.double(s.minimum).json),\"max\":\(ParameterValue.double(s.maximum).json)}"
            }
            let computers = machines.keys.sorted().map { name in
                ParameterValue.string(name).json + ":{" + machines[name]!.keys.sorted().map {
                    "\(ParameterValue.string($0).json):\(ParameterValue.string(machines[name]![$0]!).json)"
                }.joined(separator: ",") + "}"
            }
            Console.output(line + ",\"curves\":{\(summaries.joined(separator: ","))},\"attempts\":[\(tries.joined(separator: ","))],"
                + "\"machines\":{\(computers.joined(separator: ","))},\"artifacts\":[\(files.joined(separator: ","))],\"provenance\":{\(fields.joined(separator: ","))}}")
            return
        }
        func say(_ line: String) { Console.output(RunTable.terminalSafe(line)) }
        say("run \(record.id): \(record.experiment) #\(record.index + 1), \(record.task), \(record.status.rawValue), attempt \(record.attempt)"
                       + (record.worker.map { " on \($0)" } ?? ""))
        say("params".padding(13) + record.paramsJSON)
        if record.status == .cached, let source = record.cachedFrom {
            // The result it reuses, read here so a user need not look it up (JSON keeps the run's own: none).
            let reused = (try? store.finalMetrics(run: source)) ?? [:]
            say("metrics".padding(13) + (reused.isEmpty ? "—" : Experiment.describe(reused)) + "   (of run \(source), whose result this reuses)")
        } else {
            say("metrics".padding(13) + (metrics.isEmpty ? "—" : Experiment.describe(metrics)))
        }
        if let error = record.error { say("error".padding(13) + error) }
        say("elapsed".padding(13) + elapsed(record))
        if !curves.isEmpty {
            say("curves".padding(13) + "points  steps        first        last         min          max"
                + (record.status == .cached ? "   (of run \(record.cachedFrom.map(String.init) ?? "?"), whose result this reuses)" : ""))
            for name in curves.keys.sorted() {
                let s = CurveSummary(curves[name]!)
                let steps = "\(s.firstStep)–\(s.lastStep)"
                say("  " + RunTable.cut(name, to: 24).padding(24) + String(s.points).leftPadding(6) + "  " + steps.padding(11)
                               + [s.first, s.last, s.minimum, s.maximum].map { RunTable.cell(.double($0)).padding(12) }.joined(separator: " ").trimmingTrailingSpaces())
            }
        }
        for attempt in attempts {
            say("attempt \(attempt.attempt)".padding(13) + (attempt.shard.map { "shard \($0 + 1): " } ?? "") + "\(attempt.status) on \(attempt.workers)"
                           + (attempt.error.map { ": \($0)" } ?? ""))
        }
        for (description, names) in machineLines(machines) {
            say("machine".padding(13) + description + " (\(names.joined(separator: ", ")))")
        }
        for artifact in artifacts {
            say("artifact".padding(13) + "\(artifact.path) (\(artifact.bytes) bytes, sha256 \(artifact.sha256))")
        }
        say("cache key".padding(13) + record.cacheKey)
        for (name, value) in provenance { say(name.padding(13) + value) }
    }


    /// The machines of the workers named in `attempts` (a gang's are joined by commas), from the
    /// invocation's worker records; workers of an older Loom, or of another invocation, left out.
    static func attemptMachines(_ attempts: [ResultsStore.AttemptRecord],
                                _ recorded: [String: [String: String]]) -> [String: [String: String]] {
        var found: [String: [String: String]] = [:]
        for attempt in attempts {
            for name in attempt.workers.split(separator: ",").map(String.init) { found[name] = recorded[name] }
        }
        return found
    }

    /// One line per distinct machine: `AMD EPYC 9R14, tile avx512, AVX2+FMA build, OpenBLAS
    /// Cooperlake` with the workers that had it, in name order.
    static func machineLines(_ machines: [String: [String: String]]) -> [(String, [String])] {
        var lines: [(String, [String])] = []
        for name in machines.keys.sorted() {
            let m = machines[name]!
            let description = [m["cpu"], m["tile"].map { "tile \($0)" }, m["simd"].map { "\($0) build" }, m["blas"].map { "OpenBLAS \($0)" }]
                .compactMap { $0 }.joined(separator: ", ")
            if let index = lines.firstIndex(where: { $0.0 == description }) { lines[index].1.append(name) } else { lines.append((description, [name])) }
        }
        return lines
    }

    /// `12s (started 0.2s after it was queued)`, or how long it has been running so far.
    static func elapsed(_ record: ResultsStore.RunRecord) -> String {
        guard let started = record.startedAt else { return record.status == .cached ? "— (cached)" : "— (never started)" }
        let queued = record.createdAt.map { " (started \(RunTable.duration(max(0, started - $0))) after it was queued)" } ?? ""
        if let finished = record.finishedAt, record.status != .running {
            return RunTable.duration(max(0, finished - started)) + queued
        }
        return RunTable.duration(max(0, Date().timeIntervalSince1970 - started)) + " so far, \(record.status.rawValue)" + queued
    }
}

/// Steps, first, last, min and max of one curve (`loom show`).
struct CurveSummary {
    var points: Int, firstStep: Int, lastStep: Int
    var first: Double, last: Double, minimum: Double, maximum: Double

    /// - Precondition: `curve` is not empty (the store keeps no empty curve).
    init(_ curve: [StepPoint]) {
        precondition(!curve.isEmpty, "a stored curve has at least one point")
        points = curve.count
        firstStep = curve.first!.step; lastStep = curve.last!.step
        first = curve.first!.value; last = curve.last!.value
        minimum = curve.map(\.value).min()!; maximum = curve.map(\.value).max()!
    }
}
