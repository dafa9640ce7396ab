import Foundation
import Testing
@testable import TensorCore

/// `ParallelUsage`: a pooled loop started by a recording thread adds its span and its workers'
/// waiting; loops of threads that do not record add nothing to it.
@Suite struct ParallelUsageTests {
    @Test func waitIsTheWorkersTimeNotSpentInTheBody() {
        #expect(ParallelUsage.wait(span: 1_000, busy: 1_500, workers: 2) == 500)
        #expect(ParallelUsage.wait(span: 1_000, busy: 3_000, workers: 3) == 0)
        #expect(ParallelUsage.wait(span: 1_000, busy: 3_100, workers: 3) == 0, "clock skew between threads never goes negative")
    }

    @Test func anUnevenLoopRecordsItsWait() throws {
        let usage = ParallelUsage.recordingThisThread()
        defer { usage.end() }
        // A pool of its own: the shared one is taken by other tests' loops, in CI for longer than
        // 100 tries 2 ms apart. Its helper thread stays, asleep, for the rest of the run.
        let pool = WorkerPool(helpers: 1)
        let before = usage.read()
        // Worker 0 sleeps 30 ms, worker 1 returns at once and waits for it.
        let ran = pool.run(workers: 2) { worker in if worker == 0 { usleep(30_000) } }
        try #require(ran, "a pool of one helper, idle, must take a loop of two workers")
        let after = usage.read()
        #expect(after.loopSeconds - before.loopSeconds >= 0.029, "span \(after.loopSeconds - before.loopSeconds) s")
        #expect(after.waitSeconds - before.waitSeconds >= 0.020, "wait \(after.waitSeconds - before.waitSeconds) s")
    }

    @Test func onlyTheRecordingThreadsLoopsCount() {
        let usage = ParallelUsage.recordingThisThread()
        let before = usage.read()
        // A loop started by another thread, then one after the recording ended: neither adds.
        let done = DispatchSemaphore(value: 0)
        let other = Thread {
            Parallel.forEach(2, threads: 2, setup: { _ in () }, body: { item, _ in if item == 0 { usleep(5_000) } })
            done.signal()
        }
        other.start()
        done.wait()
        usage.end()
        Parallel.forEach(2, threads: 2, setup: { _ in () }, body: { item, _ in if item == 0 { usleep(5_000) } })
        #expect(usage.read() == before)
        #expect(ParallelUsage.current == nil)
    }
}
