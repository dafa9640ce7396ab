import Foundation

extension ResultsStore {
    /// How one attempt of a run ended.
    public enum AttemptOutcome: String, Sendable {
        case succeeded = "SUCCEEDED", failed = "FAILED", lost = "LOST", cancelled = "CANCELLED"
    }

    /// Records that attempt `attempt` of `run` started on `workers` (a gang lists its ranks):
    /// the run is RUNNING, leased to them, with a fresh heartbeat. `shard` names the shard the
    /// attempt runs when the run is split (its attempts are then numbered across all shards).
    /// `time` is when it started (default: now), for an attempt known only from its result.
    public func startAttempt(_ run: Int64, attempt: Int, workers: [String], shard: Int? = nil, at time: Double? = nil) throws(StoreError) {
        let now = time ?? ResultsStore.now, names = workers.joined(separator: ",")
        try database.transaction { () throws(StoreError) in
            try database.query("""
                INSERT OR REPLACE INTO attempt (run_id, attempt, workers, status, started_at, shard) VALUES (?, ?, ?, 'RUNNING', ?, ?)
                """, [.integer(run), .integer(Int64(attempt)), .text(names), .real(now), shard.map { .integer(Int64($0)) } ?? .null])
            try database.query("""
                UPDATE run SET status = 'RUNNING', attempt = ?, lease_worker = ?, heartbeat_at = ?,
                       started_at = COALESCE(started_at, ?) WHERE id = ?
                """, [.integer(Int64(attempt)), .text(names), .real(now), .real(now), .integer(run)])
            try database.query("INSERT INTO event (time, run_id, kind, detail) VALUES (?, ?, 'status', ?)",
                               [.real(now), .integer(run),
                                .text("RUNNING attempt \(attempt)" + (shard.map { " (shard \($0 + 1))" } ?? "") + " on \(names)")])
        }
    }

    /// Ends attempt `attempt` of `run`. A LOST or FAILED attempt that will be retried puts the
    /// run back to QUEUED (`requeued`); a LOST one also counts in the run's `lost_attempts`.
    public func endAttempt(_ run: Int64, attempt: Int, outcome: AttemptOutcome, error: String? = nil,
                           requeued: Bool = false) throws(StoreError) {
        let now = ResultsStore.now
        try database.transaction { () throws(StoreError) in
            try database.query("UPDATE attempt SET status = ?, finished_at = ?, error = ? WHERE run_id = ? AND attempt = ?",
                               [.text(outcome.rawValue), .real(now), error.map { .text($0) } ?? .null,
                                .integer(run), .integer(Int64(attempt))])
            if outcome == .lost {
                try database.query("UPDATE run SET lost_attempts = lost_attempts + 1 WHERE id = ?", [.integer(run)])
            }
            if requeued {
                try database.query("UPDATE run SET status = 'QUEUED', lease_worker = NULL WHERE id = ?", [.integer(run)])
            }
            try database.query("INSERT INTO event (time, run_id, kind, detail) VALUES (?, ?, 'attempt', ?)",
                               [.real(now), .integer(run),
                                .text("attempt \(attempt) \(outcome.rawValue)" + (error.map { ": \($0)" } ?? ""))])
        }
    }

    /// Refreshes the heartbeat of the invocation's RUNNING runs: their workers are alive (the
    /// coordinator would have reported the attempts lost otherwise).
    public func heartbeat(invocation: Int64) throws(StoreError) {
        try database.query("UPDATE run SET heartbeat_at = ? WHERE invocation_id = ? AND status = 'RUNNING'",
                           [.real(ResultsStore.now), .integer(invocation)])
        try database.query("UPDATE invocation SET heartbeat_at = ? WHERE id = ?", [.real(ResultsStore.now), .integer(invocation)])
    }

    /// One attempt as stored.
    public struct AttemptRecord: Sendable, Equatable {
        public var attempt: Int
        public var workers: String
        public var status: String
        public var error: String?
        /// The shard it ran (from 0), for a run split into shards.
        public var shard: Int?

        public init(attempt: Int, workers: String, status: String, error: String?, shard: Int? = nil) {
            self.attempt = attempt; self.workers = workers; self.status = status; self.error = error; self.shard = shard
        }
    }

    /// The attempts of `run`, in order.
    public func attempts(run: Int64) throws(StoreError) -> [AttemptRecord] {
        try database.query("SELECT attempt, workers, status, error, shard FROM attempt WHERE run_id = ? ORDER BY attempt",
                           [.integer(run)]).map { row in
            func text(_ i: Int) -> String? { if case let .text(v) = row[i] { v } else { nil } }
            let number: Int = if case let .integer(v) = row[0] { Int(v) } else { 0 }
            let shard: Int? = if case let .integer(v) = row[4] { Int(v) } else { nil }
            return AttemptRecord(attempt: number, workers: text(1) ?? "", status: text(2) ?? "", error: text(3), shard: shard)
        }
    }

    /// The number of lost attempts of each run of an experiment's runs (by run id).
    public func lostAttempts(experiment name: String) throws(StoreError) -> [Int64: Int] {
        var counts: [Int64: Int] = [:]
        for row in try database.query("""
            SELECT run.id, run.lost_attempts FROM run JOIN experiment ON experiment.id = run.experiment_id
            WHERE experiment.name = ? AND run.lost_attempts > 0
            """, [.text(name)]) {
            if case let .integer(id) = row[0], case let .integer(count) = row[1] { counts[id] = Int(count) }
        }
        return counts
    }
}

extension ResultsStore {
    /// Copies a run's artifact files into `directory/<run id>/` and records each with its
    /// SHA-256 and size. An artifact may be a directory (a checkpoint): its digest covers each
    /// regular file's relative path and contents, in path order, and its size is their sum. A path this machine cannot read (a remote worker's file) is recorded
    /// as an event, not an error: the run's result stands.
    /// - Returns: the paths stored.
    @discardableResult
    public func collectArtifacts(_ run: Int64, paths: [String], into directory: URL) throws(StoreError) -> [String] {
        var stored: [String] = []
        for path in paths {
            let source = URL(fileURLWithPath: path)
            let target = directory.appendingPathComponent(String(run)).appendingPathComponent(source.lastPathComponent)
            guard let input = InputStream(url: source), FileManager.default.isReadableFile(atPath: path) else {
                try database.query("INSERT INTO event (time, run_id, kind, detail) VALUES (?, ?, 'artifact', ?)",
                                   [.real(ResultsStore.now), .integer(run), .text("not on this machine and not carried in the result (directories, and files past the 48 MiB a result carries, "
                                                 + "need a shared filesystem, as does a worker started with --carry-artifacts never), "
                                                 + "not copied: \(path)")])
                continue
            }
            do {
                try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                try? FileManager.default.removeItem(at: target)
                try FileManager.default.copyItem(at: source, to: target)
            } catch {
                throw StoreError(path: self.path, step: "copy artifact \(path)", code: 0, message: error.localizedDescription)
            }
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            let (hash, bytes) = isDirectory.boolValue ? ResultsStore.digest(directory: target) : ResultsStore.digest(file: input)
            try database.query("INSERT INTO artifact (run_id, path, sha256, bytes) VALUES (?, ?, ?, ?)",
                               [.integer(run), .text(target.path), .text(hash), .integer(Int64(bytes))])
            stored.append(target.path)
        }
        return stored
    }

    /// A run's artifacts: stored path, SHA-256 and size.
    public func artifacts(run: Int64) throws(StoreError) -> [(path: String, sha256: String, bytes: Int)] {
        try database.query("SELECT path, sha256, bytes FROM artifact WHERE run_id = ? ORDER BY rowid", [.integer(run)]).map { row in
            func text(_ i: Int) -> String { if case let .text(v) = row[i] { v } else { "" } }
            let bytes: Int = if case let .integer(v) = row[2] { Int(v) } else { 0 }
            return (text(0), text(1), bytes)
        }
    }
}

extension ResultsStore {
    /// A worker as the store records it.
    public struct WorkerSighting: Sendable {
        public var name: String, host: String, pid: Int, slots: Int, version: String
        /// Where a batch scheduler placed it (`SLURM_JOB_ID` → `4242`, …); empty outside one.
        public var scheduler: [String: String]
        /// What it computes on (`cpu` → `AMD EPYC`, `tile` → `avx512`, `simd` → `AVX2+FMA`); empty
        /// for a worker of an older Loom.
        public var machine: [String: String]
        public init(name: String, host: String, pid: Int, slots: Int, version: String, scheduler: [String: String] = [:],
                    machine: [String: String] = [:]) {
            self.name = name; self.host = host; self.pid = pid; self.slots = slots; self.version = version; self.scheduler = scheduler
            self.machine = machine
        }

        /// Fields as a JSON object with sorted keys, or nil when there are none.
        static func json(_ fields: [String: String]) -> String? {
            guard !fields.isEmpty, let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]) else { return nil }
            return String(decoding: data, as: UTF8.self)
        }
    }

    /// Records the workers an invocation sees: new ones (by name and pid) are added, and every
    /// one present gets a fresh `last_seen_at`.
    public func recordWorkers(_ workers: [WorkerSighting], invocation: Int64) throws(StoreError) {
        let now = ResultsStore.now
        try database.transaction { () throws(StoreError) in
            for worker in workers {
                let found = try database.query("SELECT id FROM worker WHERE invocation_id = ? AND name = ? AND pid = ?",
                                               [.integer(invocation), .text(worker.name), .integer(Int64(worker.pid))])
                if case let .integer(id)? = found.first?.first {
                    try database.query("UPDATE worker SET last_seen_at = ? WHERE id = ?", [.real(now), .integer(id)])
                } else {
                    try database.query("""
                        INSERT INTO worker (invocation_id, name, host, pid, slots, version, registered_at, last_seen_at, scheduler, machine)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, [.integer(invocation), .text(worker.name), .text(worker.host), .integer(Int64(worker.pid)),
                              .integer(Int64(worker.slots)), .text(worker.version), .real(now), .real(now),
                              WorkerSighting.json(worker.scheduler).map { .text($0) } ?? .null,
                              WorkerSighting.json(worker.machine).map { .text($0) } ?? .null])
                }
            }
        }
    }

    /// Where the scheduler placed each worker of an invocation, by name (workers outside a scheduler left out).
    public func workerPlacements(invocation: Int64) throws(StoreError) -> [String: [String: String]] {
        try workerFields("scheduler", invocation: invocation)
    }

    /// What each worker of an invocation computed on, by name (`cpu`, `tile`, `simd`; workers of
    /// an older Loom left out). A name registered twice (a restarted worker) gives its last record.
    public func workerMachines(invocation: Int64) throws(StoreError) -> [String: [String: String]] {
        try workerFields("machine", invocation: invocation)
    }

    /// A JSON column of the worker table (`scheduler` or `machine`) by worker name.
    private func workerFields(_ column: String, invocation: Int64) throws(StoreError) -> [String: [String: String]] {
        precondition(column == "scheduler" || column == "machine", "a column of the worker table")
        var fields: [String: [String: String]] = [:]
        for row in try database.query("SELECT name, \(column) FROM worker WHERE invocation_id = ? AND \(column) IS NOT NULL ORDER BY id",
                                      [.integer(invocation)]) {
            guard case let .text(name) = row[0], case let .text(json) = row[1],
                  let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String] else { continue }
            fields[name] = object
        }
        return fields
    }

    /// The workers recorded for an invocation: name, host, pid.
    public func workers(invocation: Int64) throws(StoreError) -> [(name: String, host: String, pid: Int)] {
        try database.query("SELECT name, host, pid FROM worker WHERE invocation_id = ? ORDER BY id", [.integer(invocation)]).map { row in
            func text(_ i: Int) -> String { if case let .text(v) = row[i] { v } else { "" } }
            let pid: Int = if case let .integer(v) = row[2] { Int(v) } else { 0 }
            return (text(0), text(1), pid)
        }
    }
}

extension ResultsStore {
    /// An invocation that has not finished: who runs it, and when it last showed life.
    public struct OpenInvocation: Sendable, Equatable {
        public var id: Int64
        public var pid: Int?
        public var host: String
        public var startedAt: Double
        public var heartbeatAt: Double?
        public var command: String
    }

    /// The unfinished invocations of `experiment`, newest first (live ones, and dead ones that
    /// were never marked finished).
    public func openInvocations(experiment: Int64) throws(StoreError) -> [OpenInvocation] {
        try database.query("""
            SELECT id, pid, host, started_at, heartbeat_at, command FROM invocation
            WHERE experiment_id = ? AND finished_at IS NULL ORDER BY id DESC LIMIT 100
            """, [.integer(experiment)]).compactMap { row in
            guard case let .integer(id) = row[0], case let .text(host) = row[2], case let .real(started) = row[3] else { return nil }
            let pid: Int? = if case let .integer(v) = row[1] { Int(v) } else { nil }
            let beat: Double? = if case let .real(v) = row[4] { v } else { nil }
            let command = if case let .text(v) = row[5] { v } else { "" }
            return OpenInvocation(id: id, pid: pid, host: host, startedAt: started, heartbeatAt: beat, command: command)
        }
    }

    /// Marks invocations that died before finishing (their lock is free, so their process is gone).
    public func markInvocationsDead(_ ids: [Int64]) throws(StoreError) {
        guard !ids.isEmpty else { return }
        try database.transaction { () throws(StoreError) in
            for id in ids {
                try database.query("INSERT INTO event (time, invocation_id, kind, detail) VALUES (?, ?, 'died', ?)",
                                   [.real(ResultsStore.now), .integer(id), .text("the invocation ended without finishing (killed or crashed)")])
                try database.query("UPDATE invocation SET heartbeat_at = NULL WHERE id = ?", [.integer(id)])
            }
        }
    }
}

extension ResultsStore {
    /// SHA-256 and size of what `input` reads, read in 1 MiB pieces.
    static func digest(file input: InputStream) -> (String, Int) {
        var hash = SHA256(), bytes = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        input.open()
        defer { input.close() }
        while true {
            let count = input.read(&chunk, maxLength: chunk.count)
            if count <= 0 { break }
            hash.update(chunk[0..<count])
            bytes += count
        }
        return (hash.hexDigest(), bytes)
    }

    /// SHA-256 over a directory's regular files in relative-path order (each path, a NUL, its
    /// length as 8 bytes, its own SHA-256), and their total size: equal trees give equal digests.
    static func digest(directory: URL) -> (String, Int) {
        let root = directory.standardizedFileURL.path
        var files: [(relative: String, url: URL)] = []
        let keys: [URLResourceKey] = [.isRegularFileKey]
        if let walk = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: keys) {
            for case let url as URL in walk where (try? url.resourceValues(forKeys: Set(keys)))?.isRegularFile == true {
                let full = url.standardizedFileURL.path
                files.append((String(full.dropFirst(root.count).drop { $0 == "/" }), url))
            }
        }
        var hash = SHA256(), total = 0
        for file in files.sorted(by: { $0.relative < $1.relative }) {
            guard let input = InputStream(url: file.url) else { continue }
            let (digest, bytes) = digest(file: input)
            hash.update(Array(file.relative.utf8) + [0])
            withUnsafeBytes(of: UInt64(bytes).littleEndian) { hash.update(Array($0)) }
            hash.update(Array(digest.utf8))
            total += bytes
        }
        return (hash.hexDigest(), total)
    }
}
