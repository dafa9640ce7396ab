import Models
import Testing

/// Prints forward + backward throughput for the three target shapes (context 64, batch 64,
/// vocabulary 67); only a smoke test for speed. Measure with `swift test -c release --filter ThroughputTests`.
@Suite struct ThroughputTests {
    @Test(arguments: [(1, 64), (3, 64), (1, 256)])
    func printsTokensPerSecond(layers: Int, dModel: Int) throws {
        let config = ModelConfig(vocabulary: 67, context: 64, layers: layers, dModel: dModel, heads: dModel / 64)
        let rate = try Transformer.tokensPerSecond(config: config, batch: 64, steps: 10, threads: 2)
        print("throughput \(layers) layer(s), d = \(dModel), T = 64, batch 64, heads \(config.heads), 2 threads: \(Int(rate)) tokens/s (forward + backward)")
        #expect(rate > 0)
    }
}
