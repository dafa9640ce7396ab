import Cluster
import Foundation

/// What `loom run` will do with each run, and why: the answer of `--dry-run`.
public struct RunPlan: Sendable {
    /// The decision for one run.
    public enum Decision: Sendable, Equatable {
        /// It runs; the reason says why (new, forced, a failure asked to run again, resumed).
        case run(reason: String)
        /// It reuses a SUCCEEDED run with the same cache key.
        case cached(from: Int64, reason: String)
        /// A run with the same key failed in the task itself; without `--rerun-failed` it is
        /// not run again (the same code and parameters would fail the same way).
        case failedBefore(from: Int64, reason: String)

        public var reason: String {
            switch self { case let .run(reason), let .cached(_, reason), let .failedBefore(_, reason): reason }
        }
        public var runs: Bool { if case .run = self { true } else { false } }
    }

    public struct Entry: Sendable {
        public var run: ExperimentRun
        public var cacheKey: String
        public var decision: Decision
    }

    public var entries: [Entry]

    public var toRun: Int { entries.count { $0.decision.runs } }
    public var cached: Int { entries.count { if case .cached = $0.decision { true } else { false } } }
    public var failedBefore: Int { entries.count { if case .failedBefore = $0.decision { true } else { false } } }

    /// Looks each run's cache key up in `store` (nil: no store yet, everything is new).
    public init(_ experiment: Experiment, runs: [ExperimentRun], version: String, store: ResultsStore?,
                force: Bool, rerunFailed: Bool) throws(StoreError) {
        entries = []
        for run in runs {
            let key = ExperimentRunner.cacheKey(task: experiment.task, version: version, params: run.params)
            let decision: Decision
            if force {
                decision = .run(reason: "--force")
            } else if let previous = try store?.previousRun(cacheKey: key) {
                let when = previous.finishedAt.map { " at " + Date(timeIntervalSince1970: $0).formatted(.iso8601) } ?? ""
                switch previous.status {
                case .succeeded:
                    decision = .cached(from: previous.id, reason: "cached: run \(previous.id) with the same key SUCCEEDED\(when)")
                case .failed where rerunFailed:
                    decision = .run(reason: "--rerun-failed: run \(previous.id) with the same key FAILED")
                case .failed:
                    let why = previous.error.map { ": " + $0.prefix(120) } ?? ""
                    decision = .failedBefore(from: previous.id, reason: "not run: run \(previous.id) with the same key FAILED\(why); --rerun-failed runs it again")
                default:
                    decision = .run(reason: "resumes: run \(previous.id) with the same key was \(previous.status.rawValue)")
                }
            } else {
                decision = .run(reason: "new: no earlier run has this cache key")
            }
            entries.append(Entry(run: run, cacheKey: key, decision: decision))
        }
    }
}
