/// A results-store failure: the SQL step, SQLite's message and code, and the database file.
public struct StoreError: Error, CustomStringConvertible {
    public var path: String
    public var step: String
    public var code: Int32
    public var message: String

    public var description: String { "results store \(path): \(step) failed: \(message) (SQLite code \(code))" }
}
