import TensorCore
import Testing
@testable import Models

/// Every fused pass of a training step (`TrainingFusion`) gives the bits of its unfused path: the
/// loss, every gradient and the per-position losses are identical with it switched off, on
/// Loom's tiles at 2 threads (the attention backward only where the AVX-512 forward is fused).
@Suite struct TrainingFusionTests {
    @Test(arguments: [ModelConfig.Activation.relu, .gelu])
    func eachFusionGivesTheBitsOfItsUnfusedPath(activation: ModelConfig.Activation) throws {
        // Head width 16 and T = 37: the fused attention takes it (partial last block), on AVX-512.
        var config = ModelConfig(vocabulary: 23, context: 37, layers: 2, dModel: 32, heads: 2, ffnHidden: 64, activation: activation)
        config.layers = [.init(attention: .softmax, ffn: .mlp), .init(attention: .softmax, ffn: .linear)]
        let (tokens, targets) = TransformerFixture.inputs(config)
        func run(_ unfused: Set<TrainingFusion>) throws -> (loss: Float, gradients: [UInt32]) {
            let model = try TransformerFixture.model(config, threads: 2)
            model.unfused = unfused
            let loss = try model.forward(tokens: tokens, targets: targets, batch: TransformerFixture.batch)
            model.backward()
            let gradients = UnsafeBufferPointer(start: model.parameters.gradients, count: model.parameters.count).map(\.bitPattern)
            return (loss, gradients)
        }
        let fused = try run([])
        #expect(fused.gradients.contains { $0 != 0 }, "no gradient reached the parameters")
        for fusion in TrainingFusion.allCases {
            let unfused = try run([fusion])
            #expect(unfused.loss.bitPattern == fused.loss.bitPattern, "\(fusion): loss \(unfused.loss) against \(fused.loss)")
            let same = unfused.gradients == fused.gradients
            #expect(same, "\(fusion): the gradients differ from the fused step's")
        }
        let none = try run(Set(TrainingFusion.allCases))
        #expect(none.gradients == fused.gradients, "all unfused: the gradients differ")
    }
}
