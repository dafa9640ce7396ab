import ModelTestSupport
import Models
import NumericTestSupport
import Testing

/// Tiny models and batches for the transformer tests: V = 11, T = 7, d = 8, 2 heads, batch 3.
enum TransformerFixture {
    static let batch = 3

    static func config(layers: [ModelConfig.Layer], activation: ModelConfig.Activation = .relu, context: Int = 7) -> ModelConfig {
        var config = ModelConfig(vocabulary: 11, context: context, layers: layers.count, dModel: 8, heads: 2, ffnHidden: 16,
                                 activation: activation)
        config.layers = layers
        return config
    }

    /// A model whose parameters are spread wider than GPT-2's init (matrices normal(0, 0.5), gains
    /// 1 ± 0.2, biases ± 0.2), so every nonlinearity and LayerNorm parameter matters to the loss.
    static func model(_ config: ModelConfig, seed: UInt64 = 1, threads: Int = 2) throws -> Transformer {
        let model = try Transformer(config: config, seed: seed, maxBatch: batch, threads: threads)
        var random = TestRandom(seed: seed &+ 100)
        for entry in model.parameters.entries {
            let values = model.parameters.values + entry.offset
            for i in 0..<entry.count {
                let z = Float(random.nextNormal())
                if entry.name.hasSuffix(".gain") { values[i] = 1 + 0.2 * z }
                else if entry.name.hasSuffix(".bias") { values[i] = 0.2 * z }
                else { values[i] = 0.5 * z }
            }
        }
        return model
    }

    /// Random tokens and targets; every fifth target (on average) is −1 (ignored).
    static func inputs(_ config: ModelConfig, seed: UInt64 = 2) -> (tokens: [Int32], targets: [Int32]) {
        var random = TestRandom(seed: seed)
        let n = batch * config.context
        let tokens = (0..<n).map { _ in Int32(random.next() % UInt64(config.vocabulary)) }
        let targets = (0..<n).map { _ in random.next() % 5 == 0 ? -1 : Int32(random.next() % UInt64(config.vocabulary)) }
        return (tokens, targets)
    }

    /// The float32 gradients of one parameter.
    static func gradient(_ model: Transformer, _ name: String) -> [Float] {
        let entry = model.parameters.entry(name)!
        return Array(UnsafeBufferPointer(start: model.parameters.gradients + entry.offset, count: entry.count))
    }

    /// Checks every parameter's gradient of `model` (after its backward pass) against central
    /// differences of the float64 `reference` loss, at up to `samples` entries per tensor:
    /// ‖analytic − numeric‖/‖numeric‖ ≤ 10⁻³ per tensor.
    static func expectGradientsMatch(_ model: Transformer, reference: inout ReferenceTransformer, samples: Int, seed: UInt64,
                                     loss: (ReferenceTransformer) -> Double, sourceLocation: SourceLocation = #_sourceLocation) {
        var random = TestRandom(seed: seed)
        let h = 1e-6
        for entry in model.parameters.entries {
            let analytic = gradient(model, entry.name)
            let indices = entry.count <= samples ? Array(0..<entry.count)
                : (0..<samples).map { _ in Int(random.next() % UInt64(entry.count)) }
            var numeric: [Double] = []
            for i in indices {
                let saved = reference.parameters[entry.name]![i]
                reference.parameters[entry.name]![i] = saved + h
                let up = loss(reference)
                reference.parameters[entry.name]![i] = saved - h
                let down = loss(reference)
                reference.parameters[entry.name]![i] = saved
                numeric.append((up - down) / (2 * h))
            }
            let report = ErrorReport(indices.map { analytic[$0] }, numeric)
            #expect(report.relative <= 1e-3, "\(entry.name): \(report)", sourceLocation: sourceLocation)
        }
    }
}
