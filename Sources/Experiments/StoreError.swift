/// A results-store failure: the SQL step, SQLite's message and code, the database file, and what
/// to do about it.
public struct StoreError: Error, CustomStringConvertible {
    public var path: String
    public var step: String
    public var code: Int32
    public var message: String

    public init(path: String, step: String, code: Int32, message: String) {
        self.path = path; self.step = step; self.code = code; self.message = message
    }

    public var description: String {
        "results store \(path): \(step) failed: \(message) (SQLite code \(code))" + (hint.map { " — " + $0 } ?? "")
    }

    /// Whether the file system ran out of room (or a size limit was hit) while writing.
    public var isOutOfSpace: Bool { code & 0xff == 13 || (code & 0xff == 10 && message.contains("disk")) }

    /// What the user can do, from SQLite's primary result code (the low byte of an extended one).
    public var hint: String? {
        switch code & 0xff {
        case 13: "the disk holding the store is full (or a size limit was reached): free space, then run the same command again; every transaction committed before this is kept"
        case 10: "reading or writing the file failed (a full disk, a quota, a file-size limit or a failing disk): check with 'df' and the system log, then run the same command again"
        case 11, 26: "the file is damaged or is not a Loom store: check it with sqlite3 \(path) 'PRAGMA integrity_check', restore it from a backup, or start a new store with --state DIR"
        case 8: "the store cannot be written here: check the permissions of the file and of its directory, or give --state DIR somewhere writable (reading commands such as 'loom runs' need read access only)"
        case 14: "the file cannot be opened: check that it and its directory exist and that you may read them"
        case 3, 23: "permission denied: check the permissions of the file and of its directory"
        case 5, 6: "another process held the store's lock for more than 5 s: wait for it to finish, or find what else writes this file"
        default: nil
        }
    }
}
