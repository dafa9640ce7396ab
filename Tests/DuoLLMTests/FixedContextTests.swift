import Foundation
import Models
import ModelTestSupport
import NumericTestSupport
import TensorCore
import Testing
@testable import DuoLLM

/// The `fixed_context` reading against a float64 brute force: for every token t and route r, the
/// reference transformer runs with token t on r and every other token on the default route.
@Suite struct FixedContextTests {
    /// A tiny duo model (3 layers, d = 16) with the given attention, and a random batch.
    static func tinyModel(attention: ModelConfig.AttentionKind) throws -> (Transformer, TrainingBatch) {
        var config = ModelConfig(vocabulary: 7, context: 6, layers: 3, dModel: 16, heads: 2)
        for l in 0..<3 { config.layers[l].duo = true; config.layers[l].attention = attention }
        let model = try Transformer(config: config, seed: 5, maxBatch: 2, threads: 2)
        var random = SeededRandom(seed: 11)
        let tokens = (0..<12).map { _ in Int32(random.next() % 7) }
        let targets = (0..<12).map { _ in Int32(random.next() % 7) }
        return (model, TrainingBatch(size: 2, length: 6, inputs: tokens, targets: targets))
    }

    @Test(arguments: [("BBB", ModelConfig.AttentionKind.softmax), ("SKB", .softmax), ("BBB", .relu)])
    func theReadingEqualsAFloat64BruteForce(defaultLetters: String, attention: ModelConfig.AttentionKind) throws {
        let (model, batch) = try Self.tinyModel(attention: attention)
        let set = try RouteSet(layers: 3, skip: true)
        let defaultRoute = try DuoRoute.parse(defaultLetters)
        let losses = try FixedContextLosses.evaluate(model, batch: batch, routes: set, defaultRoute: defaultRoute)
        #expect(losses.count == 27 && losses.tokens == 12 && model.routes == nil)
        let reference = ReferenceTransformer(model)
        var expected: [Double] = []
        for r in 0..<set.count {
            for t in 0..<12 {
                var choices = [[DuoRoute]](repeating: defaultRoute, count: 12)
                choices[t] = set.route(r)
                let routes = DuoRoutes(layers: 3, choices: Array(choices.joined()))
                expected.append(reference.run(tokens: batch.inputs, targets: batch.targets, batch: 2, routes: routes).positionLosses[t])
            }
        }
        // Tolerance: float32 against float64 over a 3-layer pass, as for the shared_route reading.
        let error = relativeError(losses.values, expected)
        #expect(error <= 1e-5, "‖CE_fc − CE₆₄‖/‖CE₆₄‖ = \(error)")
        // The readings differ (under shared_route every token moves, here only one does) by far
        // more than the float32 error, even with these small random weights.
        let shared = try RouteLosses.evaluate(model, batch: batch, routes: set)
        #expect(relativeError(shared.values, expected) > 10 * error, "shared \(relativeError(shared.values, expected)), fc \(error)")
    }

    @Test func aSliceHoldsBitIdenticalRowsWhateverTheSlicing() throws {
        let (model, batch) = try Self.tinyModel(attention: .softmax)
        let set = try RouteSet(layers: 3, skip: true), route = try DuoRoute.parse("BSB")
        let whole = try FixedContextLosses.evaluate(model, batch: batch, routes: set, defaultRoute: route)
        for (first, count) in [(0, 1), (5, 9), (14, 13), (26, 1)] {
            let slice = try FixedContextLosses.evaluate(model, batch: batch, routes: set, defaultRoute: route, first: first, count: count)
            #expect(slice.values == Array(whole.values[(first * 12)..<((first + count) * 12)]), "slice \(first) + \(count)")
            #expect(slice.first == first && slice.count == count)
        }
        // Prefix sharing changes which layers run, not the bits: one full pass per route agrees.
        let unshared = try FixedContextLosses.evaluate(model, batch: batch, routes: set, defaultRoute: route, sharing: false)
        #expect(unshared.values == whole.values)
        model.routes = DuoRoutes(uniform: route, tokens: 12)   // the context runs on the default route
        let context = try model.attentionContext(tokens: batch.inputs, targets: batch.targets, batch: 2)
        for r in [0, 13, 26] {
            model.routes = DuoRoutes(uniform: set.route(r), tokens: 12)
            var losses = [Float](repeating: 0, count: 12)
            _ = try losses.withUnsafeMutableBufferPointer { try model.fixedContextForward(context, positionLosses: $0.baseAddress!) }
            #expect(losses == Array(whole.values[(r * 12)..<((r + 1) * 12)]), "route \(r) through fixedContextForward")
        }
        model.routes = nil
        #expect(throws: ModelError.self) {
            try FixedContextLosses.evaluate(model, batch: batch, routes: set, defaultRoute: route, first: 20, count: 8)
        }
        #expect(throws: ModelError.self) {
            try FixedContextLosses.evaluate(model, batch: batch, routes: set, defaultRoute: [.big, .big])
        }
    }

    @Test func theDefaultRouteRowIsTheDefaultRun() throws {
        // Token t on the default route with every other token on it too is the plain default run.
        let (model, batch) = try Self.tinyModel(attention: .softmax)
        let set = try RouteSet(layers: 3, skip: false)
        let route = try DuoRoute.parse("SBS")
        let losses = try FixedContextLosses.evaluate(model, batch: batch, routes: set, defaultRoute: route)
        let index = try set.index(of: route)
        model.routes = DuoRoutes(uniform: route, tokens: 12)
        var plain = [Float](repeating: 0, count: 12)
        _ = try plain.withUnsafeMutableBufferPointer { try model.forward(tokens: batch.inputs, targets: batch.targets, batch: 2, positionLosses: $0.baseAddress!) }
        // Tolerance: the same sums in another order (sgemm over every key, then the causal mask).
        #expect(relativeError(Array(losses.values[(index * 12)..<((index + 1) * 12)]), plain.map(Double.init)) <= 1e-6)
    }

    @Test func interventionsAndAnotherModelsContextAreRefused() throws {
        let (model, batch) = try Self.tinyModel(attention: .softmax)
        let context = try model.attentionContext(tokens: batch.inputs, targets: batch.targets, batch: 2)
        var other = model.config
        other.layers.removeLast()
        let smaller = try Transformer(config: other, seed: 1, maxBatch: 2)
        #expect(throws: ModelError.self) { try smaller.fixedContextForward(context) }
        model.interventions.removedFFNs = [1]
        do { _ = try model.fixedContextForward(context); Issue.record("an intervention passed") } catch {
            #expect("\(error)".contains("interventions"), "\(error)")
        }
    }
}
