import Models
import Tasks

/// The parameters of `duo.oracle`: a `train.duo` checkpoint, its corpus, and a slice of routes
/// (so a later coordinator can shard the search over workers).
public struct OracleParameters: TaskParameters {
    public static let declaration: [ParameterSpec] = [
        ParameterSpec("checkpoint", .string, default: .string(""), "a train.duo checkpoint directory (holds checkpoint.json)", input: true),
        ParameterSpec("corpus", .string, default: .string(""), "the text file the model was trained on (empty: data/loom-docs.txt, Loom's README and docs)", input: true),
        ParameterSpec("data_seed", .int, default: .int(1), "the training run's data_seed (fixes the evaluation batch)", minimum: 0),
        ParameterSpec("first_route", .int, default: .int(0), "the first route of the slice (routes are numbered as in docs/duo-llm.md)",
                      minimum: 0),
        ParameterSpec("route_count", .int, default: .int(0), "routes in the slice (0: all from first_route)", minimum: 0),
        ParameterSpec("threads", .int, default: .int(0), "threads (0: all cores)", minimum: 0, maximum: 256),
        ParameterSpec("shards", .int, default: .int(0),
                      "slices of the routes run as separate tasks on any workers, joined by loom run (0: two per worker; 1: one task)",
                      minimum: 0, maximum: 4_096),
    ] + OracleSettings.declaration

    let checkpoint: String
    let corpus: String
    let dataSeed: Int
    let firstRoute: Int
    let routeCount: Int
    let threads: Int
    let shards: Int
    let settings: OracleSettings

    public init(_ values: ResolvedParameters) {
        checkpoint = values.string("checkpoint")
        corpus = values.string("corpus")
        dataSeed = values.int("data_seed")
        firstRoute = values.int("first_route")
        routeCount = values.int("route_count")
        threads = values.int("threads")
        shards = values.int("shards")
        settings = OracleSettings(values)
    }

    public func check(gangSize: Int) throws(ParameterProblem) {
        guard !checkpoint.isEmpty else { throw ParameterProblem("duo.oracle needs checkpoint: the directory a train.duo run wrote") }
    }
}
