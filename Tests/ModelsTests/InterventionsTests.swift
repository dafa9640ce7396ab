import Models
import NumericTestSupport
import ModelTestSupport
import Testing

/// Interventions change the forward pass exactly as the reference does.
@Suite struct InterventionsTests {
    let config = TransformerFixture.config(layers: [.init(), .init()], activation: .gelu)

    /// Relative loss agreement within float32 rounding (measured ~1e-7).
    func expectMatchesReference(_ edits: Interventions, changesLoss: Bool = true) throws {
        let model = try TransformerFixture.model(config)
        let (tokens, targets) = TransformerFixture.inputs(config)
        let plain = try model.forward(tokens: tokens, targets: targets, batch: 3)
        model.interventions = edits
        let edited = try model.forward(tokens: tokens, targets: targets, batch: 3)
        let expected = ReferenceTransformer(model).loss(tokens: tokens, targets: targets, batch: 3, interventions: edits)
        #expect(abs(Double(edited) - expected) <= 1e-5 * abs(expected), "edited \(edited), reference \(expected)")
        if changesLoss { #expect(abs(edited - plain) > 1e-4, "the intervention changed nothing: \(plain) → \(edited)") }
    }

    @Test func zeroingAHeadMatchesTheReference() throws {
        var edits = Interventions()
        edits.zeroedHeads = [.init(layer: 1, head: 0)]
        try expectMatchesReference(edits)
    }

    @Test func removingAnFFNMatchesTheReference() throws {
        var edits = Interventions()
        edits.removedFFNs = [0]
        try expectMatchesReference(edits)
    }

    @Test func forcingAttentionMatchesTheReference() throws {
        var edits = Interventions()
        edits.forcedAttention = [.init(layer: 0, head: 1): .firstToken, .init(layer: 1, head: 0): .previousToken,
                                 .init(layer: 1, head: 1): .keys([0, 0, 1, -1, 2, 4])]
        try expectMatchesReference(edits)
        let model = try TransformerFixture.model(config)
        model.interventions = edits
        model.hooks.captureWeights = true
        let (tokens, targets) = TransformerFixture.inputs(config)
        _ = try model.forward(tokens: tokens, targets: targets, batch: 3)
        let weights = try #require(model.hooks.captured[1]?.weights).storage
        for i in 0..<7 { #expect(weights[i * 7 + max(i - 1, 0)] == 1, "layer 1 head 0 query \(i) attends to i − 1") }
    }

    /// Clean attention depends on each sequence's tokens: a trigger query attends to i − 1, any
    /// other query to position 0, in every sequence of the batch separately.
    @Test func cleanAttentionIsPerSequence() throws {
        let (tokens, targets) = TransformerFixture.inputs(config)
        let t = config.context
        let triggers: Set<Int32> = [tokens[1], tokens[t + 2]]   // triggers at different positions
        var edits = Interventions()
        edits.forcedAttention = [.init(layer: 1, head: 1): .clean(triggers: triggers)]
        try expectMatchesReference(edits)
        let model = try TransformerFixture.model(config)
        model.interventions = edits
        model.hooks.captureWeights = true
        _ = try model.forward(tokens: tokens, targets: targets, batch: 3)
        let weights = try #require(model.hooks.captured[1]?.weights).storage   // (B, H, T, T)
        let heads = config.heads
        var triggerQueries = 0
        for b in 0..<3 {
            for i in 0..<t {
                let isTrigger = triggers.contains(tokens[b * t + i])
                if isTrigger { triggerQueries += 1 }
                let key = isTrigger ? max(i - 1, 0) : 0
                let row = ((b * heads + 1) * t + i) * t
                #expect(weights[row + key] == 1, "sequence \(b) query \(i) (trigger: \(isTrigger)) attends to \(key)")
            }
        }
        #expect(triggerQueries >= 2)
    }

    @Test func zeroingTheFirstValueAndResidualMatchesTheReference() throws {
        var edits = Interventions()
        edits.zeroedFirstValues = [1]
        try expectMatchesReference(edits)
        edits = Interventions()
        edits.zeroedFirstResiduals = [0]
        try expectMatchesReference(edits)
    }

    /// A removed layer is the identity: the model equals one built without that layer.
    @Test func removingALayerEqualsAModelWithoutIt() throws {
        let three = TransformerFixture.config(layers: [.init(), .init(attention: .relu), .init(ffn: .linear)])
        let full = try TransformerFixture.model(three)
        full.interventions.removedLayers = [1]
        let two = TransformerFixture.config(layers: [three.layers[0], three.layers[2]])
        let smaller = try Transformer(config: two, seed: 0, maxBatch: 3)
        for entry in smaller.parameters.entries {
            let name = entry.name.replacingOccurrences(of: "layers.1.", with: "layers.2.")
            try smaller.parameters.set(entry.name, from: full.parameters.tensor(name)!)
        }
        let (tokens, targets) = TransformerFixture.inputs(three)
        let a = try full.forward(tokens: tokens, targets: targets, batch: 3)
        let b = try smaller.forward(tokens: tokens, targets: targets, batch: 3)
        #expect(abs(a - b) <= 1e-6 * abs(b), "removed layer \(a), model without it \(b)")
        full.backward()
        smaller.backward()
        let report = ErrorReport(TransformerFixture.gradient(full, "layers.2.ffn.w"),
                                 TransformerFixture.gradient(smaller, "layers.1.ffn.w").map(Double.init))
        #expect(report.relative <= 1e-5, "\(report)")
        #expect(TransformerFixture.gradient(full, "layers.1.attn.wq").allSatisfy { $0 == 0 })
    }
}
