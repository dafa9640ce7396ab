import Cluster
import Foundation
import Launch

/// `loom coordinator`: runs a coordinator until Ctrl-C or SIGTERM.
enum CoordinatorCommand: Command {
    static let words = ["coordinator"]
    static let summary = "run a coordinator that workers connect to"
    static let usage = "loom coordinator --bind ADDR [--rendezvous FILE [--advertise HOST]] [--heartbeat-ms MS] [--liveness N] [--attempt-lease S] [--curve | --insecure-loopback] [--test-kinds]"
    static let options: [Option] = [
        .value("bind", "ADDR", "endpoint to bind, e.g. tcp://*:5555, or ipc://DIR/NAME in a directory only you can reach (required)"),
        .value("rendezvous", "FILE", "once bound, write the endpoint workers connect to into FILE (mode 0600, replaced "
               + "atomically, removed on exit): how a batch job hands a port chosen at run time to its workers"),
        .value("advertise", "HOST", "the host in the --rendezvous endpoint (default: this host's first non-loopback IPv4 address, else its name)"),
        ClusterOptions.heartbeat, ClusterOptions.liveness, ClusterOptions.insecureLoopback, ClusterOptions.testKinds,
    ] + workerLimitOptions + CurveOptions.options
    static let discussion = """
        Workers join with 'loom worker --connect ADDR'; 'loom status --connect ADDR' shows them. \
        The coordinator prints the endpoint it bound (a '*' port is resolved) on stdout, then logs \
        registrations, lost workers and requeued tasks on stderr. Ctrl-C or SIGTERM stops it; \
        workers then reconnect with back-off until a coordinator is back. CURVE is on for any bind \
        that is not loopback: the coordinator uses the pair 'coordinator' in the key directory and \
        admits the public keys in its allowed_keys file (and its own). A TCP bind on loopback \
        needs --curve too, or --insecure-loopback: without CURVE every user of this machine could \
        submit tasks that run as you, or pose as a worker (docs/wire.md, "Who can connect").

        The test-only kinds (append, artifact, crash, fail) are accepted only with --test-kinds; give it to \
        the workers and to 'loom submit' as well.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        let bind = try arguments.required("bind", "the endpoint to bind, e.g. tcp://127.0.0.1:5555")
        try ClusterOptions.checkEndpoint(bind, option: "bind")
        let liveness = try ClusterOptions.liveness(arguments)
        let security = try CurveOptions.server(arguments, endpoint: bind)
        let signals = Signals()
        var configuration = CoordinatorConfiguration(bind: bind, liveness: liveness, registry: LoomTasks.registry(testKinds: arguments.flag("test-kinds")),
                                                     security: security, log: clusterLog("coordinator"))
        try applyWorkerLimits(arguments, to: &configuration)
        let coordinator: Coordinator
        do {
            coordinator = try Coordinator(configuration)
        } catch {
            throw .failure("cannot start the coordinator on \(bind): \(error)")
        }
        Console.output(coordinator.endpoint)
        Console.flush()
        let rendezvous = arguments.string("rendezvous")
        if let rendezvous {
            let connect = try rendezvousEndpoint(coordinator.endpoint, advertise: arguments.string("advertise"))
            do { try writeRendezvous(connect, to: rendezvous) } catch {
                coordinator.stop()
                throw error
            }
            Console.progress("wrote \(connect) to \(rendezvous)")
        }
        while !signals.received { Thread.sleep(forTimeInterval: 0.05) }
        Console.progress("stopping the coordinator")
        if let rendezvous { try? FileManager.default.removeItem(atPath: rendezvous) }
        coordinator.stop()
    }

    /// What bounds the work one worker can hold; `loom up` takes the same options.
    static let workerLimitOptions: [Option] = [
        .value("attempt-lease", "S", "seconds an attempt may run when its task sets no timeout; past it the attempt "
               + "is cancelled and requeued on another worker (default 86400, a day; at least 0.1)"),
        .value("max-slots", "N", "the most slots one worker gets, whatever it asks for (default 64; also at most 8 per core it declares)"),
        .value("max-expired", "N", "leases expired in a row after which a worker is dropped and refused (default 2)"),
    ]

    /// Sets the lease, slot cap and expiry limit from `--attempt-lease`, `--max-slots`, `--max-expired`.
    static func applyWorkerLimits(_ arguments: Arguments, to configuration: inout CoordinatorConfiguration) throws(CommandError) {
        // A lease of a millisecond expires before any attempt can report back: every attempt was
        // cancelled and requeued, and each worker dropped after --max-expired. Tests use 0.5 s.
        if let lease = try arguments.seconds("attempt-lease", minimum: 0.1) {
            configuration.defaultAttemptTimeout = .milliseconds(Int64((lease * 1000).rounded(.up)))
        }
        if let slots = try arguments.int("max-slots", minimum: 1) { configuration.maxSlotsPerWorker = slots }
        if let expired = try arguments.int("max-expired", minimum: 1) { configuration.maxExpiredAttempts = expired }
    }

    /// The endpoint others connect to: the bound port on the advertised host (a wildcard bind
    /// such as tcp://*:* resolves to 0.0.0.0, which no other host can use).
    static func rendezvousEndpoint(_ bound: String, advertise: String?) throws(CommandError) -> String {
        guard bound.hasPrefix("tcp://"), let colon = bound.lastIndex(of: ":") else {
            throw .usage("--rendezvous needs a tcp:// bind (workers on other hosts cannot reach \(bound))")
        }
        var host = advertise ?? RouteSource.firstNonLoopbackAddress() ?? ProcessInfo.processInfo.hostName
        if host.contains(":") && !host.hasPrefix("[") { host = "[\(host)]" }
        return "tcp://\(host)\(bound[colon...])"
    }

    /// Writes `endpoint` to `path` readable by this user only, by rename, so a reader never sees half of it.
    static func writeRendezvous(_ endpoint: String, to path: String) throws(CommandError) {
        let temporary = path + ".\(getpid()).tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data((endpoint + "\n").utf8), attributes: [.posixPermissions: 0o600]),
              rename(temporary, path) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw .failure("cannot write the rendezvous file \(path); check that its folder exists and is yours")
        }
    }
}
