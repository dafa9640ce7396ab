import NumericTestSupport
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

    /// The blocked head (final LayerNorm, logits and cross-entropy a block of rows at a time)
    /// against its three whole passes, on one worker and two: 1,480 rows in blocks of 600
    /// (32 K floats over d + V = 55), so two workers get a block each and one a partial third.
    @Test func blockedHeadGivesTheBitsOfThreePasses() throws {
        let config = ModelConfig(vocabulary: 23, context: 37, layers: 1, dModel: 32, heads: 2, ffnHidden: 64)
        let batch = 40, n = batch * config.context
        var random = TestRandom(seed: 8)
        let tokens = (0..<n).map { _ in Int32(random.next() % 23) }
        let targets = (0..<n).map { _ in random.next() % 5 == 0 ? -1 : Int32(random.next() % 23) }
        for threads in [1, 2] {
            func run(_ unfused: Set<TrainingFusion>) throws -> (loss: Float, gradients: [UInt32], blocked: Bool) {
                let model = try Transformer(config: config, seed: 3, maxBatch: batch, threads: threads)
                model.unfused = unfused
                let loss = try model.forward(tokens: tokens, targets: targets, batch: batch)
                model.backward()
                let gradients = UnsafeBufferPointer(start: model.parameters.gradients, count: model.parameters.count).map(\.bitPattern)
                return (loss, gradients, model.blocksHead(rows: n))
            }
            let blocked = try run([]), whole = try run([.headBlocks])
            #expect(blocked.blocked && !whole.blocked, "\(threads) thread(s): the head was not run both ways")
            #expect(blocked.loss.bitPattern == whole.loss.bitPattern, "\(threads) thread(s): loss \(blocked.loss) against \(whole.loss)")
            let same = blocked.gradients == whole.gradients
            #expect(same, "\(threads) thread(s): the gradients differ between the blocked head and three passes")
        }
    }
}
