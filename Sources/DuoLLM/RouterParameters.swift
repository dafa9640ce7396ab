import Models
import Tasks

/// The parameters of `duo.router`: a `train.duo` checkpoint, its corpus, and how the router is
/// trained; bounds make a budget outside [0, 1] or a non-positive temperature fail when the
/// experiment file is read.
public struct RouterParameters: TaskParameters {
    public static let declaration: [ParameterSpec] = [
        ParameterSpec("checkpoint", .string, default: .string(""), "a train.duo checkpoint directory (holds checkpoint.json)", input: true),
        ParameterSpec("corpus", .string, default: .string(""), "the text file the model was trained on (empty: data/loom-docs.txt, Loom's README and docs)", input: true),
        ParameterSpec("data_seed", .int, default: .int(1), "the training run's data_seed (fixes the evaluation batch, as the oracle's)",
                      minimum: 0),
        ParameterSpec("evaluation_batch", .int, default: .int(16), "validation sequences the hard routes are evaluated on",
                      minimum: 1, maximum: 1024),
        ParameterSpec("skip_routes", .bool, default: .bool(false), "3 logits per layer (big, small, skip) instead of 2"),
        ParameterSpec("budget", .double, default: .double(0.5), "b: the fraction of (token, layer) choices that should take big",
                      minimum: 0, maximum: 1),
        ParameterSpec("alpha", .double, default: .double(1), "α: weight of the budget penalty α·(mean P_big − b)²",
                      minimum: 0, maximum: 1e6),
        ParameterSpec("temperature", .double, default: .double(1), "the softmax temperature τ at the first step",
                      minimum: 1e-4, maximum: 100),
        ParameterSpec("final_temperature", .double, default: .double(0.05), "τ at the last step (annealed geometrically)",
                      minimum: 1e-4, maximum: 100),
        ParameterSpec("router_steps", .int, default: .int(300), "router training steps", minimum: 1, maximum: 1_000_000),
        ParameterSpec("batch", .int, default: .int(16), "training sequences per router step", minimum: 1, maximum: 1024),
        ParameterSpec("lr", .double, default: .double(1e-2), "AdamW learning rate of the router (constant)", minimum: 0, maximum: 1),
        ParameterSpec("router_seed", .int, default: .int(0), "seed of the router's initial weights and its training batches", minimum: 0),
        ParameterSpec("threads", .int, default: .int(0), "threads (0: all cores)", minimum: 0, maximum: 256),
    ]

    let checkpoint: String
    let corpus: String
    let dataSeed: Int
    let evaluationBatch: Int
    let threads: Int
    let settings: RouterSettings

    public init(_ values: ResolvedParameters) {
        checkpoint = values.string("checkpoint")
        corpus = values.string("corpus")
        dataSeed = values.int("data_seed")
        evaluationBatch = values.int("evaluation_batch")
        threads = values.int("threads")
        settings = RouterSettings(skip: values.bool("skip_routes"), budget: values.double("budget"), alpha: values.double("alpha"),
                                  temperature: values.double("temperature"), finalTemperature: values.double("final_temperature"),
                                  steps: values.int("router_steps"), batch: values.int("batch"), learningRate: values.double("lr"),
                                  seed: UInt64(values.int("router_seed")))
    }

    public func check(gangSize: Int) throws(ParameterProblem) {
        guard !checkpoint.isEmpty else { throw ParameterProblem("duo.router needs checkpoint: the directory a train.duo run wrote") }
        do throws(ModelError) { try settings.validate() } catch { throw ParameterProblem("\(error)") }
    }
}
