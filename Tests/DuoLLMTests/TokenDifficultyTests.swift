import Foundation
import Models
import Tasks
import Testing
@testable import DuoLLM

/// Token difficulty on a hand-built matrix, and the fc.* and difficulty metrics all declared.
@Suite struct TokenDifficultyTests {
    /// Routes of 2 layers: 0 BB, 1 BS, 2 SB, 3 SS; two sequences of 2 tokens.
    static func losses() throws -> RouteLosses {
        try RouteLosses(routes: RouteSet(layers: 2, skip: false), first: 0, count: 4, tokens: 4,
                        values: [1, 2, 3, 0.5,
                                 3, 1, 2, 1,
                                 2, 4, 4, 0.25,
                                 4, 4, 5, 1])
    }

    @Test func reductionsByTokenAndPosition() throws {
        let difficulty = try TokenDifficulty(try Self.losses(), context: 2)
        #expect(difficulty.allSmall == [4, 4, 5, 1] && difficulty.allBig == [1, 2, 3, 0.5])
        #expect(difficulty.best == [1, 1, 2, 0.25])
        #expect(difficulty.reduction == [3, 3, 3, 0.75])
        #expect(difficulty.meanReductionByPosition == [3, 1.875])
        // All-big losses 1, 2, 3, 0.5 fall in the 0.25-nat bins starting at 1, 2, 3 and 0.5 nats.
        let binned = difficulty.meanReductionByAllBigLoss
        #expect(binned.map(\.centinats) == [50, 100, 200, 300] && binned.map(\.mean) == [0.75, 3, 3, 3], "\(binned)")
        let curve = DuoMetric.values(difficulty).series.filter { $0.name == "difficulty.by_all_big" }
        #expect(curve.map(\.step) == [50, 100, 200, 300])
        #expect(abs(difficulty.meanReduction - 9.75 / 4) < 1e-12)
        // Pearson r by hand: positions 0, 1, 0, 1 against 3, 3, 3, 0.75.
        // Deviations of the reduction: 0.5625 ×3, −1.6875 (Σ² = 3.796875); of position ±0.5 (Σ² = 1).
        #expect(abs(difficulty.correlationWithPosition! + (1 / 3.0).squareRoot()) < 1e-12)
        // All big 1, 2, 3, 0.5: deviations −0.625, 0.375, 1.375, −1.125 (Σ² = 3.6875, Σxy = 2.53125).
        #expect(abs(difficulty.correlationWithAllBig! - 2.53125 / (3.6875 * 3.796875).squareRoot()) < 1e-12)
        let lines = difficulty.csv.split(separator: "\n")
        #expect(lines.first == "t,sequence,position,ce_all_small,ce_all_big,ce_best,reduction")
        #expect(lines.count == 5 && lines[4] == "3,1,1,1.0,0.5,0.25,0.75", "\(lines)")
    }

    @Test func constantSeriesHaveNoCorrelationAndSlicesAreRefused() throws {
        let flat = try RouteLosses(routes: RouteSet(layers: 1, skip: false), first: 0, count: 2, tokens: 2, values: [1, 1, 2, 2])
        let difficulty = try TokenDifficulty(flat, context: 2)
        #expect(difficulty.correlationWithPosition == nil && difficulty.correlationWithAllBig == nil)
        let metrics = DuoMetric.values(difficulty, prefix: "fc.").metrics
        #expect(metrics.keys.sorted() == ["fc.difficulty.mean_reduction"])
        let slice = try RouteLosses(routes: RouteSet(layers: 2, skip: false), first: 1, count: 1, tokens: 2, values: [1, 2])
        #expect(throws: ModelError.self) { try TokenDifficulty(slice, context: 2) }
        #expect(throws: ModelError.self) { try TokenDifficulty(try Self.losses(), context: 3) }
    }

    @Test func everyMetricOfBothReadingsIsDeclared() throws {
        let losses = try Self.losses(), set = losses.routes
        let summary = try OracleSummary(losses)
        let catalog = MetricCatalog(DuoMetric.all)
        for prefix in ["", DuoMetric.fixedContextPrefix] {
            var names = Array(DuoMetric.values(summary, set: set, budgets: nil, fixed: ["BS": 2], prefix: prefix).keys)
            let (metrics, series) = DuoMetric.values(try TokenDifficulty(losses, context: 2), prefix: prefix)
            names += metrics.keys + series.map(\.name) + [DuoMetric.null.instance(1)]
            #expect(names.filter { catalog.spec(for: $0) == nil }.isEmpty, "undeclared: \(names.filter { catalog.spec(for: $0) == nil })")
            #expect(names.allSatisfy { $0.hasPrefix(prefix) || $0.hasPrefix("ppl.null") })
            #expect(series.filter { $0.name.hasSuffix("difficulty.reduction") }.map(\.step) == [0, 1])
        }
        #expect(catalog.spec(for: "fc.ppl.oracle.k2")?.label.contains("fixed_context") == true)
        #expect(catalog.spec(for: "fc.difficulty.reduction")?.isStepped == true)
    }
}
