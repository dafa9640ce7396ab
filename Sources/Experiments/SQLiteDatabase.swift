import Foundation
internal import CSQLite

/// One SQLite connection. A `final class` because the store shares it; not `Sendable`: the
/// coordinator's thread owns it (DESIGN.md: the coordinator is the only writer).
final class SQLiteDatabase {
    private(set) var handle: OpaquePointer
    let path: String

    /// Whether the connection was opened read-only (for readers without write access).
    let isReadOnly: Bool

    /// Opens (creating if needed) `path` in WAL mode with foreign keys on; with `readOnly`, opens
    /// an existing file for reading only and changes nothing in it or beside it.
    init(path: String, readOnly: Bool = false) throws(StoreError) {
        handle = try SQLiteDatabase.open(path, readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        self.path = path
        isReadOnly = readOnly
        sqlite3_busy_timeout(handle, 5000)
        // Extended codes say which step failed (a write, an fsync); the hint reads the low byte.
        sqlite3_extended_result_codes(handle, 1)
        // A reader leaves the journal mode as the writer set it (changing it needs write access).
        if readOnly {
            // A WAL store needs its shared-memory file, which a reader without write access to
            // the directory cannot create. With no write-ahead log beside the file, no writer is
            // active and the file holds everything: read it as immutable.
            if (try? query("PRAGMA user_version")) == nil, !FileManager.default.fileExists(atPath: path + "-wal") {
                sqlite3_close_v2(handle)
                let escaped = path.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "?", with: "%3f")
                    .replacingOccurrences(of: "#", with: "%23")
                handle = try SQLiteDatabase.open("file:\(escaped)?immutable=1", SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, shown: path)
                sqlite3_extended_result_codes(handle, 1)
            }
            _ = try query("PRAGMA user_version")       // fails here, with SQLite's reason, if unreadable
            return
        }
        // WAL: readers never block the writer, and a crash mid-write leaves the last commit intact.
        // Switching a new file to WAL fails at once (no busy wait) while another process writes
        // it, as when two invocations create one store together: retry for the busy timeout.
        let end = ContinuousClock.now + .seconds(5)
        while true {
            do { try execute("PRAGMA journal_mode = WAL"); break } catch where error.code & 0xff == SQLITE_BUSY && ContinuousClock.now < end {
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
        try execute("PRAGMA synchronous = NORMAL")
        try execute("PRAGMA foreign_keys = ON")
    }

    private static func open(_ name: String, _ flags: Int32, shown: String? = nil) throws(StoreError) -> OpaquePointer {
        var handle: OpaquePointer?
        let code = sqlite3_open_v2(name, &handle, flags | SQLITE_OPEN_FULLMUTEX, nil)
        guard code == SQLITE_OK, let handle else {
            // sqlite3_open_v2 returns a handle even on failure: read its message, then close it.
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(handle)
            throw StoreError(path: shown ?? name, step: "open", code: code, message: message)
        }
        return handle
    }

    deinit { sqlite3_close_v2(handle) }

    func failure(_ step: String, _ code: Int32) -> StoreError {
        StoreError(path: path, step: step, code: code, message: String(cString: sqlite3_errmsg(handle)))
    }

    /// Runs SQL that returns no rows (several statements allowed).
    func execute(_ sql: String) throws(StoreError) {
        let code = sqlite3_exec(handle, sql, nil, nil, nil)
        guard code == SQLITE_OK else { throw failure(String(sql.prefix(60)), code) }
    }

    /// A bindable SQL value.
    enum Value: Equatable {
        case integer(Int64), real(Double), text(String), null
    }

    /// Runs one statement with `bindings` and returns every row.
    @discardableResult
    func query(_ sql: String, _ bindings: [Value] = []) throws(StoreError) -> [[Value]] {
        var statement: OpaquePointer?
        let prepared = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard prepared == SQLITE_OK, let statement else { throw failure("prepare \(sql.prefix(60))", prepared) }
        defer { sqlite3_finalize(statement) }
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (index, value) in bindings.enumerated() {
            let position = Int32(index + 1)
            let code: Int32
            switch value {
            case let .integer(v): code = sqlite3_bind_int64(statement, position, v)
            case let .real(v): code = sqlite3_bind_double(statement, position, v)
            case let .text(v): code = sqlite3_bind_text(statement, position, v, -1, transient)
            case .null: code = sqlite3_bind_null(statement, position)
            }
            guard code == SQLITE_OK else { throw failure("bind \(position) of \(sql.prefix(60))", code) }
        }
        var rows: [[Value]] = []
        while true {
            let step = sqlite3_step(statement)
            if step == SQLITE_DONE { break }
            guard step == SQLITE_ROW else { throw failure(String(sql.prefix(60)), step) }
            rows.append((0..<sqlite3_column_count(statement)).map { column in
                switch sqlite3_column_type(statement, column) {
                case SQLITE_INTEGER: .integer(sqlite3_column_int64(statement, column))
                case SQLITE_FLOAT: .real(sqlite3_column_double(statement, column))
                case SQLITE_NULL: .null
                default: .text(String(cString: sqlite3_column_text(statement, column)))
                }
            })
        }
        return rows
    }

    /// The rowid of the last insert.
    var lastInsertID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Runs `body` in one transaction: all of it is stored, or none.
    func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }
}
