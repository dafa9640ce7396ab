import Cluster
import Foundation
import ProcessTestSupport
import Synchronization

/// A coordinator in the test process and real `loom worker` processes on loopback (STYLE §7),
/// with fast liveness so faults are noticed in well under a second.
public final class TestCluster {
    /// 100 ms beats, dead after 10 missed: faults show within about 1 s, with room for a busy
    /// 2-core machine running other test suites (and their worker processes) at the same time.
    public static let liveness = Liveness(interval: .milliseconds(100), misses: 10)

    public let local: LocalCluster
    let logs: TemporaryDirectory
    let lines = LogLines()

    public var coordinator: Coordinator { local.coordinator }

    /// Starts the coordinator and `workers` worker processes and waits for them to register.
    /// Tests may use the test-only kinds (append, artifact, crash, fail): the default registry and the
    /// workers (`--test-kinds`) include them. `bindsPrivately` binds `ipc://` in an owner-only
    /// directory, as `loom up` and `loom run` do, instead of loopback TCP. `configure` adjusts the
    /// coordinator's configuration (leases, slot caps) before it starts.
    public init(workers: Int, slots: Int = 1, security: CurveServerSecurity? = nil,
                registry: TaskRegistry = .builtIn(includingTestKinds: true),
                extraWorkerArguments: [String] = [], bindsPrivately: Bool = false,
                configure: (inout CoordinatorConfiguration) -> Void = { _ in }) throws {
        logs = try TemporaryDirectory()
        let lines = self.lines
        var configuration = CoordinatorConfiguration(bind: "tcp://127.0.0.1:*", liveness: TestCluster.liveness,
                                                     registry: registry, security: security, log: { lines.append($0) })
        configure(&configuration)
        local = try LocalCluster(
            configuration: configuration,
            workers: workers, executable: try LoomProcess.executable(),
            workerArguments: ["--slots", String(slots), "--heartbeat-ms", "100", "--liveness", "10",
                              "--drain-timeout", "2", "--verbose", "--test-kinds"] + extraWorkerArguments,
            logDirectory: logs.url, bindsPrivately: bindsPrivately)
        if workers > 0 && security == nil {
            guard local.waitForWorkers(workers, timeout: .seconds(30)) else {
                local.stop()
                throw TestClusterError(description: "workers did not register in 30 s\n" + logText)
            }
        }
    }

    /// The status, or a failure naming the logs.
    public func status() throws -> ClusterStatus {
        guard let status = coordinator.status() else { throw TestClusterError(description: "no status\n" + logText) }
        return status
    }

    /// Waits until `condition` holds for the status, polling every 10 ms.
    public func wait(for what: String, timeout: Duration = .seconds(20), _ condition: (ClusterStatus) -> Bool) throws {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            if let status = coordinator.status(), condition(status) { return }
            Thread.sleep(forTimeInterval: 0.01)
        }
        throw TestClusterError(description: "timed out waiting for \(what)\n" + logText)
    }

    /// The coordinator's log and the tail of every worker's log, for failure messages.
    public var logText: String {
        var text = "--- status ---\n" + (coordinator.status()?.json ?? "none") + "\n--- coordinator ---\n" + lines.all.suffix(40).joined(separator: "\n")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: logs.url.path)) ?? []
        for file in files.sorted() {
            let content = (try? String(contentsOfFile: logs.path(file), encoding: .utf8)) ?? ""
            text += "\n--- \(file) ---\n" + content.split(separator: "\n").suffix(20).joined(separator: "\n")
        }
        return text
    }

    deinit { local.stop(grace: .seconds(2)) }
}

public struct TestClusterError: Error, CustomStringConvertible {
    public var description: String
}

/// Log lines collected from the coordinator's thread.
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

/// Whether a process with `pid` still exists (a zombie counts until it is reaped).
public func isAlive(_ pid: Int32) -> Bool {
    kill(pid, 0) == 0
}
