import Foundation
import Synchronization

/// How busy the workers of the pooled loops that one thread starts were (`Parallel.forEach` on
/// Loom's kept threads), while that thread records (`StepPhases`, for `loom bench train
/// --phases`): the wall time inside such loops, and the worker time spent waiting in them. A
/// worker waits in a loop for the part of its span it did not spend on its own items: at the
/// end, for a slower partner (a core slowed by a neighbour, an uneven split), or at the start,
/// while its thread was not running. Loops started by other threads (another model, a test
/// running beside), and loops that fall back to libdispatch (nested in another), are not counted.
public final class ParallelUsage: Sendable {
    /// Totals since recording began; differences of two readings cover what ran between them.
    public struct Reading: Sendable, Equatable {
        /// Wall seconds inside pooled loops.
        public var loopSeconds: Double
        /// Worker seconds waiting inside them.
        public var waitSeconds: Double
    }

    private let loopNanoseconds = Atomic<Int>(0)
    private let waitNanoseconds = Atomic<Int>(0)
    private let active = Atomic<Bool>(true)
    private static let threadKey = "loom.ParallelUsage"
    /// Recordings not yet ended, so a loop on a thread that records none costs one atomic load.
    private static let recordings = Atomic<Int>(0)

    private init() {}

    /// Starts recording the pooled loops that the calling thread starts, until `end()`; loops cost
    /// two clock reads per worker more while it records. A later recording on the same thread
    /// replaces this one.
    public static func recordingThisThread() -> ParallelUsage {
        let usage = ParallelUsage()
        Thread.current.threadDictionary[threadKey] = usage
        recordings.add(1, ordering: .relaxed)
        return usage
    }

    /// Stops recording (from any thread); the totals stay readable.
    public func end() {
        if active.exchange(false, ordering: .relaxed) { Self.recordings.subtract(1, ordering: .relaxed) }
    }

    public func read() -> Reading {
        Reading(loopSeconds: Double(loopNanoseconds.load(ordering: .relaxed)) * 1e-9,
                waitSeconds: Double(waitNanoseconds.load(ordering: .relaxed)) * 1e-9)
    }

    /// The calling thread's active recording, if any.
    static var current: ParallelUsage? {
        guard recordings.load(ordering: .relaxed) > 0,
              let usage = Thread.current.threadDictionary[threadKey] as? ParallelUsage,
              usage.active.load(ordering: .relaxed) else { return nil }
        return usage
    }

    /// Adds one loop: its span on the caller's clock and its workers' summed busy time.
    func record(spanNanoseconds span: Int, busyNanoseconds busy: Int, workers: Int) {
        loopNanoseconds.add(span, ordering: .relaxed)
        waitNanoseconds.add(Self.wait(span: span, busy: busy, workers: workers), ordering: .relaxed)
    }

    /// Worker time of a loop not spent in its body: every worker is there for the whole span.
    static func wait(span: Int, busy: Int, workers: Int) -> Int { max(0, workers * span - busy) }
}
