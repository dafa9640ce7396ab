import Foundation
import TensorCore
import Synchronization
import Wire
import Tasks

/// How a worker agent runs.
public struct WorkerConfiguration: Sendable {
    /// The coordinator's endpoint, e.g. `tcp://127.0.0.1:5555`.
    public var connect: String
    public var name: String
    /// Tasks held at once (credit): the coordinator never sends more.
    public var slots: Int
    /// The liveness rule until the coordinator's welcome states its own.
    public var liveness: Liveness
    public var registry: TaskRegistry
    /// CURVE client keys and the server's public key; nil for plain TCP.
    public var security: CurveClientSecurity?
    /// The host name other gang ranks use to reach this worker's peer socket.
    public var advertisedHost: String
    /// How long a draining worker lets its tasks finish before cancelling and handing them back.
    public var drainTimeout: Duration
    /// How long a gang rank waits for a message from a peer that is still alive. A dead peer is
    /// noticed by the coordinator's heartbeats, which cancel the attempt long before this; the
    /// timeout only ends a wait on a live but stuck peer, so it must exceed the longest step.
    public var peerTimeout: Duration
    public var version: String
    /// Whether to log every task's start and end (failures and cancellations are always logged).
    public var logsEveryTask: Bool
    public var log: ClusterLog
    /// Where a batch scheduler placed this worker (`KEY=VALUE`), sent when it registers.
    public var scheduler: [String] = []
    /// What this worker computes on (`KEY=VALUE`: cpu, tile, simd), sent when it registers.
    public var machine: [String] = []
    /// When results carry their artifact files (`CarriedFile`).
    public var carriesArtifacts: ArtifactCarrying = .whenRemote

    public init(connect: String, name: String, slots: Int = 1, liveness: Liveness = .standard,
                registry: TaskRegistry = .builtIn, security: CurveClientSecurity? = nil, advertisedHost: String = "127.0.0.1",
                drainTimeout: Duration = .seconds(10), peerTimeout: Duration = .seconds(3600), version: String,
                logsEveryTask: Bool = false, log: @escaping ClusterLog = { _ in }) {
        self.logsEveryTask = logsEveryTask
        self.connect = connect; self.name = name; self.slots = slots; self.liveness = liveness
        self.registry = registry; self.security = security; self.advertisedHost = advertisedHost
        self.drainTimeout = drainTimeout; self.peerTimeout = peerTimeout; self.version = version; self.log = log
    }
}

/// A worker agent: a DEALER connection to the coordinator, served from the calling thread
/// (heartbeats included), with each task on its own thread so a long task never looks dead.
public final class WorkerAgent {
    private let configuration: WorkerConfiguration
    private let context: Context
    private let mailbox: Mailbox
    /// Admits gang peers on this worker's CURVE peer sockets: the members of the current gang.
    private let zap: ZAPHandler?
    private var running: [Attempt: RunningTask] = [:]
    private var liveness: Liveness
    private var draining = false
    /// Whether results carry their artifact files: set when the coordinator's welcome shows it
    /// runs on another machine (read by task threads).
    private let carriesFiles = Flag()
    private var drainDeadline: ContinuousClock.Instant?

    private final class RunningTask {
        let context: TaskContext
        var handedBack = false
        init(context: TaskContext) { self.context = context }
    }

    /// Why `run` returned.
    public enum Exit: Sendable, Equatable {
        /// Drained and said goodbye.
        case drained
        /// The coordinator refused registration (the reason).
        case refused(String)
        /// The stop condition asked for an immediate stop.
        case stopped
    }

    /// Creates the agent; nothing connects until `run`.
    public init(_ configuration: WorkerConfiguration) throws(ClusterError) {
        self.configuration = configuration
        self.liveness = configuration.liveness
        do throws(WireError) {
            context = try Context()
            mailbox = Mailbox(wake: try WakeSignal())
            zap = configuration.security == nil ? nil : try ZAPHandler(context: context, allowList: AllowList([]))
        } catch { throw .wire(error) }
    }

    /// Serves the coordinator until drained, refused or stopped.
    /// - Parameters:
    ///   - shouldDrain: polled each tick; once true, the worker drains (SIGTERM).
    ///   - shouldStop: polled each tick; once true, the worker cancels its tasks and leaves at once.
    public func run(shouldDrain: () -> Bool, shouldStop: () -> Bool) -> Exit {
        // What a killed worker wrote before it died is nobody's now.
        let swept = TaskScratch.sweep()
        if !swept.isEmpty { configuration.log("removed \(swept.count) scratch folder(s) of processes that died (\(swept[0].path), …)") }
        var backoff = liveness.interval
        while true {
            let outcome = serveConnection(shouldDrain: shouldDrain, shouldStop: shouldStop)
            switch outcome {
            case let .exit(exit): return exit
            case .registered: backoff = liveness.interval
            case .lost: break
            }
            // The coordinator went silent: back off, then reconnect on a fresh socket.
            configuration.log("no coordinator at \(configuration.connect); reconnecting in \(String(format: "%.1f", backoff.inSeconds)) s")
            let end = ContinuousClock.now + backoff
            while ContinuousClock.now < end {
                if shouldStop() { cancelAll("worker stopping"); return .stopped }
                if shouldDrain() && running.isEmpty { return .drained }
                Thread.sleep(forTimeInterval: 0.02)
            }
            backoff = min(backoff * 2, liveness.interval * 16)
        }
    }

    private enum ConnectionOutcome { case exit(Exit), registered, lost }

    /// One connection's life: register, serve, and return when the coordinator is silent too long.
    private func serveConnection(shouldDrain: () -> Bool, shouldStop: () -> Bool) -> ConnectionOutcome {
        do throws(WireError) {
            let socket = try Socket(context, kind: .dealer, limit: .control)
            try socket.set(.sendHighWaterMark(100_000))
            try socket.set(.receiveHighWaterMark(100_000))
            if let security = configuration.security { try security.apply(to: socket) }
            try socket.connect(configuration.connect)
            return serve(socket, shouldDrain: shouldDrain, shouldStop: shouldStop)
        } catch {
            configuration.log("cannot connect to \(configuration.connect): \(error)")
            return .lost
        }
    }

    private func serve(_ socket: borrowing Socket, shouldDrain: () -> Bool, shouldStop: () -> Bool) -> ConnectionOutcome {
        var registered = false
        var everRegistered = false
        var lastHeard = ContinuousClock.now
        var lastSent = ContinuousClock.now
        func send(_ message: ClusterMessage) {
            _ = try? socket.send(message.message.frames, wait: false)
            lastSent = ContinuousClock.now
        }
        send(.register(info))
        var lastRegister = ContinuousClock.now
        if draining { send(.drain) }
        while true {
            let tick = min(liveness.interval / 4, .milliseconds(100))
            let ready = (try? Poller.wait([socket.pollItem, mailbox.wake.pollItem], timeout: tick)) ?? [false, false]
            if ready[1] { mailbox.wake.clear() }
            let now = ContinuousClock.now
            while let received = try? socket.receive(timeout: .zero) {
                lastHeard = now
                guard !received.truncated, let message = try? ClusterMessage(Message(frames: received.frames[...])) else {
                    configuration.log("dropped a malformed message from the coordinator")
                    continue
                }
                switch message {
                case let .welcome(workerID, heartbeat, misses, coordinatorHost):
                    registered = true
                    everRegistered = true
                    carriesFiles.value.store(configuration.carriesArtifacts.carries(coordinatorHost: coordinatorHost), ordering: .relaxed)
                    liveness = Liveness(interval: .milliseconds(Int64(heartbeat)), misses: misses)
                    configuration.log("registered with \(configuration.connect) as worker #\(workerID)")
                case .heartbeat: break
                case .reregister:
                    // Every heartbeat a restarted coordinator did not know is answered with
                    // this; register once per interval, not once per answer.
                    guard registered || now - lastRegister >= liveness.interval else { break }
                    registered = false
                    send(.register(info))
                    lastRegister = now
                    if draining { send(.drain) }
                case let .refused(reason):
                    configuration.log("the coordinator refused this worker: \(reason)")
                    return .exit(.refused(reason))
                case let .task(taskID, attempt, kind, params, gang, carryFiles):
                    if configuration.logsEveryTask { configuration.log("task \(taskID) attempt \(attempt) (\(kind)\(gang.map { ", rank \($0.rank) of \($0.size)" } ?? "")) started") }
                    start(taskID: taskID, attempt: attempt, kind: kind, params: params, gang: gang, carryFiles: carryFiles)
                case let .gangStart(taskID, attempt, endpoints, hosts):
                    running[Attempt(taskID: taskID, number: attempt)]?.context.gang?.deliver(endpoints: endpoints, hosts: hosts)
                case let .cancel(taskID, attempt, reason):
                    configuration.log("task \(taskID) attempt \(attempt) cancelled: \(reason)")
                    running[Attempt(taskID: taskID, number: attempt)]?.context.cancel(reason)
                default:
                    configuration.log("ignored an unexpected '\(message.command)' from the coordinator")
                }
            }
            // Results and gang endpoints from task threads.
            for message in mailbox.takeAll() {
                if case let .result(result) = message {
                    let key = Attempt(taskID: result.taskID, number: result.attempt)
                    let task = running.removeValue(forKey: key)
                    if task?.handedBack == true { continue }      // already handed back
                    if configuration.logsEveryTask || !result.succeeded { configuration.log("task \(result.taskID) attempt \(result.attempt) "
                                      + (result.succeeded ? "finished" : "failed: \(result.error)")
                                      + String(format: " after %.3f s", result.seconds)) }
                }
                send(message)
            }
            if shouldStop() {
                cancelAll("worker stopping")
                send(.bye)
                return .exit(.stopped)
            }
            if shouldDrain() && !draining {
                draining = true
                drainDeadline = now + configuration.drainTimeout
                configuration.log("draining: finishing \(running.count) task(s), at most \(configuration.drainTimeout)")
                send(.drain)
            }
            if draining {
                if let deadline = drainDeadline, now >= deadline {
                    for (key, task) in running where !task.handedBack {
                        task.handedBack = true
                        task.context.cancel("worker draining")
                        send(.handBack(taskID: key.taskID, attempt: key.number))
                    }
                    running = running.filter { !$0.value.handedBack }
                }
                if running.isEmpty {
                    send(.bye)
                    return .exit(.drained)
                }
            }
            if now - lastSent >= liveness.interval { send(.heartbeat) }
            if now - lastHeard > liveness.deadline {
                configuration.log("the coordinator has been silent for \(String(format: "%.1f", (now - lastHeard).inSeconds)) s")
                return everRegistered || registered ? .registered : .lost
            }
        }
    }

    private var info: WorkerInfo {
        WorkerInfo(name: configuration.name, host: ProcessInfo.processInfo.hostName, hostID: HostIdentity.current.text,
                   pid: Int(getpid()), cores: Parallel.activeCores, slots: configuration.slots,
                   version: configuration.version, kinds: configuration.registry.names,
                   publicKey: configuration.security?.keys.publicKey.text ?? "", scheduler: configuration.scheduler,
                   machine: configuration.machine)
    }

    /// - Parameter carryFiles: the coordinator asks for the artifact files in the result (its
    ///   client is on another machine); `--carry-artifacts never` still refuses.
    private func start(taskID: UInt64, attempt: Int, kind name: String, params: [String: ParameterValue], gang: GangSlot?,
                       carryFiles: Bool = false) {
        let key = Attempt(taskID: taskID, number: attempt)
        guard running[key] == nil else { return }
        let security = configuration.security, zap = self.zap
        let membership = gang.map {
            GangMembership(slot: $0, taskID: taskID, attempt: attempt, context: context, security: security, zap: zap,
                           advertisedHost: configuration.advertisedHost, peerTimeout: configuration.peerTimeout)
        }
        membership?.peerDirectory = GangPeerEndpoint.directory(coordinator: configuration.connect)
        let mailbox = self.mailbox
        let taskContext = TaskContext(taskID: taskID, attempt: attempt, gang: membership, progress: { points, total in
            // The wire takes a total up to Int32.max: past it the coordinator drops the whole
            // message, and a worker whose every message is dropped is soon judged dead.
            let total = min(max(total, 0), Int(Int32.max))
            mailbox.post(.progress(taskID: taskID, attempt: attempt, points: points, total: total))
        })
        running[key] = RunningTask(context: taskContext)
        let registry = configuration.registry, workerName = configuration.name, carriesFiles = self.carriesFiles
        let asked = carryFiles && configuration.carriesArtifacts != .never
        let thread = Thread {
            let start = ContinuousClock.now
            var result = TaskResult(taskID: taskID, attempt: attempt, succeeded: false, metrics: [:], artifacts: [],
                                    error: "", seconds: 0, worker: workerName)
            do {
                let kind = try registry.kind(named: name)
                let params = try kind.resolve(params)
                if let membership {
                    let endpoint: String
                    do throws(WireError) { endpoint = try membership.bind() } catch { throw ClusterError.wire(error) }
                    mailbox.post(.gangBound(taskID: taskID, attempt: attempt, endpoint: endpoint, host: HostIdentity.current.text))
                    let wanted = kind.gangTopology?(params) ?? params["topology"]?.description ?? "mesh"
                    let topology = GangMembership.Topology(rawValue: wanted) ?? .mesh
                    try membership.connect(topology: topology, context: taskContext)
                }
                let outcome = try kind.body(taskContext, params)
                // A closing barrier: no rank tears down its mesh (and the shared memory behind
                // tensors it sent) until every rank has taken what was sent to it.
                try membership?.barrier(round: Int.max, context: taskContext)
                result.succeeded = true
                result.metrics = outcome.metrics
                result.artifacts = outcome.artifacts
                result.series = outcome.series
                if asked || carriesFiles.value.load(ordering: .relaxed) { result.files = CarriedFile.read(outcome.artifacts) }
            } catch {
                result.error = "\(error)"
            }
            membership?.tearDown()
            result.seconds = (ContinuousClock.now - start).inSeconds
            // The coordinator's socket refuses a message past the control limit (and drops this
            // worker's connection with it): such a result goes as a failure that says why.
            var bytes = ClusterMessage.result(result).message.frames.reduce(0) { $0 + $1.count }
            if bytes + MessageLimit.routingIDAllowance > MessageLimit.control.maximumBytes && !result.files.isEmpty {
                // The files do not fit beside this curve: the paths alone go (a shared filesystem still works).
                result.files = []
                bytes = ClusterMessage.result(result).message.frames.reduce(0) { $0 + $1.count }
            }
            if !result.files.isEmpty {
                // What the result carries is read from the result: the scratch folders it came
                // from go, save those holding a file it could not carry (a shared filesystem's).
                let carried = Set(result.files.map(\.path))
                TaskScratch.release(result.artifacts, keeping: result.artifacts.filter { !carried.contains($0) })
            }
            if bytes + MessageLimit.routingIDAllowance > MessageLimit.control.maximumBytes {
                TaskScratch.release(result.artifacts)   // the failure names no artifact
                result = TaskResult(taskID: taskID, attempt: attempt, succeeded: false, metrics: [:], artifacts: [],
                                    error: "the result is \(bytes) bytes (\(result.series.count) stepped metrics), past the "
                                        + "\(MessageLimit.control) limit of a control message; report fewer points "
                                        + "(measure less often) or write the curve to an artifact file",
                                    seconds: result.seconds, worker: workerName)
            }
            mailbox.post(.result(result))
        }
        thread.name = "loom-task-\(taskID)"
        thread.start()
    }

    private func cancelAll(_ reason: String) {
        for task in running.values { task.context.cancel(reason) }
    }
}

/// Messages from task threads to the worker's socket thread, with a signal that wakes its poll.
final class Mailbox: Sendable {
    private let messages = Mutex<[ClusterMessage]>([])
    let wake: WakeSignal

    init(wake: WakeSignal) { self.wake = wake }

    func post(_ message: ClusterMessage) {
        messages.withLock { $0.append(message) }
        wake.raise()
    }

    func takeAll() -> [ClusterMessage] {
        messages.withLock { let all = $0; $0 = []; return all }
    }
}

/// A flag shared between the worker's socket thread and its task threads.
final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}

/// When a worker's results carry the artifact files themselves.
public enum ArtifactCarrying: String, Sendable, CaseIterable {
    /// When the coordinator runs on another machine (its welcome says which): the store then
    /// gets the files without a shared filesystem.
    case whenRemote = "auto"
    case always
    /// Never: artifacts reach the store only through a shared filesystem.
    case never

    func carries(coordinatorHost: String) -> Bool {
        switch self {
        case .always: true
        case .never: false
        case .whenRemote: !HostIdentity(coordinatorHost).sharesMemory(with: HostIdentity.current)
        }
    }
}

