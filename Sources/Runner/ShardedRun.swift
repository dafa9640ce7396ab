import Cluster
import Tasks

/// One run split into shards (see `TaskSharding`): which shards have finished and what they
/// returned, and the attempt numbers its shards' attempts are stored under.
struct ShardedRun {
    /// The run's resolved parameters, for the join.
    let params: [String: ParameterValue]
    /// Each shard's outcome once it succeeded.
    var outcomes: [TaskOutcome?]
    /// The workers that ran the successful shards.
    var workers: [String] = []
    /// Attempts are numbered across all shards of the run: 1, 2, … in the order they start.
    private(set) var lastAttempt = 0

    init(params: [String: ParameterValue], shards: Int) {
        self.params = params
        self.outcomes = Array(repeating: nil, count: shards)
    }

    var isComplete: Bool { outcomes.allSatisfy { $0 != nil } }

    /// The stored number of the attempt that starts now.
    mutating func nextAttempt() -> Int {
        lastAttempt += 1
        return lastAttempt
    }
}

/// A submitted task that is one shard of a run.
struct ShardTask {
    let run: Int64
    let shard: Int
    /// Its running attempt's stored number (nil while queued).
    var attempt: Int?
}
