import Cluster
import Foundation

/// Runs an expanded experiment on a coordinator and keeps every result in the store.
///
/// Each run's state change is written before the runner acts on it (QUEUED before the task is
/// submitted). A run whose cache key already has a SUCCEEDED run is CACHED, not run again, so
/// running the same command after an interruption resumes: finished runs stay finished.
public enum ExperimentRunner {
    /// What an invocation did.
    public struct Summary: Sendable, Equatable {
        public var total = 0, cached = 0, succeeded = 0, failed = 0
        /// Attempts lost to dead or draining workers and run again.
        public var lostAttempts = 0
    }

    /// The cache key of a run: a hash of the task kind, Loom's version and the resolved
    /// parameters (the seed among them), as 16 hex digits (64-bit FNV-1a).
    public static func cacheKey(task: String, version: String, params: [String: ParameterValue]) -> String {
        let text = task + "\u{1}" + version + "\u{1}" + params.keys.sorted().map { "\($0)=\(params[$0]!.json)" }.joined(separator: "\u{1}")
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return String(hash, radix: 16).leftPadded(to: 16)
    }

    /// Runs `runs` of `experiment` on `coordinator`, recording everything in `store`.
    /// - Parameters:
    ///   - force: run even runs whose cache key already succeeded.
    ///   - progress: receives a line about once a second and at the end.
    public static func run(_ experiment: Experiment, runs: [ExperimentRun], store: ResultsStore, coordinator: Coordinator,
                           provenance: ResultsStore.Provenance, force: Bool, shouldStop: () -> Bool,
                           progress: (String) -> Void) throws -> Summary {
        let experimentID = try store.experiment(named: experiment.name, description: experiment.description, file: experiment.file)
        let interrupted = try store.markInterruptedRunsLost(experiment: experimentID)
        if interrupted > 0 { progress("\(experiment.name): \(interrupted) run(s) of an interrupted earlier invocation marked LOST; they run again unless cached") }
        let invocation = try store.startInvocation(experiment: experimentID, provenance: provenance)
        let keys = runs.map { cacheKey(task: experiment.task, version: provenance.loomVersion, params: $0.params) }
        // Looked up before this invocation's rows exist, so they never match themselves.
        let cachedFlags = try keys.map { key in force ? false : try store.succeededRun(cacheKey: key) != nil }
        let ids = try store.addRuns(runs, task: experiment.task, cacheKeys: keys, experiment: experimentID, invocation: invocation)
        var summary = Summary(total: runs.count)
        var pending: [UInt64: Int64] = [:]                  // coordinator task id → run id
        for (index, run) in runs.enumerated() {
            if cachedFlags[index] {
                try store.setStatus(ids[index], .cached)
                summary.cached += 1
                continue
            }
            try store.setStatus(ids[index], .queued)
            let task = try coordinator.submit(kind: experiment.task, params: run.params, gang: experiment.gang,
                                              maxAttempts: experiment.retries + 1)
            pending[task[0]] = ids[index]
        }
        let lostBefore = coordinator.status()?.counters["attempts_lost"] ?? 0
        var lastReport = ContinuousClock.now
        while !pending.isEmpty {
            if shouldStop() {
                for runID in pending.values { try store.setStatus(runID, .cancelled, error: "the invocation was interrupted") }
                try store.addEvent(invocation: invocation, kind: "interrupted", detail: "\(pending.count) run(s) cancelled")
                break
            }
            for result in coordinator.results(for: Array(pending.keys)) {
                guard let runID = pending.removeValue(forKey: result.taskID) else { continue }
                if result.succeeded {
                    try store.addMetrics(runID, result.metrics)
                    try store.setStatus(runID, .succeeded, attempt: result.attempt, worker: result.worker)
                    summary.succeeded += 1
                } else {
                    try store.setStatus(runID, .failed, attempt: result.attempt, worker: result.worker, error: result.error)
                    summary.failed += 1
                }
            }
            if ContinuousClock.now - lastReport >= .seconds(1) {
                lastReport = ContinuousClock.now
                progress("\(experiment.name): \(summary.succeeded + summary.failed + summary.cached)/\(summary.total) done"
                         + " (\(summary.cached) cached, \(summary.failed) failed, \(pending.count) to go)")
            }
            if !pending.isEmpty { Thread.sleep(forTimeInterval: 0.01) }
        }
        summary.lostAttempts = (coordinator.status()?.counters["attempts_lost"] ?? 0) - lostBefore
        if summary.lostAttempts > 0 {
            try store.addEvent(invocation: invocation, kind: "lost", detail: "\(summary.lostAttempts) attempt(s) lost and run again")
        }
        try store.finishInvocation(invocation)
        progress("\(experiment.name): \(summary.total) run(s): \(summary.succeeded) succeeded, \(summary.cached) cached, "
                 + "\(summary.failed) failed, \(summary.lostAttempts) attempt(s) lost and run again")
        return summary
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
