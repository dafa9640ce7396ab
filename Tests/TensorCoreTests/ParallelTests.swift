import Foundation
import Synchronization
import Testing
@testable import TensorCore

/// `Parallel.forEach` on Loom's kept threads: every item exactly once, worker numbers in range and
/// stable per thread, many short loops in a row (a training step's phases), and nested or
/// concurrent loops (which find the kept threads busy and go another way) never deadlocking.
@Suite struct ParallelTests {
    final class Tally: @unchecked Sendable {
        let lock = NSLock()
        var counts: [Int]
        var workerThreads: [Int: Set<ObjectIdentifier>] = [:]
        init(_ count: Int) { counts = Array(repeating: 0, count: count) }
        func record(_ item: Int, worker: Int) {
            lock.lock(); counts[item] += 1
            workerThreads[worker, default: []].insert(ObjectIdentifier(Thread.current)); lock.unlock()
        }
    }

    final class Count: Sendable {
        let value = Atomic<Int>(0)
        func add(_ n: Int) { value.add(n, ordering: .relaxed) }
        var total: Int { value.load(ordering: .relaxed) }
    }

    @Test func everyItemRunsOnceOnAWorkerInRange() {
        for (count, threads) in [(1, 2), (2, 2), (7, 2), (1000, 2), (50, 1), (13, 8)] {
            let tally = Tally(count)
            Parallel.forEach(count, threads: threads, setup: { $0 }, body: { item, worker in tally.record(item, worker: worker) })
            #expect(tally.counts.allSatisfy { $0 == 1 }, "count \(count), threads \(threads): \(tally.counts)")
            #expect(tally.workerThreads.keys.allSatisfy { $0 >= 0 && $0 < max(1, min(threads, count)) })
            #expect(tally.workerThreads.values.allSatisfy { $0.count == 1 }, "a worker number must stay on one thread within a loop")
        }
    }

    @Test func manyShortLoopsInARow() {
        let total = Count()
        for round in 0..<5_000 {
            Parallel.forEach(2 + round % 3, threads: 2, setup: { _ in () }, body: { item, _ in total.add(item + 1) })
        }
        // Σ over rounds of (1 + … + count) for counts cycling 2, 3, 4.
        let expected = (0..<5_000).reduce(0) { sum, round in let c = 2 + round % 3; return sum + c * (c + 1) / 2 }
        #expect(total.total == expected)
    }

    @Test func nestedAndConcurrentLoopsFinish() async {
        let inner = Count()
        Parallel.forEach(4, threads: 2, setup: { _ in () }, body: { _, _ in
            Parallel.forEach(3, threads: 2, setup: { _ in () }, body: { _, _ in inner.add(1) })
        })
        #expect(inner.total == 12)
        let concurrent = Count()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<200 {
                        Parallel.forEach(5, threads: 2, setup: { _ in () }, body: { _, _ in concurrent.add(1) })
                    }
                }
            }
        }
        #expect(concurrent.total == 4 * 200 * 5)
    }
}

/// The core count Loom sizes its threads by is the process's allowed CPUs, checked against the
/// kernel's own list in /proc/self/status (and the cgroup's quota, if any).
@Suite struct AllowedCoresTests {
    @Test func activeCoresCountsTheAllowedCPUs() throws {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") })
        // "0-3,8,10-11": ranges and single CPUs.
        var count = 0
        for part in line.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces).split(separator: ",") {
            let ends = part.split(separator: "-").compactMap { Int($0) }
            count += ends.count == 2 ? ends[1] - ends[0] + 1 : 1
        }
        #expect(Parallel.activeCores == min(count, CPUQuota.current() ?? .max))
        #expect(Parallel.activeCores <= Parallel.onlineCores)
    }
}

/// The cgroup CPU quota, read from the kernel's own formats.
@Suite struct CPUQuotaTests {
    @Test func quotasAreWholeCPUsRoundedUp() {
        #expect(CPUQuota.cores(cpuMax: "max 100000\n") == nil)
        #expect(CPUQuota.cores(cpuMax: "200000 100000\n") == 2)
        #expect(CPUQuota.cores(cpuMax: "150000 100000") == 2)
        #expect(CPUQuota.cores(cpuMax: "50000 100000") == 1)
        #expect(CPUQuota.cores(cpuMax: "") == nil && CPUQuota.cores(cpuMax: "1 2 3") == nil)
        #expect(CPUQuota.cores(quota: -1, period: 100000) == nil)
        #expect(CPUQuota.cores(quota: 100000, period: 0) == nil)
    }

    @Test func cgroupPathsAndTheirAncestors() {
        let hybrid = "9:name=systemd:/\n4:memory:/x\n1:cpu,cpuacct:/docker/abc\n0::/user.slice/session\n"
        #expect(CPUQuota.paths(procCgroup: hybrid).unified == "/user.slice/session")
        #expect(CPUQuota.paths(procCgroup: hybrid).cpu == "/docker/abc")
        #expect(CPUQuota.paths(procCgroup: "0::/\n").cpu == nil)
        #expect(CPUQuota.lineage("/a/b") == ["/a/b", "/a", ""])
        #expect(CPUQuota.lineage("/") == [""])
    }
}
