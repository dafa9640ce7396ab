import Models
import NumericTestSupport
import ModelTestSupport
import Testing

/// Hooks capture what they are asked for, with the documented shapes and values.
@Suite struct ModelHooksTests {
    @Test func hooksCaptureShapesAndMatchTheReference() throws {
        let config = TransformerFixture.config(layers: [.init(), .init(attention: .relu, ffn: .linear)])
        let model = try TransformerFixture.model(config)
        let (tokens, targets) = TransformerFixture.inputs(config)
        let (b, h, t, d, dh) = (TransformerFixture.batch, 2, 7, 8, 4)

        _ = try model.forward(tokens: tokens, targets: targets, batch: b)
        #expect(model.hooks.captured.isEmpty, "nothing is captured by default")

        model.hooks.captureScores = true
        model.hooks.captureWeights = true
        model.hooks.captureValues = true
        model.hooks.captureHeadOutputs = true
        model.hooks.captureValueOutputs = true
        model.hooks.captureResiduals = true
        _ = try model.forward(tokens: tokens, targets: targets, batch: b)
        let reference = ReferenceTransformer(model).run(tokens: tokens, targets: targets, batch: b)
        for l in 0..<2 {
            let capture = try #require(model.hooks.captured[l])
            #expect(capture.scores?.shape == [b, h, t, t])
            #expect(capture.weights?.shape == [b, h, t, t])
            #expect(capture.values?.shape == [b, t, h, dh])
            #expect(capture.headOutputs?.shape == [b, h, t, d])
            #expect(capture.residualAfterAttention?.shape == [b, t, d])
            #expect(capture.residualAfterFFN?.shape == [b, t, d])
            let weights = try #require(capture.weights).storage, scores = try #require(capture.scores).storage
            // Weights within float32 rounding of the float64 reference (~1e-6).
            let report = ErrorReport(weights, reference.weights[l]!)
            #expect(report.relative <= 1e-5, "layer \(l) weights: \(report)")
            let values = ErrorReport(try #require(capture.values).storage, reference.values[l]!)
            #expect(values.relative <= 1e-5, "layer \(l) values: \(values)")
            for row in 0..<(b * h * t) {
                let i = row % t
                for j in (i + 1)..<t { #expect(scores[row * t + j] == -.infinity && weights[row * t + j] == 0) }
                let finite = (0...i).map { Double(scores[row * t + $0]) }
                let expected = (0...i).map { reference.scores[l]![row * t + $0] }
                #expect(ErrorReport(finite, expected).relative <= 1e-5)
                if l == 0 {     // softmax rows sum to 1
                    let sum = (0...i).reduce(Float(0)) { $0 + weights[row * t + $1] }
                    #expect(abs(sum - 1) <= 1e-6)
                }
            }
        }
        // The heads' contributions add up to the attention's change of the residual stream.
        let before = try #require(model.hooks.captured[0]?.residualAfterFFN).storage
        let after = try #require(model.hooks.captured[1]?.residualAfterAttention).storage
        let heads = try #require(model.hooks.captured[1]?.headOutputs).storage
        var summed = before.map(Double.init)
        for bi in 0..<b { for hi in 0..<h { for ti in 0..<t { for c in 0..<d {
            summed[(bi * t + ti) * d + c] += Double(heads[((bi * h + hi) * t + ti) * d + c])
        } } } }
        #expect(ErrorReport(after, summed).relative <= 1e-5)
        // Each head's output is its attention's mix of the values through W_O: Σ_j A_ij W_O v_j.
        for l in 0..<2 {
            let capture = try #require(model.hooks.captured[l])
            let weights = try #require(capture.weights).storage
            let outputs = try #require(capture.headOutputs).storage, valueOutputs = try #require(capture.valueOutputs).storage
            #expect(capture.valueOutputs?.shape == [b, h, t, d])
            var mixed = [Double](repeating: 0, count: outputs.count)
            for bh in 0..<(b * h) { for i in 0..<t { for j in 0...i { for c in 0..<d {
                mixed[(bh * t + i) * d + c] += Double(weights[(bh * t + i) * t + j]) * Double(valueOutputs[(bh * t + j) * d + c])
            } } } }
            #expect(ErrorReport(outputs, mixed).relative <= 1e-5, "layer \(l)")
        }
    }

    @Test func onlyTheChosenLayersAndTensorsAreCaptured() throws {
        let config = TransformerFixture.config(layers: [.init(), .init(), .init(attention: .none)])
        let model = try TransformerFixture.model(config)
        let (tokens, targets) = TransformerFixture.inputs(config)
        model.hooks.captureWeights = true
        model.hooks.layers = [1]
        let loss = try model.forward(tokens: tokens, targets: targets, batch: 3)
        #expect(Array(model.hooks.captured.keys) == [1])
        #expect(model.hooks.captured[1]?.weights != nil && model.hooks.captured[1]?.scores == nil)
        model.hooks = ModelHooks()
        #expect(try model.forward(tokens: tokens, targets: targets, batch: 3) == loss, "hooks do not change the result")
        #expect(model.logits.shape == [3, 7, 11])
    }
}
