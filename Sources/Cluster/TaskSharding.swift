import Tasks

/// How a kind splits one run into shards that run as separate tasks on any workers, and joins
/// the shards' outcomes into the run's outcome where the run was submitted (`loom run`).
///
/// Each shard is retried on its own, so a dead worker costs only its shard. The join must be a
/// pure function of the shards' outcomes in shard order, so a sharded run stores the same
/// result as the same run done in one piece.
public struct TaskSharding: Sendable {
    /// The shards' parameters for one run's resolved parameters, given how many workers are
    /// registered (0 when unknown). One shard or none: the run is not split.
    public typealias Split = @Sendable (_ resolved: [String: ParameterValue], _ workers: Int) throws -> [[String: ParameterValue]]
    /// The run's outcome from its resolved parameters and every shard's outcome, in shard order.
    public typealias Join = @Sendable (_ resolved: [String: ParameterValue], _ shards: [TaskOutcome]) throws -> TaskOutcome

    /// The most shards one run may have: each is a task in the coordinator's queue.
    public static let maximumShards = 4_096

    public let split: Split
    public let join: Join

    public init(split: @escaping Split, join: @escaping Join) {
        self.split = split
        self.join = join
    }
}

extension TaskKind {
    /// The shards of a run with parameters `given`, resolved and checked; nil when the kind does
    /// not shard or the run is one piece.
    /// - Throws: `ClusterError.invalidTask` for parameters the kind refuses or more shards than
    ///   `TaskSharding.maximumShards`.
    public func shards(of given: [String: ParameterValue], workers: Int) throws(ClusterError) -> [[String: ParameterValue]]? {
        guard let sharding else { return nil }
        let resolved = try resolve(given)
        let shards: [[String: ParameterValue]]
        do { shards = try sharding.split(resolved, workers) } catch let error as ClusterError { throw error } catch {
            throw .invalidTask("\(name): \(error)")
        }
        guard shards.count <= TaskSharding.maximumShards else {
            throw .invalidTask("\(name) split one run into \(shards.count) shards, more than \(TaskSharding.maximumShards); ask for fewer")
        }
        return shards.count > 1 ? shards : nil
    }
}
