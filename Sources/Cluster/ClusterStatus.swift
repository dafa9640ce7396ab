import Foundation
import Tasks

/// A snapshot of the coordinator: its workers, its tasks and its counters.
public struct ClusterStatus: Sendable {
    /// One registered worker.
    public struct Worker: Sendable {
        public var id: Int
        public var name: String
        public var host: String
        public var pid: Int
        public var cores: Int
        /// The slots the coordinator uses: the declared ones, capped by cores and its maximum.
        public var slots: Int
        /// The slots the worker asked for when it registered.
        public var declaredSlots: Int
        public var version: String
        public var running: Int
        public var draining: Bool
        /// Seconds since the coordinator last heard from it.
        public var silentSeconds: Double
        /// Where a batch scheduler placed it (`KEY=VALUE`), empty outside one.
        public var scheduler: [String] = []
        /// What it computes on (`KEY=VALUE`: cpu, tile, simd), empty for an older worker.
        public var machine: [String] = []
    }

    public var endpoint: String
    public var workers: [Worker]
    public var queued: Int
    public var running: Int
    public var succeeded: Int
    public var failed: Int
    /// Counters: dropped and rejected messages, lost and dropped workers, requeues, expired
    /// leases, late results.
    public var counters: [String: Int]

    /// The snapshot as one JSON object (stable key order).
    public var json: String {
        func quote(_ text: String) -> String { ParameterValue.string(text).json }
        func object(_ entries: [String]) -> String {
            "{" + ClusterStatus.pairs(entries).map { "\(quote($0.key)):\(quote($0.value))" }.joined(separator: ",") + "}"
        }
        let workerItems = workers.map { w in
            "{\"id\":\(w.id),\"name\":\(quote(w.name)),\"host\":\(quote(w.host)),\"pid\":\(w.pid),\"cores\":\(w.cores),"
                + "\"slots\":\(w.slots),\"declared_slots\":\(w.declaredSlots),\"version\":\(quote(w.version)),\"running\":\(w.running),"
                + "\"draining\":\(w.draining),\"silent_s\":\(String(format: "%.3f", w.silentSeconds)),"
                + "\"scheduler\":\(object(w.scheduler)),\"machine\":\(object(w.machine))}"
        }
        let counterItems = counters.keys.sorted().map { "\(quote($0)):\(counters[$0]!)" }
        return "{\"endpoint\":\(quote(endpoint)),\"workers\":[\(workerItems.joined(separator: ","))],"
            + "\"tasks\":{\"queued\":\(queued),\"running\":\(running),\"succeeded\":\(succeeded),\"failed\":\(failed)},"
            + "\"counters\":{\(counterItems.joined(separator: ","))}}"
    }
}

extension ClusterStatus {
    /// `KEY=VALUE` entries as pairs, in order, the first of a repeated key kept.
    public static func pairs(_ entries: [String]) -> [(key: String, value: String)] {
        var seen: Set<String> = []
        return entries.compactMap { entry in
            guard let equals = entry.firstIndex(of: "=") else { return nil }
            let key = String(entry[..<equals])
            guard seen.insert(key).inserted else { return nil }
            return (key, String(entry[entry.index(after: equals)...]))
        }
    }
}

