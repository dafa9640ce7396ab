import Models

/// Builds the model a training run trains.
enum ModelFactory {
    static func make(_ config: ModelConfig, seed: UInt64, maxBatch: Int, threads: Int) throws -> any TrainableModel {
        throw ModelError.configuration("the transformer's forward and backward passes are not built yet; 'loom train' cannot train a model in this build")
    }
}
