import Foundation
import Synchronization
import Tasks

/// What a running task can ask of the worker: its identity, cancellation, and its gang.
public final class TaskContext: Sendable {
    /// The task's id at the coordinator.
    public let taskID: UInt64
    /// The attempt number, from 1.
    public let attempt: Int
    /// The gang this task runs in, or nil for a single-worker task.
    public let gang: GangMembership?
    private let cancelled = Atomic<Bool>(false)
    private let reason = Mutex<String>("")
    private let progressSink: (@Sendable ([StepMetric], Int) -> Void)?

    init(taskID: UInt64, attempt: Int, gang: GangMembership?,
         progress: (@Sendable ([StepMetric], Int) -> Void)? = nil) {
        self.taskID = taskID
        self.attempt = attempt
        self.gang = gang
        self.progressSink = progress
    }

    /// Sends stepped metrics measured so far (new points only) to the coordinator while the task
    /// runs, so the store and the progress display follow a long run; `total` is the last step
    /// the task expects, or 0 when unknown. The final result's `series` still holds every point.
    public func report(_ points: [StepMetric], total: Int = 0) {
        guard !points.isEmpty || total > 0 else { return }
        progressSink?(points, max(0, total))
    }

    /// Whether the coordinator or the worker asked the task to stop.
    public var isCancelled: Bool { cancelled.load(ordering: .acquiring) }

    /// Why the task was cancelled.
    public var cancellationReason: String { reason.withLock { $0 } }

    func cancel(_ why: String) {
        reason.withLock { $0 = why }
        cancelled.store(true, ordering: .releasing)
    }

    /// Throws `ClusterError.cancelled` if the task was cancelled; call it between units of work.
    public func checkCancellation() throws(ClusterError) {
        if isCancelled { throw .cancelled(cancellationReason) }
    }

    /// Sleeps for `duration` in short naps, returning early (with an error) on cancellation.
    public func sleep(for duration: Duration) throws(ClusterError) {
        let end = ContinuousClock.now + duration
        while ContinuousClock.now < end {
            try checkCancellation()
            let left = end - ContinuousClock.now
            Thread.sleep(forTimeInterval: min(0.02, max(0, left.inSeconds)))
        }
        try checkCancellation()
    }
}
