import Foundation
import Experiments
import Cluster
import Tasks

/// Where an experiment's runs go: the coordinator in this process, or a running one reached
/// over the network (`loom run --connect`).
public protocol RunDispatcher {
    /// Queues one task; returns its id. `timeout` bounds each attempt (nil: the coordinator's
    /// lease); a remote coordinator receives it with the submission.
    func submitRun(kind: String, params: [String: ParameterValue], gang: Int, maxAttempts: Int, timeout: Duration?) throws -> UInt64
    /// The finished results among `ids`.
    func results(for ids: [UInt64]) throws -> [TaskResult]
    /// Starts, losses and failures of attempts since the last call; empty when the dispatcher
    /// cannot see them (then only each result's own attempt is stored, dated from its run time).
    /// Asked after `results(for:)`: an attempt's start is queued before its result.
    func takeAttemptEvents() -> [AttemptEvent]
    /// How often to ask for results: a remote coordinator costs a round trip per question.
    var pollInterval: Duration { get }
    /// The workers registered now, for the store's worker table (empty when not known).
    func workerSightings() -> [ResultsStore.WorkerSighting]
}

extension Coordinator: RunDispatcher {
    public func submitRun(kind: String, params: [String: ParameterValue], gang: Int, maxAttempts: Int, timeout: Duration?) throws -> UInt64 {
        try submit(kind: kind, params: params, count: 1, gang: gang, maxAttempts: maxAttempts, timeout: timeout)[0]
    }
    public var pollInterval: Duration { .milliseconds(10) }
    public func workerSightings() -> [ResultsStore.WorkerSighting] {
        (status(timeout: .seconds(2))?.workers ?? []).map {
            ResultsStore.WorkerSighting(name: $0.name, host: $0.host, pid: $0.pid, slots: $0.slots, version: $0.version,
                                        scheduler: Dictionary(ClusterStatus.pairs($0.scheduler).map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a }),
                                        machine: Dictionary(ClusterStatus.pairs($0.machine).map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a }))
        }
    }
}

extension ClusterClient: RunDispatcher {
    public func submitRun(kind: String, params: [String: ParameterValue], gang: Int, maxAttempts: Int, timeout: Duration?) throws -> UInt64 {
        let ids = try submit(kind: kind, params: params, count: 1, gang: gang, maxAttempts: maxAttempts, attemptTimeout: timeout,
                             timeout: .seconds(10))
        guard let id = ids.first else { throw ClusterError.refused("the coordinator at \(endpoint) queued nothing") }
        return id
    }
    public func results(for ids: [UInt64]) throws -> [TaskResult] {
        // Asked in slices: one answer for thousands of ids would be a large message.
        var found: [TaskResult] = []
        var start = 0
        while start < ids.count {
            let slice = Array(ids[start..<min(start + 2_000, ids.count)])
            found += try results(slice, timeout: .seconds(10))
            start += slice.count
        }
        return found
    }
    public func takeAttemptEvents() -> [AttemptEvent] { eventsIfAnswered() }
    /// The coordinator's workers, from its status (so `loom run --connect` records where they ran).
    public func workerSightings() -> [ResultsStore.WorkerSighting] {
        guard let json = try? status(timeout: .seconds(2)),
              let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let workers = object["workers"] as? [[String: Any]] else { return [] }
        return workers.compactMap { worker in
            guard let name = worker["name"] as? String, let host = worker["host"] as? String, let pid = worker["pid"] as? Int else { return nil }
            return ResultsStore.WorkerSighting(name: name, host: host, pid: pid, slots: worker["slots"] as? Int ?? 1,
                                               version: worker["version"] as? String ?? "",
                                               scheduler: worker["scheduler"] as? [String: String] ?? [:],
                                               machine: worker["machine"] as? [String: String] ?? [:])
        }
    }
    public var pollInterval: Duration { .milliseconds(200) }
}
