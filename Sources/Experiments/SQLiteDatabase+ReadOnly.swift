import Foundation
internal import CSQLite

extension SQLiteDatabase {
    /// Runs one statement that only reads, for a user's query (a notebook's `sql` cell): a
    /// statement that would write, a second statement after the first, ATTACH and DETACH (which
    /// could open another file), and transaction control (which would leave the connection in a
    /// transaction) are refused before anything runs. Values come back as text.
    /// - Parameters:
    ///   - maximumRows: rows kept; past them the result is marked truncated.
    ///   - maximumBytes: the text of the rows kept; past it the query fails (a page is not a dump).
    ///   - timeout: how long the query may run (a recursive CTE can run forever).
    /// - Returns: the column names and at most `maximumRows` rows, and whether more were left out.
    func readOnlyQuery(_ sql: String, maximumRows: Int, maximumBytes: Int = 8 << 20,
                       timeout: Duration = .seconds(10)) throws(StoreError) -> (columns: [String], rows: [[String?]], truncated: Bool) {
        var statement: OpaquePointer?
        // What follows the first statement, read while the C string SQLite parsed still exists.
        var rest = ""
        // The authorizer sees every action the statement would take, wherever it hides in the
        // text (a leading comment or space once let an ATTACH through a prefix check).
        sqlite3_set_authorizer(handle, { _, action, _, _, _, _ in
            switch action {
            case SQLITE_ATTACH, SQLITE_DETACH, SQLITE_TRANSACTION, SQLITE_SAVEPOINT: SQLITE_DENY
            default: SQLITE_OK
            }
        }, nil)
        defer { sqlite3_set_authorizer(handle, nil, nil) }
        let prepared = sql.withCString { text -> Int32 in
            var tail: UnsafePointer<CChar>?
            let code = sqlite3_prepare_v2(handle, text, -1, &statement, &tail)
            if let tail { rest = String(cString: tail) }
            return code
        }
        if prepared == SQLITE_AUTH {
            throw StoreError(path: path, step: "query", code: prepared,
                             message: "ATTACH, DETACH and transactions are not allowed in a query; a query may only read the store (SELECT, WITH … SELECT)")
        }
        guard prepared == SQLITE_OK, let statement else { throw failure("prepare the query", prepared) }
        defer { sqlite3_finalize(statement) }
        // Interrupts the query past its deadline: SQLite calls this every 10,000 VM steps.
        let deadline = Deadline(ContinuousClock.now + timeout)
        sqlite3_progress_handler(handle, 10_000, { context in
            guard let context else { return 0 }
            return ContinuousClock.now > Unmanaged<Deadline>.fromOpaque(context).takeUnretainedValue().end ? 1 : 0
        }, Unmanaged.passUnretained(deadline).toOpaque())
        defer {
            sqlite3_progress_handler(handle, 0, nil, nil)
            withExtendedLifetime(deadline) {}
        }
        guard rest.trimmingCharacters(in: .whitespacesAndNewlines.union(CharacterSet(charactersIn: ";"))).isEmpty else {
            throw StoreError(path: path, step: "query", code: 0, message: "give one statement; found more after the first ('\(rest.prefix(40))')")
        }
        let text = String(cString: sqlite3_sql(statement)).uppercased()
        guard sqlite3_stmt_readonly(statement) != 0, !text.hasPrefix("ATTACH"), !text.hasPrefix("DETACH") else {
            throw StoreError(path: path, step: "query", code: 0, message: "this statement would change the store; a query may only read it (SELECT, WITH … SELECT)")
        }
        let count = sqlite3_column_count(statement)
        let columns = (0..<count).map { String(cString: sqlite3_column_name(statement, $0)) }
        var rows: [[String?]] = []
        var bytes = 0
        while true {
            let step = sqlite3_step(statement)
            if step == SQLITE_DONE { return (columns, rows, false) }
            if step == SQLITE_INTERRUPT {
                throw StoreError(path: path, step: "query", code: step, message: "the query ran past \(timeout); narrow it (a recursive WITH needs a stop)")
            }
            guard step == SQLITE_ROW else { throw failure("run the query", step) }
            guard rows.count < maximumRows else { return (columns, rows, true) }
            for column in 0..<count { bytes += Int(sqlite3_column_bytes(statement, column)) }
            guard bytes <= maximumBytes else {
                throw StoreError(path: path, step: "query", code: 0,
                                 message: "the result passes \(maximumBytes >> 20) MiB of text by row \(rows.count + 1); select fewer rows or shorter columns (substr, LIMIT)")
            }
            rows.append((0..<count).map { column in
                sqlite3_column_type(statement, column) == SQLITE_NULL ? nil : String(cString: sqlite3_column_text(statement, column))
            })
        }
    }
}

/// A query's end, handed to SQLite's progress callback as its context.
private final class Deadline {
    let end: ContinuousClock.Instant
    init(_ end: ContinuousClock.Instant) { self.end = end }
}
