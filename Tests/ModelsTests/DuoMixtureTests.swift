import Models
import NumericTestSupport
import ModelTestSupport
import Testing

/// Soft routing (`Transformer.mixture`): the loss, dL/dp and every parameter gradient against the
/// float64 reference and its central differences; one-hot weights equal hard routes.
@Suite struct DuoMixtureTests {
    /// Weights in [0, 1] with p_big + p_small ≤ 1 (skip takes the rest), as a router's softmax
    /// gives them, (tokens, layers, 2).
    static func weights(tokens: Int, layers: Int, seed: UInt64) -> [Float] {
        var random = TestRandom(seed: seed)
        var weights: [Float] = []
        for _ in 0..<(tokens * layers) {
            let big = Float(random.nextUniform()), small = Float(random.nextUniform()) * (1 - big)
            weights += [big, small]
        }
        return weights
    }

    /// Same tolerances as `DuoGradientTests`: loss within 1e-5 relative of float64, and per tensor
    /// ‖analytic − numeric‖/‖numeric‖ ≤ 1e-3 (h = 1e-6, float64 central differences). dL/dp is
    /// checked on the duo layers' entries of every other token (44 of 126: 21 tokens × 3 layers × 2; the
    /// plain middle layer's are all exactly zero); parameter tensors of more than 8 entries are
    /// sampled (the reference runs twice per entry: this keeps the test to a few seconds).
    @Test(arguments: [ModelConfig.Activation.relu, .gelu])
    func mixtureGradientsMatchFloat64FiniteDifferences(_ activation: ModelConfig.Activation) throws {
        let config = DuoGradientTests.config(activation)
        let model = try TransformerFixture.model(config)
        let (tokens, targets) = TransformerFixture.inputs(config)
        let batch = TransformerFixture.batch, n = batch * config.context
        let weights = Self.weights(tokens: n, layers: config.depth, seed: 11)
        model.mixture = DuoMixture(layers: config.depth, weights: weights)
        let loss = try model.forward(tokens: tokens, targets: targets, batch: batch)
        model.backward()

        var reference = ReferenceTransformer(model)
        var p = weights.map(Double.init)
        let expected = reference.loss(tokens: tokens, targets: targets, batch: batch, mixture: p)
        #expect(abs(Double(loss) - expected) / abs(expected) <= 1e-5, "loss \(loss) against float64 \(expected)")

        let h = 1e-6
        let analytic = model.mixtureGradients
        #expect(analytic.count == p.count)
        let checked = stride(from: 0, to: n, by: 2).flatMap { r in [0, 1, 4, 5].map { r * 6 + $0 } }
        var numeric: [Double] = []
        for i in checked {
            let saved = p[i]
            p[i] = saved + h
            let up = reference.loss(tokens: tokens, targets: targets, batch: batch, mixture: p)
            p[i] = saved - h
            let down = reference.loss(tokens: tokens, targets: targets, batch: batch, mixture: p)
            p[i] = saved
            numeric.append((up - down) / (2 * h))
        }
        let report = ErrorReport(checked.map { analytic[$0] }, numeric)
        #expect(report.relative <= 1e-3, "dL/dp: \(report)")
        // The plain middle layer has no mixture: its entries are exactly zero.
        #expect((0..<n).allSatisfy { analytic[($0 * 3 + 1) * 2] == 0 && analytic[($0 * 3 + 1) * 2 + 1] == 0 })

        TransformerFixture.expectGradientsMatch(model, reference: &reference, samples: 8, seed: 9) {
            $0.loss(tokens: tokens, targets: targets, batch: batch, mixture: p)
        }
    }

    /// One-hot weights (skip: both zero) give the hard routes' loss and parameter gradients; a
    /// computed mixture sees the stream entering each duo layer's FFN, in layer order.
    @Test func oneHotWeightsEqualRoutesAndAComputedMixtureSeesTheStream() throws {
        let config = DuoGradientTests.config(.gelu)
        let (tokens, targets) = TransformerFixture.inputs(config)
        let n = TransformerFixture.batch * config.context
        let routes = try RandomRouting(pBig: 0.4, pSkip: 0.3, seed: 6).routes(tokens: n, layers: 3, step: 2)
        let hard = try TransformerFixture.model(config), soft = try TransformerFixture.model(config)
        hard.routes = routes
        soft.mixture = DuoMixture(layers: 3, weights: routes.choices.flatMap { route -> [Float] in
            [route == .big ? 1 : 0, route == .small ? 1 : 0]
        })
        let hardLoss = try hard.forward(tokens: tokens, targets: targets, batch: 3)
        let softLoss = try soft.forward(tokens: tokens, targets: targets, batch: 3)
        #expect(abs(hardLoss - softLoss) <= 1e-6 * abs(hardLoss), "\(hardLoss) against \(softLoss)")
        #expect(soft.duoRowCounts[0] == DuoRowCount(big: n, small: n, skip: 0))
        hard.backward(); soft.backward()
        for entry in hard.parameters.entries {
            let report = ErrorReport(TransformerFixture.gradient(soft, entry.name), TransformerFixture.gradient(hard, entry.name).map(Double.init))
            #expect(report.relative <= 1e-5, "\(entry.name): \(report)")
        }
        #expect(hard.mixtureGradients.isEmpty)

        var seen: [(layer: Int, stream: [Float])] = []
        soft.hooks.captureResiduals = true
        soft.mixture = DuoMixture(layers: 3) { layer, stream, weights in
            seen.append((layer, Array(stream)))
            for r in 0..<(weights.count / 2) { weights[2 * r] = 0.5; weights[2 * r + 1] = 0.25 }
        }
        _ = try soft.forward(tokens: tokens, targets: targets, batch: 3)
        #expect(seen.map(\.layer) == [0, 2])
        for (layer, stream) in seen {
            #expect(stream == soft.hooks.captured[layer]?.residualAfterAttention?.storage)
        }
    }

    @Test func badMixturesAreRefusedNamingTheFix() throws {
        let config = DuoGradientTests.config(.relu)
        let model = try TransformerFixture.model(config)
        let (tokens, targets) = TransformerFixture.inputs(config)
        let n = TransformerFixture.batch * config.context
        let good = Self.weights(tokens: n, layers: 3, seed: 1)
        let cases: [(DuoMixture, DuoRoutes?, String)] = [
            (DuoMixture(layers: 3, weights: Array(good.dropLast(6))), nil, "covers 20 tokens"),
            (DuoMixture(layers: 2, weights: Array(good.prefix(n * 4))), nil, "2 layer(s)"),
            (DuoMixture(layers: 3, weights: [Float.nan] + good.dropFirst()), nil, "finite"),
            (DuoMixture(layers: 3, weights: good), DuoRoutes(uniform: [.big, .big, .big], tokens: n), "set one of them to nil"),
        ]
        for (mixture, routes, words) in cases {
            model.mixture = mixture
            model.routes = routes
            do { _ = try model.forward(tokens: tokens, targets: targets, batch: 3); Issue.record("\(words): passed") } catch {
                #expect("\(error)".contains(words), "\(error)")
            }
        }
    }
}
