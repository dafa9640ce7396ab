import Foundation

extension PrivateSocketDirectory {
    /// The socket whose presence marks a directory as a coordinator's (`LocalCluster` binds it).
    static let coordinatorSocket = "coordinator"
    /// The start of every private directory's name, so a sweep of `$XDG_RUNTIME_DIR` touches
    /// Loom's directories only.
    static let namePrefix = "loom-"

    /// Removes the directories in `parent` left by coordinators that died without cleaning up
    /// (`kill -9` of `loom run` or `loom up`): those whose coordinator socket refuses a
    /// connection. A live coordinator accepts one; a directory whose coordinator has not bound
    /// yet has no socket and is left alone, so a sweep never races a starting coordinator.
    /// - Returns: the directories removed.
    @discardableResult
    static func sweepStale(in parent: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(namePrefix) {
            let directory = parent + "/" + name
            let socket = directory + "/" + coordinatorSocket
            guard (try? checkPrivate(directory)) != nil, isDeadSocket(socket) else { continue }
            if (try? FileManager.default.removeItem(atPath: directory)) != nil { removed.append(directory) }
        }
        return removed
    }

    /// Whether `path` is a Unix socket that nobody listens on (a connection is refused).
    static func isDeadSocket(_ path: String) -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK else { return false }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result != 0 && errno == ECONNREFUSED
    }
}
