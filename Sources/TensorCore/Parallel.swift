internal import CKernels
import Foundation
import Synchronization

/// Runs independent work items on a fixed number of threads, pulling items from a shared counter
/// so uneven items (causal tiles) balance themselves.
public enum Parallel {
    /// The number of cores the process may use: its affinity mask (taskset, a Slurm or container
    /// cpuset), lowered to its cgroup's CPU quota (`docker --cpus`) when one is set; not the
    /// machine's online count, which can be many times more. Read once, at first use: threads
    /// pinned later (`CorePinning`) do not change it. A pool sized by the online count under
    /// `taskset -c 0` on 2 cores ran a training step 2× slower than one thread, its threads
    /// spinning on one CPU (BENCHMARKS.md).
    public static let activeCores: Int = max(1, min(Int(loom_cpus_allowed()), CPUQuota.current() ?? .max))

    /// The machine's online cores, for reports next to `activeCores`.
    public static var onlineCores: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Calls `body(item, worker)` for every item in `0..<count` on `threads` workers.
    ///
    /// `worker` is in `0..<threads` and is stable for one thread, so callers index per-thread
    /// scratch with it. Items are handed out in increasing order; put the heaviest first.
    /// - Parameter setup: called once per worker before its first item, returning its scratch.
    public static func forEach<Scratch>(_ count: Int, threads: Int,
                                        setup: @Sendable (Int) -> Scratch,
                                        body: @Sendable (Int, inout Scratch) -> Void) {
        let workers = max(1, min(threads, count))
        if workers == 1 {
            var scratch = setup(0)
            for item in 0..<count { body(item, &scratch) }
            return
        }
        let next = Counter()
        withoutActuallyEscaping(setup) { setup in
            withoutActuallyEscaping(body) { body in
                let work: @Sendable (Int) -> Void = { worker in
                    var scratch = setup(worker)
                    while true {
                        let item = next.value.add(1, ordering: .relaxed).oldValue
                        if item >= count { break }
                        body(item, &scratch)
                    }
                }
                // Loom's own kept threads first; a nested or concurrent loop finds them busy and
                // runs on libdispatch's pool (one per core at most), which wakes its threads each time.
                if WorkerPool.shared.run(workers: workers, work) { return }
                DispatchQueue.concurrentPerform(iterations: workers) { worker in work(worker) }
            }
        }
    }

    private final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }
}

/// Runs OpenBLAS single-threaded while Loom's own threads each call it.
///
/// Loom parallelises attention over tiles; each tile's sgemm must then stay on its caller's
/// thread, or two callers would fight over OpenBLAS's pool. Nested and concurrent users share
/// one switch: the first saves the user's setting, the last restores it.
public enum BLASThreading {
    private static let state = Mutex<(users: Int, saved: Int)>((0, 0))

    /// Runs `body` with OpenBLAS at one thread, then restores the previous thread count.
    public static func singleThreaded<R>(_ body: () throws -> R) rethrows -> R {
        state.withLock { s in
            if s.users == 0 {
                s.saved = BLAS.threadCount
                BLAS.threadCount = 1
            }
            s.users += 1
        }
        defer {
            state.withLock { s in
                s.users -= 1
                if s.users == 0 { BLAS.threadCount = s.saved }
            }
        }
        return try body()
    }
}
