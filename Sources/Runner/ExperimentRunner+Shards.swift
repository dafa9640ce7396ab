import Cluster
import Experiments
import Foundation
import Tasks

/// The parts of a run split into shards: its shards' attempts stored under the run, and the
/// join once every shard has succeeded.
extension ExperimentRunner {
    /// Stores a start, loss or failure of a shard's attempt under its run. The run stays RUNNING
    /// while any of its shards runs or waits for a retry.
    static func shardEvent(_ event: AttemptEvent, run: Int64, tasks: inout [UInt64: ShardTask], split: inout [Int64: ShardedRun],
                           attempts: inout [UInt64: Int], summary: inout Summary, store: ResultsStore) throws {
        guard var task = tasks[event.taskID], var shards = split[run] else { return }
        switch event.kind {
        case let .started(workers):
            let number = shards.nextAttempt()
            split[run] = shards
            task.attempt = number
            attempts[event.taskID] = event.attempt
            try store.startAttempt(run, attempt: number, workers: workers, shard: task.shard)
        case .progress:
            // A shard's curve is not the run's; the join decides the run's series.
            return
        case let .lost(reason), let .failed(reason):
            let lost = if case .lost = event.kind { true } else { false }
            if lost { summary.lostAttempts += 1 }
            attempts[event.taskID] = nil
            if let number = task.attempt {
                try store.endAttempt(run, attempt: number, outcome: lost ? .lost : .failed, error: reason)
            }
            task.attempt = nil
        }
        tasks[event.taskID] = task
    }

    /// Records a shard's final result. Returns nil while the run waits for other shards, true
    /// when this was the last shard and the joined result is stored, false when the run failed
    /// (this shard failed for good, or the join refused the shards' outcomes).
    static func shardResult(_ result: TaskResult, shard: ShardTask, kind: TaskKind?, split: inout [Int64: ShardedRun],
                            store: ResultsStore, artifacts: URL?, invocationStarted: Double,
                            note: (String) -> Void = { _ in }) throws -> Bool? {
        guard var run = split[shard.run] else {
            TaskScratch.release(result.artifacts)
            return nil
        }
        let total = run.outcomes.count
        var attempt = shard.attempt
        if attempt == nil && !result.worker.isEmpty {
            // Its start was not seen: stored from the result (see `execute`).
            let number = run.nextAttempt()
            try store.startAttempt(shard.run, attempt: number, workers: result.worker.split(separator: ",").map(String.init), shard: shard.shard,
                                   at: startOfAttempt(ranFor: result.seconds, invocationStarted: invocationStarted))
            attempt = number
        }
        if let number = attempt {
            try store.endAttempt(shard.run, attempt: number, outcome: result.succeeded ? .succeeded : .failed,
                                 error: result.succeeded ? nil : result.error)
        }
        guard result.succeeded else {
            split[shard.run] = nil
            TaskScratch.release(run.outcomes.flatMap { $0?.artifacts ?? [] })
            try store.setStatus(shard.run, .failed, attempt: attempt ?? run.lastAttempt,
                                worker: result.worker.isEmpty ? nil : result.worker,
                                error: "shard \(shard.shard + 1) of \(total) failed: \(result.error)")
            return false
        }
        run.outcomes[shard.shard] = TaskOutcome(metrics: result.metrics, artifacts: result.artifacts, series: result.series)
        TaskScratch.adopt(result.artifacts)   // kept until the join, perhaps past the worker's life
        if !run.workers.contains(result.worker) { run.workers.append(result.worker) }
        guard run.isComplete else {
            split[shard.run] = run
            return nil
        }
        split[shard.run] = nil
        let workers = run.workers.sorted().joined(separator: ",")
        // The shards' files are read by the join; the join's own by the store.
        defer { TaskScratch.release(run.outcomes.flatMap { $0?.artifacts ?? [] }) }
        let outcome: TaskOutcome
        do {
            guard let sharding = kind?.sharding else { throw ClusterError.invalidTask("the kind no longer shards runs") }
            outcome = try sharding.join(run.params, run.outcomes.map { $0! })
        } catch {
            try store.setStatus(shard.run, .failed, attempt: run.lastAttempt, worker: workers,
                                error: "joining the \(total) shards failed: \(error)")
            return false
        }
        try store.addMetrics(shard.run, outcome.metrics)
        try store.removeSeries(shard.run)
        try store.addSeries(shard.run, outcome.series)
        if let artifacts, !outcome.artifacts.isEmpty {
            let stored = try store.collectArtifacts(shard.run, paths: outcome.artifacts, into: artifacts)
            if stored.count < outcome.artifacts.count { note(notCopiedNote(run: shard.run, missing: outcome.artifacts.count - stored.count)) }
        }
        TaskScratch.release(outcome.artifacts)
        try store.setStatus(shard.run, .succeeded, attempt: run.lastAttempt, worker: workers)
        return true
    }
}
