import Foundation

/// What `loom run` will do with each run, and why: the answer of `--dry-run`.
///
/// A run's identity is its cache key (the kind and its version, the resolved parameters and the
/// repetition); a stored result is reused only when it was computed by the same code
/// (`CodeIdentity`), or by other code the user accepts with `acceptCodeChange`.
public struct RunPlan: Sendable {
    /// The decision for one run.
    public enum Decision: Sendable, Equatable {
        /// It runs; the reason says why (new, forced, a failure asked to run again, resumed,
        /// computed by other code).
        case run(reason: String)
        /// It reuses a SUCCEEDED run with the same cache key.
        case cached(from: Int64, reason: String)
        /// A run with the same key failed in the task itself under the same code; without
        /// `--rerun-failed` it is not run again (it would fail the same way).
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
    /// - Parameters:
    ///   - kindVersion: the task kind's version (part of the key).
    ///   - code: the code this invocation runs.
    ///   - acceptCodeChange: reuse results computed by other code too (the user knows the
    ///     change does not matter to them); the reason names the commit they came from.
    ///   - inputs: the parameters that name files or directories the runs read
    ///     (`TaskDeclaration.inputs`): their contents' digests join the key.
    ///   - inputPath: the file an input's value reads (`TaskDeclaration.inputPath`: a preset's file).
    public init(_ experiment: Experiment, runs: [ExperimentRun], kindVersion: Int, code: CodeIdentity, store: ResultsStore?,
                force: Bool, rerunFailed: Bool, acceptCodeChange: Bool = false, inputs: [String] = [],
                inputPath: (_ name: String, _ value: String) -> String = { $1 }) throws(StoreError) {
        entries = []
        var digests: [String: String] = [:]       // path → digest, each input read once per plan
        for run in runs {
            var identity = run.params
            for name in inputs {
                guard case let .string(value)? = run.params[name], !value.isEmpty else { continue }
                let path = inputPath(name, value)
                if digests[path] == nil { digests[path] = InputDigest.of(path) }
                identity["\u{1}input." + name] = .string(digests[path]!)
            }
            let key = RunPlan.cacheKey(task: experiment.task, kindVersion: kindVersion, params: identity,
                                                repetition: run.repetition)
            let decision = force ? .run(reason: "--force")
                : RunPlan.decide(try store?.previousRuns(cacheKey: key) ?? [], code: code, rerunFailed: rerunFailed,
                                 acceptCodeChange: acceptCodeChange)
            entries.append(Entry(run: run, cacheKey: key, decision: decision))
        }
    }

    /// The decision for a run whose key has `previous` finished runs (newest first).
    static func decide(_ previous: [ResultsStore.PreviousRun], code: CodeIdentity, rerunFailed: Bool,
                       acceptCodeChange: Bool) -> Decision {
        let same = previous.filter { code.matches($0.code) }
        let other = previous.filter { !code.matches($0.code) }
        func when(_ run: ResultsStore.PreviousRun) -> String {
            run.finishedAt.map { " at " + Date(timeIntervalSince1970: $0).formatted(.iso8601) } ?? ""
        }
        func origin(_ run: ResultsStore.PreviousRun) -> String {
            "\(run.code) (now \(code.commit == "unknown" ? code.description : code.commit))"
        }
        if let hit = same.first(where: { $0.status == .succeeded }) {
            let note = hit.code.commit == code.commit ? "" : " by \(origin(hit)), the same sources"
            return .cached(from: hit.id, reason: "cached: run \(hit.id) with the same key SUCCEEDED\(when(hit))\(note)")
        }
        if let hit = other.first(where: { $0.status == .succeeded }) {
            if acceptCodeChange {
                return .cached(from: hit.id, reason: "cached from \(origin(hit)): run \(hit.id) SUCCEEDED\(when(hit)); accepted by --accept-code-change")
            }
            return .run(reason: "code changed: run \(hit.id) with the same key SUCCEEDED under \(origin(hit)); "
                        + "--accept-code-change reuses it")
        }
        // Among failures, one that ran wins over a row that only recorded "not repeated".
        if let failed = same.first(where: { $0.status == .failed && $0.ran }) ?? same.first(where: { $0.status == .failed }) {
            if rerunFailed { return .run(reason: "--rerun-failed: run \(failed.id) with the same key FAILED") }
            let why = failed.error.map { ": " + $0.prefix(120) } ?? ""
            return .failedBefore(from: failed.id, reason: "not run: run \(failed.id) with the same key FAILED\(why); --rerun-failed runs it again")
        }
        if let failed = other.first(where: { $0.status == .failed }) {
            return .run(reason: "code changed: run \(failed.id) with the same key FAILED under \(origin(failed))")
        }
        if let unfinished = previous.first {
            return .run(reason: "resumes: run \(unfinished.id) with the same key was \(unfinished.status.rawValue)")
        }
        return .run(reason: "new: no earlier run has this cache key")
    }
}
