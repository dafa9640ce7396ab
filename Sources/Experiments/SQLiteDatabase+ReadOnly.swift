import Foundation
internal import CSQLite

extension SQLiteDatabase {
    /// Runs one statement that only reads, for a user's query (a notebook's `sql` cell): a
    /// statement that would write, a second statement after the first, and ATTACH (which could
    /// open another file) are refused before anything runs. Values come back as text.
    /// - Returns: the column names and at most `maximumRows` rows, and whether more were left out.
    func readOnlyQuery(_ sql: String, maximumRows: Int) throws(StoreError) -> (columns: [String], rows: [[String?]], truncated: Bool) {
        var statement: OpaquePointer?
        // What follows the first statement, read while the C string SQLite parsed still exists.
        var rest = ""
        let prepared = sql.withCString { text -> Int32 in
            var tail: UnsafePointer<CChar>?
            let code = sqlite3_prepare_v2(handle, text, -1, &statement, &tail)
            if let tail { rest = String(cString: tail) }
            return code
        }
        guard prepared == SQLITE_OK, let statement else { throw failure("prepare the query", prepared) }
        defer { sqlite3_finalize(statement) }
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
        while true {
            let step = sqlite3_step(statement)
            if step == SQLITE_DONE { return (columns, rows, false) }
            guard step == SQLITE_ROW else { throw failure("run the query", step) }
            guard rows.count < maximumRows else { return (columns, rows, true) }
            rows.append((0..<count).map { column in
                sqlite3_column_type(statement, column) == SQLITE_NULL ? nil : String(cString: sqlite3_column_text(statement, column))
            })
        }
    }
}
