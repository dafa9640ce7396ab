import Cluster
import Foundation
import Tasks

/// `loom submit`: queue tasks on a running coordinator.
enum SubmitCommand: Command {
    static let words = ["submit"]
    static let summary = "queue tasks on a running coordinator"
    static let usage = "loom submit --connect ADDR --kind KIND [--param key=value …] [--count N] [--wait] [--test-kinds]"
    static let options: [Option] = [
        .value("connect", "ADDR", "the coordinator's endpoint (required)"),
        .value("kind", "KIND", "task kind, e.g. sleep, echo, gemm, attention.sharded (required; see below)"),
        .repeated("param", "KEY=VALUE", "a parameter of the kind; repeat for several"),
        .value("count", "N", "copies of the task to queue (default 1)"),
        .value("gang", "P", "run each task on a gang of P workers (gang kinds only)"),
        .value("attempts", "N", "attempts allowed when the task itself fails (default 1)"),
        .flag("wait", "wait for the results and print them"),
        .value("timeout", "S", "with --wait: seconds to wait (default 600)"),
        .flag("json", "with --wait: print one JSON object per result"),
        ClusterOptions.testKinds,
    ] + CurveOptions.options
    static var discussion: String {
        let kinds = LoomTasks.registry.names.compactMap { LoomTasks.registry[$0] }
        return "Kinds and their parameters:\n" + kinds.map { kind in
            "  \(kind.name): \(kind.summary)\n" + kind.parameters.map {
                "      \($0.name) (\($0.type.rawValue), default \($0.defaultValue?.description ?? "required")): \($0.help)"
            }.joined(separator: "\n")
        }.joined(separator: "\n")
            + "\nTest-only kinds (need --test-kinds here and on the coordinator and its workers): "
            + LoomTasks.registry.withheldTestKinds.joined(separator: ", ")
    }

    static func run(_ arguments: Arguments) throws(CommandError) {
        let connect = try arguments.required("connect", "the coordinator's endpoint")
        try ClusterOptions.checkEndpoint(connect, option: "connect")
        let kind = try arguments.required("kind", "the task kind")
        let params = try ClusterOptions.parameters(arguments.strings("param"))
        // The bounds a coordinator reads a submit with: past them it drops the message unanswered.
        let count = try arguments.int("count", minimum: 1, maximum: 1_000_000) ?? 1
        let gang = try arguments.int("gang", minimum: 1, maximum: 65536) ?? 0
        let attempts = try arguments.int("attempts", minimum: 1, maximum: 1000) ?? 1
        let timeout = try arguments.seconds("timeout") ?? 600    // read before anything is queued
        // Checked here too, so a typo is a usage error before anything is sent.
        do {
            let registry = LoomTasks.registry(testKinds: arguments.flag("test-kinds"))
            let known = try registry.kind(named: kind)
            if known.isGang && gang == 0 { throw ClusterError.invalidTask("kind '\(kind)' runs as a gang: give --gang P") }
            if !known.isGang && gang > 0 { throw ClusterError.invalidTask("kind '\(kind)' runs on one worker; drop --gang") }
            _ = try known.validate(params, gangSize: gang)
        } catch {
            throw .usage("\(error)")
        }
        let client: ClusterClient
        let ids: [UInt64]
        do {
            client = try ClusterClient(connect: connect, security: try CurveOptions.client(arguments, endpoint: connect))
            ids = try client.submit(kind: kind, params: params, count: count, gang: gang, maxAttempts: attempts)
        } catch {
            throw .failure("\(error)")
        }
        Console.progress("queued \(ids.count) task(s) of kind \(kind) on \(connect)")
        guard arguments.flag("wait") else {
            for id in ids { Console.output(String(id)) }
            return
        }
        let end = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        var done: [UInt64: TaskResult] = [:]
        while done.count < ids.count {
            guard ContinuousClock.now < end else {
                throw .failure("\(ids.count - done.count) of \(ids.count) task(s) had not finished after \(timeout) s")
            }
            do {
                for result in try client.results(ids.filter { done[$0] == nil }) { done[result.taskID] = result }
            } catch {
                throw .failure("\(error)")
            }
            if done.count < ids.count { Thread.sleep(forTimeInterval: 0.05) }
        }
        var failures = 0
        for id in ids {
            let result = done[id]!
            if !result.succeeded { failures += 1 }
            if arguments.flag("json") {
                let metrics = result.metrics.keys.sorted().map { "\(ParameterValue.string($0).json):\(result.metrics[$0]!.json)" }
                Console.output("{\"task\":\(id),\"attempt\":\(result.attempt),\"succeeded\":\(result.succeeded),"
                               + "\"worker\":\(ParameterValue.string(result.worker).json),\"seconds\":\(result.seconds),"
                               + "\"metrics\":{\(metrics.joined(separator: ","))},\"error\":\(ParameterValue.string(result.error).json)}")
            } else {
                let metrics = result.metrics.keys.sorted().map { "\($0)=\(result.metrics[$0]!)" }.joined(separator: " ")
                Console.output("task \(id) attempt \(result.attempt) \(result.succeeded ? "ok" : "FAILED") on \(result.worker.isEmpty ? "-" : result.worker)"
                               + " in \(String(format: "%.3f", result.seconds)) s: " + (result.succeeded ? metrics : result.error))
            }
        }
        if failures > 0 { throw .failure("\(failures) of \(ids.count) task(s) failed") }
    }
}
