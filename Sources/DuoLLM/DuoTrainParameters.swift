import Models
import Tasks

/// The parameters of `train.duo`, decoded once; bounds and choices make bad values (p_big
/// outside [0, 1], an unknown activation) fail when the experiment file is read.
public struct DuoTrainParameters: TaskParameters {
    public static let declaration: [ParameterSpec] = [
        ParameterSpec("layers", .int, default: .int(6), "transformer layers, each with a duo FFN", minimum: 1, maximum: 15),
        ParameterSpec("d_model", .int, default: .int(64), "model width d", minimum: 4, maximum: 1024),
        ParameterSpec("heads", .int, default: .int(4), "attention heads (must divide d_model)", minimum: 1, maximum: 64),
        ParameterSpec("context", .int, default: .int(64), "characters per sequence", minimum: 1, maximum: 1024),
        ParameterSpec("activation", .string, default: .string("relu"), "the FFNs' activation", choices: ["relu", "gelu"]),
        ParameterSpec("lr", .double, default: .double(1e-3), "AdamW learning rate (constant)", minimum: 0, maximum: 1),
        ParameterSpec("clip", .double, default: .double(1), "clip the global gradient norm (0: off)", minimum: 0),
        ParameterSpec("steps", .int, default: .int(1000), "training steps", minimum: 1, maximum: 10_000_000),
        ParameterSpec("batch", .int, default: .int(32), "sequences per step", minimum: 1, maximum: 4096),
        ParameterSpec("p_big", .double, default: .double(0.5), "stage 1: probability a token takes big at a layer", minimum: 0, maximum: 1),
        ParameterSpec("p_skip", .double, default: .double(0), "stage 1: probability a token skips a layer (small takes the rest)",
                      minimum: 0, maximum: 1),
        ParameterSpec("seed", .int, default: .int(0), "seed of the initial weights and the routes", minimum: 0),
        ParameterSpec("data_seed", .int, default: .int(1), "seed of the batches", minimum: 0),
        ParameterSpec("corpus", .string, default: .string(""), "a UTF-8 text file (empty: data/loom-docs.txt, Loom's README and docs)", input: true),
        ParameterSpec("evaluate_every", .int, default: .int(100), "measure all-big validation loss every N steps", minimum: 1),
        ParameterSpec("checkpoint_dir", .string, default: .string(""), "checkpoint here (and resume from it); empty: a temporary directory"),
        ParameterSpec("threads", .int, default: .int(0), "threads (0: all cores)", minimum: 0, maximum: 256),
        ParameterSpec("oracle", .bool, default: .bool(true), "run the oracle on the trained model"),
    ] + OracleSettings.declaration

    let layers: Int, dModel: Int, heads: Int, context: Int
    let activation: String
    let lr: Double, clip: Double
    let steps: Int, batch: Int
    let pBig: Double, pSkip: Double
    let seed: Int, dataSeed: Int
    let corpus: String
    let evaluateEvery: Int
    let checkpointDir: String
    let threads: Int
    let oracle: Bool
    let settings: OracleSettings

    public init(_ values: ResolvedParameters) {
        layers = values.int("layers"); dModel = values.int("d_model"); heads = values.int("heads"); context = values.int("context")
        activation = values.string("activation")
        lr = values.double("lr"); clip = values.double("clip")
        steps = values.int("steps"); batch = values.int("batch")
        pBig = values.double("p_big"); pSkip = values.double("p_skip")
        seed = values.int("seed"); dataSeed = values.int("data_seed")
        corpus = values.string("corpus")
        evaluateEvery = values.int("evaluate_every")
        checkpointDir = values.string("checkpoint_dir")
        threads = values.int("threads")
        oracle = values.bool("oracle")
        settings = OracleSettings(values)
    }

    /// The training configuration for a corpus of `vocabulary` symbols: every layer a duo layer.
    func configuration(vocabulary: Int) throws(ModelError) -> TrainingConfig {
        var model = ModelConfig(vocabulary: vocabulary, context: context, layers: layers, dModel: dModel, heads: heads,
                                activation: ModelConfig.Activation(rawValue: activation) ?? .relu)
        for l in 0..<model.depth { model.layers[l].duo = true }
        let config = TrainingConfig(model: model, optimizer: .adamw(), schedule: .constant(Float(lr)), steps: steps, batch: batch,
                                    seed: UInt64(seed), dataSeed: UInt64(dataSeed), clipNorm: Float(clip),
                                    evaluateEvery: evaluateEvery, evaluationBatch: settings.evaluationBatch)
        try config.validate()
        return config
    }

    /// The routing of stage 1. - Throws: for p_big + p_skip > 1.
    func routing() throws(ModelError) -> RandomRouting {
        try RandomRouting(pBig: pBig, pSkip: pSkip, seed: UInt64(seed))
    }

    /// Widths, heads, the routing and the oracle's settings must make sense before anything runs
    /// (without reading the corpus: a sweep checks every run).
    public func check(gangSize: Int) throws(ParameterProblem) {
        do throws(ModelError) {
            _ = try configuration(vocabulary: CharacterCorpus.maxSymbols)
            _ = try routing()
            if oracle { try settings.check(layers: layers) }
        } catch {
            throw ParameterProblem("\(error)")
        }
    }
}
