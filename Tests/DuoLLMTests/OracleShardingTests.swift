import Cluster
import Foundation
import DuoLLM
import Experiments
import ProcessTestSupport
import Tasks
import TensorCore
import Testing

/// The oracle split into shards that run on real worker processes and are joined by `loom run`:
/// the same stored result, bit for bit, as a search in one task, also when a worker is killed
/// in the middle of a shard.
@Suite struct OracleShardingTests {
    @Test func splitGivesContiguousEvenSlicesOfTheRunsRoutes() throws {
        let scratch = try TemporaryDirectory()
        let model = try Self.trainTinyModel(in: scratch)
        let kind = OracleKind.kind
        func slices(_ params: [String: ParameterValue], workers: Int = 0) throws -> [[Int]]? {
            try kind.shards(of: params, workers: workers)?.map { [$0["first_route"]!.number.map(Int.init)!, $0["route_count"]!.number.map(Int.init)!] }
        }
        let base: [String: ParameterValue] = ["checkpoint": .string(model), "skip_routes": .bool(true)]
        // 3 layers with skip: 27 routes.
        #expect(try slices(base.merging(["shards": .int(4)]) { $1 }) == [[0, 7], [7, 7], [14, 7], [21, 6]])
        #expect(try slices(base.merging(["shards": .int(2), "first_route": .int(20)]) { $1 }) == [[20, 4], [24, 3]])
        #expect(try slices(base.merging(["shards": .int(99), "first_route": .int(25)]) { $1 }) == [[25, 1], [26, 1]])
        #expect(try slices(base, workers: 3)?.count == 6, "0 shards: two per worker")
        #expect(try slices(base)?.count == 4, "0 shards, workers unknown: 4")
        #expect(try slices(base.merging(["shards": .int(1)]) { $1 }) == nil, "one shard: not split")
        #expect(throws: ClusterError.self) { try slices(base.merging(["first_route": .int(27)]) { $1 }) }
    }

    @Test func shardedSearchOnWorkersEqualsOneTaskBitForBitAfterAWorkerIsKilled() throws {
        let scratch = try TemporaryDirectory()
        let model = try Self.trainTinyModel(in: scratch, layers: 4, width: 32, context: 32)
        func write(_ name: String, shards: Int) throws -> String {
            let file = scratch.path("\(name).yaml")
            try """
                name: \(name)
                task: duo.oracle
                resources: {retries: 3}
                params: {checkpoint: "\(model)", corpus: "\(scratch.path("corpus.txt"))", evaluation_batch: 96,
                         skip_routes: true, threads: 1, shards: \(shards), routes: "BSKB"}
                """.write(toFile: file, atomically: true, encoding: .utf8)
            return file
        }
        // The workers' temporary directory is the test's own, to see what they leave in it.
        let temporary = scratch.url.appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = temporary.path
        let whole = try LoomProcess.run(["run", try write("whole", shards: 1), "--workers", "1", "--quiet", "--no-report"],
                                        in: scratch.url, deadline: .seconds(300), environment: environment)
        try #require(whole.status == 0, "\(whole)")

        let process = Process()
        process.executableURL = try LoomProcess.executable()
        process.arguments = ["run", try write("sharded", shards: 12), "--workers", "2", "--quiet", "--no-report"]
        process.currentDirectoryURL = scratch.url
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        // Kill the worker of a running shard. A shard may finish between the look and the kill
        // (the worker then dies idle and nothing is lost), so kill again until an attempt is LOST.
        var killed: [Int] = [], lost: [ResultsStore.AttemptRecord] = []
        let end = ContinuousClock.now + .seconds(120)
        while lost.isEmpty && ContinuousClock.now < end && process.isRunning {
            Thread.sleep(forTimeInterval: 0.02)
            guard let store = try? ResultsStore(readingAt: scratch.path(".loom/loom.db")),
                  let run = try? store.runs().first(where: { $0.experiment == "sharded" }),
                  let attempts = try? store.attempts(run: run.id) else { continue }
            lost = attempts.filter { $0.status == "LOST" }
            guard lost.isEmpty, killed.count < 5, let running = attempts.first(where: { $0.status == "RUNNING" }),
                  let shard = running.shard, !killed.contains(shard),
                  let pid = Self.worker(named: running.workers, under: process.processIdentifier) else { continue }
            kill(pid, SIGKILL)
            killed.append(shard)
        }
        let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(said)")
        try #require(!killed.isEmpty, "no shard was seen running: \(said)")

        let store = try ResultsStore(readingAt: scratch.path(".loom/loom.db"))
        let runs = try store.runs()
        let one = try #require(runs.first { $0.experiment == "whole" }), split = try #require(runs.first { $0.experiment == "sharded" })
        let attempts = try store.attempts(run: split.id)
        let lostShards = attempts.filter { $0.status == "LOST" }.compactMap(\.shard)
        #expect(split.status == .succeeded && split.lostAttempts == lostShards.count && !lostShards.isEmpty, "\(split) \(attempts)")
        #expect(Set(lostShards).isSubset(of: killed), "only killed workers' shards are lost: \(attempts), killed \(killed)")
        #expect(Set(attempts.filter { $0.status == "SUCCEEDED" }.compactMap(\.shard)) == Set(0..<12), "every shard once: \(attempts)")
        #expect(try store.attempts(run: one.id).allSatisfy { $0.shard == nil })
        // Each shard's files, and the join's, went once read and stored; a worker killed while
        // writing its files cannot remove them.
        let left = try FileManager.default.contentsOfDirectory(atPath: temporary.path).filter { $0.hasPrefix("loom-") }
        #expect(left.count <= killed.count, "scratch folders left behind: \(left), \(killed.count) worker(s) killed")

        let expected = try store.finalMetrics(run: one.id), got = try store.finalMetrics(run: split.id)
        #expect(expected.count > 20 && expected["ppl.oracle.k2"] != nil && expected["ppl.route.BSKB"] != nil)
        #expect(got == expected, "the joined search stores exactly the one-task metrics")
        let curves = try store.curves(run: one.id)
        #expect(curves["budget.ppl.oracle"]?.count == 5 && curves.count >= 8, "\(curves.keys.sorted())")
        #expect(try store.curves(run: split.id) == curves, "and the same curves over the budget")
        let graphs = try store.artifacts(run: split.id).map { URL(fileURLWithPath: $0.path).lastPathComponent }
        #expect(graphs.contains("routes-k1.svg") && graphs.contains("routes-k4.pdf") && graphs.contains("token-route.svg"), "\(graphs)")
        let matrices = try [one, split].map { run in try #require(try store.artifacts(run: run.id).first { $0.path.hasSuffix(".npy") }) }
        #expect(matrices[0].sha256 == matrices[1].sha256 && matrices[0].bytes == matrices[1].bytes,
                "CE[r, t] identical: \(matrices.map(\.path))")
        #expect(URL(fileURLWithPath: matrices[1].path).lastPathComponent == "ce-routes-0-81.npy")
        // The fixed_context reading and the null control (on by default) join the same way.
        #expect(expected["fc.ppl.oracle.k2"] != nil && expected["ppl.null.k2"] != nil && curves["fc.difficulty.reduction"] != nil)
        #expect(curves["budget.ppl.null"]?.count == 5 && curves["fc.budget.ppl.oracle"]?.count == 5, "\(curves.keys.sorted())")
        let fixedContext = try [one, split].map { run in
            try #require(try store.artifacts(run: run.id).first { $0.path.hasSuffix("ce-fixed-context-0-81.npy") })
        }
        #expect(fixedContext[0].sha256 == fixedContext[1].sha256, "CE_fc[r, t] identical")
    }

    /// A `train.duo` checkpoint of a small model (no oracle), trained through `loom run`.
    static func trainTinyModel(in scratch: TemporaryDirectory, layers: Int = 3, width: Int = 16, context: Int = 16) throws -> String {
        let text = String(repeating: "a duo model sends each token through a big or a small feed-forward block, or none. ", count: 60)
        try text.write(toFile: scratch.path("corpus.txt"), atomically: true, encoding: .utf8)
        try """
            name: tiny-duo
            task: train.duo
            params: {layers: \(layers), d_model: \(width), heads: 2, context: \(context), batch: 4, steps: 5, evaluate_every: 5,
                     evaluation_batch: 2, threads: 1, oracle: false,
                     corpus: "\(scratch.path("corpus.txt"))", checkpoint_dir: "\(scratch.path("model"))"}
            """.write(toFile: scratch.path("train.yaml"), atomically: true, encoding: .utf8)
        let ran = try LoomProcess.run(["run", scratch.path("train.yaml"), "--workers", "1", "--quiet", "--no-report"],
                                      in: scratch.url, deadline: .seconds(300))
        try #require(ran.status == 0, "\(ran)")
        return scratch.path("model")
    }

    /// The pid of the local worker `name` (`--name local-N`) started by `parent`.
    static func worker(named name: String, under parent: Int32) -> Int32? {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).first { pid in
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                  status.split(separator: "\n").contains(where: { $0.hasPrefix("PPid:") && $0.hasSuffix("\t\(parent)") }),
                  let command = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let arguments = command.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return zip(arguments, arguments.dropFirst()).contains { $0 == "--name" && $1 == name }
        }
    }
}
