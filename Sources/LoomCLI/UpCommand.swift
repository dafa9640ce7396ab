import Cluster
import Foundation
import TensorCore

/// `loom up`: the embedded default, a coordinator in this process and N local workers.
enum UpCommand: Command {
    static let words = ["up"]
    static let summary = "start a coordinator and N local worker processes"
    static let usage = "loom up [--workers N] [--bind ADDR [--curve | --insecure-loopback]] [--slots N] [--test-kinds]"
    static let options: [Option] = [
        .value("workers", "N", "local worker processes (default: the core count)"),
        .value("bind", "ADDR", "the coordinator's endpoint (default: a private ipc:// socket only you can reach, printed)"),
        .value("slots", "N", "tasks each worker holds at once (default 1)"),
        .value("logs", "DIR", "write each worker's log to DIR/worker-N.log (default: this terminal)"),
        ClusterOptions.heartbeat, ClusterOptions.liveness, ClusterOptions.insecureLoopback, ClusterOptions.testKinds,
    ] + CoordinatorCommand.workerLimitOptions + CurveOptions.options
    static let discussion = """
        Prints the coordinator's endpoint on stdout once every worker has registered; use it \
        with 'loom submit' and 'loom status'. Ctrl-C or SIGTERM stops the workers (SIGTERM, then \
        SIGKILL after 3 s) and waits for each, so no process is left behind; the workers also \
        leave by themselves if this process is killed.

        Without --bind the coordinator listens on ipc:// in a new directory of mode 0700 (under \
        $XDG_RUNTIME_DIR, else /tmp/loom-UID), removed when it stops: only you (and root) can \
        connect. A TCP bind on loopback needs --curve, or --insecure-loopback if every user of \
        this machine is trusted (docs/wire.md, "Who can connect").

        --test-kinds registers the test-only kinds (append, artifact, crash, fail) on the coordinator and \
        its workers; 'loom submit' needs it too to send them.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        let workers = try arguments.int("workers", minimum: 1) ?? Parallel.activeCores
        let bind = arguments.string("bind")
        if let bind { try ClusterOptions.checkEndpoint(bind, option: "bind") }
        let testKinds = arguments.flag("test-kinds")
        let liveness = try ClusterOptions.liveness(arguments)
        var workerArguments = ["--slots", String(try arguments.int("slots", minimum: 1, maximum: 4096) ?? 1),
                               "--heartbeat-ms", String(try arguments.int("heartbeat-ms", minimum: 10, maximum: 3_600_000) ?? 1000), "--liveness", String(liveness.misses)]
        if let bind, !ClusterOptions.isLoopback(bind) { workerArguments += ["--advertise", ProcessInfo.processInfo.hostName] }
        if testKinds { workerArguments.append("--test-kinds") }
        let security = try CurveOptions.server(arguments, endpoint: bind ?? "ipc:// (private)")
        if security != nil {
            // Local workers use the coordinator's own pair, which it always admits.
            workerArguments += ["--curve", "--key", arguments.string("key") ?? "coordinator"]
            if let keys = arguments.string("keys") { workerArguments += ["--keys", keys] }
        }
        let logs = arguments.string("logs").map { URL(fileURLWithPath: $0) }
        if let logs {
            do { try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true) } catch {
                throw .failure("cannot create the log directory \(logs.path): \(error.localizedDescription)")
            }
        }
        let signals = Signals()
        var configuration = CoordinatorConfiguration(bind: bind ?? "", liveness: liveness, registry: LoomTasks.registry(testKinds: testKinds),
                                                     security: security, log: clusterLog("coordinator"))
        try CoordinatorCommand.applyWorkerLimits(arguments, to: &configuration)
        let cluster: LocalCluster
        do {
            cluster = try LocalCluster(
                configuration: configuration,
                workers: workers, executable: ClusterOptions.executable, workerArguments: workerArguments, logDirectory: logs,
                bindsPrivately: bind == nil)
        } catch {
            throw .failure("cannot start the local cluster: \(error)")
        }
        defer { cluster.stop() }
        Console.progress("started the coordinator on \(cluster.coordinator.endpoint) and \(workers) worker(s): pids "
                         + cluster.workerPIDs.map(String.init).joined(separator: " "))
        var announced = false
        while !signals.received {
            if !announced, let dead = cluster.exitedWorkers.first {
                throw .failure("worker pid \(dead.pid) exited with status \(dead.status) before registering"
                               + (logs.map { "; see its log in \($0.path)" } ?? "; its error is above"))
            }
            if !announced, let status = cluster.coordinator.status(), status.workers.count >= workers {
                announced = true
                Console.output(cluster.coordinator.endpoint)
                Console.flush()
                Console.progress("all \(workers) worker(s) registered; Ctrl-C stops them")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        Console.progress("stopping \(workers) worker(s)")
    }
}
