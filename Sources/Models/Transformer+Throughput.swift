import TensorCore

extension Transformer {
    /// Training throughput of forward + backward (no optimiser step) on random tokens, for quick
    /// checks; `loom bench` is the measurement to quote.
    ///
    /// Builds a model with seed 1, runs one discarded warm-up step, then times `steps` steps.
    /// - Parameters:
    ///   - config: the model's shape.
    ///   - batch: sequences per step (also the model's maxBatch).
    ///   - steps: timed steps, ≥ 1.
    ///   - threads: workers per pass; 0 means every active core.
    /// - Returns: batch·context / (median step time), in tokens per second.
    /// - Throws: `ModelError.configuration` for a bad config.
    public static func tokensPerSecond(config: ModelConfig, batch: Int, steps: Int = 10, threads: Int = 0) throws(ModelError) -> Double {
        let model = try Transformer(config: config, seed: 1, maxBatch: batch, threads: threads)
        var random = SeededRandom(seed: 2)
        let n = batch * config.context
        let tokens = (0..<n).map { _ in Int32(random.next() % UInt64(config.vocabulary)) }
        let targets = (0..<n).map { _ in Int32(random.next() % UInt64(config.vocabulary)) }
        var times: [Double] = []
        let clock = ContinuousClock()
        for step in 0...max(1, steps) {
            let start = clock.now
            _ = try model.forward(tokens: tokens, targets: targets, batch: batch)
            model.backward()
            let elapsed = clock.now - start
            if step > 0 {
                times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
            }
        }
        times.sort()
        return Double(n) / times[times.count / 2]
    }
}
