import Experiments
import Cluster
import Foundation
import Tasks

/// Runs an expanded experiment on a dispatcher and keeps every result in the store.
///
/// Each run's state change is written before the runner acts on it (QUEUED before the task is
/// submitted). Every attempt is stored with how it ended, so an attempt lost to a dead worker
/// stays visible after its retry succeeds. A run whose cache key already succeeded is CACHED,
/// not run again, so the same command after an interruption resumes.
public enum ExperimentRunner {
    /// What an invocation did.
    public struct Summary: Sendable, Equatable {
        public var total = 0, cached = 0, succeeded = 0, failed = 0
        /// Runs not run again because the same key failed before (see `--rerun-failed`).
        public var failedBefore = 0
        /// Attempts lost to dead or draining workers and run again.
        public var lostAttempts = 0
    }

    /// A snapshot for progress displays.
    public struct Progress: Sendable {
        public var total = 0, succeeded = 0, failed = 0, cached = 0, running = 0, lostAttempts = 0
        /// Runs this invocation executes (not cached), and how many of them have finished.
        public var toRun = 0, executed = 0
        /// Over the running attempts that report their steps: the steps done and the steps
        /// expected (both 0 when none reports).
        public var steps = 0, totalSteps = 0
        public var elapsed: Duration = .zero
        public var finished = false
        public var done: Int { succeeded + failed + cached }

        /// Nothing done yet.
        public init() {}

        /// The running runs' work done, in runs: their steps done over their steps expected,
        /// times how many run (0 when none reports steps).
        public var runningDone: Double {
            totalSteps > 0 ? Double(running) * Double(min(steps, totalSteps)) / Double(totalSteps) : 0
        }

        /// The share of the sweep done, 0…1: finished runs, plus the running runs' share of their
        /// steps, so a study of a few long runs advances as they step instead of jumping at the end.
        public var fractionDone: Double {
            guard total > 0, !finished else { return 1 }
            return min(1, (Double(done) + runningDone) / Double(total))
        }

        /// Seconds left at the rate work has been done so far, counting each running run that
        /// reports its steps as the fraction of them it has done (the running runs' steps taken
        /// together); nil before any work is measurable. A run near its end thus no longer
        /// counts as a whole run left.
        public var etaSeconds: Double? {
            if toRun == executed { return 0 }
            let done = Double(executed) + runningDone
            guard done > 0 else { return nil }
            return elapsed.inSeconds / done * max(0, Double(toRun) - done)
        }
    }

    /// Runs `runs` of `experiment` through `dispatcher`, recording everything in `store`.
    /// - Parameters:
    ///   - kindVersion: the task kind's version (part of each cache key).
    ///   - kind: the task kind, when its runs may be split into shards (`TaskSharding`): each
    ///     shard is then a task of its own, retried on its own, and the shards' outcomes are
    ///     joined here into the run's result. Nil: every run is one task.
    ///   - force: run even runs whose cache key already succeeded.
    ///   - rerunFailed: run again runs whose cache key failed before.
    ///   - acceptCodeChange: reuse results that other code computed (see `RunPlan`).
    ///   - artifacts: where artifact files are copied (`.loom/artifacts`); nil keeps none.
    ///   - progress: receives a snapshot about every `progressInterval` and at the end.
    ///   - tick: called on every poll (the CLI replaces dead local workers there).
    ///   - note: receives lines worth telling the user (runs of a dead invocation marked LOST).
    /// - Throws: `RunnerError.busy` when another live invocation runs the same experiment in this
    ///   store; `RunnerError.stopped` (with how many results were stored) when the store or the
    ///   dispatcher fails part-way.
    public static func run(_ experiment: Experiment, runs: [ExperimentRun], kindVersion: Int, kind: TaskKind? = nil, store: ResultsStore,
                           dispatcher: any RunDispatcher, provenance: ResultsStore.Provenance, force: Bool, rerunFailed: Bool = false,
                           acceptCodeChange: Bool = false, artifacts: URL? = nil, progressInterval: Duration = .seconds(1),
                           shouldStop: () -> Bool, tick: () -> Void = {},
                           progress: (Progress) -> Void, note: (String) -> Void = { _ in }) throws(RunnerError) -> Summary {
        // Held until this function returns; the kernel drops it if the process dies.
        let lock: InvocationLock?
        do { lock = try InvocationLock.acquire(experiment: experiment.name, storePath: store.path) } catch { throw .stopped(error, stored: 0) }
        defer { withExtendedLifetime(lock) {} }
        let experimentID: Int64
        do {
            // The file's absolute path, so `loom report` finds it from any directory.
            let file = URL(fileURLWithPath: experiment.file).standardizedFileURL.path
            experimentID = try store.experiment(named: experiment.name, description: experiment.description, file: file)
            let open = try store.openInvocations(experiment: experimentID)
            guard lock != nil else { throw RunnerError.busy(experiment: experiment.name, holder: open.first, store: store.path) }
            // With the lock ours, an open invocation on this host is dead; one on another host
            // (a store on a shared file system, where locks may not reach) is alive while it beats.
            let host = ProcessInfo.processInfo.hostName
            if let live = open.first(where: { $0.host != host && ($0.heartbeatAt ?? 0) > ResultsStore.now - ResultsStore.heartbeatTimeout }) {
                throw RunnerError.busy(experiment: experiment.name, holder: live, store: store.path)
            }
            try store.markInvocationsDead(open.map(\.id))
        } catch let error as RunnerError { throw error } catch { throw .stopped(error, stored: 0) }
        var summary = Summary(total: runs.count)
        do {
            return try execute(experiment, runs: runs, kindVersion: kindVersion, kind: kind, experimentID: experimentID, store: store,
                               dispatcher: dispatcher, provenance: provenance, force: force, rerunFailed: rerunFailed,
                               acceptCodeChange: acceptCodeChange, artifacts: artifacts, progressInterval: progressInterval,
                               shouldStop: shouldStop, tick: tick, progress: progress, note: note, summary: &summary)
        } catch {
            throw .stopped(error, stored: summary.succeeded + summary.failed)
        }
    }

    private static func execute(_ experiment: Experiment, runs: [ExperimentRun], kindVersion: Int, kind: TaskKind?, experimentID: Int64,
                                store: ResultsStore, dispatcher: any RunDispatcher, provenance: ResultsStore.Provenance,
                                force: Bool, rerunFailed: Bool, acceptCodeChange: Bool, artifacts: URL?, progressInterval: Duration,
                                shouldStop: () -> Bool, tick: () -> Void, progress: (Progress) -> Void, note: (String) -> Void,
                                summary: inout Summary) throws -> Summary {
        let start = ContinuousClock.now, startedAt = ResultsStore.now
        let interrupted = try store.markInterruptedRunsLost(experiment: experimentID)
        // Planned before this invocation's rows exist, so they never match themselves.
        let plan = try RunPlan(experiment, runs: runs, kindVersion: kindVersion, code: provenance.code, store: store,
                               force: force, rerunFailed: rerunFailed, acceptCodeChange: acceptCodeChange,
                               inputs: kind?.declaration.inputs ?? [],
                               inputPath: { kind?.declaration.inputPath($0, $1) ?? $1 })
        if !interrupted.isEmpty { note(lostNote(interrupted, plan: plan)) }
        let invocation = try store.startInvocation(experiment: experimentID, provenance: provenance)
        // Files carried in results are staged per invocation (runners of other experiments may
        // share the artifacts folder) and removed once stored.
        let staging = artifacts.map { CarriedArtifacts.staging($0).appendingPathComponent(String(invocation)) }
        defer { if let staging { try? FileManager.default.removeItem(at: staging) } }
        let ids = try store.addRuns(runs, task: experiment.task, cacheKeys: plan.entries.map(\.cacheKey),
                                    experiment: experimentID, invocation: invocation)
        try store.recordWorkers(dispatcher.workerSightings(), invocation: invocation)
        var state = Progress()
        state.total = runs.count
        state.toRun = plan.toRun
        var pending: [UInt64: Int64] = [:]                  // task id → run id
        var attempts: [UInt64: Int] = [:]                   // task id → its running attempt
        var shardTasks: [UInt64: ShardTask] = [:]           // task id → the shard of a split run it is
        var split: [Int64: ShardedRun] = [:]                // run id → its shards so far
        let workerCount = kind?.sharding == nil ? 0 : dispatcher.workerSightings().count
        for (index, entry) in plan.entries.enumerated() {
            switch entry.decision {
            case let .cached(from, _):
                try store.setStatus(ids[index], .cached, cachedFrom: from)
                summary.cached += 1
            case let .failedBefore(_, reason):
                try store.setStatus(ids[index], .failed, error: reason)
                summary.failedBefore += 1
            case .run:
                try store.setStatus(ids[index], .queued)
                let shards: [[String: ParameterValue]]?
                do { shards = try kind?.shards(of: entry.run.params, workers: workerCount) } catch {
                    try store.setStatus(ids[index], .failed, error: error.description)
                    summary.failed += 1
                    state.executed += 1
                    continue
                }
                if let shards, let resolved = try? kind?.resolve(entry.run.params) {
                    split[ids[index]] = ShardedRun(params: resolved, shards: shards.count)
                    for (number, params) in shards.enumerated() {
                        let task = try dispatcher.submitRun(kind: experiment.task, params: params, gang: experiment.gang,
                                                            maxAttempts: experiment.retries + 1,
                                                            timeout: experiment.timeoutSeconds.map { .milliseconds(Int64($0 * 1000)) })
                        pending[task] = ids[index]
                        shardTasks[task] = ShardTask(run: ids[index], shard: number)
                    }
                    continue
                }
                let task = try dispatcher.submitRun(kind: experiment.task, params: entry.run.params, gang: experiment.gang,
                                                    maxAttempts: experiment.retries + 1,
                                                    timeout: experiment.timeoutSeconds.map { .milliseconds(Int64($0 * 1000)) })
                pending[task] = ids[index]
            }
        }
        state.cached = summary.cached
        state.failed = summary.failedBefore + summary.failed
        var stepsDone: [UInt64: (step: Int, total: Int)] = [:]   // running attempts' reported steps
        var lastReport = ContinuousClock.now, lastHeartbeat = ContinuousClock.now
        while !pending.isEmpty {
            if shouldStop() {
                var cancelled = Set<Int64>()
                for (task, runID) in pending {
                    if let attempt = shardTasks[task].map({ $0.attempt }) ?? attempts[task] {
                        try store.endAttempt(runID, attempt: attempt, outcome: .cancelled)
                    }
                    if cancelled.insert(runID).inserted { try store.setStatus(runID, .cancelled, error: "the invocation was interrupted") }
                }
                try store.addEvent(invocation: invocation, kind: "interrupted", detail: "\(cancelled.count) run(s) cancelled")
                for run in split.values { TaskScratch.release(run.outcomes.flatMap { $0?.artifacts ?? [] }) }
                break
            }
            tick()
            // Results before events: the coordinator queues an attempt's start before its result,
            // so every result taken here has its start among the events taken next.
            let ended = try dispatcher.results(for: Array(pending.keys))
            for event in dispatcher.takeAttemptEvents() {
                guard let runID = pending[event.taskID] else { continue }
                if shardTasks[event.taskID] != nil {
                    try shardEvent(event, run: runID, tasks: &shardTasks, split: &split, attempts: &attempts,
                                   summary: &summary, store: store)
                    continue
                }
                switch event.kind {
                case let .started(workers):
                    attempts[event.taskID] = event.attempt
                    stepsDone[event.taskID] = nil
                    try store.startAttempt(runID, attempt: event.attempt, workers: workers)
                    // Points streamed by an earlier attempt are not this attempt's curve.
                    try store.removeSeries(runID)
                case let .progress(points, total):
                    guard attempts[event.taskID] == event.attempt else { continue }
                    try store.addSeries(runID, points)
                    let reached = points.map(\.step).max() ?? stepsDone[event.taskID]?.step ?? 0
                    stepsDone[event.taskID] = (max(reached, stepsDone[event.taskID]?.step ?? 0), total)
                case let .lost(reason), let .failed(reason):
                    let lost = if case .lost = event.kind { true } else { false }
                    if lost { summary.lostAttempts += 1 }
                    attempts[event.taskID] = nil
                    stepsDone[event.taskID] = nil
                    // The final attempt's failure comes as the result; only retried ones requeue.
                    try store.endAttempt(runID, attempt: event.attempt, outcome: lost ? .lost : .failed, error: reason,
                                         requeued: true)
                }
            }
            for carried in ended {
                guard let runID = pending.removeValue(forKey: carried.taskID) else { continue }
                let result = try staging.map { try CarriedArtifacts.materialize(carried, staging: $0) } ?? carried
                stepsDone[result.taskID] = nil
                if let shard = shardTasks.removeValue(forKey: result.taskID) {
                    attempts[result.taskID] = nil
                    let finished = try shardResult(result, shard: shard, kind: kind, split: &split, store: store, artifacts: artifacts,
                                                   invocationStarted: startedAt, note: note)
                    guard let finished else { continue }
                    // A failed shard fails its run: the run's other shards are no longer waited for.
                    for (task, other) in shardTasks where other.run == runID {
                        shardTasks[task] = nil; pending[task] = nil; attempts[task] = nil; stepsDone[task] = nil
                    }
                    if finished { summary.succeeded += 1 } else { summary.failed += 1 }
                    state.executed += 1
                    continue
                }
                var attempt = attempts.removeValue(forKey: result.taskID)
                if attempt == nil && !result.worker.isEmpty {
                    // Its start was not seen (a remote coordinator sends events in slices, an older
                    // one none): the result names the attempt, its workers and how long it ran.
                    try store.startAttempt(runID, attempt: result.attempt, workers: result.worker.split(separator: ",").map(String.init),
                                           at: startOfAttempt(ranFor: result.seconds, invocationStarted: startedAt))
                    attempt = result.attempt
                }
                if let attempt {
                    try store.endAttempt(runID, attempt: attempt, outcome: result.succeeded ? .succeeded : .failed,
                                         error: result.succeeded ? nil : result.error)
                }
                if result.succeeded {
                    try store.addMetrics(runID, result.metrics)
                    // The result's curve is the whole record: it replaces the points streamed.
                    try store.removeSeries(runID)
                    try store.addSeries(runID, result.series)
                    if let artifacts, !result.artifacts.isEmpty {
                        let stored = try store.collectArtifacts(runID, paths: result.artifacts, into: artifacts)
                        if stored.count < result.artifacts.count { note(notCopiedNote(run: runID, missing: result.artifacts.count - stored.count)) }
                    }
                    // Stored (or, with no artifacts folder, not wanted): the task's scratch goes.
                    TaskScratch.release(result.artifacts)
                    try store.setStatus(runID, .succeeded, attempt: result.attempt, worker: result.worker)
                    summary.succeeded += 1
                } else {
                    try store.setStatus(runID, .failed, attempt: result.attempt, worker: result.worker.isEmpty ? nil : result.worker,
                                        error: result.error)
                    summary.failed += 1
                }
                state.executed += 1
            }
            let now = ContinuousClock.now
            if now - lastHeartbeat >= .seconds(2) {
                lastHeartbeat = now
                try store.heartbeat(invocation: invocation)
                try store.recordWorkers(dispatcher.workerSightings(), invocation: invocation)
            }
            if now - lastReport >= progressInterval {
                lastReport = now
                state.steps = stepsDone.values.filter { $0.total > 0 }.reduce(0) { $0 + min($1.step, $1.total) }
                state.totalSteps = stepsDone.values.reduce(0) { $0 + $1.total }
                progress(snapshot(&state, summary, running: attempts.count, start: start))
            }
            if !pending.isEmpty { Thread.sleep(forTimeInterval: dispatcher.pollInterval.inSeconds) }
        }
        if summary.lostAttempts > 0 {
            try store.addEvent(invocation: invocation, kind: "lost", detail: "\(summary.lostAttempts) attempt(s) lost and run again")
        }
        try store.recordWorkers(dispatcher.workerSightings(), invocation: invocation)
        try store.finishInvocation(invocation)
        state.finished = true
        state.steps = 0
        state.totalSteps = 0
        progress(snapshot(&state, summary, running: 0, start: start))
        return summary
    }

    /// What the user is told when a run's artifact files could not be copied into the store.
    static func notCopiedNote(run: Int64, missing: Int) -> String {
        "run \(run): \(missing) artifact file(s) are not on this machine and did not come in the result, so the store has no copy; "
            + "directories and files past 48 MiB need a shared filesystem, and a worker started with --carry-artifacts never "
            + "sends only paths (the store's artifact events name each file)"
    }

    /// When an attempt known only from its result started: its arrival less the seconds it ran,
    /// never before this invocation began (a worker's message cannot place it earlier, nor
    /// make it infinite).
    static func startOfAttempt(ranFor seconds: Double, invocationStarted: Double) -> Double {
        let ran = seconds.isFinite ? max(0, seconds) : 0
        return max(invocationStarted, ResultsStore.now - ran)
    }

    /// What becomes of the runs an interrupted invocation left unfinished, by this plan:
    /// `3 unfinished run(s) of an interrupted earlier invocation marked LOST: 2 run again now
    /// (#4, #7), 1 cached (…); this invocation runs 5 of 12`.
    public static func lostNote(_ keys: [String], plan: RunPlan) -> String {
        var again: [Int] = [], cached = 0, skipped = 0, elsewhere = 0
        for key in keys {
            let entry = plan.entries.first { $0.cacheKey == key }
            switch entry?.decision {
            case .run?: again.append(entry!.run.index + 1)
            case .cached?: cached += 1
            case .failedBefore?: skipped += 1
            case nil: elsewhere += 1
            }
        }
        let listed = again.sorted().prefix(8).map { "#\($0)" }.joined(separator: ", ") + (again.count > 8 ? ", …" : "")
        var parts = ["\(again.count) run again now" + (again.isEmpty ? "" : " (\(listed))")]
        if cached > 0 { parts.append("\(cached) cached (the same run succeeded before)") }
        if skipped > 0 { parts.append("\(skipped) not repeated (failed before; --rerun-failed runs them)") }
        if elsewhere > 0 { parts.append("\(elsewhere) not in this invocation's sweep (other overrides), so not run") }
        return "\(keys.count) unfinished run(s) of an interrupted earlier invocation marked LOST: " + parts.joined(separator: ", ")
            + "; this invocation runs \(plan.toRun) of \(plan.entries.count)"
            + (plan.cached > 0 ? " (\(plan.cached) cached)" : "")
    }

    private static func snapshot(_ state: inout Progress, _ summary: Summary, running: Int, start: ContinuousClock.Instant) -> Progress {
        state.succeeded = summary.succeeded
        state.failed = summary.failed + summary.failedBefore
        state.cached = summary.cached
        state.running = running
        state.lostAttempts = summary.lostAttempts
        state.elapsed = ContinuousClock.now - start
        return state
    }
}
