import Foundation

/// What `loom cluster up` started, kept in `STATE/cluster.json` so that `loom cluster down` stops
/// exactly those processes: the coordinator here, and each worker by host, PID and name (a PID
/// is acted on only while its command line still names that worker and that coordinator).
public struct ClusterState: Codable, Sendable, Equatable {
    /// One worker started on a host.
    public struct Worker: Codable, Sendable, Equatable {
        /// The host's destination, as the remote shell takes it.
        public var destination: String
        /// Its name in `loom status` and the store: `HOST/INDEX`.
        public var name: String
        /// Its PID on that host.
        public var pid: Int32
        /// Its log on that host.
        public var log: String

        public init(destination: String, name: String, pid: Int32, log: String) {
            self.destination = destination; self.name = name; self.pid = pid; self.log = log
        }
    }

    public static let fileName = "cluster.json"
    public static let currentVersion = 1

    public var version = ClusterState.currentVersion
    /// When `up` started (ISO 8601).
    public var started: String
    public var hostfile: String
    /// The remote shell program and its options.
    public var rsh: [String]
    /// The loom executable on the hosts.
    public var remoteLoom: String
    /// The folder on each host that holds its keys and worker logs.
    public var remoteDirectory: String
    /// The local key directory: the coordinator's pair and the allow-list.
    public var keys: String
    /// The coordinator process here, once started.
    public var coordinatorPID: Int32?
    /// The endpoint workers and clients connect to.
    public var endpoint: String?
    public var workers: [Worker]

    public init(started: String, hostfile: String, rsh: [String], remoteLoom: String, remoteDirectory: String, keys: String) {
        self.started = started; self.hostfile = hostfile; self.rsh = rsh; self.remoteLoom = remoteLoom
        self.remoteDirectory = remoteDirectory; self.keys = keys; self.workers = []
    }

    public static func path(in directory: String) -> String { "\(directory)/\(fileName)" }

    /// Reads the state in `directory`; nil when there is none.
    public static func load(from directory: String) throws(LaunchError) -> ClusterState? {
        let path = path(in: directory)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path), data.count <= 64 << 20 else {
            throw LaunchError("cannot read \(path); if no cluster is up, remove it")
        }
        let state: ClusterState
        do { state = try JSONDecoder().decode(ClusterState.self, from: data) } catch {
            throw LaunchError("\(path) is not a cluster state Loom wrote (\(error)); stop its processes by hand, then remove it")
        }
        guard state.version == currentVersion else {
            throw LaunchError("\(path) has version \(state.version); this loom reads version \(currentVersion)")
        }
        return state
    }

    /// Writes the state to `directory` atomically (write, then rename), readable by this user only.
    public func save(to directory: String) throws(LaunchError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let path = ClusterState.path(in: directory)
        let temporary = path + ".tmp"
        do {
            let data = try encoder.encode(self)
            guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw LaunchError("cannot write \(temporary)")
            }
            if rename(temporary, path) != 0 { throw LaunchError("cannot rename \(temporary) to \(path): \(String(cString: strerror(errno)))") }
        } catch let error as LaunchError {
            throw error
        } catch {
            throw LaunchError("cannot write \(path): \(error)")
        }
    }

    /// Removes the state file (the logs and keys beside it stay).
    public static func remove(from directory: String) {
        try? FileManager.default.removeItem(atPath: path(in: directory))
    }

    /// The workers grouped by host, hosts in the order first started.
    public var workersByHost: [(destination: String, workers: [Worker])] { ClusterState.byHost(workers) }

    /// `workers` grouped by host, hosts in the order they first appear.
    public static func byHost(_ workers: [Worker]) -> [(destination: String, workers: [Worker])] {
        var order: [String] = []
        var groups: [String: [Worker]] = [:]
        for worker in workers {
            if groups[worker.destination] == nil { order.append(worker.destination) }
            groups[worker.destination, default: []].append(worker)
        }
        return order.map { ($0, groups[$0]!) }
    }
}
