import Foundation
import Synchronization
import Wire
import Tasks

/// How a coordinator runs: where it binds, the liveness rule, the kinds it accepts.
public struct CoordinatorConfiguration: Sendable {
    /// The endpoint to bind, e.g. `tcp://127.0.0.1:*` (the port is read back) or `tcp://*:5555`.
    public var bind: String
    public var liveness: Liveness
    /// The kinds submissions are checked against (workers must know them too).
    public var registry: TaskRegistry
    /// CURVE keys and the allow-list; nil serves plain TCP (the CLI allows that on loopback only).
    public var security: CurveServerSecurity?
    /// Where log lines go.
    public var log: ClusterLog
    /// Keep every attempt's start, loss and failure for `takeAttemptEvents()`; off by default,
    /// since the events pile up unless someone drains them.
    public var recordsAttemptEvents = false
    /// The most slots one worker gets, whatever it declares; it also gets at most 8 per core
    /// it declares. A worker that claims more is capped (and the cap logged).
    public var maxSlotsPerWorker = 64
    /// How long an attempt may run when its task sets no timeout. Past it the attempt is
    /// cancelled on its worker and requeued on another as a lost attempt. The default, a day,
    /// lets real training runs finish; it exists so a worker that takes a task and goes quiet
    /// (while still heartbeating) cannot hold it forever.
    public var defaultAttemptTimeout: Duration = .seconds(24 * 3600)
    /// Leases expired in a row (with no answer from the worker in between) after which the
    /// worker is dropped: told `refused`, forgotten and refused again for this coordinator's life.
    public var maxExpiredAttempts = 2
    /// Bytes one `results` or `events` reply to a client may carry; results and events past it
    /// wait for the client's next ask. Half the control sockets' message limit by default, so a
    /// client never has to refuse (and drop) a reply; tests lower it.
    public var replyBudget = MessageLimit.control.maximumBytes / 2

    public init(bind: String, liveness: Liveness = .standard, registry: TaskRegistry = .builtIn,
                security: CurveServerSecurity? = nil, log: @escaping ClusterLog = { _ in }) {
        self.security = security
        self.bind = bind
        self.liveness = liveness
        self.registry = registry
        self.log = log
    }
}

/// The coordinator: a ROUTER socket on its own thread that registers workers, tracks their
/// liveness, leases tasks to them and collects results.
///
/// All state lives on the socket thread; this object's methods reach it through a locked inbox
/// and a wake signal, so they are safe from any thread.
public final class Coordinator: Sendable {
    /// The bound endpoint, with a wildcard port resolved.
    public let endpoint: String
    private let configuration: CoordinatorConfiguration
    private let shared: Shared

    /// What the API side and the socket thread share; every field is thread-safe.
    private final class Shared: Sendable {
        let inbox = Mutex<[Request]>([])
        let wake: WakeSignal
        let stopping = Atomic<Bool>(false)
        let stopped = DispatchSemaphore(value: 0)
        let nextTaskID = Atomic<UInt64>(1)
        let results = Mutex<[UInt64: TaskResult]>([:])
        let attemptEvents = Mutex<[AttemptEvent]>([])
        init(wake: WakeSignal) { self.wake = wake }
    }

    private enum Request: Sendable {
        case submit(ids: [UInt64], kind: String, params: [String: ParameterValue], gang: Int, maxAttempts: Int, timeout: Duration?)
        case status(reply: @Sendable (ClusterStatus) -> Void)
    }

    /// Binds and starts the socket thread.
    /// - Throws: `ClusterError.wire` when the endpoint cannot be bound (in use, bad address).
    /// - Precondition: the configuration's slot cap and expiry limit are at least 1, its lease positive.
    public init(_ configuration: CoordinatorConfiguration) throws(ClusterError) {
        // Checked here, on the caller's thread, rather than on the socket thread that uses them.
        precondition(configuration.maxSlotsPerWorker >= 1 && configuration.defaultAttemptTimeout > .zero
                     && configuration.maxExpiredAttempts >= 1,
                     "CoordinatorConfiguration: maxSlotsPerWorker and maxExpiredAttempts must be at least 1 and defaultAttemptTimeout positive")
        self.configuration = configuration
        let shared: Shared
        do throws(WireError) { shared = Shared(wake: try WakeSignal()) } catch { throw .wire(error) }
        self.shared = shared
        let bound = Mutex<Result<String, WireError>?>(nil)
        let ready = DispatchSemaphore(value: 0)
        let context: Context
        do throws(WireError) { context = try Context() } catch { throw .wire(error) }
        let thread = Thread {
            do throws(WireError) {
                // The ZAP handler must run before the CURVE socket binds and outlive it: without
                // a handler, libzmq admits any client that completes the handshake.
                let zap = try configuration.security.map { security throws(WireError) in
                    try ZAPHandler(context: context, allowList: security.allowList)
                }
                defer { zap?.stop() }
                let socket = try Socket(context, kind: .router, limit: .control)
                if let security = configuration.security {
                    try socket.set(.curveServer(secretKey: security.keys.secretKey))
                }
                try socket.set(.routerMandatory(true))
                try socket.set(.sendHighWaterMark(100_000))
                try socket.set(.receiveHighWaterMark(100_000))
                try socket.bind(configuration.bind)
                let endpoint = socket.lastEndpoint
                bound.withLock { $0 = .success(endpoint) }
                ready.signal()
                let loop = CoordinatorLoop(socket: socket, endpoint: endpoint, configuration: configuration,
                                           shared: shared, zap: zap)
                loop.run()
            } catch {
                bound.withLock { $0 = .failure(error) }
                ready.signal()
            }
            shared.stopped.signal()
        }
        thread.name = "loom-coordinator"
        thread.start()
        ready.wait()
        switch bound.withLock({ $0 })! {
        case let .success(endpoint): self.endpoint = endpoint
        case let .failure(error): throw .wire(error)
        }
    }

    /// Queues `count` tasks of `kind` after checking the kind and its parameters.
    /// - Parameters:
    ///   - gang: 0 for a single-worker task; P ≥ 1 to run on P workers at once (gang kinds).
    ///   - maxAttempts: attempts allowed when the task itself fails (lost attempts count apart).
    ///   - timeout: an attempt running longer fails (and is cancelled on its workers); nil: the
    ///     configuration's `defaultAttemptTimeout` applies as a lease (the attempt is requeued).
    /// - Returns: the new task ids.
    /// - Throws: `ClusterError.invalidTask` naming the bad kind or parameter.
    @discardableResult
    public func submit(kind: String, params: [String: ParameterValue] = [:], count: Int = 1, gang: Int = 0,
                       maxAttempts: Int = 1, timeout: Duration? = nil) throws(ClusterError) -> [UInt64] {
        let resolved = try Coordinator.validate(kind: kind, params: params, gang: gang, registry: configuration.registry)
        guard count >= 1, maxAttempts >= 1 else { throw .invalidTask("count and max attempts must be at least 1") }
        if let timeout, timeout <= .zero { throw .invalidTask("a timeout must be positive") }
        let first = shared.nextTaskID.add(UInt64(count), ordering: .relaxed).oldValue
        let ids = (0..<UInt64(count)).map { first + $0 }
        shared.inbox.withLock { $0.append(.submit(ids: ids, kind: kind, params: resolved, gang: gang, maxAttempts: maxAttempts, timeout: timeout)) }
        shared.wake.raise()
        return ids
    }

    static func validate(kind name: String, params: [String: ParameterValue], gang: Int,
                         registry: TaskRegistry) throws(ClusterError) -> [String: ParameterValue] {
        let kind = try registry.kind(named: name)
        if kind.isGang && gang < 1 {
            throw .invalidTask("kind '\(name)' runs as a gang: give the gang size (gang ≥ 1)")
        }
        if !kind.isGang && gang != 0 {
            throw .invalidTask("kind '\(name)' runs on one worker; it cannot take a gang size")
        }
        return try kind.validate(params, gangSize: gang)
    }

    /// The finished results among `ids` (tasks still queued or running are absent).
    public func results(for ids: [UInt64]) -> [TaskResult] {
        shared.results.withLock { table in ids.compactMap { table[$0] } }
    }

    /// The attempt events since the last call, oldest first; empty unless the configuration's
    /// `recordsAttemptEvents` is on.
    public func takeAttemptEvents() -> [AttemptEvent] {
        shared.attemptEvents.withLock { events in defer { events = [] }; return events }
    }

    /// Waits until every task in `ids` has finished, or `timeout` passes.
    /// - Returns: the results, in the order of `ids`, or nil on timeout.
    public func waitForResults(_ ids: [UInt64], timeout: Duration) -> [TaskResult]? {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            let found = results(for: ids)
            if found.count == ids.count { return found }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return nil
    }

    /// A snapshot of workers, tasks and counters, taken on the socket thread.
    public func status(timeout: Duration = .seconds(5)) -> ClusterStatus? {
        let box = Mutex<ClusterStatus?>(nil)
        let done = DispatchSemaphore(value: 0)
        shared.inbox.withLock { $0.append(.status(reply: { status in box.withLock { $0 = status }; done.signal() })) }
        shared.wake.raise()
        guard done.wait(timeout: .now() + timeout.inSeconds) == .success else { return nil }
        return box.withLock { $0 }
    }

    /// Stops the socket thread and waits for it. Workers notice the silence and reconnect.
    public func stop() {
        guard !shared.stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        shared.wake.raise()
        shared.stopped.wait()
    }

    deinit { stop() }

    /// Runs on the socket thread: the poll loop around `CoordinatorState`.
    private final class CoordinatorLoop {
        let socket: Socket
        let endpoint: String
        let shared: Shared
        let zap: ZAPHandler?
        let state: CoordinatorState
        let log: ClusterLog
        let replyBudget: Int
        var malformedLogged = 0

        init(socket: consuming Socket, endpoint: String, configuration: CoordinatorConfiguration, shared: Shared,
             zap: ZAPHandler?) {
            self.zap = zap
            self.socket = socket
            self.endpoint = endpoint
            self.shared = shared
            self.log = configuration.log
            self.replyBudget = configuration.replyBudget
            self.state = CoordinatorState(liveness: configuration.liveness, registry: configuration.registry,
                                          log: configuration.log, maxSlotsPerWorker: configuration.maxSlotsPerWorker,
                                          defaultAttemptTimeout: configuration.defaultAttemptTimeout,
                                          maxExpiredAttempts: configuration.maxExpiredAttempts)
            state.recordsAttemptEvents = configuration.recordsAttemptEvents
        }

        func run() {
            let tick = min(state.liveness.interval / 4, .milliseconds(250))
            while !shared.stopping.load(ordering: .acquiring) {
                if let failure = zap?.failure {
                    // Serving on without the handler would admit any key: stop instead.
                    log("coordinator: the ZAP handler failed (\(failure)); stopping so no unlisted key gets in")
                    return
                }
                let ready: [Bool]
                do { ready = try Poller.wait([socket.pollItem, shared.wake.pollItem], timeout: tick) } catch {
                    log("coordinator: poll failed: \(error); stopping")
                    return
                }
                let now = ContinuousClock.now
                if ready[1] {
                    shared.wake.clear()
                    for request in shared.inbox.withLock({ let all = $0; $0 = []; return all }) {
                        switch request {
                        case let .submit(ids, kind, params, gang, maxAttempts, timeout):
                            state.enqueue(ids: ids, kind: kind, params: params, gang: gang, maxAttempts: maxAttempts, timeout: timeout)
                        case let .status(reply):
                            reply(status(now: now))
                        }
                    }
                }
                // Read everything queued (bounded per tick so liveness checks still run).
                // A bounded batch per turn, so heartbeats still go out during a flood.
                var budget = 2_000
                while budget > 0, let received = receiveOne() {
                    budget -= 1
                    handle(received, now: ContinuousClock.now)
                }
                // With messages still queued, a worker's heartbeat may be among them: judge
                // liveness only once the queue is drained, so a flood never kills a live worker.
                if budget > 0 { state.removeSilentWorkers(now: ContinuousClock.now) }
                state.expireAttempts(now: ContinuousClock.now)
                state.queueHeartbeats(now: ContinuousClock.now)
                state.dispatch()
                flush(now: now)
                // Events first: a reader that takes results, then events, has every result's start.
                if !state.attemptEvents.isEmpty {
                    shared.attemptEvents.withLock { $0.append(contentsOf: state.attemptEvents) }
                    state.attemptEvents = []
                }
                if !state.finished.isEmpty {
                    shared.results.withLock { table in for result in state.finished { table[result.taskID] = result } }
                    state.finished = []
                }
            }
        }

        private func status(now: ContinuousClock.Instant) -> ClusterStatus {
            var status = state.status(endpoint: endpoint, now: now)
            if let zap {
                status.counters["curve_accepted"] = zap.acceptedCount
                status.counters["curve_rejected"] = zap.rejectedCount
            }
            return status
        }

        private func receiveOne() -> ReceivedFrames? {
            do { return try socket.receive(timeout: .zero) } catch {
                log("coordinator: receive failed: \(error)")
                return nil
            }
        }

        private func handle(_ received: ReceivedFrames, now: ContinuousClock.Instant) {
            guard received.frames.count >= 2, !received.truncated else {
                dropped { "\(received.frames.count) frame(s)\(received.truncated ? ", truncated" : "")" }
                return
            }
            let routingID = received.frames[0]
            let message: ClusterMessage
            do {
                message = try ClusterMessage(Message(frames: received.frames.dropFirst()))
            } catch {
                dropped { error.description }
                return
            }
            switch message {
            case let .submit(kind, params, count, gang, maxAttempts, timeout, clientHost):
                do {
                    let resolved = try Coordinator.validate(kind: kind, params: params, gang: gang, registry: state.registry)
                    let first = shared.nextTaskID.add(UInt64(count), ordering: .relaxed).oldValue
                    let ids = (0..<UInt64(count)).map { first + $0 }
                    state.enqueue(ids: ids, kind: kind, params: resolved, gang: gang, maxAttempts: maxAttempts,
                                  timeout: timeout > 0 ? .milliseconds(timeout) : nil, clientHost: clientHost)
                    for id in ids { state.taskClients[id] = routingID }
                    state.outbox.append((routingID, .submitted(ids)))
                } catch {
                    state.count("rejected_submissions")
                    state.outbox.append((routingID, .error(error.description)))
                }
            case .statusRequest:
                state.outbox.append((routingID, .status(json: status(now: now).json)))
            case let .resultsRequest(ids):
                // One reply stays within the client's message limit: results past the budget stay
                // here (a result is kept until the coordinator stops) for the client's next ask.
                let found = Coordinator.withinBudget(replyBudget, ids.compactMap { state.tasks[$0]?.result }) { .results([$0]) }
                if found.count < ids.count(where: { state.tasks[$0]?.result != nil }) { state.count("replies_split") }
                // A client holding a task's result wants no more of its events.
                for result in found { state.taskClients[result.taskID] = nil }
                state.outbox.append((routingID, .results(found)))
                state.releaseCarriedFiles(of: found.map(\.taskID))
                shared.results.withLock { table in
                    for result in found where !(table[result.taskID]?.files.isEmpty ?? true) { table[result.taskID]?.files = [] }
                }
            case .eventsRequest:
                let waiting = state.clientEvents.removeValue(forKey: routingID) ?? []
                let sent = Coordinator.withinBudget(replyBudget, waiting) { .events([$0]) }
                if sent.count < waiting.count {
                    state.count("replies_split")
                    state.clientEvents[routingID] = Array(waiting[sent.count...])     // the next ask gets the rest
                }
                state.outbox.append((routingID, .events(sent)))
            default:
                state.handle(message, from: routingID, now: now)
            }
        }

        private func dropped(_ why: () -> String) {
            state.count("dropped_messages")
            // Log the first few and then every thousandth, so a flood cannot flood the log too.
            malformedLogged += 1
            if malformedLogged <= 5 || malformedLogged % 1000 == 0 {
                log("coordinator: dropped a message (\(malformedLogged) so far): \(why())")
            }
        }

        private func flush(now: ContinuousClock.Instant) {
            for (routingID, message) in state.outbox {
                do {
                    if try socket.send([routingID] + message.message.frames, wait: false) {
                        state.workers[routingID]?.lastSent = now
                    } else {
                        state.count("unroutable_sends")
                    }
                } catch {
                    state.count("failed_sends")
                }
            }
            state.outbox.removeAll(keepingCapacity: true)
        }
    }
}

extension Coordinator {
    /// The longest prefix of `items` whose messages, encoded one item each, fit in `budget`
    /// bytes; at least one item, which a worker already kept under the control limit.
    static func withinBudget<Item>(_ budget: Int, _ items: [Item], encoded: (Item) -> ClusterMessage) -> [Item] {
        var bytes = 0
        for (index, item) in items.enumerated() {
            let message = encoded(item).message
            bytes += message.header.count + message.payload.reduce(0) { $0 + $1.count }
            if bytes > budget && index > 0 { return Array(items[..<index]) }
        }
        return items
    }
}
