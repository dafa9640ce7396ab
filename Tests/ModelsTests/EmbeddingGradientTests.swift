import ModelTestSupport
import NumericTestSupport
import Testing
@testable import Models

/// The token and position embedding gradients, summed in blocks of rows fixed by the shape
/// (`Transformer.embeddingGradients`) or, for small batches and large vocabularies, by owner.
@Suite struct EmbeddingGradientTests {
    /// Blocks of 1,024 rows, at most 8; none under two blocks or when the partials would cost more
    /// than a quarter of the rows.
    @Test func blocksAreFixedByTheShape() {
        #expect(Transformer.embeddingBlocks(rows: 4096, tableRows: 67 + 64) == 4)
        #expect(Transformer.embeddingBlocks(rows: 2304, tableRows: 52) == 3)
        #expect(Transformer.embeddingBlocks(rows: 2047, tableRows: 10) == 1)
        #expect(Transformer.embeddingBlocks(rows: 100_000, tableRows: 10) == 8)
        #expect(Transformer.embeddingBlocks(rows: 4096, tableRows: 257) == 1)
        #expect(Transformer.embeddingBlocks(rows: 4096, tableRows: 256) == 4)
    }

    /// After a backward pass, each token row's gradient is the float64 sum of dL/dstream[0] over
    /// the positions holding that token, and each position row's over the sequences:
    /// ‖g − g₆₄‖/‖g₆₄‖ ≤ 1e-6 (float32 sums of at most a few hundred rows), with partials (2,304
    /// rows, three blocks) and without (a vocabulary too large for them), on 1, 2, 3 and 5
    /// threads (with 5, each block's columns are cut in two); the bits do not depend on the threads.
    @Test(arguments: [(vocabulary: 11, blocked: true), (vocabulary: 600, blocked: false)])
    func gradientsAreTheSumsOfTheirRows(_ shape: (vocabulary: Int, blocked: Bool)) throws {
        let context = 32, batch = 72, n = context * batch
        let config = ModelConfig(vocabulary: shape.vocabulary, context: context, layers: 1, dModel: 32, heads: 2)
        #expect((Transformer.embeddingBlocks(rows: n, tableRows: shape.vocabulary + context) > 1) == shape.blocked)
        var random = TestRandom(seed: 7)
        let tokens = (0..<n).map { _ in Int32(random.next() % UInt64(shape.vocabulary)) }
        let targets = (0..<n).map { _ in Int32(random.next() % UInt64(shape.vocabulary)) }
        var bits: [[UInt32]] = []
        for threads in [1, 2, 3, 5] {
            let model = try Transformer(config: config, seed: 3, maxBatch: batch, threads: threads)
            _ = try model.forward(tokens: tokens, targets: targets, batch: batch)
            model.backward()
            let d = config.dModel, dx = model.arena.dStream
            var tokenSums = [Double](repeating: 0, count: shape.vocabulary * d), positionSums = [Double](repeating: 0, count: context * d)
            for r in 0..<n {
                for c in 0..<d {
                    tokenSums[Int(tokens[r]) * d + c] += Double(dx[r * d + c])
                    positionSums[r % context * d + c] += Double(dx[r * d + c])
                }
            }
            let token = ErrorReport(gradient(model, "embed.token"), tokenSums)
            let position = ErrorReport(gradient(model, "embed.position"), positionSums)
            #expect(token.relative <= 1e-6, "token gradients, \(threads) threads: \(token)")
            #expect(position.relative <= 1e-6, "position gradients, \(threads) threads: \(position)")
            bits.append((gradient(model, "embed.token") + gradient(model, "embed.position")).map(\.bitPattern))
        }
        #expect(bits.allSatisfy { $0 == bits[0] }, "embedding gradients differ between 1, 2, 3 and 5 threads")
    }

    private func gradient(_ model: Transformer, _ name: String) -> [Float] {
        let entry = model.parameters.entry(name)!
        return Array(UnsafeBufferPointer(start: model.parameters.gradients + entry.offset, count: entry.count))
    }
}
