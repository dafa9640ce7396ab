import Foundation
import Models
import NumericTestSupport
import TensorCore
import ModelTestSupport
import Testing
@testable import DuoLLM

/// The oracle against an independent float64 brute-force search, and its summaries on a
/// hand-built CE matrix.
@Suite struct OracleTests {
    /// A tiny duo model (3 layers, d = 16) with random weights and a random batch.
    static func tinyModel() throws -> (Transformer, TrainingBatch) {
        var config = ModelConfig(vocabulary: 7, context: 6, layers: 3, dModel: 16, heads: 2)
        for l in 0..<3 { config.layers[l].duo = true }
        let model = try Transformer(config: config, seed: 5, maxBatch: 2, threads: 1)
        var random = SeededRandom(seed: 11)
        let tokens = (0..<12).map { _ in Int32(random.next() % 7) }
        let targets = (0..<12).map { _ in Int32(random.next() % 7) }
        return (model, TrainingBatch(size: 2, length: 6, inputs: tokens, targets: targets))
    }

    @Test func theOracleEqualsAFloat64BruteForceSearch() throws {
        let (model, batch) = try Self.tinyModel()
        let set = try RouteSet(layers: 3, skip: true)
        let losses = try RouteLosses.evaluate(model, batch: batch, routes: set)
        #expect(losses.count == 27 && losses.tokens == 12)
        // Brute force: every route through the float64 reference, one route for every token.
        let reference = ReferenceTransformer(model)
        var expected: [[Double]] = []
        for r in 0..<set.count {
            let routes = DuoRoutes(uniform: set.route(r), tokens: 12)
            expected.append(reference.run(tokens: batch.inputs, targets: batch.targets, batch: 2, routes: routes).positionLosses)
        }
        // Tolerance: float32 against float64 over a 3-layer pass.
        let error = relativeError(losses.values, expected.flatMap { $0 })
        #expect(error <= 1e-5, "‖CE − CE₆₄‖/‖CE₆₄‖ = \(error)")
        let summary = try OracleSummary(losses)
        var compared = 0
        for k in 0...3 {
            let candidates = (0..<set.count).filter { set.isBigSmall($0) && set.bigCount($0) == k }
            var sum = 0.0
            for t in 0..<12 {
                let ranked = candidates.sorted { expected[$0][t] < expected[$1][t] }
                sum += expected[ranked[0]][t]
                // The chosen route must match where the runner-up is not within float32 noise.
                if ranked.count == 1 || expected[ranked[1]][t] - expected[ranked[0]][t] > 1e-4 {
                    #expect(summary.argmin[k][t] == ranked[0], "k \(k), token \(t)")
                    compared += 1
                }
            }
            #expect(abs(summary.oracle[k] - exp(sum / 12)) <= 1e-5 * exp(sum / 12), "k \(k)")
        }
        #expect(compared >= 24, "only \(compared) argmins had a clear margin")
        #expect(abs(summary.allBig - exp(expected[0].reduce(0, +) / 12)) <= 1e-5 * summary.allBig)
        // With skip, each budget's minimum is over a superset, so never worse.
        for k in 0...3 { #expect(summary.oracleSkip[k] <= summary.oracle[k] * (1 + 1e-12)) }
        #expect(model.routes == nil)
    }

    @Test func aSliceHoldsTheSameRowsAsTheWholeSet() throws {
        let (model, batch) = try Self.tinyModel()
        let set = try RouteSet(layers: 3, skip: false)
        let whole = try RouteLosses.evaluate(model, batch: batch, routes: set)
        let slice = try RouteLosses.evaluate(model, batch: batch, routes: set, first: 2, count: 3)
        #expect(slice.values == Array(whole.values[(2 * 12)..<(5 * 12)]))
        #expect(!slice.isComplete && whole.isComplete)
        #expect(throws: ModelError.self) { try OracleSummary(slice) }
        #expect(throws: ModelError.self) { try RouteLosses.evaluate(model, batch: batch, routes: set, first: 6, count: 3) }
    }

    @Test func budgetsAndLayerUsageOnAHandBuiltMatrix() throws {
        // Routes of 2 layers: 0 BB, 1 BS, 2 SB, 3 SS; three tokens.
        let set = try RouteSet(layers: 2, skip: false)
        let losses = RouteLosses(routes: set, first: 0, count: 4, tokens: 3,
                                 values: [1, 2, 3, 0.5, 3, 1, 2, 1, 2, 4, 4, 4])
        let summary = try OracleSummary(losses)
        #expect(abs(summary.oracle[0] - exp(4)) < 1e-9)
        #expect(abs(summary.oracle[1] - exp(2.5 / 3)) < 1e-9)
        #expect(abs(summary.oracle[2] - exp(2)) < 1e-9)
        #expect(summary.argmin[1] == [1, 2, 1])
        #expect(summary.layerUsage[1] == [2.0 / 3, 1.0 / 3])
        #expect(summary.layerUsage[2] == [1, 1] && summary.layerUsage[0] == [0, 0])
        #expect(abs(summary.allBig - exp(2)) < 1e-9 && abs(summary.allSmall - exp(4)) < 1e-9)
        // Both one-big routes fit under N = 100: the best fixed one is BS (mean 1.5).
        #expect(summary.bestRandomRoute[1] == 1 && abs(summary.bestRandom[1] - exp(1.5)) < 1e-9)
        #expect(summary.oracleSkip.isEmpty)
        // N = 1 samples one route per budget, the same for the same seed.
        let one = try OracleSummary(losses, randomRoutes: 1, seed: 3), again = try OracleSummary(losses, randomRoutes: 1, seed: 3)
        #expect(one.bestRandomRoute == again.bestRandomRoute && [1, 2].contains(one.bestRandomRoute[1]))
    }

    @Test func skipUsageAndEarlyExitsOnAHandBuiltMatrix() throws {
        // Routes of 2 layers with skip (digit 0 big, 1 small, 2 skip): SK = 5, KS = 7. At k = 0
        // token 0 is best on SK (an early exit), token 1 on KS (a skip, then small).
        let set = try RouteSet(layers: 2, skip: true)
        var values = [Float](repeating: 5, count: 9 * 2)
        values[5 * 2 + 0] = 1; values[7 * 2 + 1] = 1
        let summary = try OracleSummary(RouteLosses(routes: set, first: 0, count: 9, tokens: 2, values: values))
        #expect(summary.earlyExitFraction[0] == 0.5)
        #expect(summary.skipUsage[0][0] == [0, 0.5, 0.5] && summary.skipUsage[0][1] == [0, 0.5, 0.5])
        #expect(abs(summary.oracleSkip[0] - exp(1)) < 1e-9 && abs(summary.oracle[0] - exp(5)) < 1e-9)
        // At k = 2 the only route is BB: nobody skips.
        #expect(summary.earlyExitFraction[2].isNaN && summary.skipUsage[2][0] == [1, 0, 0])
    }

    @Test func routesAreNumberedWithLayerZeroMostSignificant() throws {
        let set = try RouteSet(layers: 3, skip: true)
        #expect(set.count == 27 && set.route(0) == [.big, .big, .big] && set.route(26) == [.skip, .skip, .skip])
        #expect(set.route(5) == [.big, .small, .skip])
        for r in 0..<27 { #expect(try set.index(of: set.route(r)) == r) }
        #expect(try RouteSet(layers: 2, skip: false).route(2) == [.small, .big])
    }
}
