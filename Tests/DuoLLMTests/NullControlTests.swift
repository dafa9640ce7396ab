import Foundation
import Models
import TensorCore
import Testing
@testable import DuoLLM

/// The null control: the all-big model's passes under random dropout, best per token.
@Suite struct NullControlTests {
    static func meanPerplexity(_ model: Transformer, _ batch: TrainingBatch) throws -> Double {
        var losses = [Float](repeating: 0, count: batch.size * batch.length)
        _ = try losses.withUnsafeMutableBufferPointer {
            try model.forward(tokens: batch.inputs, targets: batch.targets, batch: batch.size, positionLosses: $0.baseAddress!)
        }
        return exp(losses.reduce(0.0) { $0 + Double($1) } / Double(losses.count))
    }

    @Test func passCountsAreTheBinomialsCapped() {
        #expect(NullControl.passCounts(layers: 3, randomRoutes: 100) == [1, 3, 3, 1])
        #expect(NullControl.passCounts(layers: 6, randomRoutes: 100) == [1, 6, 15, 20, 15, 6, 1])
        #expect(NullControl.passCounts(layers: 6, randomRoutes: 10) == [1, 6, 10, 10, 10, 6, 1])
        #expect(NullControl.passCounts(layers: 15, randomRoutes: 100_000)[7] == 6435)
    }

    @Test func withoutDropoutTheNullIsTheAllBigModelExactly() throws {
        let (model, batch) = try OracleTests.tinyModel()
        let summary = try OracleSummary(try RouteLosses.evaluate(model, batch: batch, routes: try RouteSet(layers: 3, skip: false)))
        let null = try NullControl.run(model, batch: batch, randomRoutes: 100, rate: 0, seed: 4)
        #expect(null.passes == [1, 3, 3, 1])
        for k in 0...3 { #expect(null.perplexity[k] == summary.allBig, "k \(k): \(null.perplexity[k]) against \(summary.allBig)") }
        #expect(model.interventions.isEmpty && model.routes == nil)
    }

    @Test func onePassIsThatPerturbedPassAndMorePassesNeverDoWorse() throws {
        let (model, batch) = try OracleTests.tinyModel()
        let allBig = try Self.meanPerplexity(model, batch)
        let null = try NullControl.run(model, batch: batch, randomRoutes: 100, rate: 0.3, seed: 4)
        model.interventions.bigFFNDropout = HiddenDropout(rate: 0.3, seed: NullControl.passSeed(4, pass: 0))
        let single = try Self.meanPerplexity(model, batch)
        model.interventions = Interventions()
        #expect(null.perplexity[0] == single && null.perplexity[3] == single, "M = 1 at k = 0 and k = L")
        #expect(single != allBig, "dropout at 0.3 changed nothing")
        #expect(null.perplexity[1] <= single && null.perplexity[1] == null.perplexity[2], "3 passes at k = 1 and 2")
        // A cap of 2 passes sits between 1 and 3: the passes are shared, so the minima nest.
        let capped = try NullControl.run(model, batch: batch, randomRoutes: 2, rate: 0.3, seed: 4)
        #expect(capped.perplexity[0] == single && null.perplexity[1] <= capped.perplexity[1] && capped.perplexity[1] <= single)
        // The same seed gives the same passes; another seed other ones.
        #expect(try NullControl.run(model, batch: batch, randomRoutes: 100, rate: 0.3, seed: 4) == null)
        #expect(try NullControl.run(model, batch: batch, randomRoutes: 100, rate: 0.3, seed: 5).perplexity[0] != single)
    }

    @Test func theMaskDropsTheRateAndIsAFunctionOfItsCoordinates() {
        let dropout = HiddenDropout(rate: 0.25, seed: 9)
        var kept = 0
        for row in 0..<100 { for unit in 0..<100 where dropout.keeps(layer: 2, row: row, unit: unit) { kept += 1 } }
        // 10,000 Bernoulli(0.75) draws: standard deviation 0.0043, so ±0.02 is > 4σ.
        #expect(abs(Double(kept) / 10_000 - 0.75) < 0.02, "kept \(kept)")
        #expect(dropout.keeps(layer: 1, row: 5, unit: 7) == dropout.keeps(layer: 1, row: 5, unit: 7))
        #expect((0..<64).contains { dropout.keeps(layer: 0, row: $0, unit: 0) != dropout.keeps(layer: 1, row: $0, unit: 0) })
    }

    @Test func backwardSeesTheSameMask() throws {
        // The gradient of a big w1 entry under dropout against central differences of the float32
        // loss; GELU, so no pre-activation crosses a ReLU kink within ±h.
        let (relu, batch) = try OracleTests.tinyModel()
        var config = relu.config
        config.activation = .gelu
        let model = try Transformer(config: config, seed: 5, maxBatch: 2, threads: 1)
        model.interventions.bigFFNDropout = HiddenDropout(rate: 0.3, seed: 2)
        let entry = try #require(model.parameters.entry("layers.1.ffn.w1"))
        model.parameters.gradients.update(repeating: 0, count: model.parameters.count)
        _ = try model.forward(tokens: batch.inputs, targets: batch.targets, batch: 2)
        model.backward()
        // The entry with the largest gradient, so float32 rounding in the differences stays small.
        var index = 0
        for i in 0..<entry.count where abs(model.parameters.gradients[entry.offset + i]) > abs(model.parameters.gradients[entry.offset + index]) {
            index = i
        }
        let analytic = Double(model.parameters.gradients[entry.offset + index])
        let value = model.parameters.values + entry.offset + index, original = value.pointee, h: Float = 3e-3
        value.pointee = original + h
        let up = try model.forward(tokens: batch.inputs, targets: batch.targets, batch: 2)
        value.pointee = original - h
        let down = try model.forward(tokens: batch.inputs, targets: batch.targets, batch: 2)
        value.pointee = original
        let numeric = Double(up - down) / Double(2 * h)
        // Tolerance: float32 losses (rounding ≈ 2e-7) differenced at h = 0.003: ≈ 1e-4 absolute.
        #expect(abs(analytic - numeric) <= 0.01 * abs(numeric) + 1e-4, "analytic \(analytic), numeric \(numeric)")
        #expect(abs(analytic) > 1e-4)
    }
}
