import Foundation
import Wire

/// Where a gang rank binds its peer socket.
///
/// A worker that reaches its coordinator through `ipc://` in a private directory shares a machine
/// and a user with every other rank of its gangs, so its peer socket goes beside the
/// coordinator's, where no other local user can connect. Otherwise it binds TCP on the
/// advertised host (loopback only for a loopback coordinator), protected by CURVE when that is on.
enum GangPeerEndpoint {
    /// The directory for this worker's ipc peer sockets, or nil for TCP: the directory of the
    /// coordinator's `ipc://` socket when it is ours and closed to others.
    static func directory(coordinator: String) -> String? {
        guard coordinator.hasPrefix("ipc:///") else { return nil }
        let socketPath = coordinator.dropFirst("ipc://".count)
        guard let slash = socketPath.lastIndex(of: "/"), slash != socketPath.startIndex else { return nil }
        let directory = String(socketPath[..<slash])
        // A shared directory (the user's own choice of ipc path) would let others reach the ranks.
        return (try? PrivateSocketDirectory.checkPrivate(directory)) != nil ? directory : nil
    }

    /// Binds `socket` for one rank of one attempt and returns the endpoint its peers connect to.
    /// - Parameters:
    ///   - directory: from `directory(coordinator:)`; nil binds TCP.
    ///   - advertisedHost: the host name peers use over TCP.
    static func bind(_ socket: borrowing Socket, directory: String?, advertisedHost: String, taskID: UInt64,
                     attempt: Int) throws(WireError) -> String {
        if let directory {
            // pid, task and attempt make the name unique among this user's ranks; it stays short
            // for sun_path (PrivateSocketDirectory keeps room for it).
            let path = "\(directory)/g\(getpid())-\(taskID)-\(attempt)"
            if path.utf8.count <= PrivateSocketDirectory.socketPathLimit {
                try socket.bind("ipc://\(path)")
                return "ipc://\(path)"
            }
        }
        try socket.bind("tcp://\(advertisedHost == "127.0.0.1" ? "127.0.0.1" : "*"):*")
        let port = socket.lastEndpoint.split(separator: ":").last.map(String.init) ?? ""
        return "tcp://\(advertisedHost):\(port)"
    }
}
