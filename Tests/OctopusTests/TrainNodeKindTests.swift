import Experiments
import Foundation
import Models
import ProcessTestSupport
import Tasks
import Testing
@testable import Octopus

/// `octopus.train` through `loom run`: a node of a tiny graph trains on its data, writes its
/// checkpoint where the graph says and records its splits; a checkpoint of other settings, a wrong
/// graph or node, and data longer than the context are refused.
@Suite struct TrainNodeKindTests {
    static let tiny = """
        graph: tiny
        nodes:
          - {name: master, role: master, model: {layers: 1, d_model: 16, heads: 2, context: 128}, checkpoint: models/master}
          - {name: rev, role: worker, domain: REV, model: {layers: 1, d_model: 16, heads: 2, context: 24}, checkpoint: models/rev}
          - {name: sort, role: worker, domain: SORT, model: {layers: 1, d_model: 16, heads: 2, context: 24}, checkpoint: models/sort}
        edges:
          - {from: master, to: rev, token: "<nexa_0>"}
          - {from: master, to: sort, token: "<nexa_1>"}
        """

    @Test func aNodeTrainsAndWritesItsCheckpoint() throws {
        let scratch = try TemporaryDirectory()
        try Self.tiny.write(toFile: scratch.path("tiny.yaml"), atomically: true, encoding: .utf8)
        func run(_ node: String, steps: Int, examples: Int = 400) throws -> LoomProcess.Outcome {
            try """
                name: train-\(node)-\(steps)-\(examples)
                task: octopus.train
                params: {graph: tiny.yaml, node: \(node), steps: \(steps), batch: 8, examples: \(examples), test_examples: 40, evaluate_every: 10, threads: 1}
                """.write(toFile: scratch.path("e.yaml"), atomically: true, encoding: .utf8)
            return try LoomProcess.run(["run", "e.yaml", "--workers", "1", "--quiet", "--no-report"], in: scratch.url, deadline: .seconds(120))
        }
        for node in ["rev", "master"] {
            let outcome = try run(node, steps: 20)
            try #require(outcome.status == 0, "\(outcome)")
            let manifest = try Checkpoint.manifest(at: scratch.url.appendingPathComponent("models/\(node)"))
            #expect(manifest.step == 20 && manifest.model.context == (node == "rev" ? 24 : 128))
            #expect(manifest.model.vocabulary == (try OctopusVocabulary(nodeCount: 2)).size)
        }
        // Other settings on the same checkpoint are refused (a checkpoint resumes only its own run).
        let other = try run("rev", steps: 40)
        #expect(other.status != 0)
        #expect(try Checkpoint.manifest(at: scratch.url.appendingPathComponent("models/rev")).step == 20)
        // So is other data under the same training settings (the generator's settings are recorded too).
        #expect(try run("rev", steps: 20, examples: 300).status != 0)
        let store = try ResultsStore(readingAt: scratch.path(".loom/loom.db"))
        let runs = try store.runs()
        let rev = try #require(runs.first { $0.experiment == "train-rev-20-400" })
        let metrics = try store.finalMetrics(run: rev.id)
        #expect(metrics["split.train.count.REV"]?.number == 400 && metrics["split.test.count.REV"]?.number == 40)
        #expect(metrics["split.train.templates_used"]?.number == 30, "\(metrics["split.train.templates_used"]!)")
        #expect(metrics["split.test.templates_used"]?.number == 10, "\(metrics["split.test.templates_used"]!)")
        #expect((metrics["eval_loss"]?.number ?? .nan).isFinite && metrics["node.steps"]?.number == 20)
        let master = try #require(runs.first { $0.experiment == "train-master-20-400" })
        #expect(try store.finalMetrics(run: master.id)["split.train.count.SORT"]?.number ?? 0 > 100)
        let refused = try #require(runs.first { $0.experiment == "train-rev-40-400" })
        #expect(try store.attempts(run: refused.id).contains { ($0.error ?? "").contains("other training settings") })
        let otherData = try #require(runs.first { $0.experiment == "train-rev-20-300" })
        #expect(try store.attempts(run: otherData.id).contains { ($0.error ?? "").contains("other data") })
    }

    @Test func badSettingsAreRefusedBeforeTraining() throws {
        let scratch = try TemporaryDirectory()
        try Self.tiny.replacingOccurrences(of: "context: 24", with: "context: 8").write(toFile: scratch.path("tiny.yaml"), atomically: true, encoding: .utf8)
        for (params, phrase) in [("graph: tiny.yaml, node: revv", "no node 'revv'"), ("graph: tiny.yaml, node: rev", "use a context of at least 17"),
                                 ("graph: missing.yaml, node: rev", "no such file"),
                                 ("graph: tiny.yaml, node: master, layers: 3", "reshape the generalist baseline only"),
                                 ("graph: tiny.yaml, node: master, data: generalist, checkpoint_dir: g, d_model: 17", "not a multiple of the node's 2 heads")] {
            try """
                name: bad
                task: octopus.train
                params: {\(params), steps: 5, threads: 1}
                """.write(toFile: scratch.path("e.yaml"), atomically: true, encoding: .utf8)
            let outcome = try LoomProcess.run(["run", "e.yaml", "--workers", "1", "--quiet", "--no-report"], in: scratch.url, deadline: .seconds(60))
            // A wrong graph or node stops loom run before any run; data that does not fit fails the run, with the reason stored.
            var said = outcome.standardError + outcome.standardOutput
            if let store = try? ResultsStore(readingAt: scratch.path(".loom/loom.db")), let run = try? store.runs().last {
                said += (try? store.attempts(run: run.id).compactMap(\.error).joined(separator: "\n")) ?? ""
            }
            #expect(outcome.status != 0 && said.contains(phrase), "\(params): \(said)")
        }
    }
}
