import Experiments
import Foundation
import Tasks

/// What a report shows: an experiment's latest invocation, its runs with decoded parameters and
/// final metrics, and its provenance, read from the results store.
public struct ReportData: Sendable {
    /// One run of the invocation.
    public struct Run: Sendable {
        public var id: Int64
        public var index: Int
        public var repetition: Int
        public var status: ResultsStore.Status
        /// Resolved parameters; integers stay integers so labels read `threads=1`, not `1.0`.
        public var params: [String: ParameterValue]
        /// Final metrics (a CACHED run's come from the run it was cached from).
        public var metrics: [String: ParameterValue]
        /// For a CACHED run, the run its metrics come from.
        public var metricsSource: Int64?
        /// Stepped metrics (training curves) by name.
        public var curves: [String: [StepPoint]] = [:]
        /// Stored artifact files; SVG ones are shown in the report's graphs section.
        public var artifacts: [String] = []

        /// The value called `name`: a parameter, else a metric.
        public func value(_ name: String) -> ParameterValue? { params[name] ?? metrics[name] }
    }

    public var experiment: String
    public var description: String
    /// The experiment file recorded by the last `loom run`.
    public var file: String
    /// The invocation shown, nil when the experiment has never run.
    public var invocation: Int64?
    public var runs: [Run]
    /// The invocation's provenance as (field, value) pairs, as `ResultsStore.provenance(invocation:)` gives them.
    public var provenance: [(String, String)]
    /// Parameter and metric names of the experiment's runs in other invocations, which figures
    /// may name too (`learnEarlierNames(from:)` fills it; empty until then).
    public var earlierNames: (parameters: Set<String>, metrics: Set<String>) = ([], [])
    /// Whether the invocation shown is still running: its `loom run` has not finished it and
    /// wrote a heartbeat within `ResultsStore.heartbeatTimeout` (`load` sets it). A report
    /// rendered then reloads itself while some run is unfinished (`progress`).
    public var invocationIsLive = false

    /// Reads the latest invocation of `experiment` from `store`.
    /// - Returns: nil when the store has no experiment of that name.
    /// - Throws: `StoreError` when the store cannot be read.
    public static func load(experiment: String, from store: ResultsStore) throws(StoreError) -> ReportData? {
        guard let record = try store.experiment(named: experiment) else { return nil }
        var data = ReportData(experiment: record.name, description: record.description, file: record.file, invocation: nil,
                              runs: [], provenance: [])
        guard let invocation = try store.latestInvocation(experiment: record.id) else { return data }
        data.invocation = invocation
        if let open = try store.openInvocations(experiment: record.id).first(where: { $0.id == invocation }) {
            // A killed `loom run` leaves its invocation open; only a recent heartbeat (or start) says it lives.
            let lastSign = open.heartbeatAt ?? open.startedAt
            data.invocationIsLive = lastSign > Date().timeIntervalSince1970 - ResultsStore.heartbeatTimeout
        }
        data.provenance = try store.provenance(invocation: invocation)
        data.runs = try store.reportRuns(invocation: invocation).map { run in
            Run(id: run.id, index: run.index, repetition: run.repetition, status: run.status, params: decodeParams(run.paramsJSON),
                metrics: run.metrics, metricsSource: run.metricsSource, curves: run.curves, artifacts: run.artifacts)
        }
        return data
    }

    /// The stored parameter JSON as typed values. JSONSerialization gives NSNumbers: their
    /// Objective-C type code tells a bool (`c`) and a double (`d`, `f`) from an integer.
    static func decodeParams(_ json: String) -> [String: ParameterValue] {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else { return [:] }
        var params: [String: ParameterValue] = [:]
        for (name, value) in object {
            if let text = value as? String {
                params[name] = .string(text)
            } else if let number = value as? NSNumber {
                switch String(cString: number.objCType) {
                case "c", "B": params[name] = .bool(number.boolValue)
                case "d", "f": params[name] = .double(number.doubleValue)
                default: params[name] = .int(number.intValue)
                }
            } else {
                params[name] = .string("\(value)")
            }
        }
        return params
    }

    /// While the experiment runs (`invocationIsLive` and some run pending, queued or running):
    /// how many of its runs have ended; nil once none is left to wait for.
    public var progress: (done: Int, total: Int)? {
        let unfinished = runs.count { [.pending, .queued, .running].contains($0.status) }
        return invocationIsLive && unfinished > 0 ? (runs.count - unfinished, runs.count) : nil
    }

    /// The number of runs in each status, in the order of `ResultsStore.Status.allCases`.
    public var statusCounts: [(status: ResultsStore.Status, count: Int)] {
        ResultsStore.Status.allCases.compactMap { status in
            let count = runs.count { $0.status == status }
            return count == 0 ? nil : (status, count)
        }
    }
}
