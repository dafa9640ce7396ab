import Models
import Testing

/// Prints forward + backward throughput for the three target shapes (context 64, batch 64,
/// vocabulary 67); only a smoke test for speed (3 steps, so debug runs stay short). For numbers, run it
/// in release on an idle machine: `swift test -c release -Xswiftc -enable-testing --filter ThroughputTests`.
@Suite struct ThroughputTests {
    @Test(arguments: [(1, 64), (3, 64), (1, 256)])
    func printsTokensPerSecond(layers: Int, dModel: Int) throws {
        let config = ModelConfig(vocabulary: 67, context: 64, layers: layers, dModel: dModel, heads: dModel / 64)
        let rate = try Transformer.tokensPerSecond(config: config, batch: 64, steps: 3, threads: 2)
        print("throughput \(layers) layer(s), d = \(dModel), T = 64, batch 64, heads \(config.heads), 2 threads: \(Int(rate)) tokens/s (forward + backward)")
        #expect(rate > 0)
    }
}
