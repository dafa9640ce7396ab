import Foundation

/// A fresh directory that only this user can enter, for `ipc://` sockets no other local user may
/// reach: the embedded coordinator's endpoint and its workers' gang peer sockets.
///
/// A Unix socket's own mode is not a reliable fence (libzmq creates it under the umask), but
/// `connect(2)` needs search permission on every directory of the path, so a socket inside a
/// directory of mode 0700 is reachable by its owner (and root) only. The directory is made with
/// `mkdtemp` (mode 0700, a random name no one can claim first) inside a parent that is checked
/// to be ours and closed to everyone else: `$XDG_RUNTIME_DIR` when it is usable, else
/// `/tmp/loom-<uid>`.
public final class PrivateSocketDirectory: Sendable {
    /// The longest path an `ipc://` endpoint may have: `sun_path` holds 108 bytes with the NUL.
    public static let socketPathLimit = 107
    /// Room kept for socket names inside the directory (a gang rank's name is about 30 bytes).
    static let nameRoom = 40

    /// The directory's absolute path.
    public let path: String

    /// Creates a new private directory.
    /// - Throws: `ClusterError.refused` naming the parent that is not ours or is open to others,
    ///   or a path too long for an ipc socket, and how to fix it.
    public init() throws(ClusterError) {
        let parent = try PrivateSocketDirectory.parent()
        PrivateSocketDirectory.sweepStale(in: parent)      // what killed coordinators left behind
        var template = Array((parent + "/" + PrivateSocketDirectory.namePrefix + "XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else {
            throw .refused("cannot create a private socket directory in \(parent): \(String(cString: strerror(errno))); "
                           + "check that \(parent) is yours and writable")
        }
        path = String(cString: template)
        try PrivateSocketDirectory.checkPrivate(path)
        guard path.utf8.count + 1 + PrivateSocketDirectory.nameRoom <= PrivateSocketDirectory.socketPathLimit else {
            rmdir(path)
            throw .refused("the private socket directory \(path) is too long for ipc:// endpoints (at most "
                           + "\(PrivateSocketDirectory.socketPathLimit) bytes per socket path); set XDG_RUNTIME_DIR "
                           + "to a shorter directory that only you can reach")
        }
    }

    deinit { remove() }

    /// The `ipc://` endpoint of the socket `name` in this directory.
    /// - Precondition: `name` is a short plain file name (Loom's own constants).
    public func endpoint(named name: String) -> String {
        precondition(!name.contains("/") && name.utf8.count <= PrivateSocketDirectory.nameRoom,
                     "PrivateSocketDirectory.endpoint(named:): '\(name)' must be a plain name of at most \(PrivateSocketDirectory.nameRoom) bytes")
        return "ipc://\(path)/\(name)"
    }

    /// Removes the directory and the sockets left in it. Safe to call twice.
    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Whether `directory` is a real directory (not a symbolic link) owned by this user with no
    /// permission for group or others.
    /// - Throws: `ClusterError.refused` saying which of these fails and how to fix it.
    public static func checkPrivate(_ directory: String) throws(ClusterError) {
        var info = stat()
        guard lstat(directory, &info) == 0 else {
            throw .refused("cannot inspect \(directory): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw .refused("\(directory) is not a directory (a link or a file took its place); remove it, "
                           + "or set XDG_RUNTIME_DIR to a directory that only you can reach")
        }
        guard info.st_uid == geteuid() else {
            throw .refused("\(directory) belongs to uid \(info.st_uid), not to you (uid \(geteuid())); another user "
                           + "could reach sockets in it: remove it, or set XDG_RUNTIME_DIR to a directory that only you can reach")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw .refused("\(directory) is open to group or others (mode \(String(info.st_mode & 0o777, radix: 8))); "
                           + "other users could reach sockets in it: run 'chmod 700 \(directory)'")
        }
    }

    /// `$XDG_RUNTIME_DIR` if it is set and private, else `/tmp/loom-<uid>`, created if missing
    /// and refused unless private.
    private static func parent() throws(ClusterError) -> String {
        if let runtime = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"], runtime.hasPrefix("/"),
           (try? checkPrivate(runtime)) != nil {
            return runtime
        }
        let shared = "/tmp/loom-\(geteuid())"
        if mkdir(shared, 0o700) != 0 && errno != EEXIST {
            throw .refused("cannot create \(shared): \(String(cString: strerror(errno))); "
                           + "set XDG_RUNTIME_DIR to a directory that only you can reach")
        }
        try checkPrivate(shared)
        return shared
    }
}
