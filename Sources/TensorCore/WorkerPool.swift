internal import CKernels
import Foundation
import Synchronization

/// Threads kept for the process's parallel loops, so a loop of many short phases (a training step
/// of a small model runs about a hundred) does not wake a thread from the kernel each time.
///
/// A helper spins for a short while after each job (about 1 ms), so the next phase, usually
/// microseconds away, starts without a system call; after `spinLimit` polls it sleeps on a
/// condition until the next job. One job at a time: a caller that finds the pool busy (a nested or concurrent
/// loop) gets `false` and runs its loop another way.
final class WorkerPool: @unchecked Sendable {
    /// One helper per core beyond the caller's.
    static let shared = WorkerPool(helpers: Parallel.activeCores - 1)

    /// Polls (each a `pause`, some tens of nanoseconds) before a helper sleeps: about 1 ms, long
    /// enough to bridge a training step's serial stretches (the loss, the batch). 4,000 polls
    /// (0.1 ms) left 1-layer d = 64 steps 7-9 % slower (alternated, twice). A process whose loops
    /// all run on one thread never starts the helpers.
    private static let spinLimit = 40_000

    private let helpers: Int
    private let busy = Atomic<Bool>(false)
    private let generation = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    private let condition = NSCondition()
    // Written by the caller before `generation` moves on (release) and read by helpers after they
    // see it move (acquire); cleared only after every helper has reported (`pending` is 0).
    private var job: ((Int) -> Void)?
    private var jobWorkers = 0
    /// The workers' summed time in the current job, while `ParallelUsage` records.
    private let busyNanoseconds = Atomic<Int>(0)

    init(helpers: Int) {
        self.helpers = max(0, helpers)
        for index in 0..<self.helpers {
            let thread = Thread { [self] in self.helperLoop(worker: index + 1) }
            thread.stackSize = 8 << 20
            thread.name = "loom-worker-\(index + 1)"
            thread.start()
        }
    }

    /// Runs `body(worker)` for worker 0 on the calling thread and workers 1 ..< `workers` on
    /// helpers, and returns when all have returned.
    /// - Returns: false, without running anything, when the pool is busy or has too few helpers.
    func run(workers: Int, _ body: (Int) -> Void) -> Bool {
        guard workers - 1 <= helpers, workers > 1,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        // While the caller records (`ParallelUsage`): each worker's time in the body, summed, and the span.
        let usage = ParallelUsage.current, recording = usage != nil
        let start = recording ? DispatchTime.now().uptimeNanoseconds : 0
        busyNanoseconds.store(0, ordering: .relaxed)
        withoutActuallyEscaping(body) { body in
            let work: (Int) -> Void = recording ? { worker in
                let began = DispatchTime.now().uptimeNanoseconds
                body(worker)
                self.busyNanoseconds.add(Int(DispatchTime.now().uptimeNanoseconds - began), ordering: .relaxed)
            } : body
            job = work
            jobWorkers = workers
            pending.store(helpers, ordering: .relaxed)
            condition.lock()
            generation.add(1, ordering: .releasing)
            condition.broadcast()
            condition.unlock()
            work(0)
            var polls = 0
            while pending.load(ordering: .acquiring) > 0 {
                polls += 1
                if polls < Self.spinLimit { loom_cpu_relax() } else { sched_yield() }
            }
            job = nil
        }
        if let usage {
            usage.record(spanNanoseconds: Int(DispatchTime.now().uptimeNanoseconds - start),
                         busyNanoseconds: busyNanoseconds.load(ordering: .relaxed), workers: workers)
        }
        busy.store(false, ordering: .releasing)
        return true
    }

    private func helperLoop(worker: Int) {
        var seen = 0
        while true {
            var polls = 0
            while generation.load(ordering: .acquiring) == seen {
                polls += 1
                if polls < Self.spinLimit {
                    loom_cpu_relax()
                    continue
                }
                condition.lock()
                while generation.load(ordering: .acquiring) == seen { condition.wait() }
                condition.unlock()
            }
            seen = generation.load(ordering: .acquiring)
            if worker < jobWorkers, let job { job(worker) }
            pending.subtract(1, ordering: .releasing)
        }
    }
}
