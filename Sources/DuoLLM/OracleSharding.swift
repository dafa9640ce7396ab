import Cluster
import Foundation
import Models
import Tasks
import TensorCore

/// The distributed oracle: `duo.oracle` split into slices of the route set that run as separate
/// tasks on any workers, joined where the run was submitted by concatenating the slices' `CE[r, t]`
/// rows in route order. The join computes the summaries with the same function as a one-process
/// search, from the same bits, so both store identical results.
enum OracleSharding {
    /// Shards when `shards` is 0 and the workers are not known.
    static let defaultShards = 4

    static let sharding = TaskSharding(split: split, join: join)

    /// Contiguous slices of the run's routes, as even as they divide: `shards` of them (0: two
    /// per registered worker, or 4), never more than there are routes.
    @Sendable static func split(_ resolved: [String: ParameterValue], workers: Int) throws -> [[String: ParameterValue]] {
        let params = try decode(resolved)
        let (first, count) = try slice(params)
        let asked = params.shards > 0 ? params.shards : workers > 0 ? 2 * workers : defaultShards
        let shards = min(asked, count)
        guard shards > 1 else { return [] }
        var result: [[String: ParameterValue]] = []
        var start = first
        for index in 0..<shards {
            let size = count / shards + (index < count % shards ? 1 : 0)
            var values = resolved
            values["first_route"] = .int(start)
            values["route_count"] = .int(size)
            values["shards"] = .int(1)
            result.append(values)
            start += size
        }
        return result
    }

    /// The run's outcome from its shards' matrices (in shard order): each reading's slices checked
    /// to be contiguous slices of one evaluation, concatenated, summarised, written as one `.npy`;
    /// the null control's metrics come from the shard that holds route 0.
    @Sendable static func join(_ resolved: [String: ParameterValue], shards: [TaskOutcome]) throws -> TaskOutcome {
        let params = try decode(resolved)
        let (first, count) = try slice(params)
        let model = try Checkpoint.manifest(at: URL(fileURLWithPath: params.checkpoint)).model
        let set = try RouteSet(layers: model.depth, skip: params.settings.skipRoutes)
        let shared = params.settings.readsSharedRoute
            ? try concatenate("ce-routes-", shards: shards, set: set, first: first, count: count) : nil
        let fixedContext = params.settings.readsFixedContext
            ? try concatenate("ce-fixed-context-", shards: shards, set: set, first: first, count: count) : nil
        var outcome = try OracleRun.outcome(shared: shared, fixedContext: fixedContext, context: model.context, settings: params.settings)
        for shard in shards {
            for (name, value) in shard.metrics where name.hasPrefix("ppl.null.") { outcome.metrics[name] = value }
            outcome.series += shard.series.filter { $0.name == DuoMetric.budgetNull.name }
        }
        return outcome
    }

    /// One reading's matrix from the shards' `.npy` files named `prefix…`, in route order.
    private static func concatenate(_ prefix: String, shards: [TaskOutcome], set: RouteSet, first: Int, count: Int) throws -> RouteLosses {
        var values: [Float] = []
        var tokens = 0, next = first
        for (index, shard) in shards.enumerated() {
            guard let path = shard.artifacts.first(where: { URL(fileURLWithPath: $0).lastPathComponent.hasPrefix(prefix) }) else {
                throw ModelError.input("shard \(index + 1) returned no \(prefix)….npy (artifacts: \(shard.artifacts))")
            }
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw ModelError.input("shard \(index + 1)'s matrix \(path) is not on this machine; a sharded oracle needs its workers to share this file system")
            }
            let matrix = try Tensor(contentsOfNPYFile: path)
            guard case let .int(shardFirst)? = shard.metrics[DuoMetric.firstRoute.name], shardFirst == next,
                  matrix.shape.count == 2, matrix.shape[0] >= 1, tokens == 0 || matrix.shape[1] == tokens else {
                throw ModelError.input("shard \(index + 1)'s matrix \(path) (shape \(matrix.shape)) does not continue routes from \(next)")
            }
            tokens = matrix.shape[1]
            next += matrix.shape[0]
            values += matrix.storage
        }
        guard next == first + count else {
            throw ModelError.input("the shards cover routes \(first) ..< \(next), not \(first) ..< \(first + count)")
        }
        return RouteLosses(routes: set, first: first, count: count, tokens: tokens, values: values)
    }

    private static func decode(_ resolved: [String: ParameterValue]) throws -> OracleParameters {
        OracleParameters(ResolvedParameters(try OracleParameters.declaration.resolve(resolved, kind: "duo.oracle")))
    }

    /// The run's routes: its slice of the checkpoint's route set.
    private static func slice(_ params: OracleParameters) throws -> (first: Int, count: Int) {
        let config = try Checkpoint.manifest(at: URL(fileURLWithPath: params.checkpoint)).model
        let set = try RouteSet(layers: config.depth, skip: params.settings.skipRoutes)
        guard params.firstRoute < set.count, params.firstRoute + params.routeCount <= set.count else {
            throw ModelError.configuration("routes \(params.firstRoute) ..< \(params.firstRoute + max(1, params.routeCount)) are outside the model's \(set.count) routes; use first_route < \(set.count)")
        }
        return (params.firstRoute, params.routeCount > 0 ? params.routeCount : set.count - params.firstRoute)
    }
}
