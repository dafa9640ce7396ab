internal import CSQLite

/// Facts about the SQLite library behind the results store, for `loom version` and run provenance.
public enum StoreInfo {
    /// The SQLite version linked at run time (from `sqlite3_libversion`), e.g. `3.40.1`.
    public static var sqliteVersion: String {
        guard let text = sqlite3_libversion() else { return "unknown" }
        return String(cString: text)
    }
}
