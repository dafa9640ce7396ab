import Foundation
import Tasks

extension ResultsStore {
    /// An experiment as the store records it.
    public struct ExperimentRecord: Sendable {
        public var id: Int64
        public var name: String
        public var description: String
        /// The experiment file as given to the last `loom run` of it.
        public var file: String
    }

    /// One run of an invocation with its final metrics, for reports.
    public struct ReportRun: Sendable {
        public var id: Int64
        /// 0-based position in the expansion.
        public var index: Int
        /// 0-based repeat of the same parameters.
        public var repetition: Int
        public var status: Status
        /// The resolved parameters as stored (a JSON object).
        public var paramsJSON: String
        /// The last value of each metric; for a CACHED run, those of the run it was cached from.
        public var metrics: [String: ParameterValue]
        /// For a CACHED run, the SUCCEEDED run whose metrics it shows (nil if none is left).
        public var metricsSource: Int64?
        /// Stepped metrics (training curves) by name, ascending steps (a CACHED run's are its source's).
        public var curves: [String: [StepPoint]] = [:]
        /// Stored artifact files (a CACHED run's are its source's).
        public var artifacts: [String] = []
    }

    /// The names of all experiments, sorted.
    public func experimentNames() throws(StoreError) -> [String] {
        try database.query("SELECT name FROM experiment ORDER BY name").compactMap { row in
            if case let .text(name) = row[0] { name } else { nil }
        }
    }

    /// The experiment called `name`, or nil.
    public func experiment(named name: String) throws(StoreError) -> ExperimentRecord? {
        guard let row = try database.query("SELECT id, name, description, file FROM experiment WHERE name = ?", [.text(name)]).first,
              case let .integer(id) = row[0] else { return nil }
        func text(_ i: Int) -> String { if case let .text(v) = row[i] { v } else { "" } }
        return ExperimentRecord(id: id, name: text(1), description: text(2), file: text(3))
    }

    /// The id of the experiment's latest invocation (the last `loom run`), or nil when it has none.
    public func latestInvocation(experiment: Int64) throws(StoreError) -> Int64? {
        let rows = try database.query("SELECT id FROM invocation WHERE experiment_id = ? ORDER BY id DESC LIMIT 1", [.integer(experiment)])
        if case let .integer(id)? = rows.first?.first { return id }
        return nil
    }

    /// The runs of one invocation, ordered by position in the expansion then repetition, each with
    /// its final metrics. A CACHED run ran nothing itself: it gets the metrics of the latest
    /// SUCCEEDED run with its cache key.
    /// - Complexity: one query per run for its metrics.
    public func reportRuns(invocation: Int64) throws(StoreError) -> [ReportRun] {
        let rows = try database.query("""
            SELECT id, run_index, repetition, status, params, cache_key, cached_from FROM run
            WHERE invocation_id = ? ORDER BY run_index, repetition, id
            """, [.integer(invocation)])
        var runs: [ReportRun] = []
        for row in rows {
            func int(_ i: Int) -> Int64 { if case let .integer(v) = row[i] { v } else { 0 } }
            func text(_ i: Int) -> String { if case let .text(v) = row[i] { v } else { "" } }
            let status = Status(rawValue: text(3)) ?? .pending
            var source: Int64? = int(0)
            if status == .cached {
                // The run the plan chose (older stores: the latest success with the key).
                source = if case let .integer(from) = row[6] { from } else { try succeededRun(cacheKey: text(5)) }
            }
            let metrics = try source.map { id throws(StoreError) in try finalMetrics(run: id) } ?? [:]
            let curves = try source.map { id throws(StoreError) in try self.curves(run: id) } ?? [:]
            let artifacts = try source.map { id throws(StoreError) in try self.artifacts(run: id).map(\.path) } ?? []
            runs.append(ReportRun(id: int(0), index: Int(int(1)), repetition: Int(int(2)), status: status, paramsJSON: text(4),
                                  metrics: metrics, metricsSource: status == .cached ? source : nil, curves: curves,
                                  artifacts: artifacts))
        }
        return runs
    }

    /// Every stepped metric of a run, by name, ascending steps.
    public func curves(run: Int64) throws(StoreError) -> [String: [StepPoint]] {
        var curves: [String: [StepPoint]] = [:]
        for row in try database.query("SELECT name, step, value FROM metric WHERE run_id = ? AND step IS NOT NULL ORDER BY step, rowid",
                                      [.integer(run)]) {
            guard case let .text(name) = row[0], case let .integer(step) = row[1], case let .real(value) = row[2] else { continue }
            curves[name, default: []].append(StepPoint(step: Int(step), value: value))
        }
        return curves
    }
}

/// One point of a training curve.
public struct StepPoint: Sendable, Equatable {
    public var step: Int
    public var value: Double
    public init(step: Int, value: Double) { self.step = step; self.value = value }
}
