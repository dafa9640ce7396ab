import ModelTestSupport
import NumericTestSupport
import Foundation
import TensorCore
import Testing
@testable import Models

/// Greedy decoding with a KV cache against recomputation: at every step the cached logits equal
/// those of the full forward pass on the same prefix, and the tokens chosen are the same.
@Suite struct DecodeTests {
    static func model(_ layers: [ModelConfig.Layer], activation: ModelConfig.Activation = .relu, seed: UInt64 = 3) throws -> Transformer {
        var config = ModelConfig(vocabulary: 13, context: 12, layers: layers.count, dModel: 16, heads: 4, activation: activation)
        config.layers = layers
        return try Transformer(config: config, seed: seed, maxBatch: 1, threads: 1)
    }

    /// The logits at position `prefix.count − 1` of a full forward pass on `prefix` (padded with 0).
    static func fullLogits(_ model: Transformer, _ prefix: [Int32]) throws -> [Float] {
        let t = model.config.context, v = model.config.vocabulary
        let tokens = prefix + [Int32](repeating: 0, count: t - prefix.count)
        _ = try model.forward(tokens: tokens, targets: [Int32](repeating: -1, count: t), batch: 1)
        return model.withLogits { Array($0[((prefix.count - 1) * v)..<(prefix.count * v)]) }
    }

    static let cases: [(String, [ModelConfig.Layer], ModelConfig.Activation)] = [
        ("softmax MLP ×2", [.init(), .init()], .relu),
        ("ReLU attention, linear FFN", [.init(attention: .relu, ffn: .linear), .init()], .relu),
        ("duo layer, GELU", [.init(), .init(ffn: .mlp, duo: true)], .gelu),
        ("no attention, no FFN", [.init(attention: .none, ffn: .mlp), .init(attention: .softmax, ffn: .none)], .relu),
    ]

    @Test(arguments: 0..<cases.count)
    func cachedLogitsEqualRecomputation(_ index: Int) throws {
        let (name, layers, activation) = Self.cases[index]
        let model = try Self.model(layers, activation: activation)
        let session = try DecodeSession(model: model)
        var prefix: [Int32] = [4, 9, 1]
        for token in prefix { try session.append(token) }
        while prefix.count < model.config.context {
            let full = try Self.fullLogits(model, prefix)
            // Tolerance: float32 rounding of two orders of the same sums (‖a − b‖/‖b‖ ≤ 1e-5).
            let error = relativeError(session.logits.map(Double.init), full.map(Double.init))
            #expect(error <= 1e-5, "\(name), position \(prefix.count - 1): ‖cached − full‖/‖full‖ = \(error)")
            let sorted = full.sorted(by: >)
            let fullGreedy = Int32(full.firstIndex(of: sorted[0])!)
            if sorted[0] - sorted[1] > 1e-4 { #expect(session.greedyToken == fullGreedy, "\(name), position \(prefix.count - 1)") }
            prefix.append(fullGreedy)
            try session.append(fullGreedy)
        }
        #expect(session.position == model.config.context)
        #expect(throws: ModelError.self) { try session.append(1) }
    }

    @Test func cachedLogitsMatchTheFloat64Reference() throws {
        let model = try Self.model([.init(), .init(attention: .relu, ffn: .mlp)])
        let prompt: [Int32] = [2, 7, 7, 11, 0, 5]
        let session = try DecodeSession(model: model)
        for token in prompt { try session.append(token) }
        // The reference has no logits, only losses: compare −log p(y) at the last prompt position for every y.
        let t = model.config.context, v = model.config.vocabulary, last = prompt.count - 1
        let tokens = prompt + [Int32](repeating: 0, count: t - prompt.count)
        var expected: [Double] = []
        for y in 0..<v {
            var targets = [Int32](repeating: -1, count: t)
            targets[last] = Int32(y)
            expected.append(ReferenceTransformer(model).run(tokens: tokens, targets: targets, batch: 1).positionLosses[last])
        }
        let logits = session.logits.map(Double.init), top = logits.max()!
        let logSum = top + log(logits.map { exp($0 - top) }.reduce(0, +))
        let error = relativeError(logits.map { logSum - $0 }, expected)
        #expect(error <= 1e-5, "‖−log p cached − float64‖/‖float64‖ = \(error)")
    }

    @Test func generateStopsAtAStopTokenAndAtTheContext() throws {
        let model = try Self.model([.init(), .init()])
        let free = try model.generate(prompt: [1, 2], maxNewTokens: 100)
        // Context 12: 2 prompt tokens, then 10 appended and one more predicted after the last.
        #expect(free.count == 11)
        #expect(try model.generate(prompt: [1, 2], maxNewTokens: 4) == Array(free.prefix(4)))
        let stop = free[3]
        let stopped = try model.generate(prompt: [1, 2], maxNewTokens: 100, stopTokens: [stop])
        #expect(stopped.last == stop && stopped == Array(free.prefix(stopped.count)) && stopped.count <= 4)
        #expect(try model.generate(prompt: [1, 2], maxNewTokens: 0).isEmpty)
    }

    @Test func badRequestsAreErrors() throws {
        let model = try Self.model([.init()])
        #expect(throws: ModelError.self) { try model.generate(prompt: [], maxNewTokens: 3) }
        #expect(throws: ModelError.self) { try model.generate(prompt: [Int32](repeating: 1, count: 13), maxNewTokens: 3) }
        #expect(throws: ModelError.self) { try model.generate(prompt: [13], maxNewTokens: 3) }
        #expect(throws: ModelError.self) { try model.generate(prompt: [-1], maxNewTokens: 3) }
        #expect(throws: ModelError.self) { try model.generate(prompt: [1], maxNewTokens: -1) }
        model.interventions.zeroedHeads = [.init(layer: 0, head: 1)]
        #expect(throws: ModelError.self) { try model.generate(prompt: [1], maxNewTokens: 3) }
        model.interventions = Interventions()
        let duo = try Self.model([.init(ffn: .mlp, duo: true)])
        duo.routes = DuoRoutes(uniform: [.small], tokens: 12)
        #expect(throws: ModelError.self) { try DecodeSession(model: duo) }
    }
}
