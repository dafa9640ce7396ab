import Cluster
import Foundation

/// `loom coordinator`: runs a coordinator until Ctrl-C or SIGTERM.
enum CoordinatorCommand: Command {
    static let words = ["coordinator"]
    static let summary = "run a coordinator that workers connect to"
    static let usage = "loom coordinator --bind ADDR [--heartbeat-ms MS] [--liveness N] [--curve | --insecure-loopback] [--test-kinds]"
    static let options: [Option] = [
        .value("bind", "ADDR", "endpoint to bind, e.g. tcp://*:5555, or ipc://DIR/NAME in a directory only you can reach (required)"),
        ClusterOptions.heartbeat, ClusterOptions.liveness, ClusterOptions.insecureLoopback, ClusterOptions.testKinds,
    ] + CurveOptions.options
    static let discussion = """
        Workers join with 'loom worker --connect ADDR'; 'loom status --connect ADDR' shows them. \
        The coordinator prints the endpoint it bound (a '*' port is resolved) on stdout, then logs \
        registrations, lost workers and requeued tasks on stderr. Ctrl-C or SIGTERM stops it; \
        workers then reconnect with back-off until a coordinator is back. CURVE is on for any bind \
        that is not loopback: the coordinator uses the pair 'coordinator' in the key directory and \
        admits the public keys in its allowed_keys file (and its own). A TCP bind on loopback \
        needs --curve too, or --insecure-loopback: without CURVE every user of this machine could \
        submit tasks that run as you, or pose as a worker (docs/wire.md, "Who can connect").

        The test-only kinds (append, crash, fail) are accepted only with --test-kinds; give it to \
        the workers and to 'loom submit' as well.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        let bind = try arguments.required("bind", "the endpoint to bind, e.g. tcp://127.0.0.1:5555")
        try ClusterOptions.checkEndpoint(bind, option: "bind")
        let liveness = try ClusterOptions.liveness(arguments)
        let security = try CurveOptions.server(arguments, endpoint: bind)
        let signals = Signals()
        let coordinator: Coordinator
        do {
            coordinator = try Coordinator(CoordinatorConfiguration(bind: bind, liveness: liveness, registry: LoomTasks.registry(testKinds: arguments.flag("test-kinds")), security: security, log: clusterLog("coordinator")))
        } catch {
            throw .failure("cannot start the coordinator on \(bind): \(error)")
        }
        Console.output(coordinator.endpoint)
        Console.flush()
        while !signals.received { Thread.sleep(forTimeInterval: 0.05) }
        Console.progress("stopping the coordinator")
        coordinator.stop()
    }
}
