import Cluster
import Foundation
import Launch
import TensorCore

/// `loom worker`: a worker agent that serves a coordinator until drained.
enum WorkerCommand: Command {
    static let words = ["worker"]
    static let summary = "run a worker agent for a coordinator"
    static let usage = "loom worker --connect ADDR [--slots N] [--name X] [options]"
    static let options: [Option] = [
        .value("connect", "ADDR", "the coordinator's endpoint (required)"),
        .value("slots", "N", "tasks held at once (default 1)"),
        .value("name", "X", "name shown in 'loom status' (default host-pid)"),
        .value("advertise", "HOST", "address gang peers use to reach this worker (default: 127.0.0.1 for a loopback coordinator, "
               + "else this host's address on the route to the coordinator, else its name)"),
        .value("peer-timeout", "S", "seconds a gang rank waits on a live peer before failing the attempt (default 3600)"),
        .value("drain-timeout", "S", "seconds a draining worker lets its tasks finish before handing them back (default 10)"),
        ClusterOptions.heartbeat, ClusterOptions.liveness,
        .flag("verbose", "log every task's start and end (failures are always logged)"),
        .flag("exit-with-parent", "leave when the parent process dies (used by 'loom up')"),
        .value("carry-artifacts", "WHEN", "send artifact files inside results: auto (when the coordinator is on another machine; "
               + "default), always, or never (a shared filesystem carries them)"),
        ClusterOptions.testKinds,
    ] + CurveOptions.options + [CurveOptions.serverKey]
    static let discussion = """
        SIGTERM, SIGUSR2 (what Slurm sends before a time limit or preemption with \
        --signal=USR2@SECONDS) or Ctrl-C drains the worker: it takes no new task, lets running ones finish for \
        --drain-timeout seconds, hands back the rest to be run elsewhere, and leaves. A second \
        Ctrl-C leaves at once. When the coordinator goes silent, the worker reconnects with \
        back-off (one heartbeat, doubling up to 16) and registers again.

        The worker runs the kinds it registers with the rights of the user who started it. The \
        test-only kinds (append, artifact, crash, fail) are among them only with --test-kinds.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        let connect = try arguments.required("connect", "the coordinator's endpoint, e.g. tcp://127.0.0.1:5555")
        try ClusterOptions.checkEndpoint(connect, option: "connect")
        let slots = try arguments.int("slots", minimum: 1, maximum: 4096) ?? 1
        let name = arguments.string("name") ?? defaultName(ProcessInfo.processInfo.environment)
        guard !name.isEmpty, name.count <= 128, !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .usage("--name must be 1 to 128 characters without control characters (a newline, an escape); got \(name.debugDescription)")
        }
        let drain = try arguments.seconds("drain-timeout") ?? 10
        let advertise = arguments.string("advertise") ?? defaultAdvertisedHost(connect)
        let security = try CurveOptions.client(arguments, endpoint: connect)
        let signals = Signals()
        let parent = getppid()
        let watchParent = arguments.flag("exit-with-parent")
        var configuration = WorkerConfiguration(
            connect: connect, name: name, slots: slots, liveness: try ClusterOptions.liveness(arguments),
            registry: LoomTasks.registry(testKinds: arguments.flag("test-kinds")),
            security: security, advertisedHost: advertise, drainTimeout: .milliseconds(Int64(drain * 1000)),
            peerTimeout: .milliseconds(Int64((try arguments.seconds("peer-timeout") ?? 3600) * 1000)),
            version: Provenance.loomVersion, logsEveryTask: arguments.flag("verbose"), log: clusterLog("worker \(name)"))
        configuration.scheduler = SlurmPlacement.entries(ProcessInfo.processInfo.environment)
        configuration.machine = machineEntries
        if let carry = arguments.string("carry-artifacts") {
            guard let policy = ArtifactCarrying(rawValue: carry) else {
                throw .usage("--carry-artifacts must be auto, always or never; got '\(carry)'")
            }
            configuration.carriesArtifacts = policy
        }
        let agent: WorkerAgent
        do { agent = try WorkerAgent(configuration) } catch {
            throw .failure("cannot start the worker: \(error)")
        }
        let exit = agent.run(
            shouldDrain: { signals.received },
            shouldStop: { signals.interruptCount >= 2 || (watchParent && getppid() != parent) })
        switch exit {
        case .drained, .stopped: return
        case let .refused(reason): throw .failure("the coordinator at \(connect) refused this worker: \(reason)")
        }
    }

    /// The address gang peers reach this worker at: on the network the coordinator is reached
    /// through (peers reach the coordinator the same way), not a host name that may resolve to
    /// loopback or to another interface.
    static func defaultAdvertisedHost(_ connect: String) -> String {
        if ClusterOptions.isLoopback(connect) { return "127.0.0.1" }
        let authority = connect.dropFirst("tcp://".count)
        let host = authority.hasPrefix("[") ? String(authority.prefix(through: authority.firstIndex(of: "]") ?? authority.startIndex))
                                            : String(authority.split(separator: ":").first ?? "")
        return RouteSource.address(toward: host) ?? ProcessInfo.processInfo.hostName
    }

    /// `NODE/JOB.TASK` for a task srun started (stable across a requeue, readable in status);
    /// else `HOST-PID`.
    static func defaultName(_ environment: [String: String]) -> String {
        let host = ProcessInfo.processInfo.hostName
        if let job = environment["SLURM_JOB_ID"], let task = environment["SLURM_PROCID"] {
            return "\(environment["SLURMD_NODENAME"] ?? host)/\(job).\(task)"
        }
        return "\(host)-\(getpid())"
    }

    /// What this worker computes on, for its registration (`WorkerInfo.machine`): the CPU model,
    /// the register tile chosen at run time, the build's vector target and OpenBLAS's core.
    static var machineEntries: [String] {
        let limit = WorkerInfo.machineLimits.bytes
        return [("cpu", Provenance.cpuModel), ("tile", TileKernel.active.rawValue), ("simd", SIMDTarget.buildTarget),
                ("blas", BLAS.coreName)].map { key, value in
            var entry = "\(key)=\(value)"
            while entry.utf8.count > limit { entry.removeLast() }
            return entry
        }
    }
}
