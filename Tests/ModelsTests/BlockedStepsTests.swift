import Foundation
import NumericTestSupport
import TensorCore
import Testing
@testable import Models

/// The attention step runs in blocks of sequences that stay in L2 (on several threads, each
/// worker its own share of blocks), and on one thread the duo FFN steps in blocks of rows, with
/// the weights packed once; unblocked, each step is one pass. All must give the same bits,
/// forward and backward, on one thread and on two.
@Suite struct BlockedStepsTests {
    @Test(arguments: ModelConfig.Activation.allCases)
    func blockedStepsGiveTheBitsOfUnblockedOnes(activation: ModelConfig.Activation) throws {
        // d = 64: a big module's hidden is 256, so 384 rows make two blocks of the duo FFN
        // (256 + 128) and three of layer 0's MLP (132 rows, 2 + 1 on two workers); context 32:
        // 8 sequences per attention block, so a batch of 12 makes 8 + 4 (6 per worker on two).
        var config = ModelConfig(vocabulary: 11, context: 32, layers: 3, dModel: 64, heads: 4, activation: activation)
        config.layers[1].duo = true
        config.layers[2].duo = true
        let batch = 12, n = batch * 32
        let one = try Transformer(config: config, seed: 9, maxBatch: batch, threads: 1)
        let unblocked = try Transformer(config: config, seed: 9, maxBatch: batch, threads: 1)
        unblocked.blocksRows = false
        let two = try Transformer(config: config, seed: 9, maxBatch: batch, threads: 2)
        let twoUnblocked = try Transformer(config: config, seed: 9, maxBatch: batch, threads: 2)
        twoUnblocked.blocksRows = false
        // Blocks of any size give the same bits: 20 rows (not whole 6-row strips), on two workers.
        let twentyRows = try Transformer(config: config, seed: 9, maxBatch: batch, threads: 2)
        twentyRows.ffnRowBlockOverride = 20
        #expect(two.blocksAttention(layer: 0, batch: batch) && !twoUnblocked.blocksAttention(layer: 0, batch: batch))
        // The default block rounded up to whole strips of the tile (128 → 132 at hidden 256).
        #expect(one.ffnRowBlock == 132 && one.blocksFFN(rows: n) && two.blocksFFN(rows: n))
        #expect(Transformer.defaultFFNRowBlock(ffnHidden: 1024) == 36 && Transformer.defaultFFNRowBlock(ffnHidden: 512) == 66)
        #expect(twentyRows.ffnRowBlock == 20 && twentyRows.blocksFFN(rows: n))
        #expect(!unblocked.blocksFFN(rows: n) && !twoUnblocked.blocksFFN(rows: n))
        #expect(one.duoRowBlock(hidden: 256, rows: n) == 256 && one.attentionSequenceBlock == 8)
        #expect(two.duoRowBlock(hidden: 256, rows: n) == n && unblocked.duoRowBlock(hidden: 256, rows: n) == n)
        var random = SeededRandom(seed: 21)
        let tokens = (0..<n).map { _ in Int32(random.next() % 11) }
        let targets = (0..<n).map { _ in Int32(random.next() % 11) }
        let choices = (0..<(n * 3)).map { _ in DuoRoute(rawValue: UInt8(random.next() % 3))! }
        for interventions in [Interventions(), Self.someInterventions()] {
            var losses: [[Float]] = [], gradients: [[Float]] = []
            for model in [one, unblocked, two, twoUnblocked, twentyRows] {
                model.interventions = interventions
                model.routes = DuoRoutes(layers: 3, choices: choices)
                var positions = [Float](repeating: 0, count: n)
                _ = try positions.withUnsafeMutableBufferPointer {
                    try model.forward(tokens: tokens, targets: targets, batch: batch, positionLosses: $0.baseAddress!)
                }
                model.parameters.zeroGradients()
                model.backward()
                losses.append(positions)
                gradients.append(Array(UnsafeBufferPointer(start: model.parameters.gradients, count: model.parameters.count)))
            }
            // (Compared as Bools: a failing array comparison would print thousands of numbers.)
            let sameLosses = losses.allSatisfy { $0 == losses[0] }
            let sameGradients = gradients.allSatisfy { $0 == gradients[0] }
            #expect(sameLosses, "forward losses differ between blocked, unblocked, two threads and 20-row blocks")
            #expect(sameGradients, "gradients differ between blocked, unblocked, two threads and 20-row blocks")
            #expect(losses[0].allSatisfy(\.isFinite) && gradients[0].contains { $0 != 0 })
        }
        // Uniform routes through the staged pass take the in-place path: the same bits again.
        for model in [one, unblocked, two] { model.interventions = Interventions(); model.routes = nil }
        var staged: [[Float]] = []
        for model in [one, unblocked, two] {
            try model.beginStagedForward(tokens: tokens, targets: targets, batch: batch)
            for l in 0..<3 {
                model.stagedAttention(layer: l)
                model.stagedFFN(layer: l, route: l == 1 ? .small : .big)
            }
            var positions = [Float](repeating: 0, count: n)
            positions.withUnsafeMutableBufferPointer { _ = model.stagedLoss(positionLosses: $0.baseAddress!) }
            staged.append(positions)
        }
        let sameStaged = staged[0] == staged[1] && staged[0] == staged[2]
        #expect(sameStaged, "staged losses differ")

        // On one thread with OpenBLAS's products the attention still runs in blocks, each block's
        // products ordinary calls (nothing packed ahead): other sums, close results.
        let openBLAS = try Transformer(config: config, seed: 9, maxBatch: batch, threads: 1)
        openBLAS.usesOpenBLASProducts = true
        #expect(openBLAS.blocksAttention(layer: 0, batch: batch) && !openBLAS.blocksFFN(rows: n))
        var losses: [Float] = []
        for model in [one, openBLAS] {
            model.routes = DuoRoutes(layers: 3, choices: choices)
            losses.append(try model.forward(tokens: tokens, targets: targets, batch: batch))
            model.backward()
        }
        #expect(abs(losses[1] - losses[0]) <= 1e-5 * abs(losses[0]), "\(losses)")
        let expected = TransformerFixture.gradient(one, "layers.0.attn.wq").map(Double.init)
        let report = ErrorReport(TransformerFixture.gradient(openBLAS, "layers.0.attn.wq"), expected)
        #expect(report.relative <= 1e-4, "\(report)")
    }

    static func someInterventions() -> Interventions {
        var interventions = Interventions()
        interventions.zeroedFirstValues = [1]
        interventions.bigFFNDropout = HiddenDropout(rate: 0.25, seed: 3)
        return interventions
    }
}
