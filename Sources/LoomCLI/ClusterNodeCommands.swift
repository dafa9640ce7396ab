import Foundation
import Launch

/// The host side of `loom cluster up` and `down`, run there through the remote shell: start
/// detached workers, stop exactly those, and report on them. Users do not need to call these.
enum ClusterNode {
    /// `PID:NAME` words, as `up` records and `down` sends them.
    static func workers(_ words: [String]) throws(CommandError) -> [(pid: Int32, name: String)] {
        guard !words.isEmpty, words.count <= Hostfile.maximumSlots else {
            throw .usage("give between 1 and \(Hostfile.maximumSlots) workers as PID:NAME")
        }
        var result: [(Int32, String)] = []
        for word in words {
            guard let colon = word.firstIndex(of: ":"), let pid = Int32(word[..<colon]), pid > 0,
                  word.index(after: colon) < word.endIndex else {
                throw .usage("'\(word)' is not PID:NAME (e.g. 4242:node01/0)")
            }
            result.append((pid, String(word[word.index(after: colon)...])))
        }
        return result
    }

    /// A worker's log file in `directory`: its name with `/` made `-`.
    static func logPath(directory: String, name: String) -> String {
        "\(directory)/\(name.replacingOccurrences(of: "/", with: "-")).log"
    }

    /// Whether `arguments` is the worker `name` of the coordinator at `endpoint`.
    static func isWorker(_ arguments: [String], name: String, endpoint: String) -> Bool {
        arguments.count > 1 && arguments[1] == "worker"
            && LocalProcesses.has(arguments, option: "name", value: name)
            && LocalProcesses.has(arguments, option: "connect", value: endpoint)
    }
}

/// `loom cluster node start`: starts workers that outlive the remote shell, prints `PID NAME`.
enum ClusterNodeStartCommand: Command {
    static let words = ["cluster", "node", "start"]
    static let summary = "start detached workers on this host (run by 'loom cluster up' through the remote shell)"
    static let usage = "loom cluster node start --connect ADDR --count N --name-prefix P --log-dir DIR --keys DIR --key NAME --server-key KEY [--slots N] [--test-kinds]"
    static let options: [Option] = [
        .value("connect", "ADDR", "the coordinator's endpoint (required)"),
        .value("count", "N", "workers to start (default 1)"),
        .value("name-prefix", "P", "workers are named P/0, P/1, … (required)"),
        .value("log-dir", "DIR", "each worker's log goes to DIR/P-I.log (required)"),
        .value("slots", "N", "tasks each worker holds at once (default 1)"),
        ClusterOptions.heartbeat, ClusterOptions.liveness, ClusterOptions.testKinds,
        .value("keys", "DIR", "the key directory on this host (required)"),
        .value("key", "NAME", "this host's key pair (required)"),
        CurveOptions.serverKey,
    ]
    static let discussion = """
        Each worker runs in its own session with stdin from /dev/null, so it survives the remote \
        shell's exit and no hangup reaches it. Prints one line per worker: PID NAME.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        let connect = try arguments.required("connect", "the coordinator's endpoint")
        try ClusterOptions.checkEndpoint(connect, option: "connect")
        let count = try arguments.int("count", minimum: 1) ?? 1
        guard count <= Hostfile.maximumSlots else { throw .usage("--count \(count) is more than \(Hostfile.maximumSlots) workers on one host") }
        let prefix = try arguments.required("name-prefix", "the workers' name prefix")
        let logs = try arguments.required("log-dir", "the folder for the workers' logs")
        let keys = try arguments.required("keys", "the key directory")
        let key = try arguments.required("key", "this host's key pair")
        let serverKey = try arguments.required("server-key", "the coordinator's public key")
        do { try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) } catch {
            throw .failure("cannot create the log folder \(logs): \(error.localizedDescription)")
        }
        var shared = ["--connect", connect, "--slots", String(try arguments.int("slots", minimum: 1, maximum: 4096) ?? 1),
                      "--curve", "--keys", keys, "--key", key, "--server-key", serverKey]
        if let beat = try arguments.int("heartbeat-ms", minimum: 10, maximum: 3_600_000) { shared += ["--heartbeat-ms", String(beat)] }
        if let misses = try arguments.int("liveness", minimum: 1, maximum: 1000) { shared += ["--liveness", String(misses)] }
        if arguments.flag("test-kinds") { shared.append("--test-kinds") }
        let executable = ClusterOptions.executable.path
        for index in 0..<count {
            let name = "\(prefix)/\(index)"
            let pid: Int32
            do {
                pid = try DetachedProcess.start(executable: executable, arguments: ["worker", "--name", name] + shared,
                                                log: ClusterNode.logPath(directory: logs, name: name))
            } catch {
                throw .failure("\(error)")
            }
            Console.output("\(pid) \(name)")
        }
        Console.flush()
    }
}

/// `loom cluster node stop`: stops the given workers if they are still those workers.
enum ClusterNodeStopCommand: Command {
    static let words = ["cluster", "node", "stop"]
    static let summary = "stop workers on this host that 'loom cluster up' started (run by 'loom cluster down')"
    static let usage = "loom cluster node stop --connect ADDR PID:NAME…"
    static let options: [Option] = [
        .value("connect", "ADDR", "the coordinator the workers were started for (required)"),
        .value("grace", "S", "seconds between SIGTERM (drain) and SIGKILL (default 15)"),
    ]
    static let acceptsPositionals = true
    static let discussion = """
        A PID is signalled only while its command line is 'loom worker' with that --name and \
        --connect; a PID now held by another program is left alone. SIGTERM drains a worker (its \
        running tasks finish or are handed back); SIGKILL follows after --grace seconds. Prints \
        one line per worker: PID NAME stopped|gone|not-ours|stuck.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        let connect = try arguments.required("connect", "the coordinator's endpoint")
        let grace = try arguments.seconds("grace") ?? 15
        let workers = try ClusterNode.workers(arguments.positionals)
        let outcomes = RemoteShell.forEach(workers) { worker in
            LocalProcesses.stop(worker.pid, grace: .milliseconds(Int64(grace * 1000))) {
                ClusterNode.isWorker($0, name: worker.name, endpoint: connect)
            }
        }
        for (worker, outcome) in zip(workers, outcomes) { Console.output("\(worker.pid) \(worker.name) \(outcome.rawValue)") }
    }
}

/// `loom cluster node check`: whether the given workers run, and the end of each one's log.
enum ClusterNodeCheckCommand: Command {
    static let words = ["cluster", "node", "check"]
    static let summary = "report on workers that 'loom cluster up' started on this host (run by 'loom cluster up')"
    static let usage = "loom cluster node check --connect ADDR --log-dir DIR PID:NAME…"
    static let options: [Option] = [
        .value("connect", "ADDR", "the coordinator the workers were started for (required)"),
        .value("log-dir", "DIR", "the folder of the workers' logs (required)"),
    ]
    static let acceptsPositionals = true
    static let discussion = "Prints one line per worker: PID NAME running|exited, then the last lines of its log, each indented."

    static func run(_ arguments: Arguments) throws(CommandError) {
        let connect = try arguments.required("connect", "the coordinator's endpoint")
        let logs = try arguments.required("log-dir", "the folder of the workers' logs")
        for worker in try ClusterNode.workers(arguments.positionals) {
            let running = LocalProcesses.commandLine(of: worker.pid).map { ClusterNode.isWorker($0, name: worker.name, endpoint: connect) } ?? false
            Console.output("\(worker.pid) \(worker.name) \(running ? "running" : "exited")")
            let path = ClusterNode.logPath(directory: logs, name: worker.name)
            let text = FileManager.default.contents(atPath: path).map { String(decoding: $0.suffix(4096), as: UTF8.self) } ?? "(no log at \(path))"
            for line in text.split(separator: "\n").suffix(5) { Console.output("    \(line)") }
        }
    }
}
