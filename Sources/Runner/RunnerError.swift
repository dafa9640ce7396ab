import Experiments
import Foundation

/// Why `ExperimentRunner.run` stopped before the end.
public enum RunnerError: Error, CustomStringConvertible {
    /// Another live invocation runs the same experiment in the same store.
    case busy(experiment: String, holder: ResultsStore.OpenInvocation?, store: String)
    /// The store or the dispatcher failed part-way; `stored` results of this invocation were
    /// committed before that (each is one transaction, so they are whole).
    case stopped(any Error, stored: Int)

    public var description: String {
        switch self {
        case let .busy(experiment, holder, store):
            let who = holder.map { holder in
                let started = Date(timeIntervalSince1970: holder.startedAt).formatted(.iso8601)
                return "'\(holder.command)' (pid \(holder.pid.map(String.init) ?? "?") on \(holder.host), started \(started))"
            } ?? "another process"
            return "experiment '\(experiment)' is already being run in \(store) by \(who); wait for it to finish "
                + "or stop it, then run this command again (it resumes what is left). Different experiments can run side by side."
        case let .stopped(error, stored):
            let kept = stored == 0 ? "no result of this invocation was stored"
                : "the \(stored) result(s) this invocation stored before that are kept; the same command resumes"
            return "\(error) — \(kept)"
        }
    }
}
