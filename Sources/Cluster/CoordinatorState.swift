import Foundation
import Wire
import Tasks

/// A task attempt: results are idempotent by this pair.
struct Attempt: Hashable {
    var taskID: UInt64
    var number: Int
}

/// The coordinator's bookkeeping. Only the coordinator's socket thread touches it, so it needs
/// no locks; everything it wants sent goes into `outbox`.
final class CoordinatorState {
    enum TaskState: String { case queued, running, succeeded, failed }

    final class TaskRecord {
        let id: UInt64
        let kind: String
        let params: [String: ParameterValue]
        let gangSize: Int                       // 0: a single-worker task
        let maxAttempts: Int
        let timeout: Duration?
        /// The submitting client's host identity; empty for a task submitted in this process.
        let clientHost: String
        var startedAt: ContinuousClock.Instant?
        var attempt = 1
        var state = TaskState.queued
        var failures = 0                        // attempts the task itself failed
        var losses = 0                          // attempts lost to dead workers or drains
        var members: [Data] = []                // routing ids, by rank
        var endpoints: [String?] = []           // gang peer endpoints, by rank
        var hosts: [String] = []                // gang ranks' host identities, by rank
        var avoided: Set<Int> = []              // worker ids that let an attempt outlive its lease
        var rankResults: [TaskResult?] = []
        var result: TaskResult?

        init(id: UInt64, kind: String, params: [String: ParameterValue], gangSize: Int, maxAttempts: Int, timeout: Duration?,
             clientHost: String = "") {
            self.id = id; self.kind = kind; self.params = params; self.gangSize = gangSize; self.maxAttempts = maxAttempts
            self.timeout = timeout; self.clientHost = clientHost
        }
    }

    final class WorkerRecord {
        let id: Int
        let routingID: Data
        let info: WorkerInfo
        /// The slots the coordinator uses: the declared ones, capped when it registered.
        let slots: Int
        var running: Set<Attempt> = []
        /// Leases that expired on this worker since it last answered for an attempt it held.
        var expiredInARow = 0
        var draining = false
        var lastHeard: ContinuousClock.Instant
        var lastSent: ContinuousClock.Instant

        init(id: Int, routingID: Data, info: WorkerInfo, slots: Int, now: ContinuousClock.Instant) {
            self.id = id; self.routingID = routingID; self.info = info; self.slots = slots; lastHeard = now; lastSent = now
        }

        var freeSlots: Int { draining ? 0 : slots - running.count }

        /// Who the worker says it is; a dropped worker is refused by this for good. The routing
        /// id changes with every connection, so it cannot be the key.
        var identity: String { WorkerRecord.identity(of: info) }
        static func identity(of info: WorkerInfo) -> String { "\(info.name) (pid \(info.pid) on \(info.host))" }
    }

    /// Slots used per declared core: tasks that wait on I/O or sleep can share a core, but a
    /// worker claiming thousands of slots would soak up the whole queue and sit on it.
    static let slotsPerCore = 8

    /// Losses tolerated before a task is failed: a task that kills every worker it touches
    /// (the `crash` kind) must not take down the whole cluster.
    static let maximumLosses = 3

    let liveness: Liveness
    let registry: TaskRegistry
    let log: ClusterLog
    /// The most slots any one worker gets, whatever it declares.
    let maxSlotsPerWorker: Int
    /// An attempt's lease when its task sets no timeout: past it, the attempt is cancelled and
    /// requeued elsewhere, so a worker that takes a task and goes quiet cannot hold it forever.
    let defaultAttemptTimeout: Duration
    /// Expired leases in a row after which a worker is dropped.
    let maxExpiredAttempts: Int
    /// Identities of dropped workers, refused when they register again.
    var droppedWorkers: Set<String> = []
    var workers: [Data: WorkerRecord] = [:]
    var tasks: [UInt64: TaskRecord] = [:]
    var queue: [UInt64] = []
    /// Running tasks, whose attempts' leases are checked; and the earliest time one can expire,
    /// so most turns skip the scan.
    var leased: Set<UInt64> = []
    var nextLeaseCheck: ContinuousClock.Instant?
    var queueHead = 0
    var nextWorkerID = 1
    var counters: [String: Int] = [:]
    var outbox: [(Data, ClusterMessage)] = []
    /// Finished tasks for the API side (drained by the thread into the shared table).
    var finished: [TaskResult] = []
    /// Attempt events for the API side, kept only when asked for (nobody else drains them).
    var attemptEvents: [AttemptEvent] = []
    var recordsAttemptEvents = false
    /// The client (routing id) that submitted each task over the network, while it may still
    /// want the task's events; and each client's events not yet asked for (`events?`).
    var taskClients: [UInt64: Data] = [:]
    var clientEvents: [Data: [AttemptEvent]] = [:]
    /// Events kept per client: a client that stops asking cannot grow the coordinator without
    /// bound; the oldest go first (counted as `dropped_client_events`).
    static let clientEventLimit = 100_000
    var succeeded = 0, failed = 0
    /// Bytes of carried artifact files held for clients, and the most that may be held.
    var carriedBytes = 0
    var carriedFileBudget = 1 << 30

    init(liveness: Liveness, registry: TaskRegistry, log: @escaping ClusterLog, maxSlotsPerWorker: Int = 64,
         defaultAttemptTimeout: Duration = .seconds(24 * 3600), maxExpiredAttempts: Int = 2) {
        precondition(maxSlotsPerWorker >= 1 && defaultAttemptTimeout > .zero && maxExpiredAttempts >= 1,
                     "the coordinator needs at least one slot per worker, a positive lease and at least one expiry")
        self.liveness = liveness
        self.registry = registry
        self.log = log
        self.maxSlotsPerWorker = maxSlotsPerWorker
        self.defaultAttemptTimeout = defaultAttemptTimeout
        self.maxExpiredAttempts = maxExpiredAttempts
    }

    func count(_ counter: String, by amount: Int = 1) { counters[counter, default: 0] += amount }

    private func record(_ event: AttemptEvent) {
        if recordsAttemptEvents { attemptEvents.append(event) }
        if let client = taskClients[event.taskID] {
            clientEvents[client, default: []].append(event)
            if let count = clientEvents[client]?.count, count > Self.clientEventLimit {
                clientEvents[client]?.removeFirst(count - Self.clientEventLimit)
                self.count("dropped_client_events", by: count - Self.clientEventLimit)
            }
        }
    }

    private func send(_ message: ClusterMessage, to routingID: Data) { outbox.append((routingID, message)) }

    // MARK: submissions

    /// Queues `count` copies of a validated task under the ids given.
    func enqueue(ids: [UInt64], kind: String, params: [String: ParameterValue], gang: Int, maxAttempts: Int,
                 timeout: Duration? = nil, clientHost: String = "") {
        for id in ids {
            tasks[id] = TaskRecord(id: id, kind: kind, params: params, gangSize: gang, maxAttempts: maxAttempts, timeout: timeout,
                                   clientHost: clientHost)
            queue.append(id)
        }
    }

    /// Ends every attempt that has run past its limit; its workers are told to cancel.
    ///
    /// A task's own `timeout` is part of the task: past it the attempt *fails* and is retried
    /// by the task's policy. Without one, the coordinator's lease applies: past it the attempt is
    /// *lost* (the worker, not the task, is suspect) and requeued on another worker, and a worker
    /// whose leases keep expiring is dropped.
    func expireAttempts(now: ContinuousClock.Instant) {
        guard let check = nextLeaseCheck, now >= check else { return }
        nextLeaseCheck = nil
        for id in leased {
            guard let task = tasks[id], task.state == .running, let started = task.startedAt else { leased.remove(id); continue }
            let limit = task.timeout ?? defaultAttemptTimeout
            guard now - started > limit else {
                nextLeaseCheck = min(nextLeaseCheck ?? started + limit, started + limit)
                continue
            }
            leased.remove(id)
            if let timeout = task.timeout {
                count("attempts_timed_out")
                failAttempt(task, reason: "timed out after \(String(format: "%g", timeout.inSeconds)) s (resources.timeout)", lost: false)
            } else {
                expireLease(of: task, limit: limit)
            }
        }
    }

    /// Requeues an attempt that outlived the default lease, charging the workers that held it.
    private func expireLease(of task: TaskRecord, limit: Duration) {
        let old = Attempt(taskID: task.id, number: task.attempt)
        // In a gang, ranks wait for each other, so only a rank that never bound its peer socket
        // is known to be the stuck one; a single task's worker is charged outright.
        let suspects = task.members.enumerated().compactMap { rank, member -> WorkerRecord? in
            guard let worker = workers[member], worker.running.contains(old) else { return nil }
            return task.gangSize == 0 || task.endpoints[rank] == nil ? worker : nil
        }
        let names = suspects.isEmpty ? task.members.compactMap { workers[$0]?.info.name } : suspects.map(\.info.name)
        let lease = String(format: "%g", limit.inSeconds)
        count("attempts_expired")
        for worker in suspects {
            worker.expiredInARow += 1
            task.avoided.insert(worker.id)
        }
        failAttempt(task, reason: "attempt exceeded its lease of \(lease) s on worker \(names.joined(separator: ","))", lost: true)
        for worker in suspects where worker.expiredInARow >= maxExpiredAttempts {
            drop(worker, reason: "its last \(worker.expiredInARow) attempts outlived their lease of \(lease) s without an answer")
        }
    }

    /// Stops using a worker for the life of this coordinator: tells it why, requeues what it
    /// holds and refuses its identity when it registers again.
    private func drop(_ worker: WorkerRecord, reason: String) {
        log("worker \(worker.identity) (#\(worker.id)) dropped: \(reason); it is refused until the coordinator restarts")
        count("workers_dropped")
        droppedWorkers.insert(worker.identity)
        send(.refused("dropped by the coordinator: \(reason); restart the coordinator to admit this worker again"),
             to: worker.routingID)
        remove(worker, reason: "its worker \(worker.info.name) was dropped")
    }

    // MARK: messages from peers

    func handle(_ message: ClusterMessage, from routingID: Data, now: ContinuousClock.Instant) {
        if case let .register(info) = message {
            register(info, routingID: routingID, now: now)
            return
        }
        guard let worker = workers[routingID] else {
            // A worker we declared dead, or a coordinator restart: it must register again.
            switch message {
            case .result: count("late_results"); send(.reregister, to: routingID)
            case .heartbeat, .gangBound, .handBack, .drain, .progress: send(.reregister, to: routingID); count("reregister_requests")
            case .bye: break
            default: count("unexpected_commands")
            }
            return
        }
        worker.lastHeard = now
        switch message {
        case .heartbeat: break
        case let .result(result): finish(result, from: worker)
        case let .progress(taskID, attempt, points, total):
            // Only the attempt this worker holds now; a late report of an older one is dropped.
            guard worker.running.contains(Attempt(taskID: taskID, number: attempt)), let task = tasks[taskID],
                  task.attempt == attempt, task.state == .running else { count("late_progress"); break }
            record(AttemptEvent(taskID: taskID, attempt: attempt, kind: .progress(points: points, total: total)))
        case let .gangBound(taskID, attempt, endpoint, host):
            gangBound(taskID: taskID, attempt: attempt, endpoint: endpoint, host: host, from: worker)
        case .drain:
            worker.draining = true
            log("worker \(worker.info.name) (#\(worker.id)) is draining")
        case let .handBack(taskID, attempt):
            let key = Attempt(taskID: taskID, number: attempt)
            guard worker.running.remove(key) != nil else { count("unexpected_commands"); return }
            if let task = tasks[taskID], task.attempt == attempt, task.state == .running {
                count("handed_back")
                failAttempt(task, reason: "handed back by draining worker \(worker.info.name)", lost: true)
            }
        case .bye:
            log("worker \(worker.info.name) (#\(worker.id)) left")
            remove(worker, reason: "it left")
        default:
            count("unexpected_commands")
        }
    }

    private func register(_ info: WorkerInfo, routingID: Data, now: ContinuousClock.Instant) {
        if let old = workers[routingID] { remove(old, reason: "it registered again") }
        let identity = WorkerRecord.identity(of: info)
        guard !droppedWorkers.contains(identity) else {
            count("registrations_refused")
            // A refused peer may retry in a loop: log the first few, then every thousandth.
            if let refused = counters["registrations_refused"], refused <= 5 || refused % 1000 == 0 {
                log("refused a registration from dropped worker \(identity) (\(refused) so far)")
            }
            send(.refused("worker \(identity) was dropped for letting its attempts outlive their lease; "
                          + "restart the coordinator to admit it again"), to: routingID)
            return
        }
        let slots = min(info.slots, info.cores * CoordinatorState.slotsPerCore, maxSlotsPerWorker)
        let record = WorkerRecord(id: nextWorkerID, routingID: routingID, info: info, slots: slots, now: now)
        nextWorkerID += 1
        workers[routingID] = record
        count("registrations")
        if slots < info.slots {
            count("slots_capped")
            log("worker \(identity) asked for \(info.slots) slots; using \(slots) (at most \(CoordinatorState.slotsPerCore) "
                + "per declared core, \(info.cores) core(s), and at most \(maxSlotsPerWorker) per worker)")
        }
        let tile = ClusterStatus.pairs(info.machine).first { $0.key == "tile" }.map { ", tile \($0.value)" } ?? ""
        log("worker \(info.name) (#\(record.id), pid \(info.pid) on \(info.host), \(slots) slot(s), loom \(info.version)\(tile)) registered")
        send(.welcome(workerID: record.id, heartbeatMilliseconds: Int(liveness.interval.wholeMilliseconds), liveness: liveness.misses,
                      coordinatorHost: HostIdentity.current.text),
             to: routingID)
    }

    private func finish(_ result: TaskResult, from worker: WorkerRecord) {
        let key = Attempt(taskID: result.taskID, number: result.attempt)
        let held = worker.running.remove(key) != nil
        // Any answer for an attempt it held, even one cancelled after its lease, shows the
        // worker is not sitting on its tasks.
        if held { worker.expiredInARow = 0 }
        guard held, let task = tasks[result.taskID],
              task.attempt == result.attempt, task.state == .running else {
            count("late_results")
            return
        }
        var result = result
        result.worker = worker.info.name
        if task.gangSize > 0 {
            guard let rank = task.members.firstIndex(of: worker.routingID) else { count("late_results"); return }
            guard result.succeeded else {
                failAttempt(task, reason: "rank \(rank) (\(worker.info.name)): \(result.error)", lost: false)
                return
            }
            task.rankResults[rank] = result
            guard task.rankResults.allSatisfy({ $0 != nil }) else { return }
            result = mergedGangResult(task)
        } else if !result.succeeded {
            failAttempt(task, reason: result.error, lost: false)
            return
        }
        complete(task, with: result)
    }

    private func mergedGangResult(_ task: TaskRecord) -> TaskResult {
        var merged = task.rankResults[0]!
        for (rank, rankResult) in task.rankResults.enumerated().dropFirst() {
            for (key, value) in rankResult!.metrics { merged.metrics["rank\(rank).\(key)"] = value }
            merged.artifacts += rankResult!.artifacts
            merged.files += rankResult!.files
            merged.series += rankResult!.series.map { StepMetric(name: "rank\(rank).\($0.name)", step: $0.step, value: $0.value) }
            merged.seconds = max(merged.seconds, rankResult!.seconds)
        }
        merged.metrics[TaskRegistry.gangSize.name] = .int(task.gangSize)
        if let summary = registry[task.kind]?.gangSummary {
            merged.metrics.merge(summary(task.rankResults.map { $0!.metrics }), uniquingKeysWith: { _, gang in gang })
        }
        merged.worker = task.rankResults.map { $0!.worker }.joined(separator: ",")
        return merged
    }

    private func complete(_ task: TaskRecord, with result: TaskResult) {
        leased.remove(task.id)
        task.state = result.succeeded ? .succeeded : .failed
        var result = result
        // Carried files are held until a client takes the result; past the budget they are
        // dropped (the paths stay, for a shared filesystem) rather than grow without bound.
        let carried = result.files.reduce(0) { $0 + $1.contents.count }
        if carried > 0 {
            if carriedBytes + carried > carriedFileBudget {
                result.files = []
                count("artifacts_not_carried")
            } else {
                carriedBytes += carried
            }
        }
        task.result = result
        if result.succeeded { succeeded += 1 } else { failed += 1 }
        finished.append(result)
    }

    /// Ends the current attempt: cancels gang members still running it, then retries or fails.
    /// - Parameter lost: the attempt was lost to infrastructure (a dead or draining worker),
    ///   which is counted apart from failures of the task itself.
    func failAttempt(_ task: TaskRecord, reason: String, lost: Bool) {
        let old = Attempt(taskID: task.id, number: task.attempt)
        for member in task.members {
            if let worker = workers[member], worker.running.contains(old) {
                send(.cancel(taskID: task.id, attempt: task.attempt,
                             reason: task.gangSize > 0 ? "gang attempt failed: \(reason)" : reason), to: member)
            }
        }
        if lost { task.losses += 1 } else { task.failures += 1 }
        record(AttemptEvent(taskID: task.id, attempt: task.attempt, kind: lost ? .lost(reason: reason) : .failed(reason: reason)))
        count(lost ? "attempts_lost" : "attempts_failed")
        let exhausted = lost ? task.losses >= CoordinatorState.maximumLosses : task.failures >= task.maxAttempts
        if exhausted {
            let why = lost ? "lost \(task.losses) time(s), last: \(reason)" : "failed \(task.failures) time(s), last: \(reason)"
            log("task \(task.id) (\(task.kind)) failed: \(why)")
            complete(task, with: TaskResult(taskID: task.id, attempt: task.attempt, succeeded: false, metrics: [:],
                                            artifacts: [], error: why, seconds: 0, worker: ""))
            return
        }
        log("task \(task.id) (\(task.kind)) attempt \(task.attempt) \(lost ? "lost" : "failed"): \(reason); requeued as attempt \(task.attempt + 1)")
        task.attempt += 1
        task.state = .queued
        leased.remove(task.id)
        task.members = []
        queue.append(task.id)
    }

    // MARK: gangs

    private func gangBound(taskID: UInt64, attempt: Int, endpoint: String, host: String, from worker: WorkerRecord) {
        guard let task = tasks[taskID], task.attempt == attempt, task.state == .running,
              let rank = task.members.firstIndex(of: worker.routingID) else {
            count("late_results")
            return
        }
        task.endpoints[rank] = endpoint
        task.hosts[rank] = host
        guard task.endpoints.allSatisfy({ $0 != nil }) else { return }
        let endpoints = task.endpoints.map { $0! }
        for member in task.members {
            send(.gangStart(taskID: taskID, attempt: attempt, endpoints: endpoints, hosts: task.hosts), to: member)
        }
    }

    // MARK: liveness

    /// Declares silent workers dead and requeues their tasks.
    func removeSilentWorkers(now: ContinuousClock.Instant) {
        for worker in Array(workers.values) where now - worker.lastHeard > liveness.deadline {
            log("worker \(worker.info.name) (#\(worker.id), pid \(worker.info.pid)) is dead: silent for \(String(format: "%.1f", (now - worker.lastHeard).inSeconds)) s")
            count("workers_lost")
            remove(worker, reason: "its worker \(worker.info.name) died")
        }
    }

    /// Queues a heartbeat for every worker sent nothing for an interval.
    func queueHeartbeats(now: ContinuousClock.Instant) {
        for worker in workers.values where now - worker.lastSent >= liveness.interval {
            send(.heartbeat, to: worker.routingID)
        }
    }

    private func remove(_ worker: WorkerRecord, reason: String) {
        workers[worker.routingID] = nil
        for key in worker.running {
            if let task = tasks[key.taskID], task.attempt == key.number, task.state == .running {
                failAttempt(task, reason: reason, lost: true)
            }
        }
    }

    // MARK: dispatch

    /// Hands queued tasks to workers with free slots, single tasks by credit, gangs to idle workers.
    func dispatch() {
        guard queueHead < queue.count else { return }
        var capacity = workers.values.reduce(0) { $0 + max(0, $1.freeSlots) }
        var deferred: [UInt64] = []
        while queueHead < queue.count && capacity > 0 {
            let id = queue[queueHead]
            queueHead += 1
            guard let task = tasks[id], task.state == .queued else { continue }
            if task.gangSize > 0 {
                let idle = workers.values.filter { $0.running.isEmpty && !$0.draining && $0.info.kinds.contains(task.kind) }
                guard idle.count >= task.gangSize else { deferred.append(id); continue }
                // Workers that let an earlier attempt expire go last.
                let members = idle.sorted { (task.avoided.contains($0.id) ? 1 : 0, $0.id) < (task.avoided.contains($1.id) ? 1 : 0, $1.id) }
                    .prefix(task.gangSize)
                start(task, on: Array(members))
                capacity -= members.reduce(0) { $0 + $1.slots }
            } else {
                var candidates = workers.values.filter { $0.freeSlots > 0 && $0.info.kinds.contains(task.kind) }
                // Another worker than one that let an earlier attempt expire, when there is one.
                if !task.avoided.isEmpty, candidates.contains(where: { !task.avoided.contains($0.id) }) {
                    candidates.removeAll { task.avoided.contains($0.id) }
                }
                guard let worker = candidates.max(by: { ($0.freeSlots, -$0.id) < ($1.freeSlots, -$1.id) }) else {
                    deferred.append(id); continue
                }
                start(task, on: [worker])
                capacity -= 1
            }
        }
        // Tasks no worker could take now go back to the front, in order.
        if queueHead > 4096 || !deferred.isEmpty {
            queue = deferred + queue[queueHead...]
            queueHead = 0
        }
    }

    private func start(_ task: TaskRecord, on members: [WorkerRecord]) {
        task.state = .running
        let now = ContinuousClock.now
        task.startedAt = now
        leased.insert(task.id)
        let expiry = now + (task.timeout ?? defaultAttemptTimeout)
        nextLeaseCheck = min(nextLeaseCheck ?? expiry, expiry)
        task.members = members.map(\.routingID)
        let key = Attempt(taskID: task.id, number: task.attempt)
        if task.gangSize > 0 {
            task.endpoints = Array(repeating: nil, count: members.count)
            task.hosts = Array(repeating: "", count: members.count)
            task.rankResults = Array(repeating: nil, count: members.count)
        }
        record(AttemptEvent(taskID: task.id, attempt: task.attempt, kind: .started(workers: members.map(\.info.name))))
        for (rank, worker) in members.enumerated() {
            worker.running.insert(key)
            let slot = task.gangSize > 0 ? GangSlot(rank: rank, size: members.count, keys: members.map(\.info.publicKey)) : nil
            // A client on another machine than the worker reads no path of the worker's: the files come in the result.
            let carry = !task.clientHost.isEmpty && !HostIdentity(task.clientHost).sharesMemory(with: HostIdentity(worker.info.hostID))
            send(.task(taskID: task.id, attempt: task.attempt, kind: task.kind, params: task.params, gang: slot, carryFiles: carry),
                 to: worker.routingID)
        }
    }

    // MARK: status

    func status(endpoint: String, now: ContinuousClock.Instant) -> ClusterStatus {
        let running = tasks.values.reduce(0) { $0 + ($1.state == .running ? 1 : 0) }
        let queued = tasks.values.reduce(0) { $0 + ($1.state == .queued ? 1 : 0) }
        return ClusterStatus(
            endpoint: endpoint,
            workers: workers.values.sorted { $0.id < $1.id }.map { w in
                ClusterStatus.Worker(id: w.id, name: w.info.name, host: w.info.host, pid: w.info.pid, cores: w.info.cores,
                                     slots: w.slots, declaredSlots: w.info.slots, version: w.info.version, running: w.running.count,
                                     draining: w.draining, silentSeconds: (now - w.lastHeard).inSeconds, scheduler: w.info.scheduler,
                                     machine: w.info.machine)
            },
            queued: queued, running: running, succeeded: succeeded, failed: failed, counters: counters)
    }

    /// Frees the carried files of results a client has taken (it stores them; holding them
    /// longer would only grow the coordinator).
    func releaseCarriedFiles(of ids: [UInt64]) {
        for id in ids {
            guard let task = tasks[id], var result = task.result, !result.files.isEmpty else { continue }
            carriedBytes -= result.files.reduce(0) { $0 + $1.contents.count }
            result.files = []
            task.result = result
        }
    }
}

