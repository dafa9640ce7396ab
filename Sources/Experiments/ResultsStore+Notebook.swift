import Foundation

extension ResultsStore {
    /// A user's read-only query (a notebook's `sql` cell) on this store; see `SQLiteDatabase.readOnlyQuery`.
    public func readOnlyQuery(_ sql: String, maximumRows: Int = 10_000, maximumBytes: Int = 8 << 20,
                              timeout: Duration = .seconds(10)) throws(StoreError) -> (columns: [String], rows: [[String?]], truncated: Bool) {
        try database.readOnlyQuery(sql, maximumRows: maximumRows, maximumBytes: maximumBytes, timeout: timeout)
    }

    /// A digest of everything a notebook cell reads about `experiment`: its runs (status, cache
    /// key, parameters, the run a CACHED row reuses), their metrics and their artifacts. Equal
    /// digests mean the cell would draw the same thing; nil when no such experiment exists.
    public func digest(ofExperiment experiment: String) throws(StoreError) -> String? {
        guard case let .integer(id)? = try database.query("SELECT id FROM experiment WHERE name = ?", [.text(experiment)]).first?.first else {
            return nil
        }
        var hash = SHA256()
        func add(_ rows: [[SQLiteDatabase.Value]]) {
            for row in rows {
                for value in row {
                    switch value {
                    case let .integer(v): hash.update(Array("i\(v)|".utf8))
                    case let .real(v): hash.update(Array("r\(v.bitPattern)|".utf8))
                    case let .text(v): hash.update(Array("t\(v.utf8.count):".utf8)); hash.update(Array(v.utf8))
                    case .null: hash.update(Array("n|".utf8))
                    }
                }
                hash.update([10])
            }
        }
        add(try database.query("SELECT id, status, cache_key, params, cached_from FROM run WHERE experiment_id = ? ORDER BY id", [.integer(id)]))
        add(try database.query("""
            SELECT m.run_id, m.name, m.step, m.value, m.text FROM metric m JOIN run r ON r.id = m.run_id
            WHERE r.experiment_id = ? ORDER BY m.run_id, m.name, m.step, m.rowid
            """, [.integer(id)]))
        add(try database.query("""
            SELECT a.run_id, a.path, a.sha256 FROM artifact a JOIN run r ON r.id = a.run_id WHERE r.experiment_id = ? ORDER BY a.rowid
            """, [.integer(id)]))
        return hash.hexDigest()
    }
}
