import Foundation
import Tasks

extension ResultsStore {
    /// One stored run, as `loom runs`, `show` and `export` read it.
    public struct RunRecord: Sendable {
        public var id: Int64
        public var experiment: String
        public var index: Int
        public var repetition: Int
        public var task: String
        public var status: Status
        public var attempt: Int
        /// Attempts lost to dead or draining workers before the one that counted.
        public var lostAttempts: Int
        public var worker: String?
        public var error: String?
        /// The resolved parameters as stored (a JSON object).
        public var paramsJSON: String
        public var cacheKey: String
        public var invocation: Int64
        /// Seconds since 1970: when the run was added, started its last attempt, and ended.
        public var createdAt: Double? = nil, startedAt: Double? = nil, finishedAt: Double? = nil
        /// For a CACHED run, the run whose result it reuses.
        public var cachedFrom: Int64? = nil
        /// The commit of the experiment file's repository and whether it had uncommitted edits,
        /// and the commit Loom was built from, as the invocation recorded them.
        public var gitCommit: String? = nil, gitDirty: Bool? = nil, codeCommit: String? = nil

        /// Seconds from the start of the last attempt to the end (nil until both are known).
        public var duration: Double? {
            guard let startedAt, let finishedAt else { return nil }
            return max(0, finishedAt - startedAt)
        }
    }

    /// Stored runs, oldest first, filtered by experiment name and status.
    public func runs(experiment: String? = nil, status: Status? = nil) throws(StoreError) -> [RunRecord] {
        var sql = """
            SELECT run.id, experiment.name, run.run_index, run.repetition, run.task, run.status, run.attempt,
                   run.lease_worker, run.error, run.params, run.cache_key, run.invocation_id, run.lost_attempts,
                   run.created_at, run.started_at, run.finished_at, run.cached_from,
                   invocation.git_commit, invocation.git_dirty, invocation.code_commit
            FROM run JOIN experiment ON experiment.id = run.experiment_id
            LEFT JOIN invocation ON invocation.id = run.invocation_id
            """
        var conditions: [String] = [], bindings: [SQLiteDatabase.Value] = []
        if let experiment { conditions.append("experiment.name = ?"); bindings.append(.text(experiment)) }
        if let status { conditions.append("run.status = ?"); bindings.append(.text(status.rawValue)) }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY run.id"
        return try database.query(sql, bindings).map { row in
            func int(_ i: Int) -> Int64 { if case let .integer(v) = row[i] { v } else { 0 } }
            func text(_ i: Int) -> String? { if case let .text(v) = row[i] { v } else { nil } }
            func real(_ i: Int) -> Double? {
                switch row[i] { case let .real(v): v; case let .integer(v): Double(v); default: nil }
            }
            func optionalInt(_ i: Int) -> Int64? { if case let .integer(v) = row[i] { v } else { nil } }
            return RunRecord(id: int(0), experiment: text(1) ?? "", index: Int(int(2)), repetition: Int(int(3)), task: text(4) ?? "",
                             status: Status(rawValue: text(5) ?? "") ?? .pending, attempt: Int(int(6)), lostAttempts: Int(int(12)), worker: text(7),
                             error: text(8), paramsJSON: text(9) ?? "{}", cacheKey: text(10) ?? "", invocation: int(11),
                             createdAt: real(13), startedAt: real(14), finishedAt: real(15), cachedFrom: optionalInt(16),
                             gitCommit: text(17), gitDirty: optionalInt(18).map { $0 != 0 }, codeCommit: text(19))
        }
    }

    /// The last value of each metric of a run (numbers as numbers, text as text).
    public func finalMetrics(run: Int64) throws(StoreError) -> [String: ParameterValue] {
        var metrics: [String: ParameterValue] = [:]
        let rows = try database.query("SELECT name, value, text FROM metric WHERE run_id = ? ORDER BY rowid", [.integer(run)])
        for row in rows {
            guard case let .text(name) = row[0] else { continue }
            if case let .real(value) = row[1] { metrics[name] = .double(value) }
            else if case let .integer(value) = row[1] { metrics[name] = .double(Double(value)) }
            else if case let .text(text) = row[2] { metrics[name] = .string(text) }
        }
        return metrics
    }

    /// An invocation's provenance as (field, value) pairs.
    public func provenance(invocation: Int64) throws(StoreError) -> [(String, String)] {
        let columns = ["command", "started_at", "finished_at", "git_commit", "git_dirty", "loom_version", "loom_build", "code_commit",
                       "code_hash", "host", "pid", "libraries"]
        guard let row = try database.query("SELECT \(columns.joined(separator: ", ")) FROM invocation WHERE id = ?",
                                           [.integer(invocation)]).first else { return [] }
        return zip(columns, row).map { name, value in
            switch value {
            case let .text(text): (name, text)
            case let .integer(number): (name, name == "git_dirty" ? (number == 1 ? "yes" : "no") : String(number))
            case let .real(number): (name, name.hasSuffix("_at") ? Date(timeIntervalSince1970: number).formatted(.iso8601) : String(number))
            case .null: (name, "—")
            }
        }
    }
}
