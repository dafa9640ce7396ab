import Foundation
import Synchronization

/// The embedded default: a coordinator in this process and N local worker processes.
///
/// `loom up` runs one until a signal; `loom run` (experiments) uses the same call. Workers get
/// `--exit-with-parent`, so even a `kill -9` of this process leaves no orphan for long.
public final class LocalCluster: Sendable {
    /// The in-process coordinator.
    public let coordinator: Coordinator
    /// The owner-only directory of the coordinator's `ipc://` socket, when it binds privately.
    public let socketDirectory: PrivateSocketDirectory?
    private let children: Mutex<[Process]>
    private let logDirectory: URL?
    private let workerArguments: [String]
    private let replaced = Mutex(0)

    /// The most worker processes one machine starts (a host's slots in a hostfile are bounded alike).
    public static let maximumWorkers = 256

    /// Starts the coordinator, then spawns `workers` copies of `executable worker …`.
    /// - Parameters:
    ///   - executable: the `loom` binary to spawn (usually this process's own).
    ///   - workerArguments: extra arguments for each worker (`--slots`, `--heartbeat-ms`).
    ///   - logDirectory: where each worker's stderr goes (`worker-N.log`); nil inherits stderr.
    ///   - bindsPrivately: bind `ipc://` in a new `PrivateSocketDirectory` instead of
    ///     `configuration.bind`, so no other local user can connect; the directory goes on `stop()`.
    /// - Throws: `ClusterError` when the coordinator cannot bind or a worker cannot start, or
    ///   `workers` is past `maximumWorkers`.
    public init(configuration: CoordinatorConfiguration, workers: Int, executable: URL, workerArguments: [String] = [],
                logDirectory: URL? = nil, bindsPrivately: Bool = false) throws(ClusterError) {
        guard (0...Self.maximumWorkers).contains(workers) else {
            throw .refused("\(workers) local workers is more than the \(Self.maximumWorkers) one machine may start; give \(Self.maximumWorkers) or fewer")
        }
        var configuration = configuration
        let directory = bindsPrivately ? try PrivateSocketDirectory() : nil
        if let directory { configuration.bind = directory.endpoint(named: "coordinator") }
        do { coordinator = try Coordinator(configuration) } catch {
            directory?.remove()
            throw error
        }
        socketDirectory = directory
        self.logDirectory = logDirectory
        self.workerArguments = workerArguments
        children = Mutex([])
        for index in 0..<workers {
            do { try spawnWorker(index: index, executable: executable, arguments: workerArguments) } catch {
                stop()
                throw error
            }
        }
    }

    /// The process ids of the workers spawned (alive or not).
    public var workerPIDs: [Int32] { children.withLock { $0.map(\.processIdentifier) } }

    /// The workers that have exited: pid and exit status.
    public var exitedWorkers: [(pid: Int32, status: Int32)] {
        children.withLock { $0.filter { !$0.isRunning }.map { ($0.processIdentifier, $0.terminationStatus) } }
    }

    /// Starts one more worker process; `environment` adds to (or overrides) this process's own
    /// for it (a forced `LOOM_KERNEL`, say).
    public func spawnWorker(index: Int, executable: URL, arguments: [String], environment: [String: String] = [:]) throws(ClusterError) {
        let process = Process()
        process.executableURL = executable
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        process.arguments = ["worker", "--connect", coordinator.endpoint, "--name", "local-\(index)", "--exit-with-parent"]
            + arguments
        process.standardInput = FileHandle.nullDevice
        if let logDirectory {
            let url = logDirectory.appendingPathComponent("worker-\(index).log")
            _ = FileManager.default.createFile(atPath: url.path, contents: nil)
            if let handle = try? FileHandle(forWritingTo: url) {
                process.standardError = handle
                process.standardOutput = handle
            }
        }
        do { try process.run() } catch {
            throw .refused("cannot start worker \(index) from \(executable.path): \(error)")
        }
        children.withLock { $0.append(process) }
    }

    /// Starts a new worker in place of each one that has exited (killed, crashed, out of
    /// memory), so a sweep on local workers never stalls with nobody left to run it. The new
    /// worker gets the first workers' arguments, then `arguments`. At most
    /// `limit` replacements over the cluster's life: a task that kills every worker it touches
    /// must not respawn forever (the coordinator fails such a task after a few losses).
    /// - Returns: the process ids of the exited workers replaced now.
    @discardableResult
    public func replaceExitedWorkers(executable: URL, arguments: [String] = [], limit: Int) -> [Int32] {
        let exited = children.withLock { list in
            let gone = list.filter { !$0.isRunning }
            list.removeAll { !$0.isRunning }
            return gone.map(\.processIdentifier)
        }
        var restarted: [Int32] = []
        for pid in exited {
            let index = replaced.withLock { count -> Int? in
                guard count < limit else { return nil }
                count += 1
                return count
            }
            guard let index else { break }
            if (try? spawnWorker(index: 1000 + index, executable: executable, arguments: workerArguments + arguments)) != nil {
                restarted.append(pid)
            }
        }
        return restarted
    }

    /// Waits until `count` workers have registered, or `timeout` passes.
    /// - Returns: whether they did.
    public func waitForWorkers(_ count: Int, timeout: Duration) -> Bool {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            if let status = coordinator.status(), status.workers.count >= count { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return false
    }

    /// Stops every worker (SIGTERM, then SIGKILL after `grace`), reaps them, stops the
    /// coordinator and removes its private socket directory. Safe to call twice.
    public func stop(grace: Duration = .seconds(3)) {
        let processes = children.withLock { let all = $0; $0 = []; return all }
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let end = ContinuousClock.now + grace
        while processes.contains(where: \.isRunning) && ContinuousClock.now < end { Thread.sleep(forTimeInterval: 0.01) }
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for process in processes { process.waitUntilExit() }
        coordinator.stop()
        socketDirectory?.remove()
    }
}
