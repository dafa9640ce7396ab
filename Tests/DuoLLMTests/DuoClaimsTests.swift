import Foundation
import DuoLLM
import Experiments
import ProcessTestSupport
import Tasks
import Testing

/// Claims 1 and 2 of Duo-LLM on a model trained from scratch through `loom run`: L = 6, d = 32,
/// context 32, batch 32, 600 steps of stage-1 random routing on Loom's documentation (about 25 s
/// on one core; the paper-scale file experiments/duo-llm/claims.yaml trains d = 64 for 3,000).
@Suite struct DuoClaimsTests {
    @Test func oneBigLayerChosenPerTokenBeatsAllBigAndTheBestBudgetIsNearHalfTheLayers() throws {
        let scratch = try TemporaryDirectory()
        try """
            name: duo-claims
            task: train.duo
            params: {layers: 6, d_model: 32, heads: 4, context: 32, batch: 32, steps: 600, evaluate_every: 300,
                     evaluation_batch: 16, lr: 3e-3, threads: 1, budgets: "0,1,2,3,4,5,6"}
            """.write(toFile: scratch.path("claims.yaml"), atomically: true, encoding: .utf8)
        let ran = try LoomProcess.run(["run", scratch.path("claims.yaml"), "--workers", "1", "--quiet", "--no-report"],
                                      in: scratch.url, deadline: .seconds(400))
        try #require(ran.status == 0, "\(ran)")
        let store = try ResultsStore(readingAt: scratch.path(".loom/loom.db"))
        let run = try #require(try store.runs().first)
        let metrics = try store.finalMetrics(run: run.id)
        func value(_ name: String) throws -> Double { try #require(metrics[name]?.number, "\(name) missing: \(metrics.keys.sorted())") }
        let allBig = try value("ppl.all_big"), allSmall = try value("ppl.all_small")
        let oracle = try (0...6).map { try value("ppl.oracle.k\($0)") }
        // Trained: far below the vocabulary's uniform perplexity, and big beats small.
        #expect(allBig < allSmall && allBig < 15, "all big \(allBig), all small \(allSmall)")
        // Claim 1: one big layer, chosen per token, beats every layer big.
        #expect(oracle[1] < allBig, "oracle k=1 \(oracle[1]) vs all big \(allBig)")
        // Claim 2: the best budget is near L/2 = 3, not L.
        let best = oracle.indices.min { oracle[$0] < oracle[$1] }!
        #expect((2...4).contains(best), "best budget k = \(best): \(oracle)")
        #expect(oracle[6] == allBig && oracle[0] == allSmall, "k = L is the all-big route, k = 0 all small")
    }
}
