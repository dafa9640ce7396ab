import Tasks

/// The parameters of `train.bb` (and the options of `loom train`), decoded once.
public struct TrainParameters: TaskParameters {
    public static let declaration: [ParameterSpec] = [
        ParameterSpec("layers", .int, default: .int(1), "transformer layers", minimum: 1, maximum: 64),
        ParameterSpec("d_model", .int, default: .int(64), "model width d"),
        ParameterSpec("heads", .int, default: .int(1), "attention heads (must divide d_model)"),
        ParameterSpec("context", .int, default: .int(64), "tokens per sequence (the paper: 256)"),
        ParameterSpec("ffn_hidden", .int, default: .int(0), "FFN hidden width (0: 4·d_model)"),
        ParameterSpec("attention", .string, default: .string("softmax"), "softmax, relu or none (every layer)"),
        ParameterSpec("ffn", .string, default: .string("mlp"), "mlp, linear or none (every layer)"),
        ParameterSpec("layer_attention", .string, default: .string(""),
                      "per layer, comma-separated (e.g. none,softmax,softmax); empty: 'attention' in every layer"),
        ParameterSpec("layer_ffn", .string, default: .string(""),
                      "per layer, comma-separated (e.g. mlp,mlp,none); empty: 'ffn' in every layer"),
        ParameterSpec("activation", .string, default: .string("relu"), "the FFN's relu or gelu"),
        ParameterSpec("optimizer", .string, default: .string("adamw"), "adamw, adam or sgd"),
        ParameterSpec("lr", .double, default: .double(3e-4), "learning rate (the peak with a cosine schedule)"),
        ParameterSpec("schedule", .string, default: .string("constant"), "constant or cosine"),
        ParameterSpec("warmup", .int, default: .int(0), "cosine: warm-up steps", minimum: 0, maximum: 10_000_000),
        ParameterSpec("min_lr", .double, default: .double(0), "cosine: the final rate"),
        ParameterSpec("beta1", .double, default: .double(0.9), "AdamW β1"),
        ParameterSpec("beta2", .double, default: .double(0.99), "AdamW β2 (the paper: 0.99)"),
        ParameterSpec("weight_decay", .double, default: .double(1e-4), "weight decay (the paper: 1e-4)"),
        ParameterSpec("momentum", .double, default: .double(0.9), "SGD momentum"),
        ParameterSpec("clip", .double, default: .double(1), "clip the global gradient norm (0: off)"),
        ParameterSpec("steps", .int, default: .int(1000), "training steps", minimum: 1, maximum: 10_000_000),
        ParameterSpec("batch", .int, default: .int(64), "sequences per step"),
        ParameterSpec("seed", .int, default: .int(0), "seed of the initial weights"),
        ParameterSpec("data_seed", .int, default: .int(1), "seed of the batches (batch k depends on it and k only)"),
        ParameterSpec("evaluate_every", .int, default: .int(100), "measure on a fixed evaluation batch every N steps", minimum: 1),
        ParameterSpec("evaluation_batch", .int, default: .int(64), "sequences in the evaluation batch"),
        ParameterSpec("checkpoint_dir", .string, default: .string(""), "checkpoint here and resume from it if present"),
        ParameterSpec("checkpoint_every", .int, default: .int(0), "checkpoint every N steps (a multiple of evaluate_every; 0: at the end)"),
        ParameterSpec("data", .string, default: .string(""), "task statistics: a bigram-backcopy JSON or a text corpus (default: the shipped Tiny Shakespeare statistics)", input: true),
        ParameterSpec("threads", .int, default: .int(0), "threads (0: all cores)", minimum: 0, maximum: 256),
        ParameterSpec("probes", .bool, default: .bool(true), "measure attn_sink, attn_prev, sink_logit_margin, value_drain and residual norms per layer and head at each evaluation"),
    ]

    let layers: Int
    let dModel: Int
    let heads: Int
    let context: Int
    let ffnHidden: Int
    let attention: String
    let ffn: String
    let layerAttention: String
    let layerFFN: String
    let activation: String
    let optimizer: String
    let lr: Double
    let schedule: String
    let warmup: Int
    let minLR: Double
    let beta1: Double
    let beta2: Double
    let weightDecay: Double
    let momentum: Double
    let clip: Double
    let steps: Int
    let batch: Int
    let seed: Int
    let dataSeed: Int
    let evaluateEvery: Int
    let evaluationBatch: Int
    let checkpointDir: String
    let checkpointEvery: Int
    let data: String
    let threads: Int
    let probes: Bool

    public init(_ values: ResolvedParameters) {
        layers = values.int("layers")
        dModel = values.int("d_model")
        heads = values.int("heads")
        context = values.int("context")
        ffnHidden = values.int("ffn_hidden")
        attention = values.string("attention")
        ffn = values.string("ffn")
        layerAttention = values.string("layer_attention")
        layerFFN = values.string("layer_ffn")
        activation = values.string("activation")
        optimizer = values.string("optimizer")
        lr = values.double("lr")
        schedule = values.string("schedule")
        warmup = values.int("warmup")
        minLR = values.double("min_lr")
        beta1 = values.double("beta1")
        beta2 = values.double("beta2")
        weightDecay = values.double("weight_decay")
        momentum = values.double("momentum")
        clip = values.double("clip")
        steps = values.int("steps")
        batch = values.int("batch")
        seed = values.int("seed")
        dataSeed = values.int("data_seed")
        evaluateEvery = values.int("evaluate_every")
        evaluationBatch = values.int("evaluation_batch")
        checkpointDir = values.string("checkpoint_dir")
        checkpointEvery = values.int("checkpoint_every")
        data = values.string("data")
        threads = values.int("threads")
        probes = values.bool("probes")
    }

    /// The vocabulary the check assumes: the shipped statistics' 67 tokens. The checks (widths,
    /// heads, layers, schedule) do not depend on it; a corpus given with `data` has its own size,
    /// which the session uses when it loads it.
    static let checkVocabulary = 67

    /// The model and the schedule must make sense together before anything runs, without
    /// reading the data (a sweep checks every run).
    public func check(gangSize: Int) throws(ParameterProblem) {
        do { _ = try TrainKind.configuration(self, vocabulary: TrainParameters.checkVocabulary) } catch {
            throw ParameterProblem("\(error)")
        }
    }
}
