import Cluster
import Foundation
import Launch
import Wire

/// Starts and stops a cluster from a hostfile: the orchestration behind `loom cluster up/down`.
struct ClusterLauncher {
    static let defaultState = ".loom/cluster"

    let hostfilePath: String
    let hostfile: Hostfile
    let shell: RemoteShell
    let address: String
    let port: Int?
    /// The state folder, absolute.
    let directory: String
    let remoteLoom: String
    let remoteDirectory: String
    let timeout: Double
    /// Options the workers get as they are: slots, heartbeat, liveness, test kinds.
    let workerOptions: [String]
    /// Options the coordinator gets: heartbeat, liveness, test kinds.
    let coordinatorOptions: [String]

    init(_ arguments: Arguments) throws(CommandError) {
        hostfilePath = try arguments.required("hostfile", "a hostfile with one host per line")
        let perHost = try arguments.int("workers-per-host", minimum: 1) ?? 1
        guard perHost <= Hostfile.maximumSlots else { throw .usage("--workers-per-host \(perHost) is more than \(Hostfile.maximumSlots)") }
        do throws(HostfileError) { hostfile = try Hostfile.load(hostfilePath, defaultSlots: perHost) } catch {
            throw .usage("\(error)")
        }
        do throws(LaunchError) {
            shell = RemoteShell(program: try RemoteShell.program(from: arguments.string("rsh") ?? RemoteShell.defaultProgram.joined(separator: " ")))
            _ = try shell.executablePath()
        } catch {
            throw .usage("\(error)")
        }
        address = arguments.string("address") ?? ProcessInfo.processInfo.hostName
        // A host name, IPv4 or IPv6 address (brackets and a %zone allowed): it becomes the workers'
        // tcp:// endpoint, where a space or a shell character could only fail later, on each host.
        let hostCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]%")
        guard !address.isEmpty, address.count <= 255, address.allSatisfy(hostCharacters.contains),
              RemoteCommand.untransmittable([address]) == nil else {
            throw .usage("--address '\(address)' is not a host name or address")
        }
        port = try arguments.int("port", minimum: 1)
        if let port, port > 65535 { throw .usage("--port \(port) is not a TCP port (1-65535)") }
        directory = URL(fileURLWithPath: arguments.string("state") ?? ClusterLauncher.defaultState).standardizedFileURL.path
        remoteLoom = arguments.string("remote-loom") ?? ClusterOptions.executable.path
        remoteDirectory = arguments.string("remote-dir") ?? ClusterLauncher.defaultState
        timeout = try arguments.seconds("timeout") ?? 60
        var shared: [String] = []
        if let beat = try arguments.int("heartbeat-ms", minimum: 10, maximum: 3_600_000) { shared += ["--heartbeat-ms", String(beat)] }
        if let misses = try arguments.int("liveness", minimum: 1, maximum: 1000) { shared += ["--liveness", String(misses)] }
        if arguments.flag("test-kinds") { shared.append("--test-kinds") }
        coordinatorOptions = shared
        workerOptions = ["--slots", String(try arguments.int("slots", minimum: 1, maximum: 4096) ?? 1)] + shared
        if let bad = RemoteCommand.untransmittable([remoteLoom, remoteDirectory]) {
            throw .usage("'\(bad.debugDescription)' holds a NUL byte and cannot be sent to a host")
        }
    }

    /// A host that failed a step, and why.
    struct Failure { var destination: String; var reason: String }

    /// Marks a state's keys folder as cluster up's, so a later up may make its keys again.
    static let keysMarker = ".made-by-cluster-up"

    func up() throws(CommandError) {
        let clock = ContinuousClock.now
        if let existing = try ClusterLauncher.loadStateIfAny(directory) {
            throw .usage("a cluster is already recorded in \(ClusterState.path(in: directory)) (coordinator \(existing.endpoint ?? "not started"), "
                         + "\(existing.workers.count) worker(s)); run 'loom cluster down --state \(directory)' first, or give another --state")
        }
        let keysDirectory = directory + "/keys"
        // The state's keys are cluster up's own, made again each time; keys it did not make (a
        // --state of ~/.loom holds the user's coordinator pair) are never replaced.
        let madeHere = keysDirectory + "/" + Self.keysMarker
        let theirs = ["coordinator.key", "coordinator.pub", KeyStore.allowListFileName].filter {
            FileManager.default.fileExists(atPath: keysDirectory + "/" + $0)
        }
        if !theirs.isEmpty && !FileManager.default.fileExists(atPath: madeHere) {
            throw .usage("\(keysDirectory) holds \(theirs.joined(separator: ", ")), which 'loom cluster up' did not make and would replace; "
                         + "give --state a folder of its own (the default is \(ClusterLauncher.defaultState)), "
                         + "or remove \(keysDirectory) if an earlier loom's cluster up made them")
        }
        let pair: CurveKeyPair
        do {
            try FileManager.default.createDirectory(atPath: keysDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            guard FileManager.default.createFile(atPath: madeHere, contents: Data("made by loom cluster up\n".utf8)) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: madeHere])
            }
            pair = try KeyStore(directory: keysDirectory).generate(name: "coordinator", overwrite: true)
        } catch {
            throw .failure("cannot make the coordinator's keys in \(keysDirectory): \(error)")
        }
        var state = ClusterState(started: ISO8601DateFormatter().string(from: Date()), hostfile: hostfilePath, rsh: shell.program,
                                 remoteLoom: remoteLoom, remoteDirectory: remoteDirectory, keys: keysDirectory)
        try save(state)
        var failures: [Failure] = []

        // 1. A key pair made on each host; only its public key comes back.
        let hosts = hostfile.hosts
        Console.progress("cluster: making keys on \(hosts.count) host(s) through \(shell.program[0])")
        let keyResults = RemoteShell.forEach(Array(hosts.enumerated())) { [shell, remoteLoom, remoteDirectory] entry in
            ClusterLauncher.makeKey(shell: shell, remoteLoom: remoteLoom, remoteDirectory: remoteDirectory,
                                    destination: entry.element.destination, name: "worker-\(entry.offset)")
        }
        var ready: [(host: Hostfile.Host, key: String)] = []
        var allowed: [String] = []
        for (index, (host, result)) in zip(hosts, keyResults).enumerated() {
            switch result {
            case let .success(key):
                ready.append((host, "worker-\(index)"))
                allowed.append("\(key.text) \(host.destination)")
            case let .failure(error):
                failures.append(Failure(destination: host.destination, reason: "making its keys: \(error)"))
            }
        }
        guard !ready.isEmpty else {
            ClusterState.remove(from: directory)
            throw .failure("no host could be prepared:\n" + failures.map { "  \($0.destination): \($0.reason)" }.joined(separator: "\n"))
        }
        let allowList = keysDirectory + "/" + KeyStore.allowListFileName
        guard FileManager.default.createFile(atPath: allowList, contents: Data((allowed.joined(separator: "\n") + "\n").utf8),
                                             attributes: [.posixPermissions: 0o600]) else {
            throw .failure("cannot write the allow-list \(allowList)")
        }

        // 2. The coordinator, detached, admitting exactly those keys.
        let log = directory + "/coordinator.log"
        try? FileManager.default.removeItem(atPath: log)
        do {
            state.coordinatorPID = try DetachedProcess.start(
                executable: ClusterOptions.executable.path,
                arguments: ["coordinator", "--bind", "tcp://*:\(port.map(String.init) ?? "*")", "--keys", keysDirectory, "--key", "coordinator"]
                    + coordinatorOptions,
                log: log)
        } catch {
            throw .failure("\(error)")
        }
        try save(state)
        let boundPort = try waitForCoordinator(pid: state.coordinatorPID!, log: log)
        let endpoint = "tcp://\(address.contains(":") && !address.hasPrefix("[") ? "[\(address)]" : address):\(boundPort)"
        state.endpoint = endpoint
        try save(state)
        Console.progress("cluster: coordinator pid \(state.coordinatorPID!) listening on port \(boundPort); workers connect to \(endpoint)")

        // 3. The workers, detached on each host, named HOST/I.
        let starts = RemoteShell.forEach(ready) { [shell, remoteLoom, remoteDirectory, workerOptions] entry in
            ClusterLauncher.startWorkers(shell: shell, remoteLoom: remoteLoom, remoteDirectory: remoteDirectory, host: entry.host,
                                         keyName: entry.key, endpoint: endpoint, serverKey: pair.publicKey.text, options: workerOptions)
        }
        for ((host, _), result) in zip(ready, starts) {
            switch result {
            case let .success(workers): state.workers += workers
            case let .failure(error): failures.append(Failure(destination: host.destination, reason: "starting its workers: \(error)"))
            }
        }
        try save(state)

        // 4. Every worker registered, or the hosts named with what their workers logged.
        let security = CurveClientSecurity(keys: pair, serverPublicKey: pair.publicKey)
        let missing = waitForRegistration(state.workers, endpoint: endpoint, security: security)
        for (destination, workers) in ClusterState.byHost(missing) {
            let check = ClusterLauncher.check(shell: shell, remoteLoom: remoteLoom, remoteDirectory: remoteDirectory,
                                              destination: destination, endpoint: endpoint, workers: workers)
            failures.append(Failure(destination: destination, reason: "\(workers.count) worker(s) did not register within \(Int(timeout)) s:\n" + check))
        }
        let seconds = Double((ContinuousClock.now - clock).components.attoseconds) / 1e18 + Double((ContinuousClock.now - clock).components.seconds)
        let registered = state.workers.count - missing.count
        guard failures.isEmpty else {
            throw .failure("\(registered) of \(hostfile.workers.count) worker(s) registered; these hosts failed:\n"
                           + failures.map { "  \($0.destination): \($0.reason)" }.joined(separator: "\n")
                           + "\nThe coordinator and the workers that started are still up; 'loom cluster down --state \(directory)' stops them.")
        }
        Console.output(endpoint)
        Console.flush()
        Console.progress(String(format: "cluster: %d worker(s) on %d host(s) registered in %.1f s", registered, ready.count, seconds))
        Console.progress("run an experiment on it:  loom run FILE --connect \(endpoint) --curve --keys \(keysDirectory) --key coordinator")
        Console.progress("stop it:                  loom cluster down --state \(directory)")
    }

    private func save(_ state: ClusterState) throws(CommandError) {
        do { try state.save(to: directory) } catch { throw .failure("\(error)") }
    }

    /// Waits for the coordinator to print its endpoint; returns the port it bound.
    private func waitForCoordinator(pid: Int32, log: String) throws(CommandError) -> String {
        let end = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < end {
            let text = FileManager.default.contents(atPath: log).map { String(decoding: $0, as: UTF8.self) } ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("tcp://") }), let colon = line.lastIndex(of: ":") {
                return String(line[line.index(after: colon)...])
            }
            if !LocalProcesses.isRunning(pid) {
                throw .failure("the coordinator exited before listening; its log \(log) ends:\n" + text.split(separator: "\n").suffix(5).joined(separator: "\n")
                               + "\n'loom cluster down --state \(directory)' removes what was started")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw .failure("the coordinator (pid \(pid)) did not report its endpoint within 15 s; see \(log)")
    }

    /// Polls the coordinator until every worker named has registered or the timeout passes.
    /// - Returns: the workers that did not register.
    private func waitForRegistration(_ workers: [ClusterState.Worker], endpoint: String, security: CurveClientSecurity) -> [ClusterState.Worker] {
        guard !workers.isEmpty else { return [] }
        let end = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        var lastReport = ContinuousClock.now
        var registered: Set<String> = []
        let client = try? ClusterClient(connect: endpoint, security: security)
        while ContinuousClock.now < end {
            if let json = try? client?.status(timeout: .seconds(2)),
               let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
               let list = object["workers"] as? [[String: Any]] {
                registered = Set(list.compactMap { $0["name"] as? String })
            }
            let missing = workers.filter { !registered.contains($0.name) }
            if missing.isEmpty { return [] }
            if ContinuousClock.now - lastReport > .seconds(5) {
                lastReport = ContinuousClock.now
                Console.progress("cluster: \(workers.count - missing.count)/\(workers.count) worker(s) registered")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return workers.filter { !registered.contains($0.name) }
    }

    // MARK: - Remote steps (each one remote shell call per host)

    /// Runs `loom keys generate` on the host and returns the public key it printed.
    static func makeKey(shell: RemoteShell, remoteLoom: String, remoteDirectory: String,
                        destination: String, name: String) -> Result<CurveKey, LaunchError> {
        let outcome: RemoteShell.Outcome
        do {
            outcome = try shell.run(destination, [remoteLoom, "keys", "generate", "--name", name, "--keys", remoteDirectory + "/keys", "--force"])
        } catch { return .failure(error) }
        guard outcome.status == 0 else { return .failure(LaunchError(explain(outcome))) }
        guard let line = outcome.output.split(separator: "\n").last, let word = line.split(separator: " ").first,
              let key = try? CurveKey(text: String(word)) else {
            return .failure(LaunchError("the host answered without a public key: \(outcome.output.prefix(200).debugDescription)"))
        }
        return .success(key)
    }

    /// Runs `loom cluster node start` on the host and returns the workers it started.
    static func startWorkers(shell: RemoteShell, remoteLoom: String, remoteDirectory: String, host: Hostfile.Host, keyName: String,
                             endpoint: String, serverKey: String, options: [String]) -> Result<[ClusterState.Worker], LaunchError> {
        let logs = remoteDirectory + "/logs"
        let command = [remoteLoom, "cluster", "node", "start", "--connect", endpoint, "--count", String(host.slots),
                       "--name-prefix", host.destination, "--log-dir", logs, "--keys", remoteDirectory + "/keys", "--key", keyName,
                       "--server-key", serverKey] + options
        let outcome: RemoteShell.Outcome
        do { outcome = try shell.run(host.destination, command) } catch { return .failure(error) }
        var workers: [ClusterState.Worker] = []
        for line in outcome.output.split(separator: "\n") {
            let words = line.split(separator: " ", maxSplits: 1).map(String.init)
            guard words.count == 2, let pid = Int32(words[0]) else { continue }
            workers.append(ClusterState.Worker(destination: host.destination, name: words[1], pid: pid,
                                               log: ClusterNode.logPath(directory: logs, name: words[1])))
        }
        guard outcome.status == 0, workers.count == host.slots else {
            return .failure(LaunchError(explain(outcome) + (workers.isEmpty ? "" : " (\(workers.count) of \(host.slots) started)")))
        }
        return .success(workers)
    }

    /// What `loom cluster node check` says about workers that did not register.
    static func check(shell: RemoteShell, remoteLoom: String, remoteDirectory: String, destination: String,
                      endpoint: String, workers: [ClusterState.Worker]) -> String {
        let command = [remoteLoom, "cluster", "node", "check", "--connect", endpoint, "--log-dir", remoteDirectory + "/logs"]
            + workers.map { "\($0.pid):\($0.name)" }
        guard let outcome = try? shell.run(destination, command), outcome.status == 0 else {
            return "    (the host could not be asked why)"
        }
        return outcome.output.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
    }

    /// A failed remote command in one line: unreachable (ssh's 255), timed out, or its stderr.
    static func explain(_ outcome: RemoteShell.Outcome) -> String {
        if outcome.timedOut { return "no answer within the remote shell's time limit" }
        if outcome.status == 255 { return "cannot reach the host (remote shell exit 255): \(outcome.errorTail)" }
        if outcome.status == 127 { return "loom is not on that host at the path given (exit 127; see --remote-loom): \(outcome.errorTail)" }
        return "exit \(outcome.status): \(outcome.errorTail)"
    }

    // MARK: - down

    static func loadStateIfAny(_ directory: String) throws(CommandError) -> ClusterState? {
        do { return try ClusterState.load(from: directory) } catch { throw .failure("\(error)") }
    }

    static func loadState(_ directory: String) throws(CommandError) -> ClusterState {
        guard let state = try loadStateIfAny(directory) else {
            throw .usage("no cluster is recorded in \(directory) (no \(ClusterState.fileName)); start one with 'loom cluster up --hostfile FILE'")
        }
        return state
    }

    static func down(directory: String, grace: Double) throws(CommandError) {
        var state = try loadState(directory)
        let shell = RemoteShell(program: state.rsh, timeout: .seconds(Int64(grace) + 60))
        var kept: [ClusterState.Worker] = []
        var problems: [String] = []
        var counts: [String: Int] = [:]
        if let endpoint = state.endpoint {
            let groups = state.workersByHost
            let outcomes = RemoteShell.forEach(groups) { [state] group in
                Result { () throws(LaunchError) in
                    try shell.run(group.destination, [state.remoteLoom, "cluster", "node", "stop", "--connect", endpoint, "--grace", String(grace)]
                                  + group.workers.map { "\($0.pid):\($0.name)" })
                }
            }
            for (group, result) in zip(groups, outcomes) {
                var answered: [String: String] = [:]
                switch result {
                case let .success(outcome) where outcome.status == 0:
                    for line in outcome.output.split(separator: "\n") {
                        let words = line.split(separator: " ").map(String.init)
                        if words.count == 3 { answered[words[1]] = words[2] }
                    }
                case let .success(outcome):
                    problems.append("\(group.destination): \(explain(outcome))")
                case let .failure(error):
                    problems.append("\(group.destination): \(error)")
                }
                for worker in group.workers {
                    let outcome = answered[worker.name]
                    counts[outcome ?? "unreachable", default: 0] += 1
                    if outcome == nil || outcome == "stuck" { kept.append(worker) }
                }
            }
        }
        if let pid = state.coordinatorPID {
            let outcome = LocalProcesses.stop(pid, grace: .seconds(10)) { arguments in
                arguments.count > 1 && arguments[1] == "coordinator" && LocalProcesses.has(arguments, option: "keys", value: state.keys)
            }
            Console.progress("cluster: coordinator pid \(pid) \(outcome.rawValue)")
            if outcome == .stuck { problems.append("the coordinator (pid \(pid)) ignored SIGKILL") } else { state.coordinatorPID = nil }
        }
        let summary = counts.keys.sorted().map { "\(counts[$0]!) \($0)" }.joined(separator: ", ")
        Console.progress("cluster: workers: \(summary.isEmpty ? "none recorded" : summary)")
        guard problems.isEmpty, kept.isEmpty else {
            state.workers = kept
            do { try state.save(to: directory) } catch { throw .failure("\(error)") }
            throw .failure("not everything could be stopped:\n" + problems.map { "  " + $0 }.joined(separator: "\n")
                           + "\n\(kept.count) worker(s) are kept in \(ClusterState.path(in: directory)); run 'loom cluster down' again once the hosts answer")
        }
        ClusterState.remove(from: directory)
    }
}
