import Foundation
import Tasks

/// The results store: experiments, invocations, runs with their parameters, metrics and
/// artifacts, workers and events, in one SQLite file (docs/store.md). Written only by the
/// coordinator.
public final class ResultsStore {
    /// A run's state.
    public enum Status: String, Sendable, CaseIterable {
        case pending = "PENDING", queued = "QUEUED", running = "RUNNING", succeeded = "SUCCEEDED"
        case failed = "FAILED", lost = "LOST", cancelled = "CANCELLED", cached = "CACHED"
    }

    let database: SQLiteDatabase
    /// The database file.
    public var path: String { database.path }

    /// Versioned migrations: `PRAGMA user_version` counts those applied; each runs in a transaction.
    static let migrations: [String] = [
        """
        CREATE TABLE experiment (
            id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT NOT NULL DEFAULT '',
            file TEXT NOT NULL, created_at REAL NOT NULL);
        CREATE TABLE invocation (
            id INTEGER PRIMARY KEY, experiment_id INTEGER NOT NULL REFERENCES experiment(id),
            command TEXT NOT NULL, started_at REAL NOT NULL, finished_at REAL,
            git_commit TEXT, git_dirty INTEGER, loom_version TEXT NOT NULL, loom_build TEXT NOT NULL,
            host TEXT NOT NULL, libraries TEXT NOT NULL);
        CREATE TABLE run (
            id INTEGER PRIMARY KEY, experiment_id INTEGER NOT NULL REFERENCES experiment(id),
            invocation_id INTEGER NOT NULL REFERENCES invocation(id),
            run_index INTEGER NOT NULL, repetition INTEGER NOT NULL, task TEXT NOT NULL, cache_key TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('PENDING','QUEUED','RUNNING','SUCCEEDED','FAILED','LOST','CANCELLED','CACHED')),
            attempt INTEGER NOT NULL DEFAULT 0, lease_worker TEXT, heartbeat_at REAL,
            created_at REAL NOT NULL, started_at REAL, finished_at REAL, error TEXT, params TEXT NOT NULL);
        CREATE INDEX run_by_cache_key ON run(cache_key);
        CREATE INDEX run_by_experiment ON run(experiment_id, status);
        CREATE TABLE param (
            run_id INTEGER NOT NULL REFERENCES run(id), name TEXT NOT NULL, value TEXT NOT NULL, type TEXT NOT NULL,
            PRIMARY KEY (run_id, name));
        CREATE TABLE metric (
            run_id INTEGER NOT NULL REFERENCES run(id), name TEXT NOT NULL, step INTEGER, time REAL NOT NULL,
            value REAL, text TEXT);
        CREATE INDEX metric_by_run ON metric(run_id, name, step);
        CREATE TABLE artifact (
            run_id INTEGER NOT NULL REFERENCES run(id), path TEXT NOT NULL, sha256 TEXT NOT NULL, bytes INTEGER NOT NULL);
        CREATE TABLE worker (
            id INTEGER PRIMARY KEY, invocation_id INTEGER REFERENCES invocation(id), name TEXT NOT NULL, host TEXT NOT NULL,
            pid INTEGER, slots INTEGER, version TEXT, registered_at REAL NOT NULL, last_seen_at REAL);
        CREATE TABLE event (
            id INTEGER PRIMARY KEY, time REAL NOT NULL, invocation_id INTEGER REFERENCES invocation(id),
            run_id INTEGER REFERENCES run(id), kind TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '');
        """,
        // 2: every attempt of a run, so lost attempts stay visible after the retry succeeds.
        """
        CREATE TABLE attempt (
            run_id INTEGER NOT NULL REFERENCES run(id), attempt INTEGER NOT NULL, workers TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('RUNNING','SUCCEEDED','FAILED','LOST','CANCELLED')),
            started_at REAL NOT NULL, finished_at REAL, error TEXT,
            PRIMARY KEY (run_id, attempt));
        ALTER TABLE run ADD COLUMN lost_attempts INTEGER NOT NULL DEFAULT 0;
        """,
        // 3: the code that computed each run (for a code-aware cache), the run a CACHED row
        // reuses, and each invocation's process and heartbeat (so a live one is never taken for dead).
        """
        ALTER TABLE invocation ADD COLUMN code_hash TEXT;
        ALTER TABLE invocation ADD COLUMN code_commit TEXT;
        ALTER TABLE invocation ADD COLUMN pid INTEGER;
        ALTER TABLE invocation ADD COLUMN heartbeat_at REAL;
        ALTER TABLE run ADD COLUMN cached_from INTEGER REFERENCES run(id);
        CREATE INDEX invocation_by_experiment ON invocation(experiment_id, finished_at);
        """,
        // 4: which shard an attempt ran, for runs split into shards (NULL: the whole run).
        """
        ALTER TABLE attempt ADD COLUMN shard INTEGER;
        """,
        // 5: where a batch scheduler placed each worker (Slurm's job, task and node), as JSON.
        """
        ALTER TABLE worker ADD COLUMN scheduler TEXT;
        """,
        // 6: what each worker computes on (CPU, register tile, build's vector target), as JSON.
        """
        ALTER TABLE worker ADD COLUMN machine TEXT;
        """,
    ]

    /// Opens or creates the store at `path` (its directory is created) and applies migrations.
    /// - Throws: `StoreError` naming the file, or when it was written by a newer Loom.
    public init(path: String) throws(StoreError) {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw StoreError(path: path, step: "create \(directory.path)", code: 0, message: error.localizedDescription)
        }
        guard access(directory.path, W_OK | X_OK) == 0 else {
            throw StoreError(path: path, step: "open for writing", code: 0,
                             message: "the directory \(directory.path) cannot be written by this user (\(String(cString: strerror(errno)))); "
                                + "give --state DIR somewhere writable (reading commands such as 'loom runs' need read access only)")
        }
        database = try SQLiteDatabase(path: path)
        try migrate()
    }

    /// Opens an existing store for reading only: nothing in the file or its directory is
    /// changed, so a user who may only read the store (a shared results directory) can list,
    /// export and report. A store of an older schema is upgraded first when it can be written.
    /// - Throws: `StoreError` naming the file, when it is missing, older and read-only, or newer.
    public init(readingAt path: String) throws(StoreError) {
        let database = try SQLiteDatabase(path: path, readOnly: true)
        let version = ResultsStore.schemaVersion(of: database)
        if version < ResultsStore.migrations.count {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            guard access(path, W_OK) == 0, access(directory, W_OK) == 0 else {
                throw StoreError(path: path, step: "open for reading", code: 0,
                                 message: "the store has schema version \(version), older than this Loom's \(ResultsStore.migrations.count), "
                                    + "and this user cannot write it to upgrade it; ask its owner to run any 'loom runs --state' on it once")
            }
            _ = try ResultsStore(path: path)      // migrates, then closes as it goes out of scope
        }
        self.database = try SQLiteDatabase(path: path, readOnly: true)
        let current = ResultsStore.schemaVersion(of: self.database)
        guard current <= ResultsStore.migrations.count else {
            throw StoreError(path: path, step: "open", code: 0,
                             message: "schema version \(current) is newer than this Loom knows (\(ResultsStore.migrations.count)); use a newer loom")
        }
    }

    /// Whether this connection may only read.
    public var isReadOnly: Bool { database.isReadOnly }


    /// The schema version: the number of migrations applied.
    public var schemaVersion: Int { ResultsStore.schemaVersion(of: database) }

    private static func schemaVersion(of database: SQLiteDatabase) -> Int {
        guard let rows = try? database.query("PRAGMA user_version"), case let .integer(version)? = rows.first?.first else { return 0 }
        return Int(version)
    }

    /// Applies the missing migrations. The version is read inside the write transaction, so two
    /// processes opening a new store at once never both apply the same migration.
    private func migrate() throws(StoreError) {
        if schemaVersion == ResultsStore.migrations.count { return }
        try database.transaction { () throws(StoreError) in
            let current = schemaVersion
            guard current <= ResultsStore.migrations.count else {
                throw StoreError(path: path, step: "open", code: 0,
                                 message: "schema version \(current) is newer than this Loom knows (\(ResultsStore.migrations.count)); use a newer loom")
            }
            for (index, sql) in ResultsStore.migrations.enumerated().dropFirst(current) {
                try database.execute(sql)
                try database.execute("PRAGMA user_version = \(index + 1)")
            }
        }
    }

    /// `PRAGMA integrity_check`: "ok" for a sound file.
    public func integrityCheck() throws(StoreError) -> String {
        guard case let .text(result)? = try database.query("PRAGMA integrity_check").first?.first else { return "no answer" }
        return result
    }

    public static var now: Double { Date().timeIntervalSince1970 }

    /// How long an invocation on another host counts as alive after its last heartbeat (a running
    /// `loom run` writes one every 2 s); on this host the lock answers exactly.
    public static let heartbeatTimeout = 15.0

    /// The id of the experiment called `name`, created if new.
    public func experiment(named name: String, description: String, file: String) throws(StoreError) -> Int64 {
        // One transaction, so two invocations creating the same experiment at once get one row.
        try database.transaction { () throws(StoreError) -> Int64 in
            if case let .integer(id)? = try database.query("SELECT id FROM experiment WHERE name = ?", [.text(name)]).first?.first {
                try database.query("UPDATE experiment SET description = ?, file = ? WHERE id = ?", [.text(description), .text(file), .integer(id)])
                return id
            }
            try database.query("INSERT INTO experiment (name, description, file, created_at) VALUES (?, ?, ?, ?)",
                               [.text(name), .text(description), .text(file), .real(ResultsStore.now)])
            return database.lastInsertID
        }
    }

    /// What produced a set of runs: the command, the code and the machine.
    public struct Provenance: Sendable {
        public var command: String, gitCommit: String?, gitDirty: Bool?, loomVersion: String, loomBuild: String
        public var host: String, libraries: [String: String]
        /// The code that computes the runs (the cache reuses results of the same code only).
        public var code: CodeIdentity
        public init(command: String, gitCommit: String?, gitDirty: Bool?, loomVersion: String, loomBuild: String,
                    host: String, libraries: [String: String], code: CodeIdentity = .unknown) {
            self.command = command; self.gitCommit = gitCommit; self.gitDirty = gitDirty; self.loomVersion = loomVersion
            self.loomBuild = loomBuild; self.host = host; self.libraries = libraries; self.code = code
        }
    }

    /// Records one `loom run` invocation.
    public func startInvocation(experiment: Int64, provenance: Provenance) throws(StoreError) -> Int64 {
        let libraries = provenance.libraries.keys.sorted().map { "\(ParameterValue.string($0).json):\(ParameterValue.string(provenance.libraries[$0]!).json)" }
        try database.query("""
            INSERT INTO invocation (experiment_id, command, started_at, git_commit, git_dirty, loom_version, loom_build, host, libraries,
                                    code_hash, code_commit, pid, heartbeat_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.integer(experiment), .text(provenance.command), .real(ResultsStore.now),
                  provenance.gitCommit.map { .text($0) } ?? .null, provenance.gitDirty.map { .integer($0 ? 1 : 0) } ?? .null,
                  .text(provenance.loomVersion), .text(provenance.loomBuild), .text(provenance.host),
                  .text("{" + libraries.joined(separator: ",") + "}"), .text(provenance.code.hash), .text(provenance.code.commit),
                  .integer(Int64(getpid())), .real(ResultsStore.now)])
        return database.lastInsertID
    }

    /// Adds runs as PENDING with their parameters, in one transaction.
    /// - Returns: their ids, in order.
    public func addRuns(_ runs: [ExperimentRun], task: String, cacheKeys: [String], experiment: Int64,
                        invocation: Int64) throws(StoreError) -> [Int64] {
        precondition(runs.count == cacheKeys.count, "one cache key per run")
        return try database.transaction { () throws(StoreError) -> [Int64] in
            var ids: [Int64] = []
            for (run, key) in zip(runs, cacheKeys) {
                let params = run.params.keys.sorted().map { "\(ParameterValue.string($0).json):\(run.params[$0]!.json)" }
                try database.query("""
                    INSERT INTO run (experiment_id, invocation_id, run_index, repetition, task, cache_key, status, created_at, params)
                    VALUES (?, ?, ?, ?, ?, ?, 'PENDING', ?, ?)
                    """, [.integer(experiment), .integer(invocation), .integer(Int64(run.index)), .integer(Int64(run.repetition)),
                          .text(task), .text(key), .real(ResultsStore.now), .text("{" + params.joined(separator: ",") + "}")])
                let id = database.lastInsertID
                for (name, value) in run.params {
                    let type: String
                    switch value { case .int: type = "int"; case .double: type = "double"; case .string: type = "string"; case .bool: type = "bool" }
                    try database.query("INSERT INTO param (run_id, name, value, type) VALUES (?, ?, ?, ?)",
                                       [.integer(id), .text(name), .text(value.description), .text(type)])
                }
                ids.append(id)
            }
            return ids
        }
    }

    /// Moves a run to `status` (the state change is stored before the scheduler acts on it).
    public func setStatus(_ run: Int64, _ status: Status, attempt: Int? = nil, worker: String? = nil,
                          error: String? = nil, cachedFrom: Int64? = nil) throws(StoreError) {
        let timeColumn = status == .running ? ", started_at = ?" : [.succeeded, .failed, .cancelled, .cached].contains(status) ? ", finished_at = ?" : ""
        var bindings: [SQLiteDatabase.Value] = [.text(status.rawValue)]
        var sql = "UPDATE run SET status = ?"
        if let attempt { sql += ", attempt = ?"; bindings.append(.integer(Int64(attempt))) }
        if let worker { sql += ", lease_worker = ?"; bindings.append(.text(worker)) }
        if let error { sql += ", error = ?"; bindings.append(.text(error)) }
        if let cachedFrom { sql += ", cached_from = ?"; bindings.append(.integer(cachedFrom)) }
        if !timeColumn.isEmpty { sql += timeColumn; bindings.append(.real(ResultsStore.now)) }
        sql += " WHERE id = ?"
        bindings.append(.integer(run))
        try database.query(sql, bindings)
        try database.query("INSERT INTO event (time, run_id, kind, detail) VALUES (?, ?, 'status', ?)",
                           [.real(ResultsStore.now), .integer(run), .text(status.rawValue)])
    }

    /// Records metrics of a run (numbers as values, everything else as text).
    public func addMetrics(_ run: Int64, _ metrics: [String: ParameterValue], step: Int? = nil) throws(StoreError) {
        try database.transaction { () throws(StoreError) in
            for (name, value) in metrics {
                try database.query("INSERT INTO metric (run_id, name, step, time, value, text) VALUES (?, ?, ?, ?, ?, ?)",
                                   [.integer(run), .text(name), step.map { .integer(Int64($0)) } ?? .null, .real(ResultsStore.now),
                                    value.number.map { .real($0) } ?? .null, value.number == nil ? .text(value.description) : .null])
            }
        }
    }

    /// Records stepped metrics (training curves) of a run, in one transaction.
    public func addSeries(_ run: Int64, _ series: [StepMetric]) throws(StoreError) {
        guard !series.isEmpty else { return }
        try database.transaction { () throws(StoreError) in
            for point in series {
                try database.query("INSERT INTO metric (run_id, name, step, time, value) VALUES (?, ?, ?, ?, ?)",
                                   [.integer(run), .text(point.name), .integer(Int64(point.step)), .real(ResultsStore.now),
                                    .real(point.value)])
            }
        }
    }

    /// Deletes a run's stepped metrics (the points a running attempt streamed, before a new
    /// attempt or the final result replaces them).
    public func removeSeries(_ run: Int64) throws(StoreError) {
        try database.query("DELETE FROM metric WHERE run_id = ? AND step IS NOT NULL", [.integer(run)])
    }

    /// A run's stepped metrics called `name`, by step.
    public func series(run: Int64, name: String) throws(StoreError) -> [(step: Int, value: Double)] {
        try database.query("SELECT step, value FROM metric WHERE run_id = ? AND name = ? AND step IS NOT NULL ORDER BY step, rowid",
                           [.integer(run), .text(name)]).compactMap { row in
            guard case let .integer(step) = row[0], case let .real(value) = row[1] else { return nil }
            return (Int(step), value)
        }
    }

    /// The number of runs of `experiment` in each status.
    public func statusCounts(experiment: Int64) throws(StoreError) -> [Status: Int] {
        var counts: [Status: Int] = [:]
        for row in try database.query("SELECT status, COUNT(*) FROM run WHERE experiment_id = ? GROUP BY status", [.integer(experiment)]) {
            if case let .text(name) = row[0], let status = Status(rawValue: name), case let .integer(count) = row[1] {
                counts[status] = Int(count)
            }
        }
        return counts
    }

    /// Marks the unfinished runs of `experiment` LOST: called when a new invocation starts, since
    /// one coordinator writes at a time, so they belong to an invocation that died (a crash or
    /// `kill -9` of the coordinator). - Returns: the cache keys of the runs marked, one per run.
    @discardableResult
    public func markInterruptedRunsLost(experiment: Int64) throws(StoreError) -> [String] {
        try database.transaction { () throws(StoreError) -> [String] in
            let rows = try database.query("SELECT id, cache_key FROM run WHERE experiment_id = ? AND status IN ('PENDING', 'QUEUED', 'RUNNING')",
                                          [.integer(experiment)])
            for row in rows {
                try database.query("UPDATE run SET status = 'LOST', error = 'its invocation ended before it finished' WHERE id = ?", [row[0]])
                try database.query("""
                    UPDATE attempt SET status = 'LOST', finished_at = ?, error = 'its invocation ended' WHERE run_id = ? AND status = 'RUNNING'
                    """, [.real(ResultsStore.now), row[0]])
                try database.query("INSERT INTO event (time, run_id, kind, detail) VALUES (?, ?, 'status', 'LOST')",
                                   [.real(ResultsStore.now), row[0]])
            }
            return rows.map { if case let .text(key) = $0[1] { key } else { "" } }
        }
    }

    /// Marks an invocation finished.
    public func finishInvocation(_ invocation: Int64) throws(StoreError) {
        try database.query("UPDATE invocation SET finished_at = ? WHERE id = ?", [.real(ResultsStore.now), .integer(invocation)])
    }

    /// Records an event (a lost worker, a requeue) for an invocation.
    public func addEvent(invocation: Int64, kind: String, detail: String) throws(StoreError) {
        try database.query("INSERT INTO event (time, invocation_id, kind, detail) VALUES (?, ?, ?, ?)",
                           [.real(ResultsStore.now), .integer(invocation), .text(kind), .text(detail)])
    }

    /// A finished run with a given cache key, and the code that computed it.
    public struct PreviousRun: Sendable {
        public var id: Int64
        public var status: Status
        public var finishedAt: Double?
        public var error: String?
        /// Whether the task ran (attempt > 0), as opposed to a row that only recorded "not repeated".
        public var ran: Bool
        /// The code of the invocation that ran it (`unknown` for rows from before code identities).
        public var code: CodeIdentity
    }

    /// The finished runs with `cacheKey` (SUCCEEDED, FAILED, LOST, CANCELLED), newest first:
    /// what `RunPlan` chooses from.
    public func previousRuns(cacheKey: String) throws(StoreError) -> [PreviousRun] {
        let rows = try database.query("""
            SELECT run.id, run.status, run.finished_at, run.error, run.attempt, invocation.code_hash, invocation.code_commit
            FROM run JOIN invocation ON invocation.id = run.invocation_id
            WHERE run.cache_key = ? AND run.status IN ('SUCCEEDED', 'FAILED', 'LOST', 'CANCELLED')
            ORDER BY run.id DESC LIMIT 1000
            """, [.text(cacheKey)])
        return rows.compactMap { row in
            guard case let .integer(id) = row[0], case let .text(status) = row[1] else { return nil }
            func text(_ i: Int) -> String? { if case let .text(v) = row[i] { v } else { nil } }
            let finished: Double? = if case let .real(time) = row[2] { time } else { nil }
            let ran = if case let .integer(attempt) = row[4] { attempt > 0 } else { false }
            return PreviousRun(id: id, status: Status(rawValue: status) ?? .lost, finishedAt: finished, error: text(3), ran: ran,
                               code: CodeIdentity(hash: text(5) ?? "unknown", commit: text(6) ?? "unknown"))
        }
    }

    /// The latest succeeded run with `cacheKey`, if any: the cache.
    public func succeededRun(cacheKey: String) throws(StoreError) -> Int64? {
        let rows = try database.query("SELECT id FROM run WHERE cache_key = ? AND status = 'SUCCEEDED' ORDER BY id DESC LIMIT 1",
                                      [.text(cacheKey)])
        if case let .integer(id)? = rows.first?.first { return id }
        return nil
    }
}
