import Tasks

/// The curves a `Trainer` records at each evaluation, declared once: the trainer writes them by
/// these names, studies declare them for their kinds, and reports label axes from them.
public enum TrainingMetric {
    public static let trainLoss = MetricSpec("train_loss", "training loss", unit: "nats", stepped: true)
    public static let evalLoss = MetricSpec("eval_loss", "evaluation loss", unit: "nats", stepped: true)
    public static let gradNorm = MetricSpec("grad_norm", "gradient norm", stepped: true)
    public static let learningRate = MetricSpec("lr", "learning rate", stepped: true)
    public static let tokensPerSecond = MetricSpec("tokens_per_s", "training speed", unit: "tokens/s", stepped: true)

    /// Bigram-Backcopy risks on the evaluation batch (loss per position class).
    public static let backcopyRisk = MetricSpec("backcopy_risk", "back-copy risk", unit: "nats", stepped: true)
    public static let bigramRisk = MetricSpec("bigram_risk", "bigram risk", unit: "nats", stepped: true)
    /// The bigram risk above the bigram's own entropy (0 for the Bayes-optimal model).
    public static let excessBigramRisk = MetricSpec("excess_bigram_risk", "excess bigram risk", unit: "nats", stepped: true)

    public static let all: [MetricSpec] = [
        trainLoss, evalLoss, gradNorm, learningRate, tokensPerSecond, backcopyRisk, bigramRisk, excessBigramRisk,
    ]
}
