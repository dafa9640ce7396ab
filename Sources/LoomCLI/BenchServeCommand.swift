import Cluster
import Foundation
import Models
import Octopus
import TensorCore

/// `loom bench serve`: a graph's queries through master and worker processes against the same
/// models called in this process, in the same run.
enum BenchServeCommand: Command {
    static let words = ["bench", "serve"]
    static let summary = "time Octopus serving: queries through master and worker processes against the same models in process"
    static let usage = "loom bench serve [--queries N] [--batch B] [--repeat R] [--json]"
    static let options: [Option] = [
        .value("queries", "N", "user queries per round (default 64)"),
        .value("batch", "B", "prompts per generation batch, one task each on the cluster (default 8)"),
        .value("repeat", "R", "timed rounds (default 5; medians are reported)"),
        .flag("json", "one JSON object instead of the table (release builds only)"),
    ]
    static let discussion = """
        A graph of a master (2 layers, d = 64, context 96) and two workers (REV and SORT; 2 layers, \
        d = 64, context 32), random weights saved as checkpoints: the master decodes 24 tokens per \
        query and each worker 8 (random models never stop early, so every round does the same \
        work). Each round sends the queries' master prompts, then their canonical queries to the \
        workers, in batches: in this process (one thread, the models resident), and as \
        octopus.generate tasks on 2 local worker processes (one thread each; the models resident \
        after the first round, which is not timed). Reported: queries per second, the median \
        per-query latency of each stage (from the stage's start to its batch's result), and the \
        round trip of a one-prompt batch (what the cluster hop itself costs). The outputs of the \
        two must be the same tokens.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        let json = arguments.flag("json")
        if json && !Provenance.isRelease {
            throw .usage("--json needs a release build: build with 'swift build -c release' and use .build/release/loom")
        }
        let queries = try BenchOracleCommand.bounded(arguments, "queries", 64, 1...4096)
        let batch = try BenchOracleCommand.bounded(arguments, "batch", 8, 1...4096)
        let repeats = try BenchOracleCommand.bounded(arguments, "repeat", 5, 1...100)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("loom-bench-serve-\(getpid())-\(UUID().uuidString.prefix(8))")
        do { try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true) } catch {
            throw .failure("cannot create the scratch directory \(scratch.path): \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: scratch) }
        let setup: ServeBenchmark.Setup
        do { setup = try ServeBenchmark.prepare(queries: queries, batch: batch, in: scratch) } catch { throw .failure("cannot prepare the graph: \(error)") }
        if !json { Console.progress("bench serve: \(queries) queries in process …") }
        let local = InProcessGenerator(models: ResidentModels(capacity: 4))
        let inProcess: [ServeBenchmark.Round]
        do { inProcess = try (0...repeats).map { _ in try ServeBenchmark.round(setup, on: local) } } catch { throw .failure("in process: \(error)") }

        if !json { Console.progress("bench serve: starting 2 workers …") }
        let cluster = try BenchOracleCommand.localWorkers(2, logDirectory: scratch)
        defer { cluster.stop() }
        let onCluster: [ServeBenchmark.Round]
        do {
            let remote = ClusterGenerator(client: try ClusterClient(connect: cluster.coordinator.endpoint))
            onCluster = try (0...repeats).map { round in
                if !json { Console.progress("bench serve: workers, round \(round) of \(repeats)") }
                return try ServeBenchmark.round(setup, on: remote)
            }
        } catch { throw .failure("on the workers: \(error)") }
        let identical = inProcess[0].outputs == onCluster[0].outputs
        guard identical else { throw .failure("the workers' completions differ from this process's; serving is not exact") }
        let report = ServeBenchmark.Report(setup: setup, repeats: repeats, inProcess: Array(inProcess.dropFirst()),
                                           onCluster: Array(onCluster.dropFirst()), identical: identical)
        if json { Console.output(report.json.rendered()) } else { report.printTable() }
    }
}
