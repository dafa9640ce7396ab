import Foundation
import Models
import TensorCore
import Testing
@testable import DuoLLM

/// Prefix sharing: the depth-first walk over a slice of routes gives the same bits as one full
/// forward per route, for every slice, and does the work it says.
@Suite struct PrefixSharingTests {
    /// A duo model of `layers` layers (d = 16) with random weights and a random batch.
    static func model(layers: Int = 3, context: Int = 6, batch: Int = 2, threads: Int = 1) throws -> (Transformer, TrainingBatch) {
        var config = ModelConfig(vocabulary: 7, context: context, layers: layers, dModel: 16, heads: 2)
        for l in 0..<layers { config.layers[l].duo = true }
        let model = try Transformer(config: config, seed: 5, maxBatch: batch, threads: threads)
        var random = SeededRandom(seed: 11)
        let n = batch * context
        let tokens = (0..<n).map { _ in Int32(random.next() % 7) }
        let targets = (0..<n).map { _ in Int32(random.next() % 7) }
        return (model, TrainingBatch(size: batch, length: context, inputs: tokens, targets: targets))
    }

    @Test func everySliceIsBitIdenticalToOneForwardPerRoute() throws {
        let (model, batch) = try Self.model()
        let set = try RouteSet(layers: 3, skip: true)
        let direct = try RouteLosses.evaluate(model, batch: batch, routes: set, sharing: false)
        #expect(try RouteLosses.evaluate(model, batch: batch, routes: set) == direct)
        let n = direct.tokens
        var slices = 0
        for first in 0..<27 {
            for count in 1...(27 - first) {
                let shared = try RouteLosses.evaluate(model, batch: batch, routes: set, first: first, count: count)
                #expect(shared.values == Array(direct.values[(first * n)..<((first + count) * n)]), "slice \(first) + \(count)")
                slices += 1
            }
        }
        #expect(slices == 27 * 28 / 2)
        // A direct slice is the same rows too, so shards of either kind agree.
        let part = try RouteLosses.evaluate(model, batch: batch, routes: set, first: 7, count: 11, sharing: false)
        #expect(part == (try RouteLosses.evaluate(model, batch: batch, routes: set, first: 7, count: 11)))
        #expect(model.routes == nil)
    }

    @Test func bitIdenticalOnSeveralThreadsAndWithoutSkip() throws {
        // Longer sequences, so the rows are cut among two workers and attention has several tiles.
        let (model, batch) = try Self.model(layers: 4, context: 40, batch: 3, threads: 2)
        let set = try RouteSet(layers: 4, skip: false)
        let direct = try RouteLosses.evaluate(model, batch: batch, routes: set, sharing: false)
        let n = direct.tokens
        for (first, count) in [(0, 16), (0, 1), (3, 6), (5, 11), (15, 1), (7, 2)] {
            let shared = try RouteLosses.evaluate(model, batch: batch, routes: set, first: first, count: count)
            #expect(shared.values == Array(direct.values[(first * n)..<((first + count) * n)]), "slice \(first) + \(count)")
        }
    }

    @Test func theWorkIsCountedAndIsWhatRuns() throws {
        let set = try RouteSet(layers: 3, skip: true)
        let whole = RouteLosses.work(routes: set)
        // One attention per distinct prefix of 0, 1, 2 choices; one FFN per prefix of 1, 2, 3.
        #expect(whole.attention == 1 + 3 + 9 && whole.ffn == [13, 13, 13] && whole.losses == 27)
        #expect(whole.layerEvaluations == 39 && whole.fullEvaluations == 81)
        let direct = RouteLosses.work(routes: set, sharing: false)
        #expect(direct.attention == 81 && direct.ffn == [27, 27, 27] && direct.losses == 27)
        // Routes 4 ..< 6 are BSS, BSK: the second shares layers 0 and 1.
        let two = RouteLosses.work(routes: set, first: 4, count: 2)
        #expect(two.attention == 3 && two.ffn == [1, 2, 1] && two.losses == 2)
        // The walk is what the model runs: 2 products per big or small FFN half.
        let (model, batch) = try Self.model()
        _ = try RouteLosses.evaluate(model, batch: batch, routes: set)
        #expect(model.duoFFNProducts == 2 * (whole.ffn[0] + whole.ffn[1]))
        // FLOPs: at d = 16, T = 6, one route's FFN halves of BBB are 3 × 2·n·2·16·64.
        let config = model.config, n = 12.0
        var one = RouteWork(layers: 3, routes: 1)
        one.ffn = [3, 0, 0]
        #expect(one.flops(config: config, batch: 2) == 3 * 2 * n * 2 * 16 * 64)
        #expect(whole.flops(config: config, batch: 2) < direct.flops(config: config, batch: 2) / 2)
    }

    @Test func stopsWhenAskedAndLeavesTheModelAsItWas() throws {
        let (model, batch) = try Self.model()
        let set = try RouteSet(layers: 3, skip: true)
        model.routes = DuoRoutes(uniform: [.small, .big, .skip], tokens: 12)
        let before = try model.forward(tokens: batch.inputs, targets: batch.targets, batch: 2)
        var asked = 0
        #expect(throws: ModelError.self) {
            try RouteLosses.evaluate(model, batch: batch, routes: set, shouldStop: { asked += 1; return asked > 10 })
        }
        #expect(asked == 11 && model.routes == nil)
        // A full forward afterwards is untouched by the staged steps.
        model.routes = DuoRoutes(uniform: [.small, .big, .skip], tokens: 12)
        #expect(try model.forward(tokens: batch.inputs, targets: batch.targets, batch: 2) == before)
    }

    @Test func interventionsApplyAlikeWithAndWithoutSharing() throws {
        let (model, batch) = try Self.model()
        let set = try RouteSet(layers: 3, skip: false)
        let plain = try RouteLosses.evaluate(model, batch: batch, routes: set)
        model.interventions.removedFFNs = [1]
        model.interventions.zeroedHeads = [.init(layer: 2, head: 1)]
        let direct = try RouteLosses.evaluate(model, batch: batch, routes: set, sharing: false)
        #expect(try RouteLosses.evaluate(model, batch: batch, routes: set) == direct)
        #expect(direct != plain)
        // With layer 1's FFN removed, routes differing only there give the same losses.
        #expect(Array(direct.values[0..<12]) == Array(direct.values[24..<36]))    // BBB and BSB
    }
}
