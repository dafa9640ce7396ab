import Foundation
import Models
import NumericTestSupport
import Testing

/// The model at realistic sizes: initial loss, and plain SGD on its gradients learns.
@Suite struct TransformerTrainingTests {
    /// GPT-2's init gives logits of standard deviation ≈ 0.02·√d ≈ 0.16, so the loss starts within
    /// ≈ σ²/2 ≈ 0.013 of ln V.
    @Test func aFreshModelPredictsAboutUniformly() throws {
        var config = ModelConfig(vocabulary: 67, context: 256, layers: 2, dModel: 64, heads: 2, activation: .gelu)
        config.layers[1].attention = .relu
        let model = try Transformer(config: config, seed: 3, maxBatch: 2)
        var random = TestRandom(seed: 4)
        let tokens = (0..<512).map { _ in Int32(random.next() % 67) }
        let loss = try model.forward(tokens: tokens, targets: Array(tokens.dropFirst()) + [-1], batch: 2)
        #expect(abs(Double(loss) - log(67)) < 0.05, "initial loss \(loss), ln 67 = \(log(67.0))")
        model.backward()
        let gradients = UnsafeBufferPointer(start: model.parameters.gradients, count: model.parameters.count)
        #expect(gradients.allSatisfy { $0.isFinite } && gradients.contains { $0 != 0 })
    }

    /// Copying the previous token is learnable by one layer: 60 SGD steps on one batch of a
    /// sequence that repeats with period 5 must cut the loss well below ln V.
    @Test func sgdOnTheGradientsLearnsARepeatingSequence() throws {
        let config = ModelConfig(vocabulary: 67, context: 32, layers: 1, dModel: 32, heads: 2)
        let model = try Transformer(config: config, seed: 5, maxBatch: 4)
        let tokens: [Int32] = (0..<128).map { (i: Int) -> Int32 in
            let position = i % 32, sequence = i / 32
            return Int32(position % 5 + sequence * 5)     // each sequence its own five tokens
        }
        let targets = (0..<128).map { $0 % 32 == 31 ? Int32(-1) : tokens[$0 + 1] }
        let first = try model.forward(tokens: tokens, targets: targets, batch: 4)
        var last = first
        for _ in 0..<60 {
            model.backward()
            for i in 0..<model.parameters.count { model.parameters.values[i] -= 0.5 * model.parameters.gradients[i] }
            last = try model.forward(tokens: tokens, targets: targets, batch: 4)
        }
        #expect(last < 0.5 * first, "loss \(first) → \(last) after 60 steps")
    }
}
