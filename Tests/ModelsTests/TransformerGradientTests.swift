import Models
import NumericTestSupport
import ModelTestSupport
import Testing

/// The float32 forward and backward passes against the float64 reference and its central differences.
@Suite struct TransformerGradientTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var layers: [ModelConfig.Layer]
        var activation: ModelConfig.Activation = .relu
        var interventions: Interventions = .init()
        var context = 7
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "softmax + ReLU MLP, 1 layer", layers: [.init(attention: .softmax, ffn: .mlp)]),
        Case(name: "softmax + GELU MLP, 1 layer", layers: [.init(attention: .softmax, ffn: .mlp)], activation: .gelu),
        Case(name: "ReLU attention + ReLU MLP, 1 layer", layers: [.init(attention: .relu, ffn: .mlp)]),
        Case(name: "ReLU attention + GELU MLP, 1 layer", layers: [.init(attention: .relu, ffn: .mlp)], activation: .gelu),
        Case(name: "softmax + linear FFN", layers: [.init(attention: .softmax, ffn: .linear)]),
        Case(name: "softmax, no FFN", layers: [.init(attention: .softmax, ffn: .none)]),
        Case(name: "no attention + MLP", layers: [.init(attention: .none, ffn: .mlp)]),
        Case(name: "3 layers softmax + GELU", layers: Array(repeating: .init(), count: 3), activation: .gelu),
        Case(name: "3 layers mixed", layers: [.init(attention: .softmax, ffn: .mlp), .init(attention: .relu, ffn: .linear),
                                             .init(attention: .none, ffn: .mlp)]),
        Case(name: "3 layers with interventions", layers: Array(repeating: .init(), count: 3), activation: .gelu,
             interventions: {
                 var edits = Interventions()
                 edits.zeroedHeads = [.init(layer: 0, head: 1)]
                 edits.forcedAttention = [.init(layer: 1, head: 0): .init { $0 % 2 == 0 ? 0 : nil }]
                 edits.zeroedFirstValues = [2]
                 edits.zeroedFirstResiduals = [0]
                 edits.removedFFNs = [1]
                 return edits
             }()),
        Case(name: "3 layers, middle layer removed", layers: Array(repeating: .init(), count: 3),
             interventions: { var edits = Interventions(); edits.removedLayers = [1]; return edits }()),
        // Three causal blocks of 16 queries, the last partial: attention skips the masked blocks.
        Case(name: "T = 37: softmax then ReLU attention, forced rows", layers: [.init(attention: .softmax), .init(attention: .relu)],
             interventions: {
                 var edits = Interventions()
                 edits.forcedAttention = [.init(layer: 0, head: 1): .init { $0 % 3 == 0 ? $0 / 2 : nil }]
                 return edits
             }(), context: 37),
    ]

    /// Loss: float32 against float64 within 1e-5 relative (float32 rounding over a few hundred
    /// operations per position is ~1e-6). Gradients: ‖analytic − numeric‖/‖numeric‖ ≤ 1e-3 per
    /// tensor, where numeric is the float64 central difference with h = 1e-6 (truncation ~h² and
    /// rounding ~1e-16/h, both far below the float32 gradient's own ~1e-5 relative error; a small h
    /// also makes crossing a ReLU kink unlikely). Tensors of more than 48 entries are sampled.
    @Test(arguments: cases)
    func gradientsMatchFloat64FiniteDifferences(_ testCase: Case) throws {
        let config = TransformerFixture.config(layers: testCase.layers, activation: testCase.activation, context: testCase.context)
        let model = try TransformerFixture.model(config)
        model.interventions = testCase.interventions
        let (tokens, targets) = TransformerFixture.inputs(config)
        let batch = TransformerFixture.batch
        let loss = try model.forward(tokens: tokens, targets: targets, batch: batch)
        model.backward()

        var reference = ReferenceTransformer(model)
        let expected = reference.loss(tokens: tokens, targets: targets, batch: batch, interventions: testCase.interventions)
        #expect(abs(Double(loss) - expected) / abs(expected) <= 1e-5, "loss \(loss) against float64 \(expected)")

        var random = TestRandom(seed: 5)
        let h = 1e-6
        for entry in model.parameters.entries {
            let analytic = TransformerFixture.gradient(model, entry.name)
            let indices = entry.count <= 48 ? Array(0..<entry.count) : (0..<48).map { _ in Int(random.next() % UInt64(entry.count)) }
            var numeric: [Double] = []
            for i in indices {
                let saved = reference.parameters[entry.name]![i]
                reference.parameters[entry.name]![i] = saved + h
                let up = reference.loss(tokens: tokens, targets: targets, batch: batch, interventions: testCase.interventions)
                reference.parameters[entry.name]![i] = saved - h
                let down = reference.loss(tokens: tokens, targets: targets, batch: batch, interventions: testCase.interventions)
                reference.parameters[entry.name]![i] = saved
                numeric.append((up - down) / (2 * h))
            }
            let report = ErrorReport(indices.map { analytic[$0] }, numeric)
            #expect(report.relative <= 1e-3, "\(entry.name): \(report)")
        }
    }

    /// The per-position losses match the reference, and ignored positions are 0.
    @Test func positionLossesMatchTheReference() throws {
        let config = TransformerFixture.config(layers: [.init(), .init(attention: .relu)])
        let model = try TransformerFixture.model(config)
        let (tokens, targets) = TransformerFixture.inputs(config)
        var losses = [Float](repeating: .nan, count: tokens.count)
        _ = try losses.withUnsafeMutableBufferPointer {
            try model.forward(tokens: tokens, targets: targets, batch: TransformerFixture.batch, positionLosses: $0.baseAddress)
        }
        let expected = ReferenceTransformer(model).run(tokens: tokens, targets: targets, batch: TransformerFixture.batch)
        let report = ErrorReport(losses, expected.positionLosses)
        #expect(report.relative <= 1e-5, "\(report)")
        for i in targets.indices where targets[i] < 0 { #expect(losses[i] == 0) }
    }

    /// One thread and two give the same loss and gradients up to rounding, and a second
    /// backward overwrites rather than accumulates; products on OpenBLAS (its threads, or one
    /// sgemm piece per worker) agree with Loom's TiledGEMM; with ReLU, the backward's mask is the
    /// product's epilogue on TiledGEMM and a pass after sgemm on OpenBLAS.
    @Test(arguments: [ModelConfig.Activation.gelu, .relu])
    func threadsAndRepeatsAgree(activation: ModelConfig.Activation) throws {
        let config = TransformerFixture.config(layers: [.init(), .init()], activation: activation)
        let (tokens, targets) = TransformerFixture.inputs(config)
        let one = try TransformerFixture.model(config, threads: 1), two = try TransformerFixture.model(config, threads: 2)
        let a = try one.forward(tokens: tokens, targets: targets, batch: 3)
        one.backward()
        let b = try two.forward(tokens: tokens, targets: targets, batch: 3)
        two.backward()
        two.backward()
        let blas = try TransformerFixture.model(config, threads: 2)
        blas.usesOpenBLASThreads = true
        #expect(abs(try blas.forward(tokens: tokens, targets: targets, batch: 3) - a) <= 1e-6 * abs(a))
        blas.backward()
        let pieces = try TransformerFixture.model(config, threads: 2)
        pieces.usesOpenBLASProducts = true
        #expect(abs(try pieces.forward(tokens: tokens, targets: targets, batch: 3) - a) <= 1e-6 * abs(a))
        pieces.backward()
        #expect(abs(a - b) <= 1e-6 * abs(a))
        for entry in one.parameters.entries {
            let expected = TransformerFixture.gradient(one, entry.name).map(Double.init)
            let report = ErrorReport(TransformerFixture.gradient(two, entry.name), expected)
            #expect(report.relative <= 1e-5, "\(entry.name): \(report)")
            let blasReport = ErrorReport(TransformerFixture.gradient(blas, entry.name), expected)
            #expect(blasReport.relative <= 1e-5, "\(entry.name) with OpenBLAS threads: \(blasReport)")
            // Two float32 summation orders: W_Q's small gradient at initialisation comes from
            // cancelling terms, where they differ by about 1e-5 (an indexing error gives order 1).
            let piecesReport = ErrorReport(TransformerFixture.gradient(pieces, entry.name), expected)
            #expect(piecesReport.relative <= 5e-5, "\(entry.name) with OpenBLAS pieces: \(piecesReport)")
        }
    }

    /// A seed fixes the initial parameters; GPT-2's scaled init is in place.
    @Test func initialisationIsSeededAndScaled() throws {
        let config = ModelConfig(vocabulary: 67, context: 16, layers: 2, dModel: 32, heads: 2)
        let a = try Transformer(config: config, seed: 9, maxBatch: 1), b = try Transformer(config: config, seed: 9, maxBatch: 1)
        let c = try Transformer(config: config, seed: 10, maxBatch: 1)
        let all = { (m: Transformer) in Array(UnsafeBufferPointer(start: m.parameters.values, count: m.parameters.count)) }
        #expect(all(a) == all(b))
        #expect(all(a) != all(c))
        #expect(a.parameters.tensor("layers.1.ln2.gain")!.storage.allSatisfy { $0 == 1 })
        #expect(a.parameters.tensor("final_ln.bias")!.storage.allSatisfy { $0 == 0 })
        func deviation(_ name: String) -> Double {
            let x = a.parameters.tensor(name)!.storage.map(Double.init)
            return (x.reduce(0) { $0 + $1 * $1 } / Double(x.count)).squareRoot()
        }
        #expect(abs(deviation("layers.0.ffn.w1") - 0.02) < 0.002)
        #expect(abs(deviation("layers.0.ffn.w2") - 0.01) < 0.001)       // 0.02/√(2·2)
        #expect(a.parameters.count >= config.parameterCount)
        #expect(a.parameters.entries.reduce(0) { $0 + $1.count } == config.parameterCount)
        #expect(a.parameters.entry("layers.0.ln1.gain")?.decays == false && a.parameters.entry("unembed")?.decays == true)
    }
}
