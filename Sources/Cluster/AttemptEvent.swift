import Tasks
/// Something that happened to one attempt of a task, for a scheduler that keeps a record of
/// every attempt (the results store): started on workers, lost to infrastructure, or failed.
public struct AttemptEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Leased to these workers (one name, or a gang's names by rank).
        case started(workers: [String])
        /// Lost to a dead or draining worker; the task is requeued unless it was lost too often.
        case lost(reason: String)
        /// The task itself failed this attempt; it is retried while attempts remain.
        case failed(reason: String)
        /// Stepped metrics the attempt measured since its last report, while it runs; `total` is
        /// the last step it expects (0: unknown).
        case progress(points: [StepMetric], total: Int)
    }

    public var taskID: UInt64
    public var attempt: Int
    public var kind: Kind

    public init(taskID: UInt64, attempt: Int, kind: Kind) {
        self.taskID = taskID; self.attempt = attempt; self.kind = kind
    }
}
