import Cluster
import Foundation
import Launch
import Wire

/// `loom cluster up`: a coordinator here and workers on the hosts of a hostfile, started through
/// the remote shell, with CURVE keys made on each host and an allow-list of exactly those.
enum ClusterUpCommand: Command {
    static let words = ["cluster", "up"]
    static let summary = "start a coordinator here and workers on the hosts of a hostfile (through ssh)"
    static let usage = "loom cluster up --hostfile FILE [--workers-per-host N] [--rsh PROGRAM] [--address HOST] [--port N] [--state DIR] [options]"
    static let options: [Option] = [
        .value("hostfile", "FILE", "one host per line, 'slots=N' for its number of workers (required; docs/cluster.md)"),
        .value("workers-per-host", "N", "workers on a host whose line gives no slots= (default 1)"),
        .value("slots", "N", "tasks each worker holds at once (default 1)"),
        .value("rsh", "PROGRAM", "the remote shell, split on blanks, run as PROGRAM… HOST COMMAND (default 'ssh -o BatchMode=yes -o ConnectTimeout=10')"),
        .value("address", "HOST", "the address the hosts reach this machine at (default: this host's name)"),
        .value("port", "N", "the coordinator's TCP port (default: any free port; give one to open in a firewall)"),
        .value("state", "DIR", "where the cluster's state, keys and coordinator log are kept (default .loom/cluster)"),
        .value("remote-loom", "PATH", "the loom executable on the hosts (default: this executable's path, as on a shared filesystem)"),
        .value("remote-dir", "DIR", "the folder on each host for its keys and worker logs (default .loom/cluster, under the remote shell's "
               + "working directory: home for ssh)"),
        .value("timeout", "S", "seconds to wait for every worker to register (default 60)"),
        ClusterOptions.heartbeat, ClusterOptions.liveness, ClusterOptions.testKinds,
    ]
    static let discussion = """
        Steps: (1) on each host, through the remote shell, 'loom keys generate' makes that host's \
        key pair (the secret key never leaves the host) and prints its public key; (2) a \
        coordinator starts here on tcp://*:PORT with a fresh pair and an allow-list of exactly \
        those public keys; (3) each host starts its workers, detached, with the coordinator's \
        public key; (4) up waits until every worker has registered, or names each host whose \
        workers did not and shows the end of their logs. Every remote command is one argument \
        vector, quoted for the remote shell: no host name or path is read as shell syntax.

        On success up prints the endpoint on stdout and how to run an experiment on the cluster. \
        What it started is recorded in STATE/cluster.json; 'loom cluster down' stops exactly \
        those processes, also after a partial start. 'loom cluster status' shows the workers.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        let launcher = try ClusterLauncher(arguments)
        try launcher.up()
    }
}

/// `loom cluster down`: stops what `loom cluster up` started.
enum ClusterDownCommand: Command {
    static let words = ["cluster", "down"]
    static let summary = "stop the workers and the coordinator that 'loom cluster up' started"
    static let usage = "loom cluster down [--state DIR] [--grace S]"
    static let options: [Option] = [
        .value("state", "DIR", "the cluster's state folder (default .loom/cluster)"),
        .value("grace", "S", "seconds a worker gets to drain before SIGKILL (default 15)"),
    ]
    static let discussion = """
        Stops each worker through the remote shell, host by host in parallel, but only a PID whose \
        command line is still that worker of that coordinator; then the coordinator here. Hosts \
        that cannot be reached are named and kept in the state, so a second 'down' retries them.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        let directory = arguments.string("state") ?? ClusterLauncher.defaultState
        let grace = try arguments.seconds("grace") ?? 15
        try ClusterLauncher.down(directory: directory, grace: grace)
    }
}

/// `loom cluster status`: the running cluster's coordinator status.
enum ClusterStatusCommand: Command {
    static let words = ["cluster", "status"]
    static let summary = "show the workers of the cluster 'loom cluster up' started"
    static let usage = "loom cluster status [--state DIR] [--json]"
    static let options: [Option] = [
        .value("state", "DIR", "the cluster's state folder (default .loom/cluster)"),
        .flag("json", "print the coordinator's status as one JSON object"),
    ]
    static let discussion = "The same table as 'loom status', reached with the cluster's own keys."

    static func run(_ arguments: Arguments) throws(CommandError) {
        let directory = arguments.string("state") ?? ClusterLauncher.defaultState
        let state = try ClusterLauncher.loadState(directory)
        guard let endpoint = state.endpoint else { throw .failure("the cluster in \(directory) has no coordinator yet") }
        var words = ["--connect", endpoint, "--curve", "--keys", state.keys, "--key", "coordinator"]
        if arguments.flag("json") { words.append("--json") }
        guard let parsed = try Arguments.parse(words, command: StatusCommand.name, options: StatusCommand.options) else { return }
        try StatusCommand.run(parsed)
    }
}
