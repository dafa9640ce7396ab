import Foundation
import Models
import Octopus
import TensorCore

/// The pieces of `loom bench serve`: a random graph saved as checkpoints, one timed round, and the report.
enum ServeBenchmark {
    struct Setup {
        let master: String, workers: [String]
        let vocabulary: OctopusVocabulary
        /// Per query: its master prompt, and its worker (0 or 1) and canonical prompt.
        let routePrompts: [[Int32]]
        let answers: [(worker: Int, prompt: [Int32])]
        let batch: Int
        static let masterTokens = 24, workerTokens = 8
    }

    /// One round: the master's batches, then the workers'; outputs and per-query latencies.
    struct Round {
        var seconds: Double
        var routeLatencies: [Double], answerLatencies: [Double]
        var outputs: [[Int32]]
        var hop: Double
    }

    static func prepare(queries: Int, batch: Int, in scratch: URL) throws -> Setup {
        let vocabulary = try OctopusVocabulary(nodeCount: 2)
        func save(_ name: String, context: Int, seed: UInt64) throws -> String {
            let config = ModelConfig(vocabulary: vocabulary.size, context: context, layers: 2, dModel: 64, heads: 4)
            let model = try Transformer(config: config, seed: seed, maxBatch: 1, threads: 1)
            let url = scratch.appendingPathComponent(name)
            try Checkpoint.save(to: url, step: 0, config: config, parameters: model.parameters,
                                optimizer: SGD(count: model.parameters.count, momentum: 0))
            return url.path
        }
        let master = try save("master", context: 96, seed: 1)
        let workers = [try save("rev", context: 32, seed: 2), try save("sort", context: 32, seed: 3)]
        var generator = QueryGenerator(seed: 11)
        let examples = try generator.examples(for: .test, count: queries, domains: [.reverse, .sort])
        let end = vocabulary.endOfCallToken
        return Setup(master: master, workers: workers, vocabulary: vocabulary,
                     routePrompts: try examples.map { try vocabulary.encode($0.query) + [end] },
                     answers: try examples.map { ($0.domain == .reverse ? 0 : 1, try vocabulary.encode($0.canonical) + [end]) },
                     batch: batch)
    }

    static func round(_ setup: Setup, on generator: any Generator) throws -> Round {
        func batches(_ prompts: [[Int32]], checkpoint: String, tokens: Int) -> [GenerationBatch] {
            stride(from: 0, to: prompts.count, by: setup.batch).map {
                GenerationBatch(checkpoint: checkpoint, prompts: Array(prompts[$0..<min(prompts.count, $0 + setup.batch)]), maxNewTokens: tokens, stop: [])
            }
        }
        let v = setup.vocabulary.size
        let start = ContinuousClock.now
        let routed = try generator.generate(batches(setup.routePrompts, checkpoint: setup.master, tokens: Setup.masterTokens), vocabulary: v)
        var routeLatencies: [Double] = [], outputs: [[Int32]] = []
        for result in routed { routeLatencies += result.outputs.map { _ in result.seconds }; outputs += result.outputs }
        var answerLatencies: [Double] = []
        var work: [GenerationBatch] = []
        for worker in 0..<2 {
            work += batches(setup.answers.filter { $0.worker == worker }.map(\.prompt), checkpoint: setup.workers[worker], tokens: Setup.workerTokens)
        }
        for result in try generator.generate(work, vocabulary: v) {
            answerLatencies += result.outputs.map { _ in result.seconds }; outputs += result.outputs
        }
        let seconds = (ContinuousClock.now - start).inSeconds
        let hopStart = ContinuousClock.now
        _ = try generator.generate([GenerationBatch(checkpoint: setup.workers[0], prompts: [setup.answers[0].prompt], maxNewTokens: 1, stop: [])],
                                   vocabulary: v)
        return Round(seconds: seconds, routeLatencies: routeLatencies, answerLatencies: answerLatencies, outputs: outputs,
                     hop: (ContinuousClock.now - hopStart).inSeconds)
    }

    struct Report {
        let setup: Setup
        let repeats: Int
        let inProcess: [Round], onCluster: [Round]
        let identical: Bool

        struct Row { let name: String; let queriesPerSecond: Double; let route: Double; let answer: Double; let hop: Double }

        var rows: [Row] {
            [("in process, 1 thread", inProcess), ("2 worker processes", onCluster)].map { name, rounds in
                Row(name: name, queriesPerSecond: Double(setup.routePrompts.count) / BenchOracleCommand.median(rounds.map(\.seconds)),
                    route: BenchOracleCommand.median(rounds.flatMap(\.routeLatencies)) * 1e3,
                    answer: BenchOracleCommand.median(rounds.flatMap(\.answerLatencies)) * 1e3,
                    hop: BenchOracleCommand.median(rounds.map(\.hop)) * 1e3)
            }
        }

        var json: JSONValue {
            .object([
                ("benchmark", .string("serve")), ("commit", .string(Provenance.commit)), ("host", .string(Provenance.host)),
                ("cpu", .string(Provenance.cpuModel)), ("simd", .string(SIMDTarget.name)),
                ("cores", .integer(Parallel.activeCores)), ("queries", .integer(setup.routePrompts.count)),
                ("batch", .integer(setup.batch)), ("repeat", .integer(repeats)), ("identical", .bool(identical)),
                ("results", .array(rows.map { row in
                    .object([("case", .string(row.name)), ("queries_per_s", .number(row.queriesPerSecond)),
                             ("route_latency_ms", .number(row.route)), ("answer_latency_ms", .number(row.answer)),
                             ("one_prompt_round_trip_ms", .number(row.hop))])
                })),
            ])
        }

        func printTable() {
            Console.output("loom \(Provenance.loomVersion) (commit \(Provenance.commit), \(Provenance.build) build), \(Provenance.cpuModel), "
                           + "\(Parallel.activeCores) cores, SIMD \(SIMDTarget.name)")
            if !Provenance.isRelease { Console.output("warning: debug build — these timings are not meaningful") }
            Console.output("graph: master L2 d64 T96 (\(Setup.masterTokens) tokens per query), workers REV and SORT L2 d64 T32 "
                           + "(\(Setup.workerTokens) tokens); \(setup.routePrompts.count) queries in batches of \(setup.batch), median of \(repeats)")
            Console.output("case".padding(toLength: 24, withPad: " ", startingAt: 0)
                           + ["queries/s", "route ms", "answer ms", "1-prompt ms"].map { $0.leftPadding(13) }.joined())
            for row in rows {
                Console.output(row.name.padding(toLength: 24, withPad: " ", startingAt: 0)
                               + [String(format: "%.1f", row.queriesPerSecond), String(format: "%.1f", row.route), String(format: "%.1f", row.answer),
                                  String(format: "%.2f", row.hop)].map { $0.leftPadding(13) }.joined())
            }
            let (local, remote) = (rows[0], rows[1])
            Console.output(String(format: "workers over in process: %.2f× the throughput; a one-prompt batch costs %.2f ms more through the cluster "
                                  + "(completions identical: %@)", remote.queriesPerSecond / local.queriesPerSecond, remote.hop - local.hop,
                                  identical ? "yes" : "NO"))
        }
    }
}
