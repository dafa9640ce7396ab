import Models

/// Builds the model a training run trains.
enum ModelFactory {
    static func make(_ config: ModelConfig, seed: UInt64, maxBatch: Int, threads: Int) throws(ModelError) -> Transformer {
        try Transformer(config: config, seed: seed, maxBatch: maxBatch, threads: threads)
    }
}
