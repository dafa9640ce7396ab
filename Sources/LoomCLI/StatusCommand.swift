import Cluster
import Foundation

/// `loom status`: what a running coordinator knows.
enum StatusCommand: Command {
    static let words = ["status"]
    static let summary = "show a coordinator's workers, tasks and counters"
    static let usage = "loom status --connect ADDR [--json]"
    static let options: [Option] = [
        .value("connect", "ADDR", "the coordinator's endpoint (required)"),
        .value("timeout", "S", "seconds to wait for an answer (default 5)"),
        .flag("json", "print the status as one JSON object"),
    ] + CurveOptions.options
    static let discussion = """
        Counters include dropped_messages (malformed or hostile input), late_results (from \
        attempts already declared lost), workers_lost, attempts_lost (requeued), \
        attempts_failed, attempts_timed_out (past the task's own timeout), attempts_expired \
        (past the coordinator's lease; requeued), workers_dropped (their leases kept expiring), \
        registrations_refused (of dropped workers) and slots_capped. A worker's slots read \
        'used/asked' when the coordinator capped what it asked for.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        let connect = try arguments.required("connect", "the coordinator's endpoint")
        try ClusterOptions.checkEndpoint(connect, option: "connect")
        let timeout = try arguments.seconds("timeout") ?? 5
        let json: String
        do {
            json = try ClusterClient(connect: connect, security: try CurveOptions.client(arguments, endpoint: connect)).status(timeout: .milliseconds(Int64(timeout * 1000)))
        } catch {
            throw .failure("\(error)")
        }
        if arguments.flag("json") {
            Console.output(json)
            return
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            throw .failure("the coordinator sent a status that is not JSON")
        }
        let workers = object["workers"] as? [[String: Any]] ?? []
        let tasks = object["tasks"] as? [String: Any] ?? [:]
        let counters = object["counters"] as? [String: Any] ?? [:]
        Console.output("coordinator \(object["endpoint"] ?? connect): \(workers.count) worker(s)")
        Console.output("  " + "id".padding(4) + "name".padding(22) + "pid".padding(9) + "slots".padding(10)
                       + "running".padding(9) + "silent s".padding(10) + "state".padding(10) + "machine")
        for worker in workers {
            Console.output("  " + "\(worker["id"] ?? "")".padding(4) + "\(worker["name"] ?? "")".padding(22)
                           + "\(worker["pid"] ?? "")".padding(9) + slots(worker).padding(10)
                           + "\(worker["running"] ?? "")".padding(9) + "\(worker["silent_s"] ?? "")".padding(10)
                           + ((worker["draining"] as? Bool) == true ? "draining" : "live").padding(10) + machine(worker))
        }
        Console.output("tasks: \(tasks["queued"] ?? 0) queued, \(tasks["running"] ?? 0) running, "
                       + "\(tasks["succeeded"] ?? 0) succeeded, \(tasks["failed"] ?? 0) failed")
        if !counters.isEmpty {
            Console.output("counters: " + counters.keys.sorted().map { "\($0)=\(counters[$0]!)" }.joined(separator: " "))
        }
    }

    /// `tile avx512, AMD EPYC 9R14`: the register tile first (what differs between nodes of one
    /// build), or `—` for a worker of an older Loom.
    static func machine(_ worker: [String: Any]) -> String {
        let fields = worker["machine"] as? [String: String] ?? [:]
        let text = [fields["tile"].map { "tile \($0)" }, fields["cpu"]].compactMap { $0 }.joined(separator: ", ")
        return text.isEmpty ? "—" : RunTable.terminalSafe(text)
    }

    /// The slots a worker gets, and what it asked for when the coordinator capped it.
    static func slots(_ worker: [String: Any]) -> String {
        let used = "\(worker["slots"] ?? "")"
        guard let asked = worker["declared_slots"], "\(asked)" != used else { return used }
        return "\(used)/\(asked)"
    }
}
