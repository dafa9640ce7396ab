import Dispatch
import Experiments
import Foundation
import Reports
import Synchronization

/// Redraws an experiment's report while `loom run` runs it, so the page (which reloads itself
/// while the invocation lives) follows the results. Drawing happens on another thread from a
/// read-only connection; the scheduler loop never waits for gnuplot.
final class LiveReport: Sendable {
    private let draw: @Sendable () -> Void
    private let busy = Atomic<Bool>(false)
    private let next = Mutex<ContinuousClock.Instant>(ContinuousClock.now + .seconds(3))
    private let every: Duration = .seconds(10)

    /// - Parameter draw: renders the report once; its errors are its own to swallow (a live
    ///   figure that fails now is drawn again, or reported by the final drawing).
    init(draw: @escaping @Sendable () -> Void) { self.draw = draw }

    /// Starts a redraw when one is due and none is under way; returns at once.
    func tick() {
        let now = ContinuousClock.now
        let due = next.withLock { next in
            guard now >= next else { return false }
            next = now + every
            return true
        }
        guard due, busy.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        DispatchQueue.global(qos: .utility).async { [self] in
            draw()
            busy.store(false, ordering: .releasing)
        }
    }

    /// Waits for a redraw under way to end, so the final drawing does not race it.
    func finish() {
        next.withLock { $0 = .now + .seconds(86_400 * 365) }
        while busy.load(ordering: .acquiring) { Thread.sleep(forTimeInterval: 0.02) }
    }
}
