import Foundation

/// An invocation's provenance with readable names, in a fixed order; any other pairs (a report
/// made from data in memory: a calibration, a summary) follow in the order given.
struct ProvenanceTable {
    let rows: [(String, String)]

    init(_ pairs: [(String, String)]) {
        let names = ["command": "command", "git_commit": "git commit", "git_dirty": "uncommitted changes",
                     "loom_version": "Loom version", "loom_build": "Loom build", "host": "host", "libraries": "libraries",
                     "started_at": "started", "finished_at": "finished"]
        let order = ["command", "git_commit", "git_dirty", "loom_version", "loom_build", "host", "libraries", "started_at", "finished_at"]
        let values = Dictionary(pairs, uniquingKeysWith: { first, _ in first })
        rows = order.compactMap { key in
            guard let value = values[key] else { return nil }
            return (names[key]!, key == "libraries" ? ProvenanceTable.libraries(value) : value)
        } + pairs.filter { names[$0.0] == nil }
    }

    /// `{"SQLite":"3.40.1",…}` as `SQLite 3.40.1, …`.
    static func libraries(_ json: String) -> String {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else { return json }
        return object.keys.sorted().map { "\($0) \(object[$0]!)" }.joined(separator: ", ")
    }
}
